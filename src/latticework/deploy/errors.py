"""Errors of the template engine and the deployer, one hierarchy (what `latticework up` prints):

    DeployError
     +-- TemplateError          the template itself is wrong (syntax, unknown intrinsic, bad reference)
     |    +-- ParameterError    a parameter value is missing, not allowed or of the wrong type
     |    +-- CycleError        resources depend on each other in a circle
     +-- UnsupportedTypeError   a resource type no provider handles (and --skip-unsupported was not given)
     +-- ResourceFailedError    a provider failed to create, update or delete one resource
     +-- DeployCancelled        asked to stop (a signal to `up`): stopped between two steps

Every message names the resource (logical ID) and, where it applies, the property, so the fix is obvious.
No I/O here.
"""

from __future__ import annotations

__all__ = [
    "CycleError",
    "DeployCancelled",
    "DeployError",
    "ParameterError",
    "ResourceFailedError",
    "TemplateError",
    "UnsupportedTypeError",
]


class DeployError(Exception):
    """Anything that stops a deploy."""


class TemplateError(DeployError):
    """The template is wrong; `where` is the path to the faulty value (`Resources.Api.Properties.Name`)."""

    def __init__(self, message: str, where: str = "") -> None:
        super().__init__(f"{where}: {message}" if where else message)
        self.where = where


class ParameterError(TemplateError):
    """A parameter value is missing, not in AllowedValues, or not of the declared Type."""


class CycleError(TemplateError):
    """Resources reference each other in a circle; `cycle` lists the logical IDs in order."""

    def __init__(self, cycle: list[str]) -> None:
        super().__init__("circular dependency between resources: " + " -> ".join([*cycle, cycle[0]]))
        self.cycle = cycle


class UnsupportedTypeError(DeployError):
    """No provider for these resource types (logical ID -> type)."""

    def __init__(self, unsupported: dict[str, str]) -> None:
        listed = ", ".join(f"{logical} ({kind})" for logical, kind in unsupported.items())
        super().__init__(f"unsupported resource types: {listed}; rerun with --skip-unsupported to leave them out")
        self.unsupported = unsupported


class ResourceFailedError(DeployError):
    """A provider call failed for one resource."""

    def __init__(self, logical_id: str, resource_type: str, action: str, reason: str) -> None:
        super().__init__(f"{logical_id} ({resource_type}): {action} failed: {reason}")
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.action = action
        self.reason = reason


class DeployCancelled(DeployError):
    """The deploy was asked to stop; it stopped after the step in flight (a step cut off mid-call could leave the
    resource it was creating behind, unrecorded), and its steps were undone, as a cancelled CFN update is."""

    def __init__(self, before: str) -> None:
        super().__init__(f"cancelled before {before}; this run's steps were rolled back")
        self.before = before
