"""Names and values the ECS API and the service supervisor share: store kinds, task statuses, task health
phases, ARNs, and the deployment ID format. No I/O here.

Store documents: a cluster (`ecs:cluster`, id = name), a task definition revision (`ecs:taskdef`, id =
`family:revision`, name = family), a service (`ecs:service`, id = `cluster/name`, parent = cluster name), a task
(`ecs:task`, id = `cluster/taskid`, parent = cluster name, ref = the service name or None). Documents are the API's
shapes plus private `_`-prefixed keys (ports, process IDs, restart bookkeeping) that the API never returns.
"""

from __future__ import annotations

import secrets
from enum import Enum

__all__ = [
    "CLUSTER_KIND",
    "SERVICE_KIND",
    "TASKDEF_KIND",
    "TASK_KIND",
    "Phase",
    "cluster_arn",
    "container_arn",
    "deployment_id",
    "new_task_id",
    "public",
    "service_arn",
    "task_arn",
    "taskdef_arn",
]

CLUSTER_KIND = "ecs:cluster"
TASKDEF_KIND = "ecs:taskdef"
SERVICE_KIND = "ecs:service"
TASK_KIND = "ecs:task"


class Phase(Enum):
    """How a task counts for its service's deployment: still coming up, serving, or failing its checks."""

    STARTING = "STARTING"
    HEALTHY = "HEALTHY"
    UNHEALTHY = "UNHEALTHY"


# ARN formats as ECS makes them (ECS DG "Amazon Resource Names (ARNs) and IDs", the long ARN format).
def cluster_arn(region: str, account: str, cluster: str) -> str:
    return f"arn:aws:ecs:{region}:{account}:cluster/{cluster}"


def service_arn(region: str, account: str, cluster: str, name: str) -> str:
    return f"arn:aws:ecs:{region}:{account}:service/{cluster}/{name}"


def task_arn(region: str, account: str, cluster: str, task_id: str) -> str:
    return f"arn:aws:ecs:{region}:{account}:task/{cluster}/{task_id}"


def taskdef_arn(region: str, account: str, family: str, revision: int) -> str:
    return f"arn:aws:ecs:{region}:{account}:task-definition/{family}:{revision}"


def container_arn(region: str, account: str, cluster: str, task_id: str) -> str:
    return f"arn:aws:ecs:{region}:{account}:container/{cluster}/{task_id}/{secrets.token_hex(16)}"


def new_task_id() -> str:
    """32 lower-case hex digits, the shape of an ECS task ID."""
    return secrets.token_hex(16)


def deployment_id() -> str:
    """`ecs-svc/` and 19 digits, the shape of an ECS deployment ID."""
    return "ecs-svc/" + str(secrets.randbelow(10**19)).rjust(19, "0")


def public(doc: dict[str, object]) -> dict[str, object]:
    """The API members of a stored document (private `_` keys dropped)."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}
