"""`latticework status`: the console's picture as rich tables, health in colour.

Resources come from the store in the state dir, read through the backend's operations (`console.picture`), so
the command works with the server down; the live numbers only the server holds (function invocations, errors,
throttles, warm workers) come from its `/console/api/status` when it answers. Never changes anything.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from latticework.console.picture import Function, Picture, Service, read_picture
from latticework.control.backend import Backend, Caller
from latticework.control.store import Store

__all__ = ["render", "status"]

_ARN = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{12}:([^\s)]+)")
_HEALTH = {"HEALTHY": "green", "UNHEALTHY": "red", "DRAINING": "yellow", "INITIAL": "cyan", "UNAVAILABLE": "dim"}


def status(
    state_dir: Annotated[Path, typer.Option("--state-dir", help="Where the store, CA and logs live.")] = Path(
        ".latticework"
    ),
    api_port: Annotated[int, typer.Option("--api-port", help="Port of a running server, for live stats.")] = 9750,
    account: Annotated[str, typer.Option(envvar="LATTICEWORK_ACCOUNT", help="Account to show.")] = "000000000000",
    region: Annotated[str, typer.Option(envvar="LATTICEWORK_REGION", help="Region to show.")] = "us-west-2",
    store: Annotated[str | None, typer.Option(envvar="LATTICEWORK_STORE", help="Store URL (default: SQLite).")] = None,
) -> None:
    """Show service networks, services, target groups with target health, functions and ECS services."""
    from latticework.config import Settings
    from latticework.control.store.factory import open_store

    if store is None and not (state_dir / "latticework.db").exists():
        typer.echo(
            f"No Latticework state in {state_dir}: run `latticework up` or `latticework server` first.", err=True
        )
        raise typer.Exit(1)
    opened = open_store(store, state_dir)
    try:
        settings = Settings(account=account, region=region)
        caller = Caller(account, region)
        picture = read_picture(Backend(opened, settings), opened, caller)
        extra = (_alb_targets(opened, caller), _ecs_events(opened, caller))
    finally:
        opened.close()
    live = _live(api_port)
    console = Console()
    render(_with_live(picture, live), console, server_up=live is not None)
    for table in extra:
        console.print(table)


def _live(api_port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/console/api/status", timeout=2) as response:
            return dict(json.loads(response.read()))
    except (OSError, ValueError):
        return None


def _with_live(picture: Picture, live: dict[str, Any] | None) -> Picture:
    if live is None:
        return picture
    stats = {f["arn"]: f for f in live.get("functions", [])}
    return replace(picture, functions=tuple(_function(f, stats.get(f.arn)) for f in picture.functions))


def _function(function: Function, live: dict[str, Any] | None) -> Function:
    if live is None:
        return function
    return replace(function, invocations=live.get("invocations", 0), errors=live.get("errors", 0),
                   throttles=live.get("throttles", 0), warm=live.get("warm", 0))  # fmt: skip


def render(picture: Picture, console: Console, server_up: bool = True) -> None:
    """Print every table (empty sections say so)."""
    console.print(f"[bold]Latticework[/] account {picture.account} · {picture.region}")
    if not server_up:
        console.print("[yellow]The server does not answer: showing the store only (no live function stats).[/]")
    for table in (_networks(picture), _services(picture), _target_groups(picture), _functions(picture),
                  _ecs(picture)):  # fmt: skip
        console.print(table)


def _networks(picture: Picture) -> Table:
    table = Table("Service network", "ID", "Auth", "VPCs", "Services", title="Service networks")
    for n in picture.networks:
        vpcs = ", ".join(f"{v} ({s})" for v, s in n.vpcs)
        services = ", ".join(f"{s} ({st})" for s, st in n.services)
        table.add_row(n.name, n.id, n.auth_type, vpcs or "-", services or "-")
    return table


def _services(picture: Picture) -> Table:
    table = Table("Service", "DNS name / custom domain", "Auth", "Listeners and rules", title="Services")
    for s in picture.services:
        names = s.dns_name + (f"\n{s.custom_domain}" if s.custom_domain else "")
        auth = s.auth_type + (f"\npolicy {s.auth_state}" if s.auth_state else "")
        table.add_row(s.name, names, auth, _rules(picture, s))
    return table


def _rules(picture: Picture, service: Service) -> str:
    lines = []
    for listener in service.listeners:
        lines.append(f"{listener.protocol}:{listener.port}")
        for rule in listener.rules:
            where = "default" if rule.is_default else str(rule.priority)
            if rule.action == "forward":
                to = ", ".join(f"{_group_name(picture, w.target_group)} {w.weight}" for w in rule.forward)
            else:
                to = f"fixed {rule.fixed_status}"
            lines.append(f"  {where}: {rule.match} -> {to}")
    return "\n".join(lines) or "-"


def _group_name(picture: Picture, group_id: str) -> str:
    group = picture.target_group(group_id)
    return group.name if group else group_id


def _target_groups(picture: Picture) -> Table:
    table = Table("Target group", "Type", "Port", "Targets", title="Target groups")
    for g in picture.target_groups:
        targets = "\n".join(
            f"{t.id}{':' + str(t.port) if t.port else ''} [{_HEALTH.get(t.status, 'white')}]{t.status}[/]"
            for t in g.targets
        )
        table.add_row(g.name, g.type, str(g.port or "-"), targets or "[dim]none[/]")
    return table


def _functions(picture: Picture) -> Table:
    table = Table("Function", "Runtime", "State", "Invocations", "Errors", "Throttles", "Warm", title="Functions")
    for f in picture.functions:
        errors = f"[red]{f.errors}[/]" if f.errors else "0"
        table.add_row(f.name, f.runtime, f.state, str(f.invocations), errors, str(f.throttles), str(f.warm))
    return table


def _ecs(picture: Picture) -> Table:
    table = Table("ECS service", "Running/desired", "Restarts", "Tasks", title="ECS services")
    for s in picture.ecs_services:
        colour = "green" if s.running >= s.desired else "yellow"
        tasks = "\n".join(f"{t} {st} [{_HEALTH.get(h, 'white')}]{h}[/]" for t, st, h in s.tasks)
        table.add_row(f"{s.cluster}/{s.name}", f"[{colour}]{s.running}/{s.desired}[/]", str(s.restarts), tasks or "-")
    return table


def _alb_targets(store: Store, caller: Caller) -> Table:
    """ELBv2 target groups and their targets' health, as DescribeTargetHealth reports it."""
    import time

    from latticework.control.elbv2._context import ElbCtx
    from latticework.control.elbv2.targets import describe_target_health
    from latticework.dataplane.alb import names

    table = Table("ALB target group", "Type", "Port", "Targets", title="ALB target groups")
    with store.transaction() as tx:
        for group in tx.find(names.TARGET_GROUP_KIND, caller.account, caller.region):
            found = describe_target_health(ElbCtx(tx, caller, time.time()), {"TargetGroupArn": group.arn})
            targets = "\n".join(_alb_target(d) for d in found["TargetHealthDescriptions"])
            table.add_row(group.doc["TargetGroupName"], group.doc["TargetType"], str(group.doc.get("Port", "-")),
                          targets or "[dim]none[/]")  # fmt: skip
    return table


