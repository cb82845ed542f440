"""The life of one worker environment as data (h11 `_state.py` style): states, events, and the table of legal
transitions. An illegal transition raises, so a supervisor bug shows up as an error instead of a wedged worker.

Pure: no processes, no clock.

    STARTING --BOOTED--> READY --INVOKED--> INVOKING --RETURNED--> READY
    STARTING --INIT_FAILED--> DEAD      INVOKING --TIMED_OUT | CRASHED | OUT_OF_MEMORY--> DEAD
    STARTING | READY --RETIRED--> DEAD  READY --CRASHED--> DEAD (an idle worker that died)
"""

from __future__ import annotations

from enum import Enum

__all__ = ["EnvEvent", "EnvState", "IllegalTransition", "next_state"]


class EnvState(Enum):
    STARTING = "STARTING"
    READY = "READY"
    INVOKING = "INVOKING"
    DEAD = "DEAD"


class EnvEvent(Enum):
    BOOTED = "BOOTED"
    INIT_FAILED = "INIT_FAILED"
    INVOKED = "INVOKED"
    RETURNED = "RETURNED"
    TIMED_OUT = "TIMED_OUT"
    CRASHED = "CRASHED"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    RETIRED = "RETIRED"


class IllegalTransition(RuntimeError):
    """A worker environment was asked to do something its state does not allow."""


S, E = EnvState, EnvEvent
_TRANSITIONS: dict[tuple[EnvState, EnvEvent], EnvState] = {
    (S.STARTING, E.BOOTED): S.READY,
    (S.STARTING, E.INIT_FAILED): S.DEAD,
    (S.STARTING, E.RETIRED): S.DEAD,
    (S.STARTING, E.CRASHED): S.DEAD,
    (S.READY, E.INVOKED): S.INVOKING,
    (S.READY, E.RETIRED): S.DEAD,
    (S.READY, E.CRASHED): S.DEAD,
    (S.INVOKING, E.RETURNED): S.READY,
    (S.INVOKING, E.TIMED_OUT): S.DEAD,
    (S.INVOKING, E.CRASHED): S.DEAD,
    (S.INVOKING, E.OUT_OF_MEMORY): S.DEAD,
    (S.INVOKING, E.RETIRED): S.DEAD,
    (S.DEAD, E.RETIRED): S.DEAD,  # retiring twice (shutdown racing a crash) is harmless
}


def next_state(state: EnvState, event: EnvEvent) -> EnvState:
    """The state after `event`; raises IllegalTransition when the table has no such edge."""
    try:
        return _TRANSITIONS[(state, event)]
    except KeyError:
        raise IllegalTransition(f"worker environment in state {state.value} cannot take event {event.value}") from None
