"""`latticework principals`: the local credential registry from the command line (add, list, remove, import).

Writes straight to the store (the state dir's SQLite, or `--store`), so a running server picks changes up with
its next config version. Argument parsing and printing only; the registry is latticework.auth.registry.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from latticework.auth import registry
from latticework.auth.principals import Identity

if TYPE_CHECKING:
    from latticework.control.store import Store

__all__ = ["app"]

app = typer.Typer(
    help="Access keys and the IAM principals they sign as (the local stand-in for IAM and STS).",
    no_args_is_help=True,
)

StateDir = Annotated[Path, typer.Option("--state-dir", help="Where the store, CA and logs live.")]
StoreUrl = Annotated[str | None, typer.Option("--store", envvar="LATTICEWORK_STORE", help="Store URL (as server).")]


@contextmanager
def _store(state_dir: Path, store_url: str | None) -> Iterator[Store]:
    from latticework.control.store.factory import open_store

    state_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(store_url, state_dir)
    try:
        yield store
    finally:
        store.close()


def _tags(values: list[str]) -> dict[str, str]:
    tags = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint="--tag")
        tags[key] = value
    return tags


@app.command()
def add(
    arn: Annotated[
        str,
        typer.Argument(
            help="The principal: arn:aws:iam::ACCOUNT:user/NAME, ...:role/NAME, or "
            "arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION."
        ),
    ],
    access_key: Annotated[str | None, typer.Option(help="Access key ID (default: a new AKIA/ASIA key).")] = None,
    secret_key: Annotated[str | None, typer.Option(help="Secret access key (default: a new random one).")] = None,
    session_token: Annotated[str | None, typer.Option(help="Session token callers must send (temporary keys).")] = None,
    org_id: Annotated[str | None, typer.Option(help="Organization ID (aws:PrincipalOrgID), o-...")] = None,
    tag: Annotated[list[str] | None, typer.Option(help="Principal tag KEY=VALUE (repeatable).")] = None,
    identity_policy: Annotated[
        Path | None, typer.Option(help="IAM identity policy JSON file; without one the identity allows.")
    ] = None,
    state_dir: StateDir = Path(".latticework"),
    store: StoreUrl = None,
) -> None:
    """Add (or replace) an access key, and print the environment that signs as it."""
    entry = {
        "accessKeyId": access_key or registry.new_access_key(temporary=session_token is not None),
        "secretAccessKey": secret_key or registry.new_secret_key(),
        "arn": arn,
        "sessionToken": session_token,
        "orgId": org_id,
        "tags": _tags(tag or []),
        "identityPolicy": identity_policy.read_text() if identity_policy else None,
    }
    try:
        identity = registry.identity_from_entry(entry, "principal")
        registry.check_identity_policy(identity)
    except registry.RegistryError as exc:
        raise typer.BadParameter(str(exc)) from None
    with _store(state_dir, store) as opened:
        registry.add_identities(opened, [identity])
    typer.echo(f"export AWS_ACCESS_KEY_ID={identity.access_key}")
    typer.echo(f"export AWS_SECRET_ACCESS_KEY={identity.secret_key}")
    if identity.session_token:
        typer.echo(f"export AWS_SESSION_TOKEN={identity.session_token}")


@app.command("import")
def import_file(
    path: Annotated[Path, typer.Argument(help='JSON file: {"principals": [{"accessKeyId": ..., ...}]}')],
    state_dir: StateDir = Path(".latticework"),
    store: StoreUrl = None,
) -> None:
    """Add (or replace) every access key of a principals file."""
    try:
        identities = registry.load_file(path)
        for identity in identities:
            registry.check_identity_policy(identity)
    except registry.RegistryError as exc:
        raise typer.BadParameter(str(exc)) from None
    with _store(state_dir, store) as opened:
        registry.add_identities(opened, identities)
    typer.echo(f"imported {len(identities)} access key(s) from {path}")


@app.command("list")
def list_principals(
    state_dir: StateDir = Path(".latticework"),
    store: StoreUrl = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Every field, secrets included, as a principals file.")
    ] = False,
) -> None:
    """List access keys and their principals (secrets only with --json)."""
    with _store(state_dir, store) as opened:
        identities = registry.list_identities(opened)
    if as_json:
        typer.echo(json.dumps({"principals": [registry.entry_of(i) for i in identities]}, indent=2))
        return
    Console().print(_table(identities))


def _table(identities: list[Identity]) -> Table:
    table = Table("access key", "principal", "account", "org", "tags", "identity policy")
    for identity in identities:
        principal = identity.principal
        tags = ", ".join(f"{k}={v}" for k, v in principal.tags.items())
        policy = "yes" if principal.identity_policy else "-"
        table.add_row(identity.access_key, principal.arn, principal.account, principal.org_id or "-", tags, policy)
    return table


@app.command()
def remove(
    access_key: Annotated[str, typer.Argument(help="The access key ID to remove.")],
    state_dir: StateDir = Path(".latticework"),
    store: StoreUrl = None,
) -> None:
    """Remove an access key; requests signed with it fail from the next config version on."""
    with _store(state_dir, store) as opened:
        if not registry.remove_identity(opened, access_key):
            typer.echo(f"no access key {access_key} in the registry", err=True)
            raise typer.Exit(1)
    typer.echo(f"removed {access_key}")
