"""Services really running: tasks are local processes serving HTTP, a crashing task is replaced with backoff,
tasks register into a Lattice target group and take traffic through a VPC ingress, rolling updates and
blue/green through listener weights, task logs. Real boto3 clients against a real `latticework server`."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from ecs_kit import CRASH, served_by, service_of, tasks_of, wait_for, web_container

sys.path.insert(0, str(Path(__file__).parents[1] / "dataplane"))
from topology import Network, forward, get_json

from latticework.compute.services.backoff import restart_delay

SCALE = 0.05  # --health-interval-scale: health checks every 0.25 s, restart backoff 0.25 s, 0.5 s, 1 s, ...
ROLE = "arn:aws:iam::000000000000:role/ecsInfrastructureRoleForVpcLattice"
# Lattice health checks fast enough for tests once scaled: every 5 s * 0.05, two passes to turn healthy.
CHECK = {"enabled": True, "path": "/health", "healthCheckIntervalSeconds": 5, "healthCheckTimeoutSeconds": 2,
         "healthyThresholdCount": 2, "unhealthyThresholdCount": 2}  # fmt: skip


@pytest.fixture
def lattice_server(make_server: Any) -> Any:
    return make_server("--health-interval-scale", str(SCALE))


def get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return dict(json.loads(response.read()))


def deploy(ecs: Any, cluster: str, family: str, version: str = "1", **container: Any) -> str:
    ecs.create_cluster(clusterName=cluster)
    result = ecs.register_task_definition(family=family, containerDefinitions=[web_container(version, **container)])
    return str(result["taskDefinition"]["taskDefinitionArn"])


def test_tasks_serve_http_on_their_port_and_log_to_the_state_dir(lattice_server: Any) -> None:
    ecs = lattice_server.client("ecs")
    deploy(ecs, "shop", "web")
    ecs.create_service(cluster="shop", serviceName="ui", taskDefinition="web", desiredCount=2)
    wait_for(lambda: service_of(ecs, "shop", "ui")["runningCount"] == 2)
    tasks = tasks_of(ecs, "shop", "ui")
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"}
    for task in tasks:
        port = task["containers"][0]["networkBindings"][0]["hostPort"]
        assert get(f"http://127.0.0.1:{port}/hello") == {"task": task["taskArn"], "version": "1"}
        log = (
            lattice_server.state_dir / "logs" / "services" / "shop" / "ui" / f"{task['taskArn'].rsplit('/', 1)[1]}.log"
        )
        wait_for(lambda log=log: "served /hello" in log.read_text())
    events = [e["message"] for e in service_of(ecs, "shop", "ui")["events"]]
    wait_for(
        lambda: (
            "(service ui) has reached a steady state."
            in [e["message"] for e in service_of(ecs, "shop", "ui")["events"]]
        )
    )
    assert any(m.startswith("(service ui) has started 2 tasks: (task ") for m in events)
    printed = subprocess.run(
        [sys.executable, "-m", "latticework", "logs", "--service", "ui", "--state-dir", str(lattice_server.state_dir)],
        capture_output=True, text=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert printed.count("served /hello") == 2


def test_a_killed_servers_task_processes_are_killed_when_it_starts_again(make_server: Any) -> None:
    """kill -9 of the server leaves its task processes running (each has its own process group). Started again on
    the same state dir, the server takes its lease back at once (the old holder is dead: well before the 60 s
    lease would expire), records the old task stopped, kills its process (its port closes) and runs a
    replacement."""
    lattice_server = make_server("--health-interval-scale", str(SCALE), "--lease-seconds", "60")
    ecs = lattice_server.client("ecs")
    deploy(ecs, "shop", "web")
    ecs.create_service(cluster="shop", serviceName="ui", taskDefinition="web", desiredCount=1)
    [old] = wait_for(lambda: [t for t in tasks_of(ecs, "shop", "ui") if t["lastStatus"] == "RUNNING"])
    port = old["containers"][0]["networkBindings"][0]["hostPort"]
    lattice_server.stop(kill=True)
    assert served_by(port) == old["taskArn"]  # the orphan still serves
    lattice_server.start()
    ecs = lattice_server.client("ecs")
    wait_for(lambda: [t for t in tasks_of(ecs, "shop", "ui") if t["lastStatus"] == "RUNNING"], timeout=40.0)
    assert served_by(port) != old["taskArn"]  # nothing answers there, or a new task given the same port
    [stopped] = tasks_of(ecs, "shop", "ui", status="STOPPED")
    assert stopped["taskArn"] == old["taskArn"] and "earlier run" in stopped["stoppedReason"]
    log = lattice_server.state_dir / "logs" / "services" / "shop" / "ui" / f"{old['taskArn'].rsplit('/', 1)[1]}.log"
    assert "left running by an earlier server" in log.read_text()


def test_a_crashing_task_is_replaced_with_growing_backoff(lattice_server: Any) -> None:
    ecs = lattice_server.client("ecs")
    deploy(ecs, "shop", "crash", script=CRASH)
    ecs.create_service(cluster="shop", serviceName="crash", taskDefinition="crash", desiredCount=1)
    stopped = wait_for(lambda: len(t := tasks_of(ecs, "shop", "crash", "STOPPED")) >= 4 and t, timeout=60)
    stopped.sort(key=lambda t: t["createdAt"])
    for task in stopped:
        assert task["stoppedReason"] == "Essential container in task exited"
        assert task["stopCode"] == "EssentialContainerExited"
        assert task["containers"][0]["exitCode"] == 3
    # Each replacement waits at least the backoff for the failures before it (a lower bound: never too early).
    for n in range(1, len(stopped)):
        gap = (stopped[n]["createdAt"] - stopped[n - 1]["stoppedAt"]).total_seconds()
        assert gap >= restart_delay(n, SCALE) - 0.05
    service = service_of(ecs, "shop", "crash")
    assert service["deployments"][0]["failedTasks"] >= 4
    assert service["deployments"][0]["rolloutState"] == "IN_PROGRESS"


def test_an_image_without_a_local_command_stops_with_a_reason(lattice_server: Any) -> None:
    ecs = lattice_server.client("ecs")
    ecs.create_cluster(clusterName="shop")
    ecs.register_task_definition(family="img", containerDefinitions=[{"name": "app", "image": "nginx:latest"}])
    arn = ecs.run_task(cluster="shop", taskDefinition="img")["tasks"][0]["taskArn"]
    task = wait_for(
        lambda: (t := ecs.describe_tasks(cluster="shop", tasks=[arn])["tasks"][0])["lastStatus"] == "STOPPED" and t
    )
    assert task["stoppedReason"].startswith("CannotPullContainerError: image 'nginx:latest'")
    assert task["stopCode"] == "TaskFailedToStart"


def test_run_task_and_stop_task(lattice_server: Any) -> None:
    ecs = lattice_server.client("ecs")
    deploy(ecs, "jobs", "web")
    arn = ecs.run_task(cluster="jobs", taskDefinition="web", startedBy="me")["tasks"][0]["taskArn"]
    wait_for(lambda: ecs.describe_tasks(cluster="jobs", tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING")
    assert ecs.list_tasks(cluster="jobs", startedBy="me")["taskArns"] == [arn]
    ecs.stop_task(cluster="jobs", task=arn, reason="done here")
    task = wait_for(
        lambda: (t := ecs.describe_tasks(cluster="jobs", tasks=[arn])["tasks"][0])["lastStatus"] == "STOPPED" and t
    )
    assert (task["stoppedReason"], task["stopCode"], task["desiredStatus"]) == ("done here", "UserInitiated", "STOPPED")
    assert ecs.list_tasks(cluster="jobs", desiredStatus="STOPPED")["taskArns"] == [arn]


def lattice_setup(server: Any, *groups: str) -> tuple[Network, str, dict[str, str]]:
    network = Network.on(server)
    vpc = network.add_vpc("store-vpc")
    ids = {}
    for name in groups:
        config = {"port": 80, "protocol": "HTTP", "vpcIdentifier": vpc, "healthCheck": CHECK}
        ids[name] = network.lattice.create_target_group(name=name, type="IP", config=config)["arn"]
    return network, vpc, ids


def lattice_config(group_arn: str) -> list[dict[str, str]]:
    return [{"roleArn": ROLE, "targetGroupArn": group_arn, "portName": "http"}]


def healthy_targets(network: Network, group: str) -> list[dict[str, Any]]:
    items = network.lattice.list_targets(targetGroupIdentifier=group)["items"]
    return [t for t in items if t["status"] == "HEALTHY"]


def versions(network: Network, vpc: str, host: str, n: int = 20) -> Counter[str]:
    opener = network.opener(vpc)
    return Counter(str(get_json(opener, f"http://{host}/")[2]["version"]) for _ in range(n))


def test_tasks_register_into_a_lattice_target_group_and_take_traffic(lattice_server: Any) -> None:
    network, vpc, groups = lattice_setup(lattice_server, "checkout-tg")
    service = network.service("checkout", forward((groups["checkout-tg"], 100)))
    ecs = lattice_server.client("ecs")
    deploy(ecs, "shop", "checkout")
    ecs.create_service(cluster="shop", serviceName="checkout", taskDefinition="checkout", desiredCount=2,
                       vpcLatticeConfigurations=lattice_config(groups["checkout-tg"]))  # fmt: skip
    wait_for(lambda: len(healthy_targets(network, groups["checkout-tg"])) == 2)
    tasks = tasks_of(ecs, "shop", "checkout")
    ports = {t["containers"][0]["networkBindings"][0]["hostPort"] for t in tasks}
    assert {t["port"] for t in healthy_targets(network, groups["checkout-tg"])} == ports
    wait_for(lambda: all(t["healthStatus"] == "HEALTHY" for t in tasks_of(ecs, "shop", "checkout")))
    host = service["dnsEntry"]["domainName"]
    seen = {get_json(network.opener(vpc), f"http://{host}/")[2]["task"] for _ in range(10)}
    assert seen == {t["taskArn"] for t in tasks}  # round robin over both tasks
    # A stopped task drains out of the group and is replaced by a new one that registers.
    ecs.stop_task(cluster="shop", task=tasks[0]["taskArn"])
    gone = tasks[0]["containers"][0]["networkBindings"][0]["hostPort"]
    listed = lambda: network.lattice.list_targets(targetGroupIdentifier=groups["checkout-tg"])["items"]  # noqa: E731
    wait_for(lambda: any(t["port"] == gone and t["status"] == "DRAINING" for t in listed()))
    wait_for(lambda: len({t["port"] for t in healthy_targets(network, groups["checkout-tg"])} - {gone}) == 2)


def test_rolling_update_moves_traffic_to_the_new_task_definition(lattice_server: Any) -> None:
    network, vpc, groups = lattice_setup(lattice_server, "roll-tg")
    service = network.service("roll", forward((groups["roll-tg"], 100)))
    ecs = lattice_server.client("ecs")
    deploy(ecs, "shop", "roll", "1")
    ecs.create_service(cluster="shop", serviceName="roll", taskDefinition="roll", desiredCount=2,
                       vpcLatticeConfigurations=lattice_config(groups["roll-tg"]))  # fmt: skip
    wait_for(lambda: len(healthy_targets(network, groups["roll-tg"])) == 2)
    host = service["dnsEntry"]["domainName"]
    assert versions(network, vpc, host) == Counter({"1": 20})
    v2 = ecs.register_task_definition(family="roll", containerDefinitions=[web_container("2")])["taskDefinition"]
    updated = ecs.update_service(cluster="shop", service="roll", taskDefinition="roll")["service"]
    assert [d["status"] for d in updated["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert updated["deployments"][0]["taskDefinition"] == v2["taskDefinitionArn"]
    final = wait_for(lambda: (s := service_of(ecs, "shop", "roll"))["deployments"][0]["rolloutState"] == "COMPLETED"
                     and len(s["deployments"]) == 1 and s, timeout=60)  # fmt: skip
    assert final["runningCount"] == 2
    wait_for(lambda: versions(network, vpc, host, 10) == Counter({"2": 10}))
    old = [t for t in tasks_of(ecs, "shop", "roll", "STOPPED") if t["taskDefinitionArn"].endswith(":1")]
    assert len(old) == 2
    assert all(t["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/") for t in old)


def test_blue_green_through_two_target_groups_and_listener_weights(lattice_server: Any) -> None:
    network, vpc, groups = lattice_setup(lattice_server, "blue-tg", "green-tg")
    service = network.service("store", forward((groups["blue-tg"], 100), (groups["green-tg"], 0)))
    ecs = lattice_server.client("ecs")
    deploy(ecs, "shop", "blue", "blue")
    deploy(ecs, "shop", "green", "green")
    for color in ("blue", "green"):
        ecs.create_service(cluster="shop", serviceName=color, taskDefinition=color, desiredCount=1,
                           vpcLatticeConfigurations=lattice_config(groups[f"{color}-tg"]))  # fmt: skip
    for color in ("blue", "green"):
        wait_for(lambda color=color: len(healthy_targets(network, groups[f"{color}-tg"])) == 1)
    host = service["dnsEntry"]["domainName"]
    assert versions(network, vpc, host) == Counter({"blue": 20})
    listener = network.lattice.list_listeners(serviceIdentifier=service["id"])["items"][0]["id"]

    def shift(blue: int, green: int) -> None:
        action = forward((groups["blue-tg"], blue), (groups["green-tg"], green))
        network.lattice.update_listener(serviceIdentifier=service["id"], listenerIdentifier=listener,
                                        defaultAction=action)  # fmt: skip
        network.settle()

    shift(50, 50)
    assert set(versions(network, vpc, host, 40)) == {"blue", "green"}
    shift(0, 100)
    assert versions(network, vpc, host) == Counter({"green": 20})
