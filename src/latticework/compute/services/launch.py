"""How a container definition becomes a local process: its argv, working directory and environment. Pure: the
task definition, the images table, the VPC environment and the chosen ports in; a `LaunchSpec` (or the reason the
container cannot run) out. The runner does the spawning.

- argv: `entryPoint` + `command`, as Docker joins them (ECS API reference ContainerDefinition). With neither, the
  image's entry in the images table (STATE_DIR/images.json, `{"IMAGE": ["argv", ...]}` or a shell-style string)
  gives the command. An image with no entry cannot run here: there is no container engine support yet, so the task
  stops with a stoppedReason that says so (CannotPullContainerError, as ECS names image failures).
- working directory: the container's `workingDirectory` when given (absolute), else the task's own empty
  directory under STATE_DIR/tasks/, like a fresh container filesystem.
- environment: a small base (PATH, HOME, LANG, TMPDIR from the server), the VPC's variables (`latticework vpc
  env`), AWS_REGION / AWS_DEFAULT_REGION as Fargate sets them, the container's `environment`, then PORT (the port
  chosen for its first portMapping) and ECS_TASK_ARN / ECS_CONTAINER_NAME, which the container cannot override.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["BASE_VARIABLES", "LaunchSpec", "NotRunnable", "launch_spec"]

BASE_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")


class NotRunnable(Exception):
    """The container cannot run on this machine; the message is the task's stoppedReason."""


@dataclass(frozen=True, slots=True)
class LaunchSpec:
    container: str
    argv: tuple[str, ...]
    cwd: str
    env: dict[str, str]
    port: int | None
    essential: bool


def launch_spec(
    container: dict[str, Any],
    *,
    task_arn: str,
    region: str,
    task_dir: str,
    port: int | None,
    images: Mapping[str, Any],
    vpc_env: Mapping[str, str],
    server_env: Mapping[str, str],
) -> LaunchSpec:
    """The process for one container definition; raises NotRunnable with the reason when there is none."""
    env = {k: server_env[k] for k in BASE_VARIABLES if k in server_env}
    env.update(vpc_env)
    env.update(AWS_REGION=region, AWS_DEFAULT_REGION=region)
    env.update({item["name"]: item.get("value", "") for item in container.get("environment") or []})
    if port is not None:
        env["PORT"] = str(port)
    env.update(ECS_TASK_ARN=task_arn, ECS_CONTAINER_NAME=container["name"])
    return LaunchSpec(
        container=container["name"],
        argv=_argv(container, images),
        cwd=container.get("workingDirectory") or task_dir,
        env=env,
        port=port,
        essential=container.get("essential", True) is not False,
    )


def _argv(container: dict[str, Any], images: Mapping[str, Any]) -> tuple[str, ...]:
    given = [*(container.get("entryPoint") or []), *(container.get("command") or [])]
    if given:
        return tuple(given)
    image = container.get("image") or ""
    mapped = images.get(image)
    if isinstance(mapped, str) and mapped.strip():
        return tuple(shlex.split(mapped))
    if isinstance(mapped, list) and mapped and all(isinstance(a, str) for a in mapped):
        return tuple(mapped)
    raise NotRunnable(
        f"CannotPullContainerError: image '{image}' of container '{container['name']}' has no local command "
        "and no container engine is supported here: give the container an entryPoint/command, or map the image "
        "to a command in STATE_DIR/images.json"
    )


def first_port(container: dict[str, Any]) -> dict[str, Any] | None:
    """The container's first portMapping (the one PORT is chosen for), if it has any."""
    mappings = container.get("portMappings") or []
    return mappings[0] if mappings else None
