"""`latticework call URL`: curl for the application network. Sends one request from a VPC (through its
ingress: absolute-form for http://, a CONNECT tunnel and TLS against the local CA for https://), signed with
SigV4 for `vpc-lattice-svcs` as a principal of the credential registry when `--as` is given.

The signing is AWS's own (botocore's SigV4Auth) with `x-amz-content-sha256: UNSIGNED-PAYLOAD`, which Lattice
requires (reference 2.6), so what passes here passes with the AWS SDK samples too.
"""

from __future__ import annotations

import http.client
import ssl
import sys
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from latticework.auth import registry
from latticework.auth.principals import Identity
from latticework.dataplane.ingress import read_ingress_ports
from latticework.pki.ca import LocalCA

__all__ = ["call", "sign_request"]

_SIGNING_SERVICE = "vpc-lattice-svcs"
_GENERATED_SUFFIX = ".on.aws"


def call(
    url: Annotated[str, typer.Argument(help="http://HOST[:PORT]/PATH or https://... of a Lattice service.")],
    vpc: Annotated[
        str | None, typer.Option(help="The VPC to call from (ID or Name tag); default: the only one.")
    ] = None,
    as_principal: Annotated[
        str | None, typer.Option("--as", help="Sign as this access key or principal ARN of the registry.")
    ] = None,
    method: Annotated[str | None, typer.Option("-X", "--request", help="Method (default GET, POST with -d).")] = None,
    data: Annotated[str | None, typer.Option("-d", "--data", help="Request body (@FILE reads a file).")] = None,
    header: Annotated[list[str] | None, typer.Option("-H", "--header", help="'Name: value' (repeatable).")] = None,
    include: Annotated[bool, typer.Option("-i", "--include", help="Print the status line and headers.")] = False,
    fail: Annotated[bool, typer.Option("-f", "--fail", help="Exit 22 on an HTTP status >= 400 (as curl).")] = False,
    region: Annotated[str | None, typer.Option(help="Signing region (default: the service's).")] = None,
    state_dir: Annotated[Path, typer.Option("--state-dir", help="The server's state dir.")] = Path(".latticework"),
    store: Annotated[str | None, typer.Option(envvar="LATTICEWORK_STORE", help="The server's --store URL.")] = None,
) -> None:
    """Send one request to a Lattice service from a VPC, optionally SigV4-signed as a registry principal."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise typer.BadParameter("give an http:// or https:// URL with a host name", param_hint="URL")
    body = _body(data)
    headers = _headers(header or [])
    headers["host"] = parts.netloc
    verb = method or ("POST" if body is not None else "GET")
    if as_principal:
        identity = _identity(as_principal, state_dir, store)
        headers = sign_request(verb, url, headers, body, identity, region or _region(parts.hostname, state_dir, store))
    port = _ingress_port(vpc, state_dir, store)
    response = _send(parts.scheme, parts.hostname, parts.port, port, verb, url, headers, body, state_dir)
    _print(response, include)
    if fail and response.status >= 400:
        raise typer.Exit(22)


def sign_request(
    method: str, url: str, headers: dict[str, str], body: bytes | None, identity: Identity, region: str
) -> dict[str, str]:
    """The headers with SigV4 (service vpc-lattice-svcs, UNSIGNED-PAYLOAD) added, as the AWS samples sign."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    class _UnsignedPayload(SigV4Auth):  # type: ignore[misc]
        def payload(self, request: AWSRequest) -> str:
            return "UNSIGNED-PAYLOAD"  # Lattice does not support payload signing (reference 2.6)

    credentials = Credentials(identity.access_key, identity.secret_key, identity.session_token)
    request = AWSRequest(method=method, url=url, data=body or b"", headers={**headers})
    request.headers["x-amz-content-sha256"] = "UNSIGNED-PAYLOAD"
    _UnsignedPayload(credentials, _SIGNING_SERVICE, region).add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}


def _body(data: str | None) -> bytes | None:
    if data is None:
        return None
    if data.startswith("@"):
        return Path(data[1:]).read_bytes()
    return data.encode()


def _headers(values: list[str]) -> dict[str, str]:
    headers = {}
    for item in values:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise typer.BadParameter(f"expected 'Name: value', got {item!r}", param_hint="-H")
        headers[name.strip().lower()] = value.strip()
    return headers


def _identity(who: str, state_dir: Path, store_url: str | None) -> Identity:
    from latticework.control.store.factory import open_store

    store = open_store(store_url, state_dir)
    try:
        identities = registry.list_identities(store)
    finally:
        store.close()
    found = [i for i in identities if who in (i.access_key, i.principal.arn)]
    if not found:
        raise typer.BadParameter(f"no access key or principal {who!r} in the registry", param_hint="--as")
    return found[0]


def _region(host: str, state_dir: Path, store_url: str | None) -> str:
    """The service's region: from a generated DNS name, else from the service whose custom domain this is."""
    if host.endswith(_GENERATED_SUFFIX):
        return host.split(".")[-3]
    from latticework.control.store.factory import open_store

    store = open_store(store_url, state_dir)
    try:
        _, services = store.read_all(["service"])
    finally:
        store.close()
    return next((s.region for s in services if s.doc.get("customDomainName") == host.lower()), "us-west-2")


def _ingress_port(vpc: str | None, state_dir: Path, store_url: str | None) -> int:
    from latticework.cli.vpc import resolve_vpc

    ports = read_ingress_ports(state_dir)
    if vpc is None:
        if len(ports) != 1:
            raise typer.BadParameter(f"{len(ports)} VPCs have an ingress; choose one", param_hint="--vpc")
        return next(iter(ports.values()))
    vpc_id = resolve_vpc(vpc, state_dir, store_url)
    if vpc_id not in ports:
        raise typer.BadParameter(f"{vpc_id} has no ingress: associate it with a service network", param_hint="--vpc")
    return ports[vpc_id]


def _send(
    scheme: str,
    host: str,
    service_port: int | None,
    ingress_port: int,
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    state_dir: Path,
) -> http.client.HTTPResponse:
    connection: http.client.HTTPConnection
    if scheme == "https":
        context = ssl.create_default_context(cafile=str(LocalCA(state_dir / "pki").bundle_path))
        connection = http.client.HTTPSConnection("127.0.0.1", ingress_port, context=context, timeout=60)
        connection.set_tunnel(host, service_port or 443)
        parts = urlsplit(url)
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    else:
        connection = http.client.HTTPConnection("127.0.0.1", ingress_port, timeout=60)
        target = url  # absolute-form: the ingress is our forward proxy
    connection.request(method, target, body=body, headers=headers)
    return connection.getresponse()


def _print(response: http.client.HTTPResponse, include: bool) -> None:
    if include:
        typer.echo(f"HTTP/1.1 {response.status} {response.reason}")
        for name, value in response.getheaders():
            typer.echo(f"{name}: {value}")
        typer.echo("")
    sys.stdout.buffer.write(response.read())
    sys.stdout.flush()
