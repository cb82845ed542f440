"""`latticework policy explain`: why a request would be allowed or denied, layer by layer, statement by
statement, condition by condition. No AWS tool has one.

It compiles the same config snapshot the data plane serves (from the store) and runs the same access step
(`dataplane.access.judge`), so what it says is what the data plane does. `--policy FILE` swaps in another
service policy to try it before PutAuthPolicy.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.tree import Tree

from latticework.auth.policy import Evaluation, PolicyError, compile_policy
from latticework.auth.principals import Identity, PrincipalError, parse_principal_arn
from latticework.dataplane.access import auth_required, judge
from latticework.dataplane.decide import RequestHead
from latticework.dataplane.snapshot import KINDS, ServiceView, Snapshot, VpcView, compile_snapshot

__all__ = ["app"]

app = typer.Typer(help="Auth policies: explain decisions.", no_args_is_help=True)

ANONYMOUS = "anonymous"


@app.command()
def explain(
    service: Annotated[str, typer.Option(help="Service ID, ARN, name or host name.")],
    principal: Annotated[
        str, typer.Option(help="Principal ARN or access key of the registry, or 'anonymous'.")
    ] = ANONYMOUS,
    method: Annotated[str, typer.Option(help="Request method.")] = "GET",
    path: Annotated[str, typer.Option(help="Request path, with ?query if any.")] = "/",
    header: Annotated[list[str] | None, typer.Option(help="'name:value' request header (repeatable).")] = None,
    vpc: Annotated[str | None, typer.Option(help="Source VPC (ID or Name tag); default: one that reaches it.")] = None,
    port: Annotated[int | None, typer.Option(help="Listener port (default: the service's first listener).")] = None,
    source_ip: Annotated[str, typer.Option(help="Caller address (aws:SourceIp).")] = "127.0.0.1",
    policy: Annotated[Path | None, typer.Option(help="Try this service auth policy instead of the stored one.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
    state_dir: Annotated[Path, typer.Option("--state-dir", help="The server's state dir.")] = Path(".latticework"),
    store: Annotated[str | None, typer.Option(envvar="LATTICEWORK_STORE", help="The server's --store URL.")] = None,
) -> None:
    """Print the decision, the layer that decided, and every statement and condition that matched or not."""
    snapshot = _snapshot(state_dir, store)
    target = _with_policy(_service(snapshot, service), policy)
    source = _vpc(snapshot, target, vpc, state_dir, store)
    identity = _identity(snapshot, principal)
    head = _head(method, path, header or [], port or min(target.listeners, default=80), target.dns_name)
    result = _verdict(snapshot, target, source, head, identity, source_ip)
    if as_json:
        typer.echo(json.dumps(result, indent=2))
    else:
        Console().print(_tree(result))


def _snapshot(state_dir: Path, store_url: str | None) -> Snapshot:
    from latticework.control.store.factory import open_store

    store = open_store(store_url, state_dir)
    try:
        version, records = store.read_all(KINDS)
    finally:
        store.close()
    return compile_snapshot(version, records, time.time())


def _service(snapshot: Snapshot, wanted: str) -> ServiceView:
    services = {s.id: s for group in snapshot.services_by_host.values() for s in group}
    for candidate in services.values():
        if wanted in (candidate.id, candidate.arn, candidate.name) or wanted.lower() in candidate.hosts:
            return candidate
    raise typer.BadParameter(f"no active service {wanted!r} (ID, ARN, name or host name)", param_hint="--service")


def _with_policy(service: ServiceView, path: Path | None) -> ServiceView:
    if path is None:
        return service
    try:
        return dataclasses.replace(service, auth_policy=compile_policy(path.read_text(), "resource"))
    except (OSError, PolicyError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--policy") from None


def _vpc(snapshot: Snapshot, service: ServiceView, wanted: str | None, state_dir: Path, store: str | None) -> VpcView:
    if wanted is not None:
        from latticework.cli.vpc import resolve_vpc

        found = snapshot.vpcs.get(resolve_vpc(wanted, state_dir, store))
        if found is None:
            raise typer.BadParameter(f"no VPC {wanted!r}", param_hint="--vpc")
        return found
    reaching = sorted((v for v in snapshot.vpcs.values() if v.network_arn in service.network_arns), key=lambda v: v.id)
    if not reaching:
        raise typer.BadParameter("no VPC reaches this service; associate one or give --vpc", param_hint="--vpc")
    return reaching[0]


def _identity(snapshot: Snapshot, who: str) -> Identity | None:
    if who.lower() == ANONYMOUS:
        return None
    for identity in snapshot.identities.values():
        if who in (identity.access_key, identity.principal.arn):
            return identity
    try:
        return Identity("-", "", parse_principal_arn(who))  # not in the registry: no identity policy
    except PrincipalError as exc:
        raise typer.BadParameter(str(exc), param_hint="--principal") from None


def _head(method: str, target: str, header_values: list[str], port: int, host: str) -> RequestHead:
    path, _, query = target.partition("?")
    pairs = []
    for item in header_values:
        name, sep, value = item.partition(":")
        if not sep:
            raise typer.BadParameter(f"expected name:value, got {item!r}", param_hint="--header")
        pairs.append((name.strip().lower(), value.strip()))
    scheme = "http"  # the access step does not read the scheme
    return RequestHead(method, path or "/", host, port, scheme, dict(pairs), query, tuple(pairs))


def _verdict(
    snapshot: Snapshot, service: ServiceView, vpc: VpcView, head: RequestHead, identity: Identity | None, source_ip: str
) -> dict[str, Any]:
    base = {"service": service.arn, "sourceVpc": vpc.id, "principal": identity.principal.arn if identity else None}
    if vpc.network_arn not in service.network_arns:
        return {
            **base,
            "allowed": False,
            "decidedBy": "Reachability",
            "message": "404 Non Existent Service: the VPC's service network is not associated with this service",
            "layers": [],
        }
    if not auth_required(snapshot, service, vpc):
        return {
            **base,
            "allowed": True,
            "decidedBy": None,
            "message": "authType is NONE on the service network and the service: no authentication or authorization",
            "layers": [],
        }
    access, decision = judge(snapshot, service, vpc, head, identity, source_ip)
    layers = [{"layer": name, "evaluation": _evaluation(evaluation)} for name, evaluation in decision.layers]
    message = "allowed" if access.allowed else access.message
    return {**base, "allowed": access.allowed, "decidedBy": access.denied_by, "message": message, "layers": layers}


def _evaluation(evaluation: Evaluation | None) -> dict[str, Any] | None:
    """A layer's evaluation as JSON-ready data: the effect, and each statement with each element's verdict."""
    if evaluation is None:
        return None
    return {
        "effect": evaluation.effect,
        "statements": [
            {
                "statement": result.index,
                "sid": result.sid,
                "effect": result.effect,
                "applies": result.matched,
                "elements": [element.describe() for element in result.elements],
            }
            for result in evaluation.statements
        ],
    }


def _tree(result: dict[str, Any]) -> Tree:
    verdict = "[green]ALLOW[/green]" if result["allowed"] else "[red]DENY[/red]"
    decided = f", decided by the {result['decidedBy']} layer" if result["decidedBy"] else ""
    tree = Tree(f"{verdict} {result['principal'] or 'anonymous'} -> {result['service']}{decided}")
    tree.add(escape(result["message"]))
    for layer in result["layers"]:
        _layer_branch(tree, layer)
    return tree


def _layer_branch(tree: Tree, layer: dict[str, Any]) -> None:
    evaluation = layer["evaluation"]
    if evaluation is None:
        tree.add(f"{layer['layer']} layer: AWS_IAM with no auth policy denies every request")
        return
    branch = tree.add(f"{layer['layer']} layer: {_effect_words[evaluation['effect']]}")
    for statement in evaluation["statements"]:
        name = f"Statement[{statement['statement']}]" + (f" ({statement['sid']})" if statement["sid"] else "")
        colour = "green" if statement["applies"] else "dim"
        applies = "applies" if statement["applies"] else "does not apply"
        node = branch.add(f"[{colour}]{escape(name)} {statement['effect']}: {applies}[/{colour}]")
        for element in statement["elements"]:
            node.add(escape(element))


_effect_words = {
    "ALLOW": "[green]ALLOW[/green] (an Allow statement applies, no Deny does)",
    "DENY": "[red]DENY[/red] (an explicit Deny applies)",
    "NO_MATCH": "[yellow]NO MATCH[/yellow] (no statement applies: implicit deny)",
}
