"""Lambda concurrency accounting: per-function reserved concurrency and the account's unreserved pool.

Lambda DG "Configuring reserved concurrency": a function with reserved concurrency N runs at most N invocations
at once and never draws from the unreserved pool; other functions share what the reservations leave of the
account limit (1,000 by default). An invocation over the limit is throttled at once (TooManyRequestsException,
429) - never queued here, so it can neither run late nor run twice.

Pure counters: the asyncio supervisor calls `try_acquire` and `release` from one thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["ACCOUNT_LIMIT", "MIN_UNRESERVED", "ConcurrencyLimiter", "Slot", "Throttled"]

# Lambda DG "Lambda quotas": concurrent executions 1,000 per Region; at least 100 stay unreserved.
ACCOUNT_LIMIT = 1000
MIN_UNRESERVED = 100


@dataclass(frozen=True, slots=True)
class Slot:
    """A held unit of concurrency; `reserved` says which pool it came from so release returns it there."""

    function_arn: str
    reserved: bool


@dataclass(frozen=True, slots=True)
class Throttled:
    """Why an invocation was refused: the Reason member of Lambda's TooManyRequestsException."""

    reason: str


@dataclass
class ConcurrencyLimiter:
    """In-flight counts for one account and Region."""

    account_limit: int = ACCOUNT_LIMIT
    in_flight: dict[str, int] = field(default_factory=dict)
    unreserved_in_flight: int = 0

    def try_acquire(self, function_arn: str, reserved: int | None, total_reserved: int) -> Slot | Throttled:
        """A slot, or the throttle reason Lambda reports when none is free."""
        running = self.in_flight.get(function_arn, 0)
        if reserved is not None:
            if running >= reserved:
                return Throttled("ReservedFunctionConcurrentInvocationLimitExceeded")
            return self._take(Slot(function_arn, reserved=True))
        if self.unreserved_in_flight >= self.account_limit - total_reserved:
            return Throttled("ConcurrentInvocationLimitExceeded")
        self.unreserved_in_flight += 1
        return self._take(Slot(function_arn, reserved=False))

    def release(self, slot: Slot) -> None:
        left = self.in_flight[slot.function_arn] - 1
        if left:
            self.in_flight[slot.function_arn] = left
        else:
            del self.in_flight[slot.function_arn]
        if not slot.reserved:
            self.unreserved_in_flight -= 1

    def running(self, function_arn: str) -> int:
        return self.in_flight.get(function_arn, 0)

    def _take(self, slot: Slot) -> Slot:
        self.in_flight[slot.function_arn] = self.in_flight.get(slot.function_arn, 0) + 1
        return slot
