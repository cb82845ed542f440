"""The ECS API with real boto3 `ecs` clients against a real `latticework server`: clusters, task definitions and
services through their lifecycle, ECS's ARNs and error shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from ecs_kit import wait_for, web_container

ARN = "arn:aws:ecs:us-west-2:000000000000"


@pytest.fixture
def ecs(server: Any) -> Any:
    return server.client("ecs")


def code_of(excinfo: pytest.ExceptionInfo[ClientError]) -> str:
    return str(excinfo.value.response["Error"]["Code"])


def test_cluster_lifecycle(ecs: Any, unique: Callable[[str], str]) -> None:
    name = unique("cl")
    cluster = ecs.create_cluster(clusterName=name, tags=[{"key": "team", "value": "store"}])["cluster"]
    assert (cluster["clusterArn"], cluster["status"]) == (f"{ARN}:cluster/{name}", "ACTIVE")
    assert ecs.create_cluster(clusterName=name)["cluster"]["clusterArn"] == cluster["clusterArn"]  # idempotent
    assert cluster["clusterArn"] in ecs.list_clusters()["clusterArns"]
    described = ecs.describe_clusters(clusters=[name, "missing-one"], include=["TAGS"])
    assert described["clusters"][0]["tags"] == [{"key": "team", "value": "store"}]
    assert described["failures"] == [{"arn": f"{ARN}:cluster/missing-one", "reason": "MISSING"}]
    assert ecs.delete_cluster(cluster=name)["cluster"]["status"] == "INACTIVE"
    assert cluster["clusterArn"] not in ecs.list_clusters()["clusterArns"]
    assert ecs.describe_clusters(clusters=[name])["clusters"][0]["status"] == "INACTIVE"


def test_task_definition_revisions(ecs: Any, unique: Callable[[str], str]) -> None:
    family = unique("td")
    first = ecs.register_task_definition(family=family, containerDefinitions=[web_container("1")])["taskDefinition"]
    second = ecs.register_task_definition(family=family, containerDefinitions=[web_container("2")])["taskDefinition"]
    assert (first["revision"], second["revision"]) == (1, 2)
    assert second["taskDefinitionArn"] == f"{ARN}:task-definition/{family}:2"
    container = first["containerDefinitions"][0]
    assert container["essential"] is True and container["portMappings"][0]["protocol"] == "tcp"
    assert ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["revision"] == 2
    ecs.deregister_task_definition(taskDefinition=f"{family}:2")
    assert ecs.describe_task_definition(taskDefinition=family)["taskDefinition"]["revision"] == 1
    assert ecs.describe_task_definition(taskDefinition=f"{family}:2")["taskDefinition"]["status"] == "INACTIVE"
    with pytest.raises(ClientError) as excinfo:
        ecs.describe_task_definition(taskDefinition=f"{unique('none')}:1")
    assert code_of(excinfo) == "ClientException"


def test_service_lifecycle(ecs: Any, unique: Callable[[str], str]) -> None:
    cluster, family, name = unique("cl"), unique("td"), unique("svc")
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family=family, containerDefinitions=[web_container()])
    service = ecs.create_service(cluster=cluster, serviceName=name, taskDefinition=family, desiredCount=0,
                                 healthCheckGracePeriodSeconds=7)["service"]  # fmt: skip
    assert service["serviceArn"] == f"{ARN}:service/{cluster}/{name}"
    assert service["deploymentConfiguration"]["maximumPercent"] == 200
    assert service["deploymentConfiguration"]["minimumHealthyPercent"] == 100
    assert service["healthCheckGracePeriodSeconds"] == 7
    (deployment,) = service["deployments"]
    assert deployment["status"] == "PRIMARY" and deployment["id"].startswith("ecs-svc/")
    assert ecs.list_services(cluster=cluster)["serviceArns"] == [service["serviceArn"]]
    updated = ecs.update_service(cluster=cluster, service=name, desiredCount=3)["service"]
    assert updated["desiredCount"] == 3 and len(updated["deployments"]) == 1
    with pytest.raises(ClientError) as excinfo:
        ecs.delete_service(cluster=cluster, service=name)
    assert code_of(excinfo) == "InvalidParameterException"  # scaled above 0 needs force
    assert ecs.delete_service(cluster=cluster, service=name, force=True)["service"]["status"] == "DRAINING"
    with pytest.raises(ClientError) as excinfo:
        ecs.update_service(cluster=cluster, service=name, desiredCount=1)
    assert code_of(excinfo) == "ServiceNotActiveException"


LATTICE_TG = "arn:aws:vpc-lattice:us-west-2:000000000000:targetgroup/tg-0123456789abcdef0"


def lattice(group: str, port_name: str) -> list[dict[str, str]]:
    return [{"roleArn": "arn:aws:iam::000000000000:role/r", "targetGroupArn": group, "portName": port_name}]


ERROR_CASES: list[tuple[str, Any, str]] = [
    ("no cluster", lambda ecs, n: ecs.describe_services(cluster=n("x"), services=["x"]), "ClusterNotFoundException"),
    ("no cluster to create in", lambda ecs, n: ecs.create_service(cluster=n("x"), serviceName="s",
     taskDefinition="t", desiredCount=1), "ClusterNotFoundException"),
    ("no service", lambda ecs, n: ecs.update_service(cluster="errs", service=n("x"), desiredCount=1),
     "ServiceNotFoundException"),
    ("no task definition", lambda ecs, n: ecs.run_task(cluster="errs", taskDefinition=n("x")), "ClientException"),
    ("no task", lambda ecs, n: ecs.stop_task(cluster="errs", task="0" * 32), "InvalidParameterException"),
    ("daemon", lambda ecs, n: ecs.create_service(cluster="errs", serviceName="s", taskDefinition="errs-td",
     desiredCount=1, schedulingStrategy="DAEMON"), "UnsupportedFeatureException"),
    ("unknown target group", lambda ecs, n: ecs.create_service(cluster="errs", serviceName="s",
     taskDefinition="errs-td", desiredCount=1, vpcLatticeConfigurations=lattice(LATTICE_TG, "http")),
     "InvalidParameterException"),
    ("unknown port name", lambda ecs, n: ecs.create_service(cluster="errs", serviceName="s",
     taskDefinition="errs-td", desiredCount=1, vpcLatticeConfigurations=lattice(LATTICE_TG, "nope")),
     "InvalidParameterException"),
]  # fmt: skip


@pytest.mark.parametrize(("case", "call", "code"), ERROR_CASES, ids=[c[0] for c in ERROR_CASES])
def test_errors_have_ecs_shapes(ecs: Any, unique: Callable[[str], str], case: str, call: Any, code: str) -> None:
    ecs.create_cluster(clusterName="errs")
    ecs.register_task_definition(family="errs-td", containerDefinitions=[web_container()])
    with pytest.raises(ClientError) as excinfo:
        call(ecs, unique)
    assert code_of(excinfo) == code
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_second_create_of_a_live_service_is_refused(ecs: Any, unique: Callable[[str], str]) -> None:
    cluster, name = unique("cl"), unique("svc")
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family="errs-td", containerDefinitions=[web_container()])
    ecs.create_service(cluster=cluster, serviceName=name, taskDefinition="errs-td", desiredCount=0)
    with pytest.raises(ClientError) as excinfo:
        ecs.create_service(cluster=cluster, serviceName=name, taskDefinition="errs-td", desiredCount=0)
    assert code_of(excinfo) == "InvalidParameterException"
    with pytest.raises(ClientError) as excinfo:
        ecs.delete_cluster(cluster=cluster)
    assert code_of(excinfo) == "ClusterContainsServicesException"


def test_aws_cli_lists_clusters(server: Any, unique: Callable[[str], str]) -> None:
    """`aws ecs` works unchanged against the endpoint."""
    import json
    import os
    import subprocess
    import sys

    name = unique("cli")
    server.client("ecs").create_cluster(clusterName=name)
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "a", "AWS_SECRET_ACCESS_KEY": "b", "AWS_DEFAULT_REGION": "us-west-2"}
    out = subprocess.run(
        [sys.executable, "-m", "awscli", "ecs", "describe-clusters", "--clusters", name, "--endpoint-url", server.url],
        capture_output=True, env=env, check=True, timeout=60,
    ).stdout  # fmt: skip
    assert json.loads(out)["clusters"][0]["clusterName"] == name


def test_deleted_cluster_name_can_be_created_again(ecs: Any, unique: Callable[[str], str]) -> None:
    """CreateCluster reactivates an INACTIVE cluster of that name (was a 500 from a second row for the name)."""
    name = unique("cl")
    first = ecs.create_cluster(clusterName=name, tags=[{"key": "v", "value": "1"}])["cluster"]
    ecs.delete_cluster(cluster=name)
    again = ecs.create_cluster(clusterName=name, tags=[{"key": "v", "value": "2"}])["cluster"]
    assert (again["clusterArn"], again["status"]) == (first["clusterArn"], "ACTIVE")
    assert first["clusterArn"] in ecs.list_clusters()["clusterArns"]
    described = ecs.describe_clusters(clusters=[name], include=["TAGS"])["clusters"]
    assert [(c["status"], c["tags"]) for c in described] == [("ACTIVE", [{"key": "v", "value": "2"}])]


def test_deleted_service_name_can_be_created_again(ecs: Any, unique: Callable[[str], str]) -> None:
    """CreateService over an INACTIVE service of that name starts a fresh service with the same ARN."""
    cluster, name = unique("cl"), unique("svc")
    ecs.create_cluster(clusterName=cluster)
    ecs.register_task_definition(family="errs-td", containerDefinitions=[web_container()])
    first = ecs.create_service(cluster=cluster, serviceName=name, taskDefinition="errs-td", desiredCount=0)
    ecs.delete_service(cluster=cluster, service=name)
    wait_for(lambda: ecs.describe_services(cluster=cluster, services=[name])["services"][0]["status"] == "INACTIVE")
    again = ecs.create_service(cluster=cluster, serviceName=name, taskDefinition="errs-td", desiredCount=0)
    assert again["service"]["serviceArn"] == first["service"]["serviceArn"]
    (service,) = ecs.describe_services(cluster=cluster, services=[name])["services"]
    assert service["status"] == "ACTIVE" and len(service["deployments"]) == 1
    assert ecs.list_services(cluster=cluster)["serviceArns"] == [service["serviceArn"]]


def test_task_definition_family_reregisters_after_every_revision_is_deregistered(
    ecs: Any, unique: Callable[[str], str]
) -> None:
    """Revisions keep counting up after a family was emptied (ECS never reuses a revision number)."""
    family = unique("td")
    ecs.register_task_definition(family=family, containerDefinitions=[web_container()])
    ecs.deregister_task_definition(taskDefinition=f"{family}:1")
    again = ecs.register_task_definition(family=family, containerDefinitions=[web_container()])["taskDefinition"]
    assert (again["revision"], again["status"]) == (2, "ACTIVE")
