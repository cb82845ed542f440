"""/metrics: AWS/VpcLattice names in Prometheus text, parsed with prometheus-client's parser, agreeing with the
access log records of the same requests; and the pure pieces (status classes, labels) as tables."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from topology import Network, forward, get_json

from latticework.console import MULTIPROC_ENV, metrics_dir
from latticework.console.metrics import status_class

LOG_GROUP = "arn:aws:logs:us-west-2:000000000000:log-group:/console/metrics"


@pytest.mark.parametrize(
    ("status", "klass"),
    [(200, "2XX"), (204, "2XX"), (302, "3XX"), (404, "4XX"), (499, "4XX"), (500, "5XX"), (503, "5XX"), (0, None),
     (101, None), (600, None)],
)  # fmt: skip
def test_status_class_buckets_responses_like_httpcode_metrics(status: int, klass: str | None) -> None:
    assert status_class(status) == klass


_FAMILIES = {"TotalRequestCount": "counter", "HTTPCode_2XX_Count": "counter", "HTTPCode_4XX_Count": "counter",
             "HTTPCode_5XX_Count": "counter", "RequestTime": "histogram"}  # fmt: skip


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by (sample name, sorted labels); the AWS names carry their Prometheus types."""
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        assert response.headers["content-type"].startswith("text/plain")
        text = response.read().decode()
    kinds = {family.name: family.type for family in text_string_to_metric_families(text)}
    assert {name: kinds.get(name) for name in _FAMILIES} == _FAMILIES
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def logged(state_dir: Path) -> list[dict[str, Any]]:
    lines = [
        line for path in (state_dir / "logs" / "cloudwatch").rglob("*.log") for line in path.read_text().splitlines()
    ]
    return [json.loads(line) for line in lines if line.strip()]


def wait_for(check: Any, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_request_counts_agree_with_access_logs(network: Network, backend: Any) -> None:
    """Ten requests with 2XX, 5XX and 4XX answers: each label set's counts equal the access log's records."""
    echo = backend("a")
    vpc = network.add_vpc("client")
    group = network.target_group("metrics-a", echo)
    service = network.service("metrics-svc", forward((group, 100)))
    network.lattice.create_access_log_subscription(resourceIdentifier=network.network["id"], destinationArn=LOG_GROUP)
    network.settle()
    opener = network.opener(vpc)
    host = service["dnsEntry"]["domainName"]
    statuses = [get_json(opener, f"http://{host}/ok")[0] for _ in range(5)]
    echo.server.status = 503
    statuses += [get_json(opener, f"http://{host}/fail")[0] for _ in range(3)]
    statuses += [get_json(opener, "http://nowhere.example/")[0] for _ in range(2)]
    assert sorted(statuses) == [200] * 5 + [404] * 2 + [503] * 3

    state_dir = Path(network.server.state_dir)
    records = wait_for(lambda: r if len(r := logged(state_dir)) >= 10 else None)
    assert records is not None and len(records) == 10
    metrics = scrape(network.server.url)

    def labels(record: dict[str, Any]) -> tuple[tuple[str, str], ...]:
        return tuple(sorted({"service_network": record["serviceNetworkArn"], "service": record["serviceArn"],
                             "target_group": record["targetGroupArn"]}.items()))  # fmt: skip

    totals = Counter(labels(r) for r in records)
    classes = Counter((labels(r), f"{r['responseCode'] // 100}XX") for r in records)
    assert len(totals) == 2  # forwarded to the group, and refused with no service
    for key, count in totals.items():
        assert metrics[("TotalRequestCount_total", key)] == count
        assert metrics[("RequestTime_count", key)] == count
    for (key, klass), count in classes.items():
        assert metrics[(f"HTTPCode_{klass}_Count_total", key)] == count
    forwarded = labels(next(r for r in records if r["responseCode"] == 200))
    assert metrics[("HTTPCode_5XX_Count_total", forwarded)] == 3
    assert metrics[("HTTPCode_2XX_Count_total", forwarded)] == 5
    assert metrics[("RequestTime_bucket", tuple(sorted((*forwarded, ("le", "+Inf")))))] == 8
    # urllib opens a connection per request: ten accepted on the VPC's ingress, counted by VPC and network.
    connections = {k: v for k, v in metrics.items() if k[0] == "TotalConnectionCount_total"}
    assert sum(connections.values()) == 10
    assert all(dict(k[1]).get("vpc") == vpc for k in connections), connections


_WORKER = """
import sys
from types import SimpleNamespace
from latticework.console.metrics import TrafficMetrics
metrics = TrafficMetrics()
for status in map(int, sys.argv[1:]):
    metrics.observe(SimpleNamespace(decision=None, vpc=None, status=status, start=0.0, end=0.002,
                                    failure_reason=None))
metrics.connection_opened("vpc-1", None)
metrics.flush()  # as DataPlane.stop does
"""


def test_processes_sharing_a_metrics_dir_add_up(tmp_path: Path) -> None:
    """Two worker processes in multiprocess mode: /metrics's exposition sums them (and drops dead live gauges)."""
    directory = enable_multiprocess_in(tmp_path)
    env = {**os.environ, MULTIPROC_ENV: str(directory)}
    for statuses in (["200", "200", "503"], ["200", "404"]):
        subprocess.run([sys.executable, "-c", _WORKER, *statuses], env=env, check=True)
    probe = "from pathlib import Path; from latticework.console.metrics import exposition; import sys\n"
    probe += "sys.stdout.write(exposition(None, Path(sys.argv[1])).decode())"
    text = subprocess.run([sys.executable, "-c", probe, str(directory)], env=env, check=True, capture_output=True,
                          text=True).stdout  # fmt: skip
    samples = {(s.name, s.labels.get("vpc", "")): s.value for f in text_string_to_metric_families(text)
               for s in f.samples}  # fmt: skip
    assert samples[("TotalRequestCount_total", "")] == 5
    assert samples[("HTTPCode_2XX_Count_total", "")] == 3
    assert samples[("TotalConnectionCount_total", "vpc-1")] == 2
    assert ("ActiveConnectionCount", "vpc-1") not in samples  # both processes have exited


def enable_multiprocess_in(tmp_path: Path) -> Path:
    directory = metrics_dir(tmp_path)
    directory.mkdir(parents=True)
    return directory
