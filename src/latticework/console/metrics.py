"""Metrics under AWS/VpcLattice's names, and their Prometheus exposition.

`TrafficMetrics` is what a data-plane process records into: one `observe(trace)` per finished request (the relay's
record hook) and the connection hooks. Target-group and service metrics carry the labels `service_network`,
`service` and `target_group` (ARNs, as the access log's `serviceNetworkArn`, `serviceArn`, `targetGroupArn`, `-`
where a request had none), so a metric and the access log records of the same requests can be compared one to one
(request counts are batched: they reach the series on `flush`). Connection metrics are counted per client connection
on a VPC's ingress, before any request names a service: they carry `vpc` and `service_network` instead (a deviation:
Lattice reports them per target group, User Guide "CloudWatch metrics for VPC Lattice").

With prometheus-client's multiprocess mode on (`latticework.console.enable_multiprocess`), every process writes
its own files in STATE_DIR/metrics and `exposition` adds them up, so `--workers N` shows one set of numbers.
Function and task metrics are read at scrape time from the function supervisor and the store. Never does I/O of
its own beyond prometheus-client's files; never decides anything about a request.

Names: a Prometheus counter family keeps the AWS name and its sample gets `_total` (`TotalRequestCount_total`),
as the exposition format requires; `RequestTime` is a histogram in milliseconds, the unit Lattice reports.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, values
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

from latticework.control.store import Store
from latticework.dataplane.decide import Forwarding
from latticework.dataplane.forwarding import Trace

__all__ = [
    "CONTENT_TYPE",
    "FunctionCollector",
    "TaskCollector",
    "TrafficMetrics",
    "exposition",
    "status_class",
]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
_LABELS = ("service_network", "service", "target_group")
_CONNECTION_LABELS = ("service_network", "vpc")
# Milliseconds: Lattice's RequestTime unit. From a local hop to the 10-minute connection lifetime's order.
_REQUEST_TIME_BUCKETS = (1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000)
# failureReason values (access log) that the timeout and connection-error counts stand for.
_TIMEOUTS = frozenset({"TargetDataTimeout", "TargetConnectionTimeout", "RequestTimeout"})
_CONNECTION_ERRORS = frozenset({"TargetConnectionError"})


def status_class(status: int) -> str | None:
    """The HTTPCode_nXX_Count a response status counts in; None for what never reached a response (0)."""
    return f"{status // 100}XX" if 200 <= status <= 599 else None


def request_labels(trace: Trace) -> tuple[str, str, str]:
    """(service_network, service, target_group) of a finished request, as its access log record names them."""
    decision = trace.decision
    if isinstance(decision, Forwarding):
        return decision.network_arn, decision.service.arn, decision.target_group.arn
    service = getattr(decision, "service", None)
    # As the access log's serviceNetworkArn: the network the VPC of the request is associated with.
    network = trace.vpc.network_arn if trace.vpc is not None else None
    return network or "-", service.arn if service is not None else "-", "-"


# A label set's pending counts, in one list: requests, (unused), the 2XX-5XX classes at their status // 100,
# timeouts, connection errors, then one RequestTime bucket per bound and +Inf.
_REQUESTS, _TIMED_OUT, _CONNECTION_FAILED, _BUCKETS = 0, 6, 7, 8
_CLASSES = ("2XX", "3XX", "4XX", "5XX")
_COUNTS = _BUCKETS + len(_REQUEST_TIME_BUCKETS) + 1


class _Tally:
    """One (service_network, service, target_group)'s counts since the last flush, as plain ints, and its
    RequestTime sum since the process started (added request by request, as Histogram.observe would, so the
    flushed sum is the very float prometheus-client would have), with the labelled series they go to."""

    __slots__ = ("codes", "connection_errors", "counts", "request_time", "requests", "time_sum", "timeouts")

    def __init__(self, metrics: TrafficMetrics, labels: tuple[str, str, str]) -> None:
        self.counts = [0] * _COUNTS
        self.requests = metrics.requests.labels(*labels)
        self.request_time = metrics.request_time.labels(*labels)
        self.time_sum: float = self.request_time._sum.get()
        self.timeouts = metrics.timeouts.labels(*labels)
        self.connection_errors = metrics.connection_errors.labels(*labels)
        self.codes = [metrics.codes[klass].labels(*labels) for klass in _CLASSES]

    def flush(self) -> None:
        """Add the pending counts to the series: one inc(n) per series that moved, then start again at zero."""
        counts, self.counts = self.counts, [0] * _COUNTS
        self.requests.inc(counts[_REQUESTS])
        for code, count in zip(self.codes, counts[2:6], strict=True):
            if count:
                code.inc(count)
        if counts[_TIMED_OUT]:
            self.timeouts.inc(counts[_TIMED_OUT])
        if counts[_CONNECTION_FAILED]:
            self.connection_errors.inc(counts[_CONNECTION_FAILED])
        histogram = self.request_time
        # Histogram has no observe-n-times: its per-bucket values (not cumulative) and sum are what observe()
        # itself increments, one value object each, in both the in-process and the multiprocess value classes.
        for bucket, count in zip(histogram._buckets, counts[_BUCKETS:], strict=True):
            if count:
                bucket.inc(count)
        histogram._sum.set(self.time_sum)


class TrafficMetrics:
    """The request and connection metrics of one data-plane process, in their own registry.

    Request metrics are batched: `observe` only adds to plain per-label-set counts (prometheus-client's values
    take a lock, and in multiprocess mode a getpid() syscall and an mmap write, per inc), and `flush` moves them
    into the series. The data plane flushes on its 50 ms tick and when it stops; `exposition` flushes the
    process that serves /metrics. Call both from the thread that serves traffic (the event loop's)."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry(auto_describe=False)
        self.requests = Counter("TotalRequestCount", "Requests handled", _LABELS, registry=registry)
        self.codes = {
            klass: Counter(f"HTTPCode_{klass}_Count", f"Responses with a {klass} status", _LABELS, registry=registry)
            for klass in _CLASSES
        }
        self.request_time = Histogram(
            "RequestTime", "Milliseconds from request start to response end", _LABELS,
            buckets=_REQUEST_TIME_BUCKETS, registry=registry,
        )  # fmt: skip
        self.timeouts = Counter("RequestTimeoutCount", "Requests that timed out waiting for the target", _LABELS,
                                registry=registry)  # fmt: skip
        self.connection_errors = Counter(
            "ConnectionErrorCount", "Requests whose connection to the target failed", _LABELS, registry=registry
        )
        self._connection_metrics(registry)
        self._tallies: dict[tuple[str, str, str], _Tally] = {}

    def _connection_metrics(self, registry: CollectorRegistry) -> None:
        self.active = Gauge("ActiveConnectionCount", "Client connections open now", _CONNECTION_LABELS,
                            registry=registry, multiprocess_mode="livesum")  # fmt: skip
        self.connections = Counter("TotalConnectionCount", "Client connections accepted", _CONNECTION_LABELS,
                                   registry=registry)  # fmt: skip
        self.tls_errors = Counter("TLSConnectionErrorCount", "TLS handshakes with clients that failed",
                                  _CONNECTION_LABELS, registry=registry)  # fmt: skip

    def observe(self, trace: Trace) -> None:
        """Count one finished request (call it where its access log record is written, with the same trace);
        it shows in the series at the next `flush`."""
        decision = trace.decision
        if isinstance(decision, Forwarding):
            labels = (decision.network_arn, decision.service.arn, decision.target_group.arn)
        else:
            labels = request_labels(trace)
        tally = self._tallies.get(labels)
        if tally is None:
            tally = self._tallies[labels] = _Tally(self, labels)
        counts = tally.counts
        counts[_REQUESTS] += 1
        status = trace.status
        if 200 <= status <= 599:  # status_class, as an index
            counts[status // 100] += 1
        if trace.end:
            elapsed = max(0.0, (trace.end - trace.start) * 1000.0)
            # Histogram.observe's bucket: the first bound with elapsed <= bound, else +Inf.
            counts[_BUCKETS + bisect_left(_REQUEST_TIME_BUCKETS, elapsed)] += 1
            tally.time_sum += elapsed
        reason = trace.failure_reason
        if reason is not None:
            if reason in _TIMEOUTS:
                counts[_TIMED_OUT] += 1
            elif reason in _CONNECTION_ERRORS:
                counts[_CONNECTION_FAILED] += 1

    def flush(self) -> None:
        """Move the counts observed since the last flush into the Prometheus series (what /metrics reads)."""
        for tally in self._tallies.values():
            if tally.counts[_REQUESTS]:
                tally.flush()

    def connection_opened(self, vpc_id: str, network_arn: str | None) -> None:
        """A client connected to the ingress of `vpc_id` (relay: connection_made)."""
        self.connections.labels(network_arn or "-", vpc_id).inc()
        self.active.labels(network_arn or "-", vpc_id).inc()

    def connection_closed(self, vpc_id: str, network_arn: str | None) -> None:
        """That connection is gone (relay: connection_lost)."""
        self.active.labels(network_arn or "-", vpc_id).dec()

    def tls_failed(self, vpc_id: str, network_arn: str | None) -> None:
        """A TLS handshake in a CONNECT tunnel failed (relay: _start_tls)."""
        self.tls_errors.labels(network_arn or "-", vpc_id).inc()


class FunctionStatsSource(Protocol):
    """What the function supervisor offers (compute/functions/supervisor.py)."""

    stats: dict[str, Any]

    def warm_workers(self, function_arn: str) -> int: ...


class FunctionCollector:
    """Lambda-style metrics per function (names of AWS/Lambda: Invocations, Errors, Throttles), read from the
    supervisor's counters at scrape time; the supervisor lives in the server process only."""

    def __init__(self, functions: FunctionStatsSource) -> None:
        self.functions = functions

    def collect(self) -> Iterator[Metric]:
        families = {
            name: CounterMetricFamily(name, text, labels=["function"])
            for name, text in (
                ("Invocations", "Function invocations"),
                ("Errors", "Invocations that ended in a function error"),
                ("Throttles", "Invocations refused for lack of concurrency"),
                ("ColdStarts", "Invocations that started a new execution environment"),
            )
        }
        warm = GaugeMetricFamily("WarmWorkers", "Idle execution environments kept warm", labels=["function"])
        for arn, stats in list(self.functions.stats.items()):
            for name, attribute in (("Invocations", "invocations"), ("Errors", "errors"),
                                    ("Throttles", "throttles"), ("ColdStarts", "cold_starts")):  # fmt: skip
                families[name].add_metric([arn], getattr(stats, attribute, 0))
            warm.add_metric([arn], self.functions.warm_workers(arn))
        yield from families.values()
        yield warm


class TaskCollector:
    """ECS-style service metrics read from the store at scrape time: desired and running tasks, and restarts
    (tasks that failed: exited unasked or failed their health checks, ECS's `failedTasks`)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[Metric]:
        desired = GaugeMetricFamily("DesiredTaskCount", "Tasks a service wants", labels=["ecs_service"])
        running = GaugeMetricFamily("RunningTaskCount", "Tasks of a service running now", labels=["ecs_service"])
        restarts = CounterMetricFamily("TaskRestartCount", "Tasks of a service that failed and were replaced",
                                       labels=["ecs_service"])  # fmt: skip
        _, records = self.store.read_all(["ecs:service"])
        for record in records:
            doc = record.doc
            desired.add_metric([record.arn], doc.get("desiredCount", 0))
            running.add_metric([record.arn], doc.get("runningCount", 0))
            restarts.add_metric([record.arn], _restarts(doc))
        yield from (desired, running, restarts)


def _restarts(service: dict[str, Any]) -> int:
    return sum(int(d.get("failedTasks", 0)) for d in service.get("deployments", ()))


def multiprocess_enabled() -> bool:
    """Whether this process records into per-process files (prometheus-client chose at import time)."""
    return bool(getattr(values.ValueClass, "_multiprocess", False))


def exposition(own: TrafficMetrics | None, directory: Path | None, extra: Iterable[Any] = ()) -> bytes:
    """The /metrics body: every data-plane process's traffic metrics (summed from `directory` in multiprocess
    mode, else this process's `own`), then the `extra` collectors (functions, tasks). `own` is flushed first;
    other processes' counts show once they flush (every 50 ms, `DataPlane._follow`)."""
    if own is not None:
        own.flush()
    registry = CollectorRegistry(auto_describe=False)
    if directory is not None and multiprocess_enabled():
        _forget_dead_processes(directory)
        MultiProcessCollector(registry, path=str(directory))  # type: ignore[no-untyped-call]
    elif own is not None:
        registry.register(_Forward(own.registry.collect))
    for collector in extra:
        registry.register(collector)
    return generate_latest(registry)


class _Forward:
    def __init__(self, collect: Callable[[], Iterable[Metric]]) -> None:
        self.collect = collect


def _forget_dead_processes(directory: Path) -> None:
    """A worker that died leaves its live gauges behind: drop them (prometheus-client docs: call
    mark_process_dead when a process exits). Its counters stay: what it counted did happen."""
    for path in directory.glob("gauge_live*_*.db"):
        pid = path.stem.rpartition("_")[2]
        if pid.isdigit() and not _alive(int(pid)):
            mark_process_dead(int(pid), str(directory))  # type: ignore[no-untyped-call]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
