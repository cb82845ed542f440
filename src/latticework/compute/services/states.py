"""The life of one task as data (h11 `_state.py` style): ECS's task statuses and the legal transitions between
them. An illegal transition raises, so a supervisor bug is an error, not a wedged task. Pure.

ECS DG "Amazon ECS task lifecycle": PROVISIONING -> PENDING -> RUNNING -> DEACTIVATING -> STOPPING -> STOPPED.
Here PENDING is "process started, port not accepting yet", DEACTIVATING is "deregistered from its target groups,
draining", STOPPING is "SIGTERM sent, waiting for the exit (SIGKILL after stopTimeout)".

    PROVISIONING --LAUNCHED--> PENDING --LISTENING--> RUNNING --STOP--> DEACTIVATING --DRAINED--> STOPPING
    PROVISIONING --FAILED | STOP--> STOPPED       PENDING --STOP--> STOPPING      any live --EXITED--> STOPPED
"""

from __future__ import annotations

from enum import Enum

__all__ = ["IllegalTransition", "TaskEvent", "TaskStatus", "next_status"]


class TaskStatus(Enum):
    PROVISIONING = "PROVISIONING"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    DEACTIVATING = "DEACTIVATING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"


class TaskEvent(Enum):
    LAUNCHED = "LAUNCHED"
    FAILED = "FAILED"
    LISTENING = "LISTENING"
    STOP = "STOP"
    DRAINED = "DRAINED"
    EXITED = "EXITED"


class IllegalTransition(RuntimeError):
    """A task was asked to do something its status does not allow."""


S, E = TaskStatus, TaskEvent
_TRANSITIONS: dict[tuple[TaskStatus, TaskEvent], TaskStatus] = {
    (S.PROVISIONING, E.LAUNCHED): S.PENDING,
    (S.PROVISIONING, E.FAILED): S.STOPPED,
    (S.PROVISIONING, E.STOP): S.STOPPED,
    (S.PENDING, E.LISTENING): S.RUNNING,
    (S.PENDING, E.STOP): S.STOPPING,
    (S.PENDING, E.EXITED): S.STOPPED,
    (S.RUNNING, E.STOP): S.DEACTIVATING,
    (S.RUNNING, E.EXITED): S.STOPPED,
    (S.DEACTIVATING, E.DRAINED): S.STOPPING,
    (S.DEACTIVATING, E.EXITED): S.STOPPED,
    (S.STOPPING, E.EXITED): S.STOPPED,
}


def next_status(status: TaskStatus, event: TaskEvent) -> TaskStatus:
    """The status after `event`; raises IllegalTransition when the table has no such edge."""
    try:
        return _TRANSITIONS[(status, event)]
    except KeyError:
        raise IllegalTransition(f"a {status.value} task cannot take {event.value}") from None
