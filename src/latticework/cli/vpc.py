"""`latticework vpc env VPC`: the environment a process needs to live in a VPC: its ingress as HTTP(S) proxy,
and the local CA as trust anchor for HTTPS."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated

import typer

from latticework.dataplane.ingress import read_ingress_ports
from latticework.dataplane.vpcenv import vpc_environment
from latticework.pki.ca import LocalCA

__all__ = ["app"]

app = typer.Typer(help="VPCs as client networks.", no_args_is_help=True)


def resolve_vpc(identifier: str, state_dir: Path, store_url: str | None) -> str:
    """A VPC ID from an ID or a Name tag, looked up in the store."""
    if identifier.startswith("vpc-"):
        return identifier
    from latticework.control.store.factory import open_store

    store = open_store(store_url, state_dir)
    try:
        _, vpcs = store.read_all(["vpc"])
    finally:
        store.close()
    named = [v.id for v in vpcs if (v.doc.get("tags") or {}).get("Name") == identifier]
    if len(named) != 1:
        found = "no VPC" if not named else f"{len(named)} VPCs"
        raise typer.BadParameter(f"{found} named {identifier!r}; give the VPC ID", param_hint="VPC")
    return named[0]


@app.command()
def env(
    vpc: Annotated[str, typer.Argument(help="VPC ID, or the value of its Name tag.")],
    state_dir: Annotated[Path, typer.Option("--state-dir", help="The server's state dir.")] = Path(".latticework"),
    store: Annotated[str | None, typer.Option(envvar="LATTICEWORK_STORE", help="The server's --store URL.")] = None,
) -> None:
    """Print `export` lines that put a shell (and what it starts) in the VPC: eval "$(latticework vpc env ID)"."""
    vpc_id = resolve_vpc(vpc, state_dir, store)
    port = read_ingress_ports(state_dir).get(vpc_id)
    if port is None:
        typer.echo(
            f"{vpc_id} has no ingress yet: associate it with a service network "
            "(aws vpc-lattice create-service-network-vpc-association) while the server runs.",
            err=True,
        )
        raise typer.Exit(1)
    bundle = LocalCA(state_dir / "pki").bundle_path
    for name, value in vpc_environment(port, Path(os.path.abspath(bundle))).items():
        typer.echo(f"export {name}={shlex.quote(value)}")
