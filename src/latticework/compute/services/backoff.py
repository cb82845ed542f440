"""Restart backoff for a service whose tasks keep failing. Pure: a failure count in, a delay out.

ECS DG "Amazon ECS service throttle logic": when a service's tasks repeatedly fail to start or stop soon after,
the scheduler waits longer between launches, increasing the delay exponentially up to 27 minutes. ECS does not
publish its base; ours is 5 s, doubled per consecutive failure. `scale` shrinks it (tests run the server with a
small health-interval scale, which applies here too).
"""

from __future__ import annotations

__all__ = ["BASE_SECONDS", "MAX_SECONDS", "restart_delay"]

BASE_SECONDS = 5.0
MAX_SECONDS = 27 * 60.0


def restart_delay(failures: int, scale: float = 1.0) -> float:
    """Seconds to wait before the next launch after `failures` consecutive failed tasks (0 failures: none)."""
    if failures <= 0:
        return 0.0
    # Cap the exponent first: 2**failures for a long-failing service would overflow a float.
    exponent = min(failures - 1, 20)
    return min(BASE_SECONDS * float(2**exponent), MAX_SECONDS) * scale
