"""The seed's checkout path end to end with ECS behind an ALB: two VPCs with the same CIDR; an ECS service whose
`loadBalancers` register its tasks into an ELBv2 target group behind an internal ALB in one; a Lattice service
with a custom domain and an HTTPS listener whose target group of type ALB points at that ALB; a client process
started in the other VPC (environment from `latticework vpc env`) reaching it over HTTPS by the custom domain.
Real processes, real TLS through the local CA, real boto3 clients against a real `latticework server`."""

from __future__ import annotations

import json
import os
import re
import signal
import ssl
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from ecs_kit import service_of, tasks_of, wait_for, web_container

sys.path.insert(0, str(Path(__file__).parents[1] / "dataplane"))
from topology import Network

from latticework.compute.services.backoff import restart_delay
from latticework.pki.ca import LocalCA

SCALE = 0.05  # --health-interval-scale: ELBv2 checks every 5 s * 0.05 = 0.25 s
DOMAIN = "checkout.example.com"
# The checks the ELBv2 target group runs (intervals scaled by SCALE on this server).
ELB_CHECK = {"HealthCheckPath": "/health", "HealthCheckIntervalSeconds": 5, "HealthCheckTimeoutSeconds": 2,
             "HealthyThresholdCount": 2, "UnhealthyThresholdCount": 2}  # fmt: skip

# A client living in a VPC: it only has the environment `latticework vpc env` printed, and uses the stdlib's
# proxy and CA handling (HTTPS_PROXY, SSL_CERT_FILE), as any program there would.
CLIENT = """
import json, ssl, sys, urllib.request
seen = []
for _ in range(int(sys.argv[2])):
    with urllib.request.urlopen(sys.argv[1], timeout=10, context=ssl.create_default_context()) as response:
        seen.append(json.loads(response.read())["task"])
print(json.dumps(seen))
"""


@dataclass(frozen=True, slots=True)
class Checkout:
    """What the topology built: the client VPC's name, the ECS cluster and service, the ELBv2 group."""

    client_vpc: str
    cluster: str
    service: str
    elb_group: str


@pytest.fixture
def alb_server(make_server: Any) -> Any:
    return make_server("--health-interval-scale", str(SCALE))


