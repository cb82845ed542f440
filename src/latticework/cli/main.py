"""The `latticework` command line (typer + rich): server, openapi, and more as the project grows."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from latticework.cli.call import call
from latticework.cli.certs import app as certs_app
from latticework.cli.functions import invoke
from latticework.cli.logs import logs
from latticework.cli.policy import app as policy_app
from latticework.cli.principals import app as principals_app
from latticework.cli.services import services_app
from latticework.cli.status import status
from latticework.cli.up import down, outputs, up
from latticework.cli.vpc import app as vpc_app
from latticework.config import Settings

if TYPE_CHECKING:
    from latticework.auth.principals import Identity

__all__ = ["app", "main"]

app = typer.Typer(help="Latticework: a self-hosted, AWS-compatible VPC Lattice.", no_args_is_help=True)

StateDir = Annotated[Path, typer.Option("--state-dir", help="Where the store, CA and logs live.")]


def _quotas(values: list[str]) -> dict[str, int]:
    quotas: dict[str, int] = {}
    for item in values:
        name, sep, number = item.partition("=")
        if not sep or not number.isdigit():
            raise typer.BadParameter(f"expected NAME=NUMBER, got {item!r}", param_hint="--quota")
        quotas[name] = int(number)
    return quotas


@app.command()
def server(
    state_dir: StateDir = Path(".latticework"),
    api_port: Annotated[int, typer.Option("--api-port", help="Port of the AWS-compatible API.")] = 9750,
    host: Annotated[str, typer.Option(help="Address the API binds to.")] = "127.0.0.1",
    account: Annotated[str, typer.Option(envvar="LATTICEWORK_ACCOUNT", help="Default account ID.")] = "000000000000",
    region: Annotated[
        str, typer.Option(envvar="LATTICEWORK_REGION", help="Region of unsigned requests.")
    ] = "us-west-2",
    quota: Annotated[list[str] | None, typer.Option(help="Override a quota, NAME=VALUE (repeatable).")] = None,
    provisioning_seconds: Annotated[float, typer.Option(help="How long new resources stay CREATE_IN_PROGRESS.")] = 0.0,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Data-plane worker processes sharing the ingress ports.")
    ] = 1,
    health_interval_scale: Annotated[
        float,
        typer.Option(help="Multiply health check intervals and timeouts (tests and demos: 0.02 turns 5 s into 0.1 s)."),
    ] = 1.0,
    store: Annotated[
        str | None,
        typer.Option(
            envvar="LATTICEWORK_STORE",
            help="Store URL: postgresql://USER@HOST[:PORT]/DB[?schema=NAME] for replicas sharing PostgreSQL, "
            "or sqlite:PATH. Default: SQLite at STATE_DIR/latticework.db.",
        ),
    ] = None,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            envvar="LATTICEWORK_STRICT",
            help="Enforce checks AWS makes that local setups may skip (a LAMBDA target's function must grant "
            "vpc-lattice.amazonaws.com lambda:InvokeFunction).",
        ),
    ] = False,
    lease_seconds: Annotated[
        float,
        typer.Option(
            min=1.0,
            help="With replicas on one store: how long the server running the ECS tasks holds them without "
            "renewing before another takes over (it renews every half of it).",
        ),
    ] = 10.0,
    principals: Annotated[
        Path | None,
        typer.Option(
            envvar="LATTICEWORK_PRINCIPALS",
            help="A principals file (JSON) to import into the credential registry at start (see "
            "`latticework principals import`).",
        ),
    ] = None,
) -> None:
    """Run the API in the foreground until SIGINT or SIGTERM."""
    from latticework.control.store.factory import StoreUnavailableError, store_location

    try:
        store_location(store, state_dir)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--store") from None
    from latticework.console import enable_multiprocess

    enable_multiprocess(state_dir)  # before prometheus-client is imported, so workers share STATE_DIR/metrics
    from latticework.control.server import serve

    identities = _principals_file(principals) if principals else []

    try:
        settings = Settings(
            account=account,
            region=region,
            provisioning_seconds=provisioning_seconds,
            strict=strict,
            lease_seconds=lease_seconds,
        )
        settings = settings.with_quotas(_quotas(quota or []))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--quota") from None
    try:
        serve(
            state_dir,
            settings,
            host=host,
            port=api_port,
            store_url=store,
            health_interval_scale=health_interval_scale,
            workers=workers,
            identities=identities,
        )
    except StoreUnavailableError as exc:
        typer.echo(f"latticework server: {exc}", err=True)
        raise typer.Exit(1) from None


def _principals_file(path: Path) -> list[Identity]:
    from latticework.auth import registry

    try:
        identities = registry.load_file(path)
        for identity in identities:
            registry.check_identity_policy(identity)
    except registry.RegistryError as exc:
        raise typer.BadParameter(str(exc), param_hint="--principals") from None
    return identities


app.command("logs")(logs)
app.command("invoke")(invoke)
app.command("call")(call)
app.command("up")(up)
app.command("down")(down)
app.command("outputs")(outputs)
app.command("status")(status)
app.add_typer(certs_app, name="certs")
app.add_typer(vpc_app, name="vpc")
app.add_typer(principals_app, name="principals")
app.add_typer(policy_app, name="policy")
app.add_typer(services_app, name="services")


@app.command()
def openapi() -> None:
    """Print an OpenAPI 3 document of the VPC Lattice API, generated from botocore's model."""
    from latticework.control.api.openapi import openapi_document

    typer.echo(json.dumps(openapi_document(), indent=2))


def main() -> None:
    app()
