"""Target groups through boto3 against a real server: shapes per type, defaults, validation, VPC lookup,
names, quota, lifecycle, listing filters, health check updates, and deletes blocked by listener rules."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from latticework.control.backend._context import _QUOTA_CODES as QUOTA_CODES

TG_ID = re.compile(r"tg-0[0-9a-f]{16}")
HTTPS_CHECK = {
    "enabled": True,
    "healthCheckIntervalSeconds": 30,
    "healthCheckTimeoutSeconds": 5,
    "healthyThresholdCount": 5,
    "matcher": {"httpCode": "200"},
    "path": "/",
    "protocol": "HTTPS",
    "protocolVersion": "HTTP1",
    "unhealthyThresholdCount": 2,
}


@pytest.fixture
def vpc(server: Any) -> str:
    """A VPC record made the only way a client can: EC2 CreateVpc on the same server."""
    return str(server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])


def body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    return exc.value.response  # type: ignore[return-value]


def fields(exc: pytest.ExceptionInfo[ClientError]) -> list[str]:
    return [f["name"] for f in error(exc)["fieldList"]]


def use_in_service(lattice: Any, unique: Any, tg_id: str) -> tuple[str, str]:
    """A service whose listener forwards to the target group: (service ARN, listener ID)."""
    service = lattice.create_service(name=unique("users"))
    listener = lattice.create_listener(
        serviceIdentifier=service["id"],
        name=unique("http"),
        protocol="HTTP",
        defaultAction={"forward": {"targetGroups": [{"targetGroupIdentifier": tg_id, "weight": 100}]}},
    )
    return service["arn"], listener["id"]


# -- create: the shapes AWS returns per type ---------------------------------------------------------------------


def test_create_ip_group_returns_the_cli_example_shape(lattice: Any, unique: Any, vpc: str) -> None:
    name = unique("web")
    created = lattice.create_target_group(
        name=name,
        type="IP",
        config={"port": 443, "protocol": "HTTPS", "protocolVersion": "HTTP1", "vpcIdentifier": vpc},
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert TG_ID.fullmatch(created["id"])
    assert body(created) == {
        "arn": f"arn:aws:vpc-lattice:us-west-2:000000000000:targetgroup/{created['id']}",
        "config": {
            "healthCheck": HTTPS_CHECK,
            "ipAddressType": "IPV4",
            "port": 443,
            "protocol": "HTTPS",
            "protocolVersion": "HTTP1",
            "vpcIdentifier": vpc,
        },
        "id": created["id"],
        "name": name,
        "status": "CREATE_IN_PROGRESS",
        "type": "IP",
    }


def test_instance_group_defaults_port_by_protocol_and_has_no_ip_address_type(
    lattice: Any, unique: Any, vpc: str
) -> None:
    created = lattice.create_target_group(
        name=unique("inst"), type="INSTANCE", config={"protocol": "HTTP", "vpcIdentifier": vpc}
    )
    config = created["config"]
    assert (config["port"], config["protocolVersion"]) == (80, "HTTP1")
    assert "ipAddressType" not in config
    assert config["healthCheck"] == {**HTTPS_CHECK, "protocol": "HTTP"}


def test_lambda_group_without_config_has_none(lattice: Any, unique: Any) -> None:
    name = unique("fn")
    created = lattice.create_target_group(name=name, type="LAMBDA")
    assert set(body(created)) == {"arn", "id", "name", "status", "type"}
    got = lattice.get_target_group(targetGroupIdentifier=created["id"])
    assert "config" not in got


def test_lambda_group_keeps_its_event_structure_version(lattice: Any, unique: Any) -> None:
    created = lattice.create_target_group(
        name=unique("fn"), type="LAMBDA", config={"lambdaEventStructureVersion": "V2"}
    )
    assert created["config"] == {"lambdaEventStructureVersion": "V2"}


def test_lambda_group_rejects_port_protocol_vpc_and_health_check(lattice: Any, unique: Any, vpc: str) -> None:
    config = {"port": 80, "protocol": "HTTP", "vpcIdentifier": vpc, "healthCheck": {"enabled": True}}
    with pytest.raises(ClientError) as exc:
        lattice.create_target_group(name=unique("fn"), type="LAMBDA", config=config)
    assert error(exc)["Error"]["Code"] == "ValidationException"
    assert fields(exc) == ["config.port", "config.protocol", "config.vpcIdentifier", "config.healthCheck"]


def test_alb_group_has_no_health_check(lattice: Any, unique: Any, vpc: str) -> None:
    created = lattice.create_target_group(
        name=unique("alb"), type="ALB", config={"port": 443, "protocol": "HTTPS", "vpcIdentifier": vpc}
    )
    assert created["config"] == {"port": 443, "protocol": "HTTPS", "protocolVersion": "HTTP1", "vpcIdentifier": vpc}


@pytest.mark.parametrize(
    ("kind", "extra", "field"),
    [
        ("ALB", {"healthCheck": {"enabled": True}}, "config.healthCheck"),
        ("ALB", {"ipAddressType": "IPV4"}, "config.ipAddressType"),
        ("INSTANCE", {"ipAddressType": "IPV6"}, "config.ipAddressType"),
        ("IP", {"lambdaEventStructureVersion": "V1"}, "config.lambdaEventStructureVersion"),
        ("ALB", {"protocolVersion": "GRPC"}, "config.protocolVersion"),
    ],
)
def test_members_a_type_does_not_take_are_rejected(
    lattice: Any, unique: Any, vpc: str, kind: str, extra: dict[str, Any], field: str
) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.create_target_group(
            name=unique("bad"), type=kind, config={"protocol": "HTTP", "vpcIdentifier": vpc, **extra}
        )
    assert fields(exc) == [field]


@pytest.mark.parametrize("kind", ["IP", "INSTANCE", "ALB"])
def test_traffic_groups_need_protocol_and_vpc(lattice: Any, unique: Any, kind: str) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.create_target_group(name=unique("bare"), type=kind)
    assert error(exc)["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert fields(exc) == ["config.protocol", "config.vpcIdentifier"]


def test_http2_group_has_health_checks_disabled_by_default(lattice: Any, unique: Any, vpc: str) -> None:
    created = lattice.create_target_group(
        name=unique("h2"), type="IP", config={"protocol": "HTTPS", "protocolVersion": "HTTP2", "vpcIdentifier": vpc}
    )
    assert created["config"]["healthCheck"] == {**HTTPS_CHECK, "enabled": False, "protocolVersion": "HTTP2"}


def test_grpc_group_enabling_checks_needs_a_check_protocol_version(lattice: Any, unique: Any, vpc: str) -> None:
    config = {"protocol": "HTTPS", "protocolVersion": "GRPC", "vpcIdentifier": vpc, "healthCheck": {"enabled": True}}
    with pytest.raises(ClientError) as exc:
        lattice.create_target_group(name=unique("grpc"), type="IP", config=config)
    assert fields(exc) == ["config.healthCheck.protocolVersion"]
    config["healthCheck"] = {"enabled": True, "protocolVersion": "HTTP2", "path": "/grpc.health.v1.Health/Check"}
    created = lattice.create_target_group(name=unique("grpc"), type="IP", config=config)
    check = created["config"]["healthCheck"]
    assert (check["enabled"], check["protocolVersion"], check["path"]) == (
        True,
        "HTTP2",
        "/grpc.health.v1.Health/Check",
    )


def test_tcp_group_needs_a_port_and_checks_start_disabled(lattice: Any, unique: Any, vpc: str) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.create_target_group(name=unique("tcp"), type="IP", config={"protocol": "TCP", "vpcIdentifier": vpc})
    assert fields(exc) == ["config.port"]
    created = lattice.create_target_group(
        name=unique("tcp"), type="IP", config={"protocol": "TCP", "port": 5432, "vpcIdentifier": vpc}
    )
    assert "protocolVersion" not in created["config"]
    assert created["config"]["healthCheck"] == {
        "enabled": False,
        "healthCheckIntervalSeconds": 30,
        "healthCheckTimeoutSeconds": 5,
        "healthyThresholdCount": 5,
        "unhealthyThresholdCount": 2,
    }


def test_health_check_given_at_create_is_completed(lattice: Any, unique: Any, vpc: str) -> None:
    check = {"path": "/health", "port": 8443, "healthCheckIntervalSeconds": 0, "matcher": {"httpCode": "200-299"}}
    created = lattice.create_target_group(
        name=unique("hc"), type="IP", config={"protocol": "HTTPS", "vpcIdentifier": vpc, "healthCheck": check}
    )
    assert created["config"]["healthCheck"] == {
        **HTTPS_CHECK,
        "path": "/health",
        "port": 8443,
        "matcher": {"httpCode": "200-299"},
    }


def test_unknown_vpc_is_not_found(lattice: Any, unique: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.create_target_group(
            name=unique("novpc"), type="IP", config={"protocol": "HTTP", "vpcIdentifier": "vpc-0123456789abcdef0"}
        )
    response = error(exc)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert (response["Error"]["Code"], response["resourceType"], response["resourceId"]) == (
        "ResourceNotFoundException",
        "VPC",
        "vpc-0123456789abcdef0",
    )


def test_names_are_unique_per_region(lattice: Any, unique: Any) -> None:
    name = unique("twice")
    lattice.create_target_group(name=name, type="LAMBDA")
    with pytest.raises(ClientError) as exc:
        lattice.create_target_group(name=name, type="LAMBDA")
    assert error(exc)["ResponseMetadata"]["HTTPStatusCode"] == 409
    assert (error(exc)["Error"]["Code"], error(exc)["resourceType"]) == ("ConflictException", "TARGET_GROUP")


def test_quota_of_target_groups_per_region(make_server: Any) -> None:
    lattice = make_server("--quota", "target_groups_per_region=1").client()
    lattice.create_target_group(name="only-one", type="LAMBDA")
    with pytest.raises(ClientError) as exc:
        lattice.create_target_group(name="one-more", type="LAMBDA")
    response = error(exc)
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 402
    assert (response["Error"]["Code"], response["resourceType"], response["quotaCode"]) == (
        "ServiceQuotaExceededException",
        "TARGET_GROUP",
        QUOTA_CODES["target_groups_per_region"],
    )


def test_create_in_progress_then_active_and_not_deletable_before(make_server: Any) -> None:
    lattice = make_server("--provisioning-seconds", "0.6").client()
    created = lattice.create_target_group(name="slow-group", type="LAMBDA")
    assert lattice.get_target_group(targetGroupIdentifier=created["id"])["status"] == "CREATE_IN_PROGRESS"
    with pytest.raises(ClientError) as exc:
        lattice.delete_target_group(targetGroupIdentifier=created["id"])
    assert (error(exc)["Error"]["Code"], error(exc)["resourceId"]) == ("ConflictException", created["id"])
    time.sleep(0.7)
    assert lattice.get_target_group(targetGroupIdentifier=created["arn"])["status"] == "ACTIVE"
    assert lattice.delete_target_group(targetGroupIdentifier=created["id"])["status"] == "DELETE_IN_PROGRESS"


# -- get and list -------------------------------------------------------------------------------------------------


def test_get_by_id_or_arn_shows_timestamps_and_no_services(lattice: Any, unique: Any, vpc: str) -> None:
    created = lattice.create_target_group(
        name=unique("get"), type="IP", config={"protocol": "HTTP", "vpcIdentifier": vpc}
    )
    by_id = body(lattice.get_target_group(targetGroupIdentifier=created["id"]))
    by_arn = body(lattice.get_target_group(targetGroupIdentifier=created["arn"]))
    assert by_id == by_arn
    assert set(by_id) == {"arn", "config", "createdAt", "id", "lastUpdatedAt", "name", "serviceArns", "status", "type"}
    assert (by_id["status"], by_id["serviceArns"], by_id["config"]) == ("ACTIVE", [], created["config"])
    assert by_id["createdAt"] == by_id["lastUpdatedAt"]


def test_get_unknown_group_is_404(lattice: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.get_target_group(targetGroupIdentifier="tg-0123456789abcdef0")
    assert (error(exc)["Error"]["Code"], error(exc)["resourceType"]) == ("ResourceNotFoundException", "TARGET_GROUP")


def test_list_filters_by_vpc_and_type_with_summary_members(lattice: Any, server: Any, unique: Any, vpc: str) -> None:
    other_vpc = server.client("ec2").create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    ip = lattice.create_target_group(name=unique("ip"), type="IP", config={"protocol": "HTTP", "vpcIdentifier": vpc})
    inst = lattice.create_target_group(
        name=unique("inst"), type="INSTANCE", config={"protocol": "HTTPS", "vpcIdentifier": vpc}
    )
    lattice.create_target_group(name=unique("far"), type="IP", config={"protocol": "HTTP", "vpcIdentifier": other_vpc})
    in_vpc = lattice.list_target_groups(vpcIdentifier=vpc)["items"]
    assert [i["id"] for i in in_vpc] == [ip["id"], inst["id"]]
    assert [i["id"] for i in lattice.list_target_groups(vpcIdentifier=vpc, targetGroupType="INSTANCE")["items"]] == [
        inst["id"]
    ]
    summary = in_vpc[0]
    assert set(summary) == {
        "arn", "createdAt", "id", "ipAddressType", "lastUpdatedAt", "name", "port", "protocol", "serviceArns",
        "status", "type", "vpcIdentifier",
    }  # fmt: skip
    assert (summary["port"], summary["protocol"], summary["ipAddressType"], summary["vpcIdentifier"]) == (
        80,
        "HTTP",
        "IPV4",
        vpc,
    )


def test_list_lambda_summary_carries_event_structure_version(make_server: Any) -> None:
    lattice = make_server().client()
    lattice.create_target_group(name="plain-fn", type="LAMBDA")
    v2 = lattice.create_target_group(name="v2-fn", type="LAMBDA", config={"lambdaEventStructureVersion": "V2"})
    items = lattice.list_target_groups(targetGroupType="LAMBDA")["items"]
    assert [i["name"] for i in items] == ["plain-fn", "v2-fn"]
    assert "lambdaEventStructureVersion" not in items[0] and "port" not in items[0]
    assert items[1]["lambdaEventStructureVersion"] == "V2" and items[1]["id"] == v2["id"]


def test_list_pages_with_max_results(make_server: Any) -> None:
    lattice = make_server().client()
    names = [f"page-group-{i}" for i in range(5)]
    for name in names:
        lattice.create_target_group(name=name, type="LAMBDA")
    first = lattice.list_target_groups(maxResults=2)
    second = lattice.list_target_groups(maxResults=2, nextToken=first["nextToken"])
    third = lattice.list_target_groups(maxResults=2, nextToken=second["nextToken"])
    seen = [i["name"] for page in (first, second, third) for i in page["items"]]
    assert seen == names and "nextToken" not in third


# -- update ---------------------------------------------------------------------------------------------------------


def test_update_merges_the_health_check_and_zero_resets(lattice: Any, unique: Any, vpc: str) -> None:
    created = lattice.create_target_group(
        name=unique("upd"), type="IP", config={"protocol": "HTTPS", "vpcIdentifier": vpc}
    )
    lattice.update_target_group(
        targetGroupIdentifier=created["id"],
        healthCheck={"healthCheckIntervalSeconds": 60, "path": "/ready", "port": 9000, "unhealthyThresholdCount": 4},
    )
    updated = lattice.update_target_group(
        targetGroupIdentifier=created["arn"], healthCheck={"healthCheckIntervalSeconds": 0, "port": 0}
    )
    assert set(body(updated)) == {"arn", "config", "id", "name", "status", "type"}
    assert updated["config"]["healthCheck"] == {**HTTPS_CHECK, "path": "/ready", "unhealthyThresholdCount": 4}
    got = lattice.get_target_group(targetGroupIdentifier=created["id"])
    assert got["config"] == updated["config"] and got["lastUpdatedAt"] > got["createdAt"]


def test_update_rejects_bad_values_naming_the_member(lattice: Any, unique: Any, vpc: str) -> None:
    created = lattice.create_target_group(
        name=unique("upd"), type="IP", config={"protocol": "HTTP", "vpcIdentifier": vpc}
    )
    with pytest.raises(ClientError) as exc:
        lattice.update_target_group(
            targetGroupIdentifier=created["id"],
            healthCheck={"matcher": {"httpCode": "200-600"}, "healthyThresholdCount": 1},
        )
    assert fields(exc) == ["healthCheck.healthyThresholdCount", "healthCheck.matcher.httpCode"]
    got = lattice.get_target_group(targetGroupIdentifier=created["id"])
    assert got["config"]["healthCheck"]["matcher"] == {"httpCode": "200"}


@pytest.mark.parametrize("kind", ["LAMBDA", "ALB"])
def test_update_is_refused_for_groups_without_health_checks(lattice: Any, unique: Any, vpc: str, kind: str) -> None:
    config = {"protocol": "HTTP", "vpcIdentifier": vpc} if kind == "ALB" else {}
    created = lattice.create_target_group(name=unique("nohc"), type=kind, config=config)
    with pytest.raises(ClientError) as exc:
        lattice.update_target_group(targetGroupIdentifier=created["id"], healthCheck={"enabled": True})
    assert error(exc)["Error"]["Code"] == "ValidationException" and fields(exc) == ["healthCheck"]


# -- delete and the services using a group ---------------------------------------------------------------------------


def test_delete_returns_delete_in_progress_then_404(lattice: Any, unique: Any, vpc: str) -> None:
    created = lattice.create_target_group(
        name=unique("del"), type="IP", config={"protocol": "HTTP", "vpcIdentifier": vpc}
    )
    lattice.register_targets(targetGroupIdentifier=created["id"], targets=[{"id": "10.0.0.9"}])
    deleted = lattice.delete_target_group(targetGroupIdentifier=created["arn"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert body(deleted) == {"arn": created["arn"], "id": created["id"], "status": "DELETE_IN_PROGRESS"}
    with pytest.raises(ClientError) as exc:
        lattice.list_targets(targetGroupIdentifier=created["id"])
    assert error(exc)["ResponseMetadata"]["HTTPStatusCode"] == 404
    again = lattice.create_target_group(
        name=created["name"], type="IP", config={"protocol": "HTTP", "vpcIdentifier": vpc}
    )
    assert lattice.list_targets(targetGroupIdentifier=again["id"])["items"] == []


def test_group_used_by_a_listener_lists_the_service_and_cannot_be_deleted(lattice: Any, unique: Any, vpc: str) -> None:
    created = lattice.create_target_group(
        name=unique("used"), type="IP", config={"protocol": "HTTP", "vpcIdentifier": vpc}
    )
    service_arn, listener_id = use_in_service(lattice, unique, created["id"])
    assert lattice.get_target_group(targetGroupIdentifier=created["id"])["serviceArns"] == [service_arn]
    listed = [i for i in lattice.list_target_groups(vpcIdentifier=vpc)["items"] if i["id"] == created["id"]]
    assert listed[0]["serviceArns"] == [service_arn]
    with pytest.raises(ClientError) as exc:
        lattice.delete_target_group(targetGroupIdentifier=created["id"])
    response = error(exc)
    assert (response["Error"]["Code"], response["resourceType"], response["resourceId"]) == (
        "ConflictException",
        "TARGET_GROUP",
        created["id"],
    )
    service_id = service_arn.rsplit("/", 1)[1]
    lattice.delete_listener(serviceIdentifier=service_id, listenerIdentifier=listener_id)
    assert lattice.get_target_group(targetGroupIdentifier=created["id"])["serviceArns"] == []
    assert lattice.delete_target_group(targetGroupIdentifier=created["id"])["status"] == "DELETE_IN_PROGRESS"
