"""`latticework certs`: the local CA from the command line (issue, list, ca), on STATE_DIR/pki.

A typer sub-app mounted by cli/main.py. Argument parsing and printing only; the CA is latticework.pki.ca.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from latticework.pki.ca import LocalCA

__all__ = ["app"]

app = typer.Typer(
    help="Certificates for HTTPS listeners, issued by the local CA in STATE_DIR/pki.", no_args_is_help=True
)

StateDir = Annotated[Path, typer.Option("--state-dir", help="Where the store, CA and logs live.")]
Json = Annotated[bool, typer.Option("--json", help="Print every detail as JSON.")]
# The same flags and defaults as `latticework server`, so certificates land in the server's account and region.
Account = Annotated[str, typer.Option(envvar="LATTICEWORK_ACCOUNT", help="Account ID in the certificate ARN.")]
Region = Annotated[str, typer.Option(envvar="LATTICEWORK_REGION", help="Region in the certificate ARN.")]


def _ca(state_dir: Path) -> LocalCA:
    from latticework.pki.ca import LocalCA

    return LocalCA(state_dir / "pki")


@app.command()
def issue(
    domains: Annotated[
        list[str], typer.Argument(help="Domain names (SANs); the first is also the CN. '*.' for a wildcard.")
    ],
    state_dir: StateDir = Path(".latticework"),
    account: Account = "000000000000",
    region: Region = "us-west-2",
    as_json: Json = False,
) -> None:
    """Issue an RSA-2048 server certificate valid 13 months and print its ARN (use it as certificateArn)."""
    try:
        cert = _ca(state_dir).issue(domains, account, region)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None
    typer.echo(json.dumps(cert.describe(), indent=2) if as_json else cert.arn)


@app.command("list")
def list_certificates(state_dir: StateDir = Path(".latticework"), as_json: Json = False) -> None:
    """List the issued certificates: ARN, expiry, domain names (managed ones are for generated names)."""
    certificates = _ca(state_dir).list()
    if as_json:
        typer.echo(json.dumps([cert.describe() for cert in certificates], indent=2))
        return
    for cert in certificates:
        kind = "managed" if cert.managed else "issued"
        typer.echo(f"{cert.arn}\t{cert.not_after.date().isoformat()}\t{kind}\t{','.join(cert.domains)}")


@app.command()
def ca(state_dir: StateDir = Path(".latticework")) -> None:
    """Print the path of the CA certificate (PEM) for SSL_CERT_FILE, CURL_CA_BUNDLE and the like."""
    typer.echo(str(_ca(state_dir).bundle_path.resolve()))
