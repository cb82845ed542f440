"""The ELBv2 API subset through boto3's `elbv2` client against a real server: lifecycle and ELBv2's errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

LB_ARN = re.compile(r"arn:aws:elasticloadbalancing:us-west-2:\d{12}:loadbalancer/app/[a-z0-9-]+/[0-9a-f]{16}")


@pytest.fixture
def elbv2(server: Any) -> Any:
    return server.client("elbv2")


@pytest.fixture
def vpc_id(server: Any) -> str:
    return str(server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])


def code(exc: pytest.ExceptionInfo[ClientError]) -> str:
    return str(exc.value.response["Error"]["Code"])


def new_alb(elbv2: Any, name: str, vpc_id: str, scheme: str = "internal") -> dict[str, Any]:
    lb: dict[str, Any] = elbv2.create_load_balancer(Name=name, Subnets=[vpc_id], Scheme=scheme)["LoadBalancers"][0]
    return lb


def new_group(elbv2: Any, name: str, vpc_id: str, **extra: Any) -> dict[str, Any]:
    group: dict[str, Any] = elbv2.create_target_group(
        Name=name, Protocol="HTTP", Port=8080, VpcId=vpc_id, TargetType="ip", **extra
    )["TargetGroups"][0]
    return group


def test_load_balancer_lifecycle(elbv2: Any, vpc_id: str, unique: Any) -> None:
    name = unique("alb")[:32]
    lb = new_alb(elbv2, name, vpc_id)
    assert LB_ARN.fullmatch(lb["LoadBalancerArn"])
    assert lb["DNSName"].startswith(f"internal-{name}-") and lb["DNSName"].endswith(".us-west-2.elb.amazonaws.com")
    assert (lb["Scheme"], lb["Type"], lb["State"], lb["VpcId"]) == (
        "internal",
        "application",
        {"Code": "active"},
        vpc_id,
    )
    described = elbv2.describe_load_balancers(Names=[name])["LoadBalancers"]
    assert [d["LoadBalancerArn"] for d in described] == [lb["LoadBalancerArn"]]
    # CreateLoadBalancer is idempotent for the same settings; another scheme is a duplicate name.
    assert new_alb(elbv2, name, vpc_id)["LoadBalancerArn"] == lb["LoadBalancerArn"]
    with pytest.raises(ClientError) as exc:
        new_alb(elbv2, name, vpc_id, scheme="internet-facing")
    assert code(exc) == "DuplicateLoadBalancer" or code(exc) == "DuplicateLoadBalancerName"
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])
    with pytest.raises(elbv2.exceptions.LoadBalancerNotFoundException):
        elbv2.describe_load_balancers(LoadBalancerArns=[lb["LoadBalancerArn"]])
    elbv2.delete_load_balancer(LoadBalancerArn=lb["LoadBalancerArn"])  # deleting again succeeds, as on AWS


def attributes(elbv2: Any, arn: str) -> dict[str, str]:
    return {a["Key"]: a["Value"] for a in elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]}


def test_load_balancer_attributes_default_modify_and_persist(elbv2: Any, vpc_id: str, unique: Any) -> None:
    arn = new_alb(elbv2, unique("alb")[:32], vpc_id)["LoadBalancerArn"]
    described = attributes(elbv2, arn)
    assert described["access_logs.s3.enabled"] == "false" and described["idle_timeout.timeout_seconds"] == "60"
    assert described["routing.http2.enabled"] == "true" and described["deletion_protection.enabled"] == "false"
    changes = {"access_logs.s3.enabled": "true", "access_logs.s3.bucket": "my-logs", "access_logs.s3.prefix": "web",
               "idle_timeout.timeout_seconds": "120"}  # fmt: skip
    given = [{"Key": k, "Value": v} for k, v in changes.items()]
    answered = elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=given)["Attributes"]
    assert len(answered) == len(described)  # every attribute, as AWS answers
    assert attributes(elbv2, arn) == {**described, **changes}
    assert "_attributes" not in elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]


@pytest.mark.parametrize(
    ("attributes", "error", "message"),
    [
        ([("no.such.key", "1")], "ValidationError", "attribute key 'no.such.key' is not recognized"),
        ([("routing.http2.enabled", "yes")], "ValidationError", "give true or false"),
        ([("idle_timeout.timeout_seconds", "0")], "ValidationError", "a whole number from 1 to 4000"),
        ([("access_logs.s3.bucket", "Bad_Bucket")], "ValidationError", "an S3 bucket name"),
        ([("access_logs.s3.prefix", "AWSLogs/x")], "ValidationError", "without a leading '/' or 'AWSLogs'"),
        (
            [("access_logs.s3.enabled", "true")],
            "InvalidConfigurationRequest",
            "'access_logs.s3.bucket' cannot be empty",
        ),
    ],
)
def test_load_balancer_attribute_errors_change_nothing(
    elbv2: Any, vpc_id: str, unique: Any, attributes: list[tuple[str, str]], error: str, message: str
) -> None:
    arn = new_alb(elbv2, unique("alb")[:32], vpc_id)["LoadBalancerArn"]
    before = elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"]
    given = [{"Key": "deletion_protection.enabled", "Value": "true"}] + [{"Key": k, "Value": v} for k, v in attributes]
    with pytest.raises(ClientError) as exc:
        elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=given)
    assert code(exc) == error and message in exc.value.response["Error"]["Message"]
    assert elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)["Attributes"] == before


def test_deletion_protection_refuses_delete_until_turned_off(elbv2: Any, vpc_id: str, unique: Any) -> None:
    arn = new_alb(elbv2, unique("alb")[:32], vpc_id)["LoadBalancerArn"]
    protect = [{"Key": "deletion_protection.enabled", "Value": "true"}]
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=protect)
    with pytest.raises(ClientError) as exc:
        elbv2.delete_load_balancer(LoadBalancerArn=arn)
    assert code(exc) == "OperationNotPermitted" and "deletion protection is enabled" in str(exc.value)
    assert elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"]
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=[{**protect[0], "Value": "false"}])
    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    with pytest.raises(ClientError) as exc:
        elbv2.describe_load_balancer_attributes(LoadBalancerArn=arn)
    assert code(exc) == "LoadBalancerNotFound"


def test_target_group_gets_elbv2_health_check_defaults(elbv2: Any, vpc_id: str, unique: Any) -> None:
    group = new_group(elbv2, unique("tg")[:32], vpc_id)
    expected = {
        "HealthCheckProtocol": "HTTP",
        "HealthCheckPort": "traffic-port",
        "HealthCheckEnabled": True,
        "HealthCheckIntervalSeconds": 30,
        "HealthCheckTimeoutSeconds": 5,
        "HealthyThresholdCount": 5,
        "UnhealthyThresholdCount": 2,
        "HealthCheckPath": "/",
        "Matcher": {"HttpCode": "200"},
        "LoadBalancerArns": [],
    }
    assert {k: group[k] for k in expected} == expected
    modified = elbv2.modify_target_group(
        TargetGroupArn=group["TargetGroupArn"], HealthCheckPath="/ping", HealthCheckIntervalSeconds=10
    )["TargetGroups"][0]
    assert (modified["HealthCheckPath"], modified["HealthCheckIntervalSeconds"]) == ("/ping", 10)
    with pytest.raises(ClientError) as exc:
        elbv2.modify_target_group(TargetGroupArn=group["TargetGroupArn"], HealthCheckTimeoutSeconds=20)
    assert code(exc) == "ValidationError"


def test_listener_rules_and_priorities(elbv2: Any, vpc_id: str, unique: Any) -> None:
    lb = new_alb(elbv2, unique("rules")[:32], vpc_id)
    group = new_group(elbv2, unique("rtg")[:32], vpc_id)
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]
    arn = listener["ListenerArn"]
    forward = [{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}]
    api = elbv2.create_rule(
        ListenerArn=arn, Priority=10, Actions=forward,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
    )["Rules"][0]  # fmt: skip
    with pytest.raises(elbv2.exceptions.PriorityInUseException):
        elbv2.create_rule(
            ListenerArn=arn,
            Priority=10,
            Actions=forward,
            Conditions=[{"Field": "host-header", "Values": ["a.example"]}],
        )
    other = elbv2.create_rule(
        ListenerArn=arn, Priority=20, Actions=forward, Conditions=[{"Field": "host-header", "Values": ["a.example"]}]
    )["Rules"][0]
    rules = elbv2.describe_rules(ListenerArn=arn)["Rules"]
    assert [r["Priority"] for r in rules] == ["10", "20", "default"]
    assert rules[0]["Actions"][0]["ForwardConfig"]["TargetGroups"][0]["TargetGroupArn"] == group["TargetGroupArn"]
    elbv2.set_rule_priorities(
        RulePriorities=[{"RuleArn": api["RuleArn"], "Priority": 30}, {"RuleArn": other["RuleArn"], "Priority": 5}]
    )
    assert [r["Priority"] for r in elbv2.describe_rules(ListenerArn=arn)["Rules"]] == ["5", "30", "default"]
    assert elbv2.describe_target_groups(TargetGroupArns=[group["TargetGroupArn"]])["TargetGroups"][0][
        "LoadBalancerArns"
    ] == [lb["LoadBalancerArn"]]
    with pytest.raises(elbv2.exceptions.ResourceInUseException):
        elbv2.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
    default = elbv2.describe_rules(ListenerArn=arn)["Rules"][-1]
    with pytest.raises(elbv2.exceptions.OperationNotPermittedException):
        elbv2.delete_rule(RuleArn=default["RuleArn"])
    elbv2.modify_rule(RuleArn=api["RuleArn"], Conditions=[{"Field": "path-pattern", "Values": ["/v2/*"]}])
    assert elbv2.describe_rules(RuleArns=[api["RuleArn"]])["Rules"][0]["Conditions"][0]["Values"] == ["/v2/*"]
    elbv2.delete_rule(RuleArn=api["RuleArn"])
    elbv2.modify_listener(ListenerArn=arn, DefaultActions=forward)
    assert elbv2.describe_rules(ListenerArn=arn)["Rules"][-1]["Actions"][0]["Type"] == "forward"
    elbv2.delete_listener(ListenerArn=arn)
    assert elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"] == []


@pytest.mark.parametrize(
    ("conditions", "actions"),
    [
        ([{"Field": "path-pattern", "Values": ["/a", "/b", "/c", "/d", "/e", "/f"]}], None),  # over 5 values
        ([{"Field": "source-ip", "SourceIpConfig": {"Values": ["not-an-ip"]}}], None),
        ([{"Field": "http-request-method", "HttpRequestMethodConfig": {"Values": ["get"]}}], None),
        ([{"Field": "cookie", "Values": ["x"]}], None),
        ([], None),
        (None, [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "302"}}]),
        (None, [{"Type": "redirect", "RedirectConfig": {"StatusCode": "HTTP_301"}}]),  # back to itself
        (None, [{"Type": "authenticate-oidc"}]),
    ],
)
def test_rules_elbv2_refuses(elbv2: Any, vpc_id: str, unique: Any, conditions: Any, actions: Any) -> None:
    lb = new_alb(elbv2, unique("bad")[:32], vpc_id)
    fixed = [{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "200"}}]
    arn = elbv2.create_listener(LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=fixed)[
        "Listeners"
    ][0]["ListenerArn"]
    with pytest.raises(ClientError) as exc:
        elbv2.create_rule(
            ListenerArn=arn,
            Priority=1,
            Conditions=[{"Field": "path-pattern", "Values": ["/x"]}] if conditions is None else conditions,
            Actions=actions or fixed,
        )
    assert code(exc) == "ValidationError"


def test_not_found_errors(elbv2: Any) -> None:
    fake = "arn:aws:elasticloadbalancing:us-west-2:000000000000:targetgroup/none/0123456789abcdef"
    with pytest.raises(elbv2.exceptions.TargetGroupNotFoundException):
        elbv2.describe_target_health(TargetGroupArn=fake)
    with pytest.raises(elbv2.exceptions.LoadBalancerNotFoundException):
        elbv2.describe_load_balancers(Names=["no-such-alb"])
    with pytest.raises(elbv2.exceptions.ListenerNotFoundException):
        elbv2.describe_listeners(ListenerArns=[fake.replace("targetgroup/none", "listener/app/x/0123456789abcdef")])


def test_targets_register_describe_deregister(elbv2: Any, vpc_id: str, unique: Any) -> None:
    group = new_group(elbv2, unique("ttg")[:32], vpc_id)
    arn = group["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.1", "Port": 9001}, {"Id": "127.0.0.2"}])
    health = elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]
    assert sorted((h["Target"]["Id"], h["Target"]["Port"]) for h in health) == [
        ("127.0.0.1", 9001),
        ("127.0.0.2", 8080),
    ]
    # No load balancer uses the group yet: ELBv2 reports its targets unused, Target.NotInUse.
    assert {h["TargetHealth"]["State"] for h in health} == {"unused"}
    assert {h["TargetHealth"]["Reason"] for h in health} == {"Target.NotInUse"}
    elbv2.deregister_targets(TargetGroupArn=arn, Targets=[{"Id": "127.0.0.2"}])
    states = {h["Target"]["Id"]: h["TargetHealth"] for h in elbv2.describe_target_health(TargetGroupArn=arn)[
        "TargetHealthDescriptions"]}  # fmt: skip
    assert states["127.0.0.2"]["State"] == "draining"
    with pytest.raises(elbv2.exceptions.InvalidTargetException):
        elbv2.register_targets(TargetGroupArn=arn, Targets=[{"Id": "not-an-ip"}])
    missing = elbv2.describe_target_health(TargetGroupArn=arn, Targets=[{"Id": "10.9.9.9", "Port": 1}])
    assert missing["TargetHealthDescriptions"][0]["TargetHealth"]["Reason"] == "Target.NotRegistered"
