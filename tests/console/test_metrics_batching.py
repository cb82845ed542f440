"""Batched request metrics: after `flush`, `TrafficMetrics`'s series are exactly what prometheus-client's own
inc()/observe() per request make (the reference below is the unbatched recorder), in any order of requests and
flushes; and nothing shows before a flush but what /metrics's exposition flushes itself."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from latticework.console.metrics import _REQUEST_TIME_BUCKETS, TrafficMetrics, exposition, request_labels, status_class
from latticework.dataplane.decide import Forwarding

_LABELS = ("service_network", "service", "target_group")
_NETWORK = "arn:aws:vpc-lattice:us-west-2:111122223333:servicenetwork/sn-0e05d75deabe9f290"
_SERVICE = SimpleNamespace(arn="arn:aws:vpc-lattice:us-west-2:111122223333:service/svc-0cfe1f49ff3266204")
_GROUP = SimpleNamespace(arn="arn:aws:vpc-lattice:us-west-2:111122223333:targetgroup/tg-0277f384abfefe8aa")
_DECISIONS = [
    None,
    SimpleNamespace(service=_SERVICE),  # a refusal or fixed reply of a service
    Forwarding(_SERVICE, None, _GROUP, None, _NETWORK, None),  # type: ignore[arg-type]
]
# Bounds themselves and their neighbours (le is inclusive), zero, negative (clamped), and beyond the last bound.
_MILLISECONDS = st.sampled_from([0.0, -3.0, 1e6, *_REQUEST_TIME_BUCKETS]) | st.floats(0, 70_000)
_REASONS = st.sampled_from([None, "TargetDataTimeout", "RequestTimeout", "TargetConnectionError", "InternalError"])


class _Reference:
    """The recorder before batching: prometheus-client's inc() and observe() per request, every series of a
    label set made when the set is first seen."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter("TotalRequestCount", "Requests handled", _LABELS, registry=registry)
        self.codes = {
            klass: Counter(f"HTTPCode_{klass}_Count", f"Responses with a {klass} status", _LABELS, registry=registry)
            for klass in ("2XX", "3XX", "4XX", "5XX")
        }
        self.time = Histogram("RequestTime", "Milliseconds from request start to response end", _LABELS,
                              buckets=_REQUEST_TIME_BUCKETS, registry=registry)  # fmt: skip
        self.timeouts = Counter("RequestTimeoutCount", "Requests that timed out waiting for the target", _LABELS,
                                registry=registry)  # fmt: skip
        self.errors = Counter("ConnectionErrorCount", "Requests whose connection to the target failed", _LABELS,
                              registry=registry)  # fmt: skip

    def observe(self, trace: Any) -> None:
        labels = request_labels(trace)
        for family in (self.requests, *self.codes.values(), self.time, self.timeouts, self.errors):
            family.labels(*labels)
        self.requests.labels(*labels).inc()
        klass = status_class(trace.status)
        if klass is not None:
            self.codes[klass].labels(*labels).inc()
        if trace.end:
            self.time.labels(*labels).observe(max(0.0, (trace.end - trace.start) * 1000.0))
        if trace.failure_reason in ("TargetDataTimeout", "TargetConnectionTimeout", "RequestTimeout"):
            self.timeouts.labels(*labels).inc()
        elif trace.failure_reason == "TargetConnectionError":
            self.errors.labels(*labels).inc()


def _trace(decision: Any, status: int, milliseconds: float | None, reason: str | None) -> SimpleNamespace:
    start = 1_722_770_920.25
    end = 0.0 if milliseconds is None else start + milliseconds / 1000.0
    vpc = SimpleNamespace(network_arn=_NETWORK)
    return SimpleNamespace(decision=decision, vpc=vpc, status=status, start=start, end=end, failure_reason=reason)


def _samples(registry: CollectorRegistry) -> list[str]:
    """The exposition's lines but the `_created` timestamps (two registries are never created at once)."""
    return [line for line in generate_latest(registry).decode().splitlines() if "_created" not in line]


_REQUESTS = st.lists(
    st.tuples(
        st.sampled_from(range(len(_DECISIONS))),
        st.sampled_from([0, 101, 200, 204, 302, 404, 503, 600]),
        st.none() | _MILLISECONDS,
        _REASONS,
        st.booleans(),  # flush after this request
    ),
    max_size=60,
)


@given(_REQUESTS)
def test_flushed_series_equal_prometheus_clients_own_per_request_counting(requests: list[Any]) -> None:
    """Counters, code classes, histogram buckets, count and sum: the same text, flushed at any points."""
    metrics, reference = TrafficMetrics(), _Reference()
    for decision, status, milliseconds, reason, flush in requests:
        trace = _trace(_DECISIONS[decision], status, milliseconds, reason)
        metrics.observe(trace)  # type: ignore[arg-type]
        reference.observe(trace)
        if flush:
            metrics.flush()
    metrics.flush()
    mine = [line for line in _samples(metrics.registry) if not line.startswith(_CONNECTION_FAMILIES)]
    assert mine == _samples(reference.registry)


_CONNECTION_FAMILIES = ("# HELP ActiveConnection", "# TYPE ActiveConnection", "# HELP TotalConnection",
                        "# TYPE TotalConnection", "# HELP TLSConnection", "# TYPE TLSConnection")  # fmt: skip


def test_counts_wait_for_a_flush_and_the_exposition_flushes_its_own() -> None:
    """observe() alone leaves the series at zero; /metrics's body of this process counts them at once."""
    metrics = TrafficMetrics()
    for _ in range(3):
        metrics.observe(_trace(None, 200, 12.0, None))  # type: ignore[arg-type]
    labels = f'service="-",service_network="{_NETWORK}",target_group="-"'
    assert f"TotalRequestCount_total{{{labels}}} 0.0" in generate_latest(metrics.registry).decode().splitlines()
    lines = exposition(metrics, None).decode().splitlines()
    assert f"TotalRequestCount_total{{{labels}}} 3.0" in lines
    assert f'RequestTime_bucket{{le="25.0",{labels}}} 3.0' in lines
    one = _trace(None, 200, 12.0, None).end - _trace(None, 200, 12.0, None).start
    assert f"RequestTime_sum{{{labels}}} {one * 1000.0 + one * 1000.0 + one * 1000.0!r}" in lines
