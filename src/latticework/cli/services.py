"""`latticework services ls / scale NAME N / restart NAME`: ECS services of the server, through its ECS API.

A client of the running server's ECS API (boto3 `ecs` against the main endpoint), as `aws ecs` would be: `ls`
describes every service of every cluster, `scale` is UpdateService(desiredCount), `restart` is
UpdateService(forceNewDeployment), a rolling replacement of every task. NAME is `SERVICE` (looked up in every
cluster; an error when two clusters have one of that name) or `CLUSTER/SERVICE`. Never touches the store itself.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

__all__ = ["services_app"]

services_app = typer.Typer(help="ECS services on the server: list, scale, restart.", no_args_is_help=True)

ApiPort = Annotated[int, typer.Option("--api-port", help="Port of the running server's API.")]
Region = Annotated[str, typer.Option(envvar="LATTICEWORK_REGION", help="Region of the services.")]


def _ecs(api_port: int, region: str) -> Any:
    import boto3
    from botocore.config import Config

    # Any credentials are accepted unless strict mode is on (DESIGN section 6); the default account's keys.
    return boto3.client("ecs", endpoint_url=f"http://127.0.0.1:{api_port}", region_name=region,
                        aws_access_key_id="latticework", aws_secret_access_key="latticework",
                        config=Config(retries={"max_attempts": 2}))  # fmt: skip


def _call(operation: Any, **params: Any) -> dict[str, Any]:
    """One ECS call; a refused call or an unreachable server exits 1 with ECS's message."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return dict(operation(**params))
    except ClientError as exc:
        error = exc.response.get("Error", {})
        typer.echo(f"{error.get('Code', 'Error')}: {error.get('Message', exc)}", err=True)
    except BotoCoreError as exc:
        typer.echo(f"The server's ECS API does not answer ({exc}): is `latticework server` running?", err=True)
    raise typer.Exit(1)


def _all_services(ecs: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for cluster in _call(ecs.list_clusters)["clusterArns"]:
        arns = _call(ecs.list_services, cluster=cluster, maxResults=100)["serviceArns"]
        for start in range(0, len(arns), 10):  # DescribeServices takes at most 10 services
            found += _call(ecs.describe_services, cluster=cluster, services=arns[start : start + 10])["services"]
    return found


def _find(ecs: Any, name: str) -> tuple[str, str]:
    """(cluster ARN, service name) that NAME (`SERVICE` or `CLUSTER/SERVICE`) names."""
    cluster, _, service = name.rpartition("/")
    matches = [s for s in _all_services(ecs) if s["serviceName"] == service and s["status"] == "ACTIVE"
               and (not cluster or s["clusterArn"].rsplit("/", 1)[-1] == cluster)]  # fmt: skip
    if len(matches) != 1:
        where = "no cluster has an ACTIVE service" if not matches else "several clusters have a service"
        typer.echo(f"{where} named {service!r}: give CLUSTER/SERVICE (see `latticework services ls`).", err=True)
        raise typer.Exit(1)
    return matches[0]["clusterArn"], service


@services_app.command("ls")
def list_services(api_port: ApiPort = 9750, region: Region = "us-west-2") -> None:
    """Every ECS service: tasks running/desired, its deployments, failed tasks and the latest event."""
    table = Table("Service", "Status", "Running/desired", "Pending", "Task definition", "Rollout", "Failed tasks",
                  "Latest event", title="ECS services")  # fmt: skip
    for s in _all_services(_ecs(api_port, region)):
        primary = (s.get("deployments") or [{}])[0]
        events = s.get("events") or []
        colour = "green" if s["runningCount"] >= s["desiredCount"] else "yellow"
        table.add_row(
            f"{s['clusterArn'].rsplit('/', 1)[-1]}/{s['serviceName']}", s["status"],
            f"[{colour}]{s['runningCount']}/{s['desiredCount']}[/]", str(s["pendingCount"]),
            s["taskDefinition"].rsplit("/", 1)[-1], f"{primary.get('rolloutState', '-')} ({len(s['deployments'])})",
            str(primary.get("failedTasks", 0)), events[0]["message"] if events else "-",
        )  # fmt: skip
    Console(width=200).print(table)


@services_app.command("scale")
def scale(
    name: Annotated[str, typer.Argument(help="SERVICE or CLUSTER/SERVICE.")],
    count: Annotated[int, typer.Argument(min=0, help="The new desired count.")],
    api_port: ApiPort = 9750,
    region: Region = "us-west-2",
) -> None:
    """Set the service's desired count (UpdateService); tasks start or drain and stop to match."""
    ecs = _ecs(api_port, region)
    cluster, service = _find(ecs, name)
    updated = _call(ecs.update_service, cluster=cluster, service=service, desiredCount=count)["service"]
    typer.echo(f"{service}: desired count {updated['desiredCount']} (running {updated['runningCount']})")


@services_app.command("restart")
def restart(
    name: Annotated[str, typer.Argument(help="SERVICE or CLUSTER/SERVICE.")],
    api_port: ApiPort = 9750,
    region: Region = "us-west-2",
) -> None:
    """Replace every task with a rolling deployment (UpdateService forceNewDeployment)."""
    ecs = _ecs(api_port, region)
    cluster, service = _find(ecs, name)
    updated = _call(ecs.update_service, cluster=cluster, service=service, forceNewDeployment=True)["service"]
    typer.echo(f"{service}: new deployment {updated['deployments'][0]['id']} rolling {updated['desiredCount']} tasks")
