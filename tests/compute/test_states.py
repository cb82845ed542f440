"""The worker-environment state machine and the concurrency accounting: pure tables and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from latticework.compute.functions.concurrency import ConcurrencyLimiter, Slot, Throttled
from latticework.compute.functions.states import EnvEvent, EnvState, IllegalTransition, next_state

S, E = EnvState, EnvEvent

LEGAL = [
    (S.STARTING, E.BOOTED, S.READY),
    (S.STARTING, E.INIT_FAILED, S.DEAD),
    (S.READY, E.INVOKED, S.INVOKING),
    (S.INVOKING, E.RETURNED, S.READY),
    (S.INVOKING, E.TIMED_OUT, S.DEAD),
    (S.INVOKING, E.CRASHED, S.DEAD),
    (S.INVOKING, E.OUT_OF_MEMORY, S.DEAD),
    (S.READY, E.RETIRED, S.DEAD),
    (S.DEAD, E.RETIRED, S.DEAD),
]


@pytest.mark.parametrize(("state", "event", "after"), LEGAL)
def test_legal_transitions(state: EnvState, event: EnvEvent, after: EnvState) -> None:
    assert next_state(state, event) is after


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (S.READY, E.RETURNED),  # nothing was running
        (S.INVOKING, E.INVOKED),  # one invocation per environment at a time
        (S.DEAD, E.INVOKED),  # a dead worker is never reused
        (S.STARTING, E.INVOKED),
        (S.DEAD, E.BOOTED),
        (S.READY, E.TIMED_OUT),
    ],
)
def test_illegal_transitions_raise(state: EnvState, event: EnvEvent) -> None:
    with pytest.raises(IllegalTransition, match=f"{state.value} cannot take event {event.value}"):
        next_state(state, event)


def test_only_invoking_accepts_a_result() -> None:
    """RETURNED is legal from INVOKING alone, for every state."""
    for state in EnvState:
        if state is S.INVOKING:
            continue
        with pytest.raises(IllegalTransition):
            next_state(state, E.RETURNED)


def test_dead_is_terminal_except_for_retiring() -> None:
    for event in EnvEvent:
        if event is E.RETIRED:
            continue
        with pytest.raises(IllegalTransition):
            next_state(S.DEAD, event)


def test_reserved_concurrency_throttles_at_the_limit() -> None:
    limiter = ConcurrencyLimiter()
    slots = [limiter.try_acquire("f", 2, 2) for _ in range(3)]
    assert [type(s) for s in slots] == [Slot, Slot, Throttled]
    assert slots[2] == Throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
    limiter.release(slots[0])  # type: ignore[arg-type]
    assert isinstance(limiter.try_acquire("f", 2, 2), Slot)


def test_reserved_zero_throttles_everything() -> None:
    assert ConcurrencyLimiter().try_acquire("f", 0, 0) == Throttled("ReservedFunctionConcurrentInvocationLimitExceeded")


def test_unreserved_pool_is_what_reservations_leave() -> None:
    limiter = ConcurrencyLimiter(account_limit=5)
    got = [limiter.try_acquire(f"f{i}", None, 3) for i in range(3)]
    assert [type(s) for s in got] == [Slot, Slot, Throttled]
    assert got[2] == Throttled("ConcurrentInvocationLimitExceeded")


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.booleans()), max_size=200))
def test_counts_never_pass_limits_and_return_to_zero(steps: list[tuple[str, bool]]) -> None:
    """Any interleaving of acquires and releases: a reserved function never passes its reservation, the pool
    never passes what is left, and releasing everything leaves nothing in flight."""
    reserved = {"a": 2, "b": None, "c": 0}
    limiter = ConcurrencyLimiter(account_limit=4)
    held: list[Slot] = []
    for function, acquire in steps:
        if acquire or not held:
            slot = limiter.try_acquire(function, reserved[function], 2)
            if isinstance(slot, Slot):
                held.append(slot)
        else:
            limiter.release(held.pop(0))
        assert limiter.running("a") <= 2
        assert limiter.running("c") == 0
        assert limiter.unreserved_in_flight <= 2
    for slot in held:
        limiter.release(slot)
    assert limiter.in_flight == {}
    assert limiter.unreserved_in_flight == 0
