"""Targets: the pure pieces (target ID checks per group type, the status a reader sees, draining expiry) as
tables, then register / deregister / list through boto3 against a real server."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from latticework.control.backend._context import _QUOTA_CODES as QUOTA_CODES
from latticework.control.backend.targets import is_drained, target_problem, target_status

ACCOUNT, REGION = "000000000000", "us-west-2"
FUNCTION = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:orders"
ALB = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/front/0123456789abcdef"

# -- pure: target IDs per group type ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("group_type", "ip_type", "target_id"),
    [
        ("IP", "IPV4", "10.0.0.1"),
        ("IP", "IPV4", "127.0.0.1"),
        ("IP", "IPV6", "2001:db8::1"),
        ("IP", "IPV6", "::1"),
        ("INSTANCE", None, "i-0123456789abcdef0"),
        ("INSTANCE", None, "i-01234567"),
        ("LAMBDA", None, FUNCTION),
        ("LAMBDA", None, f"{FUNCTION}:live"),
        ("LAMBDA", None, f"{FUNCTION}:7"),
        ("ALB", None, ALB),
    ],
)
def test_acceptable_target_ids(group_type: str, ip_type: str | None, target_id: str) -> None:
    assert target_problem(group_type, ip_type, target_id, ACCOUNT, REGION) is None


@pytest.mark.parametrize(
    ("group_type", "ip_type", "target_id", "says"),
    [
        ("IP", "IPV4", "10.0.0.300", "not an IP address"),
        ("IP", "IPV4", "backend.internal", "not an IP address"),
        ("IP", "IPV4", "2001:db8::1", "IPV6 address but the target group is IPV4"),
        ("IP", "IPV6", "10.0.0.1", "IPV4 address but the target group is IPV6"),
        ("IP", "IPV4", "0.0.0.0", "unicast"),
        ("IP", "IPV4", "224.0.0.1", "unicast"),
        ("INSTANCE", None, "10.0.0.1", "not an EC2 instance ID"),
        ("INSTANCE", None, "i-0123", "not an EC2 instance ID"),
        ("INSTANCE", None, "i-0123456789ABCDEF0", "not an EC2 instance ID"),
        ("LAMBDA", None, "orders", "not a Lambda function ARN"),
        ("LAMBDA", None, ALB, "not a Lambda function ARN"),
        ("LAMBDA", None, f"arn:aws:lambda:eu-west-1:{ACCOUNT}:function:orders", "must be in the target group's"),
        ("LAMBDA", None, f"arn:aws:lambda:{REGION}:111122223333:function:orders", "must be in the target group's"),
        ("ALB", None, FUNCTION, "not an ALB ARN"),
        ("ALB", None, ALB.replace("/app/", "/net/"), "not an ALB ARN"),
        ("ALB", None, ALB.replace(ACCOUNT, "111122223333"), "must be in the target group's"),
    ],
)
def test_unacceptable_target_ids_are_unsupported_targets(
    group_type: str, ip_type: str | None, target_id: str, says: str
) -> None:
    problem = target_problem(group_type, ip_type, target_id, ACCOUNT, REGION)
    assert problem is not None
    code, message = problem
    assert code == "UnsupportedTarget" and says in message


# -- pure: the status a reader sees ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "used", "checks", "expected"),
    [
        (None, False, "ENABLED", ("UNUSED", "TargetGroupNotInUse")),
        (None, True, "ENABLED", ("INITIAL", None)),
        (None, True, "DISABLED", ("UNAVAILABLE", "HealthCheckDisabled")),
        (None, True, "NOT_SUPPORTED", ("UNAVAILABLE", "HealthCheckNotSupported")),
        ({"status": "UNUSED"}, True, "ENABLED", ("INITIAL", None)),
        ({"status": "UNAVAILABLE"}, True, "ENABLED", ("INITIAL", None)),
        ({"status": "HEALTHY"}, True, "ENABLED", ("HEALTHY", None)),
        (
            {"status": "UNHEALTHY", "reasonCode": "HealthCheckFailed"},
            True,
            "ENABLED",
            ("UNHEALTHY", "HealthCheckFailed"),
        ),
        ({"status": "HEALTHY"}, False, "ENABLED", ("UNUSED", "TargetGroupNotInUse")),
        ({"status": "HEALTHY"}, True, "DISABLED", ("UNAVAILABLE", "HealthCheckDisabled")),
        ({"status": "DRAINING"}, True, "ENABLED", ("DRAINING", "DeregistrationInProgress")),
        ({"status": "DRAINING"}, False, "NOT_SUPPORTED", ("DRAINING", "DeregistrationInProgress")),
    ],
)
def test_target_status_follows_the_group(
    stored: dict[str, Any] | None, used: bool, checks: str, expected: tuple[str, str | None]
) -> None:
    assert target_status(stored, used=used, checks=checks) == expected


@pytest.mark.parametrize(
    ("target", "now", "drained"),
    [
        ({"status": "DRAINING", "_drainingUntil": 100.0}, 99.9, False),
        ({"status": "DRAINING", "_drainingUntil": 100.0}, 100.0, True),
        ({"status": "HEALTHY"}, 1e12, False),
    ],
)
def test_draining_ends_at_its_deadline(target: dict[str, Any], now: float, drained: bool) -> None:
    assert is_drained(target, now) is drained


# -- through boto3 -------------------------------------------------------------------------------------------------


@pytest.fixture
def vpc(server: Any) -> str:
    return str(server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])


@pytest.fixture
def group(lattice: Any, unique: Any, vpc: str) -> dict[str, Any]:
    """An IP target group on HTTP port 8080, not used by any service."""
    config = {"protocol": "HTTP", "port": 8080, "vpcIdentifier": vpc}
    return dict(lattice.create_target_group(name=unique("targets"), type="IP", config=config))


def items(lattice: Any, group_id: str, **kwargs: Any) -> list[dict[str, Any]]:
    return list(lattice.list_targets(targetGroupIdentifier=group_id, **kwargs)["items"])


def use_in_service(lattice: Any, unique: Any, tg_id: str) -> tuple[str, str]:
    """A service whose listener forwards to the target group: (service ID, listener ID)."""
    service = lattice.create_service(name=unique("users"))
    listener = lattice.create_listener(
        serviceIdentifier=service["id"],
        name=unique("http"),
        protocol="HTTP",
        defaultAction={"forward": {"targetGroups": [{"targetGroupIdentifier": tg_id}]}},
    )
    return service["id"], listener["id"]


def test_register_defaults_the_port_and_unused_group_targets_read_unused(lattice: Any, group: dict[str, Any]) -> None:
    registered = lattice.register_targets(
        targetGroupIdentifier=group["id"], targets=[{"id": "10.0.0.1"}, {"id": "10.0.0.2", "port": 9090}]
    )
    assert registered["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert registered["successful"] == [{"id": "10.0.0.1", "port": 8080}, {"id": "10.0.0.2", "port": 9090}]
    assert registered["unsuccessful"] == []
    assert items(lattice, group["arn"]) == [
        {"id": "10.0.0.1", "port": 8080, "status": "UNUSED", "reasonCode": "TargetGroupNotInUse"},
        {"id": "10.0.0.2", "port": 9090, "status": "UNUSED", "reasonCode": "TargetGroupNotInUse"},
    ]


def test_register_reports_each_bad_target_and_keeps_the_good_ones(lattice: Any, group: dict[str, Any]) -> None:
    registered = lattice.register_targets(
        targetGroupIdentifier=group["id"], targets=[{"id": "db.internal"}, {"id": "10.0.0.5"}, {"id": "fd00::5"}]
    )
    assert registered["successful"] == [{"id": "10.0.0.5", "port": 8080}]
    assert [(f["id"], f["port"], f["failureCode"]) for f in registered["unsuccessful"]] == [
        ("db.internal", 8080, "UnsupportedTarget"),
        ("fd00::5", 8080, "UnsupportedTarget"),
    ]
    assert all(f["failureMessage"] for f in registered["unsuccessful"])
    assert [t["id"] for t in items(lattice, group["id"])] == ["10.0.0.5"]


def test_registering_again_does_not_duplicate(lattice: Any, group: dict[str, Any]) -> None:
    for _ in range(2):
        lattice.register_targets(targetGroupIdentifier=group["id"], targets=[{"id": "10.0.0.7"}, {"id": "10.0.0.7"}])
    assert [(t["id"], t["port"]) for t in items(lattice, group["id"])] == [("10.0.0.7", 8080)]


def test_ipv6_group_takes_ipv6_targets(lattice: Any, unique: Any, vpc: str) -> None:
    config = {"protocol": "HTTP", "vpcIdentifier": vpc, "ipAddressType": "IPV6"}
    created = lattice.create_target_group(name=unique("six"), type="IP", config=config)
    registered = lattice.register_targets(
        targetGroupIdentifier=created["id"], targets=[{"id": "2001:db8::7"}, {"id": "10.0.0.7"}]
    )
    assert registered["successful"] == [{"id": "2001:db8::7", "port": 80}]
    assert [f["id"] for f in registered["unsuccessful"]] == ["10.0.0.7"]


def test_instance_group_takes_instance_ids(lattice: Any, unique: Any, vpc: str) -> None:
    created = lattice.create_target_group(
        name=unique("inst"), type="INSTANCE", config={"protocol": "HTTPS", "vpcIdentifier": vpc}
    )
    registered = lattice.register_targets(
        targetGroupIdentifier=created["id"], targets=[{"id": "i-0123456789abcdef0"}, {"id": "10.0.0.1"}]
    )
    assert registered["successful"] == [{"id": "i-0123456789abcdef0", "port": 443}]
    assert registered["unsuccessful"][0]["failureCode"] == "UnsupportedTarget"


def test_lambda_group_takes_one_function_without_a_port(lattice: Any, unique: Any) -> None:
    created = lattice.create_target_group(name=unique("fn"), type="LAMBDA")
    other = FUNCTION.replace("orders", "billing")
    registered = lattice.register_targets(
        targetGroupIdentifier=created["id"], targets=[{"id": FUNCTION}, {"id": other}, {"id": "10.0.0.1"}]
    )
    assert registered["successful"] == [{"id": FUNCTION}]
    assert [(f["id"], f["failureCode"]) for f in registered["unsuccessful"]] == [
        (other, "TooManyTargets"),
        ("10.0.0.1", "UnsupportedTarget"),
    ]
    again = lattice.register_targets(targetGroupIdentifier=created["id"], targets=[{"id": FUNCTION}])
    assert again["successful"] == [{"id": FUNCTION}]
    later = lattice.register_targets(targetGroupIdentifier=created["id"], targets=[{"id": other}])
    assert later["unsuccessful"][0]["failureCode"] == "TooManyTargets"
    assert items(lattice, created["id"]) == [{"id": FUNCTION, "status": "UNUSED", "reasonCode": "TargetGroupNotInUse"}]


def test_alb_group_takes_one_load_balancer(lattice: Any, unique: Any, vpc: str) -> None:
    created = lattice.create_target_group(
        name=unique("alb"), type="ALB", config={"protocol": "HTTP", "vpcIdentifier": vpc}
    )
    second = ALB.replace("front", "back")
    registered = lattice.register_targets(targetGroupIdentifier=created["id"], targets=[{"id": ALB}, {"id": second}])
    assert registered["successful"] == [{"id": ALB, "port": 80}]
    assert registered["unsuccessful"][0]["failureCode"] == "TooManyTargets"


def test_quota_of_targets_per_group_refuses_the_whole_request(make_server: Any) -> None:
    server = make_server("--quota", "targets_per_target_group=2")
    lattice = server.client()
    vpc = server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    created = lattice.create_target_group(name="small", type="IP", config={"protocol": "HTTP", "vpcIdentifier": vpc})
    lattice.register_targets(targetGroupIdentifier=created["id"], targets=[{"id": "10.0.0.1"}])
    with pytest.raises(ClientError) as exc:
        lattice.register_targets(targetGroupIdentifier=created["id"], targets=[{"id": "10.0.0.2"}, {"id": "10.0.0.3"}])
    response = exc.value.response
    assert response["ResponseMetadata"]["HTTPStatusCode"] == 402
    assert (response["Error"]["Code"], response["quotaCode"]) == (
        "ServiceQuotaExceededException",
        QUOTA_CODES["targets_per_target_group"],
    )
    assert [t["id"] for t in items(lattice, created["id"])] == ["10.0.0.1"]
    # Registering the same targets again does not count against the quota.
    lattice.register_targets(targetGroupIdentifier=created["id"], targets=[{"id": "10.0.0.1"}, {"id": "10.0.0.2"}])
    assert [t["id"] for t in items(lattice, created["id"])] == ["10.0.0.1", "10.0.0.2"]


def test_register_to_an_unknown_group_is_404(lattice: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.register_targets(targetGroupIdentifier="tg-0123456789abcdef0", targets=[{"id": "10.0.0.1"}])
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    assert (exc.value.response["Error"]["Code"], exc.value.response["resourceType"]) == (
        "ResourceNotFoundException",
        "TARGET_GROUP",
    )


def test_deregister_from_unused_group_removes_at_once(lattice: Any, group: dict[str, Any]) -> None:
    lattice.register_targets(
        targetGroupIdentifier=group["id"], targets=[{"id": "10.0.0.1"}, {"id": "10.0.0.2", "port": 9090}]
    )
    deregistered = lattice.deregister_targets(
        targetGroupIdentifier=group["id"], targets=[{"id": "10.0.0.1"}, {"id": "10.0.0.2"}, {"id": "10.0.0.9"}]
    )
    assert deregistered["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert deregistered["successful"] == [{"id": "10.0.0.1", "port": 8080}]
    assert [(f["id"], f["port"], f["failureCode"]) for f in deregistered["unsuccessful"]] == [
        ("10.0.0.2", 8080, "TargetNotFound"),
        ("10.0.0.9", 8080, "TargetNotFound"),
    ]
    assert [(t["id"], t["port"]) for t in items(lattice, group["id"])] == [("10.0.0.2", 9090)]


def test_list_filters_by_target_and_pages(lattice: Any, group: dict[str, Any]) -> None:
    targets = [{"id": f"10.0.1.{i}"} for i in range(1, 6)] + [{"id": "10.0.1.1", "port": 9000}]
    lattice.register_targets(targetGroupIdentifier=group["id"], targets=targets)
    by_id = items(lattice, group["id"], targets=[{"id": "10.0.1.1"}])
    assert [(t["id"], t["port"]) for t in by_id] == [("10.0.1.1", 8080), ("10.0.1.1", 9000)]
    by_id_and_port = items(lattice, group["id"], targets=[{"id": "10.0.1.1", "port": 9000}, {"id": "10.0.1.4"}])
    assert [(t["id"], t["port"]) for t in by_id_and_port] == [("10.0.1.4", 8080), ("10.0.1.1", 9000)]
    first = lattice.list_targets(targetGroupIdentifier=group["id"], maxResults=4)
    second = lattice.list_targets(targetGroupIdentifier=group["id"], maxResults=4, nextToken=first["nextToken"])
    assert len(first["items"]) == 4 and len(second["items"]) == 2 and "nextToken" not in second
    assert [t["id"] for t in first["items"] + second["items"]] == [t["id"] for t in targets]


def test_targets_of_a_used_group_start_initial_and_drain_on_deregister(
    lattice: Any, unique: Any, group: dict[str, Any]
) -> None:
    lattice.register_targets(targetGroupIdentifier=group["id"], targets=[{"id": "10.0.0.1"}])
    service_id, listener_id = use_in_service(lattice, unique, group["id"])
    lattice.register_targets(targetGroupIdentifier=group["id"], targets=[{"id": "10.0.0.2"}])
    assert [(t["id"], t["status"], t.get("reasonCode")) for t in items(lattice, group["id"])] == [
        ("10.0.0.1", "INITIAL", None),
        ("10.0.0.2", "INITIAL", None),
    ]
    deregistered = lattice.deregister_targets(targetGroupIdentifier=group["id"], targets=[{"id": "10.0.0.1"}])
    assert deregistered["successful"] == [{"id": "10.0.0.1", "port": 8080}]
    assert items(lattice, group["id"], targets=[{"id": "10.0.0.1"}]) == [
        {"id": "10.0.0.1", "port": 8080, "status": "DRAINING", "reasonCode": "DeregistrationInProgress"}
    ]
    lattice.register_targets(targetGroupIdentifier=group["id"], targets=[{"id": "10.0.0.1"}])
    assert items(lattice, group["id"], targets=[{"id": "10.0.0.1"}])[0]["status"] == "INITIAL"
    lattice.delete_listener(serviceIdentifier=service_id, listenerIdentifier=listener_id)
    assert {t["status"] for t in items(lattice, group["id"])} == {"UNUSED"}


def test_disabled_checks_make_targets_of_a_used_group_unavailable(
    lattice: Any, unique: Any, group: dict[str, Any]
) -> None:
    use_in_service(lattice, unique, group["id"])
    lattice.register_targets(targetGroupIdentifier=group["id"], targets=[{"id": "10.0.0.3"}])
    lattice.update_target_group(targetGroupIdentifier=group["id"], healthCheck={"enabled": False})
    assert items(lattice, group["id"]) == [
        {"id": "10.0.0.3", "port": 8080, "status": "UNAVAILABLE", "reasonCode": "HealthCheckDisabled"}
    ]


def test_lambda_targets_of_a_used_group_are_unavailable(lattice: Any, unique: Any) -> None:
    created = lattice.create_target_group(name=unique("fn"), type="LAMBDA")
    use_in_service(lattice, unique, created["id"])
    lattice.register_targets(targetGroupIdentifier=created["id"], targets=[{"id": FUNCTION}])
    assert items(lattice, created["id"]) == [
        {"id": FUNCTION, "status": "UNAVAILABLE", "reasonCode": "HealthCheckNotSupported"}
    ]


def test_a_draining_function_makes_room_for_the_next(lattice: Any, unique: Any) -> None:
    created = lattice.create_target_group(name=unique("fn"), type="LAMBDA")
    use_in_service(lattice, unique, created["id"])
    lattice.register_targets(targetGroupIdentifier=created["id"], targets=[{"id": FUNCTION}])
    lattice.deregister_targets(targetGroupIdentifier=created["id"], targets=[{"id": FUNCTION}])
    successor = FUNCTION.replace("orders", "orders-v2")
    registered = lattice.register_targets(targetGroupIdentifier=created["id"], targets=[{"id": successor}])
    assert registered["successful"] == [{"id": successor}]
    assert [(t["id"], t["status"]) for t in items(lattice, created["id"])] == [
        (FUNCTION, "DRAINING"),
        (successor, "UNAVAILABLE"),
    ]