def _alb_target(description: dict[str, Any]) -> str:
    target, health = description["Target"], description["TargetHealth"]
    state = str(health["State"])
    reason = f" ({health['Reason']})" if health.get("Reason") else ""
    return f"{target['Id']}:{target['Port']} [{_HEALTH.get(state.upper(), 'white')}]{state}[/]{reason}"


def _ecs_events(store: Store, caller: Caller) -> Table:
    """Each ECS service's failed tasks, the wait before its next launch (restart backoff) and latest events."""
    import time

    from latticework.compute.services import model

    table = Table("ECS service", "Failed tasks", "Next launch", "Latest events", title="ECS service events")
    now = time.time()
    _, records = store.read_all([model.SERVICE_KIND])
    for service in records:
        doc = service.doc
        if service.account != caller.account or service.region != caller.region or doc["status"] == "INACTIVE":
            continue
        failed = (doc.get("deployments") or [{}])[0].get("failedTasks", 0)
        wait = float(doc.get("_nextLaunchAt") or 0) - now
        events = "\n".join(_short_arns(m) for m in _latest_events(doc.get("events") or []))
        table.add_row(f"{service.parent}/{doc['serviceName']}", f"[red]{failed}[/]" if failed else "0",
                      f"backoff {wait:.1f} s" if wait > 0 else "now", events or "-")  # fmt: skip
    return table


def _latest_events(events: list[dict[str, Any]]) -> list[str]:
    """The three newest events, and the newest health-check failure when it is older (why tasks restart)."""
    shown = [str(e["message"]) for e in events[:3]]
    failure = next((str(e["message"]) for e in events if " failed " in e["message"]), None)
    return [*shown, failure] if failure and failure not in shown else shown


def _short_arns(text: str) -> str:
    """ARNs in an event cut to their resource part (`targetgroup/NAME/ID`), so a line fits a terminal."""
    return _ARN.sub(lambda m: m.group(1), text)