def vpc_env(server: Any, vpc: str) -> dict[str, str]:
    """The exports `latticework vpc env VPC` prints, as an environment."""
    printed = subprocess.run(
        [sys.executable, "-m", "latticework", "vpc", "env", vpc, "--state-dir", str(server.state_dir)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    return {k: v.strip("'\"") for k, v in re.findall(r"export (\w+)=(\S+)", printed)}


def client_in_vpc(server: Any, vpc: str, url: str, count: int) -> list[str]:
    """Run CLIENT as a separate process in `vpc`; the task ARNs that answered, in order."""
    env = {"PATH": "/usr/bin:/bin", **vpc_env(server, vpc)}
    done = subprocess.run([sys.executable, "-c", CLIENT, url, str(count)], env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    return list(json.loads(done.stdout))


def build_checkout(server: Any, desired: int = 2, grace: int = 0) -> Checkout:
    """ECS service (desired tasks) -> ELBv2 group -> internal ALB (HTTPS 443) in checkout-vpc; Lattice service
    checkout.example.com (HTTPS 443) -> ALB target group -> that ALB; ui-vpc associated with the network."""
    network = Network.on(server)
    client_vpc = network.add_vpc("ui-vpc")
    alb_vpc = network.add_vpc("checkout-vpc", associate=False)
    cert = LocalCA(Path(server.state_dir) / "pki").issue([DOMAIN, "*.example.com"], "000000000000", "us-west-2").arn
    elbv2, ecs = server.client("elbv2"), server.client("ecs")
    group = elbv2.create_target_group(Name="checkout-tg", Protocol="HTTP", Port=8080, VpcId=alb_vpc, TargetType="ip",
                                      **ELB_CHECK)["TargetGroups"][0]["TargetGroupArn"]  # fmt: skip
    alb = elbv2.create_load_balancer(Name="checkout-alb", Subnets=[alb_vpc], Scheme="internal")["LoadBalancers"][0]
    elbv2.create_listener(LoadBalancerArn=alb["LoadBalancerArn"], Protocol="HTTPS", Port=443,
                          Certificates=[{"CertificateArn": cert}],
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": group}])  # fmt: skip
    ecs.create_cluster(clusterName="shop")
    ecs.register_task_definition(family="checkout", containerDefinitions=[web_container()])
    ecs.create_service(cluster="shop", serviceName="checkout", taskDefinition="checkout", desiredCount=desired,
                       healthCheckGracePeriodSeconds=grace,
                       loadBalancers=[{"targetGroupArn": group, "containerName": "web", "containerPort": 8080}],
                       tags=[{"key": "latticework:vpc", "value": "checkout-vpc"}])  # fmt: skip
    lattice = network.lattice
    alb_group = lattice.create_target_group(name="checkout-ecs-tg", type="ALB", config={
        "port": 443, "protocol": "HTTPS", "vpcIdentifier": alb_vpc})["id"]  # fmt: skip
    lattice.register_targets(targetGroupIdentifier=alb_group, targets=[{"id": alb["LoadBalancerArn"], "port": 443}])
    network.service("checkout", {"forward": {"targetGroups": [{"targetGroupIdentifier": alb_group}]}},
                    customDomainName=DOMAIN, certificateArn=cert)  # fmt: skip
    return Checkout(client_vpc, "shop", "checkout", group)


def healthy_ports(server: Any, group: str) -> set[int]:
    found = server.client("elbv2").describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    return {int(d["Target"]["Port"]) for d in found if d["TargetHealth"]["State"] == "healthy"}


def task_ports(server: Any, checkout: Checkout) -> dict[str, int]:
    """Port of each task the service wants running (tasks still starting have none yet: left out)."""
    tasks = tasks_of(server.client("ecs"), checkout.cluster, checkout.service)
    return {t["taskArn"]: bindings[0]["hostPort"] for t in tasks if (bindings := t["containers"][0].get(
        "networkBindings")) and t["lastStatus"] == "RUNNING"}  # fmt: skip


def test_a_client_in_another_vpc_reaches_ecs_tasks_behind_an_internal_alb_over_https(alb_server: Any) -> None:
    """ui-vpc client -> https://checkout.example.com -> Lattice -> ALB target group -> internal ALB -> 2 tasks."""
    checkout = build_checkout(alb_server)
    ecs = alb_server.client("ecs")
    wait_for(lambda: len(healthy_ports(alb_server, checkout.elb_group)) == 2, timeout=30)
    ports = task_ports(alb_server, checkout)
    assert healthy_ports(alb_server, checkout.elb_group) == set(ports.values())
    wait_for(lambda: all(t["healthStatus"] == "HEALTHY" for t in tasks_of(ecs, "shop", "checkout")))
    seen = client_in_vpc(alb_server, checkout.client_vpc, f"https://{DOMAIN}/checkout", 6)
    assert set(seen) == set(ports)  # both tasks answered, round robin through the ALB
    service = service_of(ecs, "shop", "checkout")
    assert service["loadBalancers"][0]["targetGroupArn"] == checkout.elb_group
    assert service["runningCount"] == 2


# -- under load ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """One request of the load: when it was sent and answered (monotonic), and what came back."""

    sent: float
    answered: float
    status: int  # 0: no HTTP answer (connection error)
    task: str | None


class Load:
    """A client thread in the client VPC sending requests steadily through the ingress (HTTPS tunnelled with
    CONNECT, keep-alive, trusting the local CA), recording every outcome."""

    def __init__(self, server: Any, vpc: str, url: str) -> None:
        env = vpc_env(server, vpc)
        self.client = httpx.Client(proxy=env["HTTPS_PROXY"], verify=ssl.create_default_context(cafile=env[
            "SSL_CERT_FILE"]), timeout=10, trust_env=False)  # fmt: skip
        self.url = url
        self.outcomes: list[Outcome] = []
        self.running = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Load:
        self.running.set()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running.clear()
        self.thread.join(timeout=30)
        self.client.close()

    def _run(self) -> None:
        while self.running.is_set():
            sent = time.monotonic()
            try:
                response = self.client.get(self.url)
                task = response.json()["task"] if response.status_code == 200 else None
                self.outcomes.append(Outcome(sent, time.monotonic(), response.status_code, task))
            except (httpx.HTTPError, ValueError):
                self.outcomes.append(Outcome(sent, time.monotonic(), 0, None))
            time.sleep(0.005)

    def failures(self) -> list[Outcome]:
        return [o for o in list(self.outcomes) if o.status != 200]

    def served_by(self, since: float) -> set[str]:
        return {str(o.task) for o in list(self.outcomes) if o.sent >= since and o.task}

    def wait_for_answers(self, count: int, since: float) -> None:
        wait_for(lambda: sum(1 for o in list(self.outcomes) if o.sent >= since and o.status == 200) >= count)


def steady_checkout(server: Any, desired: int = 2, grace: int = 0) -> Checkout:
    checkout = build_checkout(server, desired, grace)
    wait_for(lambda: len(healthy_ports(server, checkout.elb_group)) == desired, timeout=30)
    return checkout


def wait_steady(server: Any, checkout: Checkout, count: int) -> None:
    """The service's tasks are exactly `count` RUNNING ones, each a healthy target of the ELBv2 group."""
    ecs = server.client("ecs")
    wait_for(lambda: len(tasks_of(ecs, checkout.cluster, checkout.service)) == count
             and len(ports := task_ports(server, checkout)) == count
             and healthy_ports(server, checkout.elb_group) == set(ports.values()), timeout=30)  # fmt: skip
    wait_for(lambda: service_of(server.client("ecs"), checkout.cluster, checkout.service)["events"][0]["message"]
             .endswith("has reached a steady state."), timeout=30)  # fmt: skip


@pytest.mark.slow
def test_kill_9_of_a_task_under_load_fails_only_its_requests_in_flight(alb_server: Any) -> None:
    """SIGKILL a task's process under steady load: the task is replaced, and the only failures are requests that
    were in flight on it (the ALB's retries of unsent requests and the drop of the dead target cover the rest)."""
    checkout = steady_checkout(alb_server)
    ecs = alb_server.client("ecs")
    victim = tasks_of(ecs, "shop", "checkout")[0]
    with Load(alb_server, checkout.client_vpc, f"https://{DOMAIN}/") as load:
        load.wait_for_answers(20, 0.0)
        killed_at = time.monotonic()
        os.kill(int(victim["containers"][0]["runtimeId"]), signal.SIGKILL)
        stopped = wait_for(lambda: (t := ecs.describe_tasks(cluster="shop", tasks=[victim["taskArn"]])["tasks"][0])[
            "lastStatus"] == "STOPPED" and t)  # fmt: skip
        wait_steady(alb_server, checkout, 2)
        replaced_at = time.monotonic()
        load.wait_for_answers(20, replaced_at)
    assert stopped["stopCode"] == "EssentialContainerExited" and stopped["containers"][0]["exitCode"] == -9
    survivors = set(task_ports(alb_server, checkout))
    assert victim["taskArn"] not in survivors and len(survivors) == 2
    assert load.served_by(replaced_at) == survivors  # the replacement takes traffic
    # In flight on the victim at the kill: the one request the single client thread had under way, if any.
    assert all(f.sent <= killed_at <= f.answered for f in load.failures()), load.failures()
    assert len(load.failures()) <= 1


@pytest.mark.slow
def test_scale_2_to_5_to_1_under_load_fails_no_request(alb_server: Any) -> None:
    """Scale-out registers tasks once listening; scale-in deregisters and drains each task before stopping it."""
    checkout = steady_checkout(alb_server)
    ecs = alb_server.client("ecs")
    with Load(alb_server, checkout.client_vpc, f"https://{DOMAIN}/") as load:
        load.wait_for_answers(10, 0.0)
        ecs.update_service(cluster="shop", service="checkout", desiredCount=5)
        wait_steady(alb_server, checkout, 5)
        five = set(task_ports(alb_server, checkout))
        wait_for(lambda: load.served_by(time.monotonic() - 2) == five)
        ecs.update_service(cluster="shop", service="checkout", desiredCount=1)
        wait_steady(alb_server, checkout, 1)
        wait_for(lambda: not tasks_of(ecs, "shop", "checkout", "RUNNING")[1:], timeout=30)
        load.wait_for_answers(10, time.monotonic())
    assert load.failures() == []
    assert len(load.outcomes) > 50


@pytest.mark.slow
def test_rolling_update_under_load_fails_no_request(alb_server: Any) -> None:
    """A new task definition rolls 2 tasks (100 % / 200 %): every request answered, version 2 serves at the end."""
    checkout = steady_checkout(alb_server)
    ecs = alb_server.client("ecs")
    with Load(alb_server, checkout.client_vpc, f"https://{DOMAIN}/") as load:
        load.wait_for_answers(10, 0.0)
        ecs.register_task_definition(family="checkout", containerDefinitions=[web_container("2")])
        ecs.update_service(cluster="shop", service="checkout", taskDefinition="checkout")
        wait_for(lambda: (s := service_of(ecs, "shop", "checkout"))["deployments"][0]["rolloutState"] == "COMPLETED"
                 and len(s["deployments"]) == 1, timeout=30)  # fmt: skip
        wait_steady(alb_server, checkout, 2)
        done_at = time.monotonic()
        load.wait_for_answers(10, done_at)
    assert load.failures() == []
    new = {t["taskArn"] for t in tasks_of(ecs, "shop", "checkout") if t["taskDefinitionArn"].endswith(":2")}
    assert load.served_by(done_at) == new and len(new) == 2


# Listens and answers, but its health check path fails: the task is RUNNING and never becomes healthy.
SICK = """
import http.server, os
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500 if self.path == "/health" else 200)
        self.send_header("content-length", "0")
        self.end_headers()
    def log_message(self, format, *args):
        pass
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def cli(server: Any, *args: str) -> str:
    """Run `latticework ARGS` against the server; its stdout (exit 0 asserted)."""
    where = ["--state-dir", str(server.state_dir)] if args[0] == "status" else []
    done = subprocess.run([sys.executable, "-m", "latticework", *args, *where, "--api-port", str(server.port)],
                          capture_output=True, text=True, timeout=120, check=False, env={**os.environ,
                          "COLUMNS": "250"})  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def sick_tasks(ecs: Any) -> list[dict[str, Any]]:
    """Stopped tasks of the SICK revision (2) of the checkout service."""
    stopped = tasks_of(ecs, "shop", "checkout", "STOPPED")
    return [t for t in stopped if t["taskDefinitionArn"].endswith(":2") and t["lastStatus"] == "STOPPED"]


@pytest.mark.slow
def test_a_task_that_never_becomes_healthy_is_retried_with_backoff_and_reported(alb_server: Any) -> None:
    """Each replacement waits the backoff for the failures so far (no restart storm); DescribeServices events and
    `latticework status` say why."""
    checkout = build_checkout(alb_server, desired=1)
    ecs = alb_server.client("ecs")
    ecs.register_task_definition(family="checkout", containerDefinitions=[web_container(script=SICK)])
    ecs.update_service(cluster="shop", service="checkout", taskDefinition="checkout", desiredCount=1,
                       deploymentConfiguration={"minimumHealthyPercent": 0, "maximumPercent": 100})  # fmt: skip
    stopped = wait_for(lambda: len(s := sick_tasks(ecs)) >= 4 and s, timeout=40)
    stopped.sort(key=lambda t: t["createdAt"])
    for task in stopped:
        assert task["stoppedReason"] == f"Task failed ELB health checks in (target-group {checkout.elb_group})"
    # No storm: after n failures the next launch waits at least restart_delay(n) from the moment the scheduler
    # stopped the last sick task (its process then drains before it ends, so its stoppedAt can be later).
    for n in range(1, len(stopped)):
        gap = (stopped[n]["createdAt"] - stopped[n - 1]["stoppingAt"]).total_seconds()
        assert gap >= restart_delay(n, SCALE) - 0.05, (n, gap)
    service = service_of(ecs, "shop", "checkout")
    assert service["deployments"][0]["failedTasks"] >= 4
    assert service["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    messages = [e["message"] for e in service["events"]]
    assert any(m.endswith(f"failed ELB health checks in (target-group {checkout.elb_group}).") for m in messages)
    shown = cli(alb_server, "status")
    assert "ECS service events" in shown and "failed ELB health checks" in shown, shown
    assert "ALB target groups" in shown and "checkout-tg" in shown


@pytest.mark.slow
def test_services_cli_lists_scales_and_restarts_and_status_shows_alb_targets(alb_server: Any) -> None:
    """`latticework services ls / scale / restart` through the ECS API; `status` lists the ALB targets."""
    checkout = steady_checkout(alb_server)
    listed = cli(alb_server, "services", "ls")
    assert "shop/checkout" in listed and "2/2" in listed and "COMPLETED" in listed
    assert "scale 3" not in listed
    assert "desired count 3" in cli(alb_server, "services", "scale", "checkout", "3")
    wait_steady(alb_server, checkout, 3)
    ports = task_ports(alb_server, checkout)
    shown = cli(alb_server, "status")
    assert all(f"127.0.0.1:{port} healthy" in shown for port in ports.values()), shown
    assert "rolling 3 tasks" in cli(alb_server, "services", "restart", "shop/checkout")
    ecs = alb_server.client("ecs")
    wait_for(lambda: (s := service_of(ecs, "shop", "checkout"))["deployments"][0]["rolloutState"] == "COMPLETED"
             and len(s["deployments"]) == 1, timeout=40)  # fmt: skip
    wait_steady(alb_server, checkout, 3)
    assert not set(task_ports(alb_server, checkout)) & set(ports)  # every task replaced
