"""Listener rule operations through boto3 against a real server: shapes, priority order, uniqueness, quotas,
the default rule's protection, BatchUpdateRule's per-rule results and priority swaps, and target-group use."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

FIXED_404 = {"fixedResponse": {"statusCode": 404}}
FIXED_500 = {"fixedResponse": {"statusCode": 500}}
GET = {"httpMatch": {"method": "GET"}}
API = {"httpMatch": {"pathMatch": {"match": {"prefix": "/api"}, "caseSensitive": True}}}


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, dict[str, Any]]:
    response: dict[str, Any] = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response


def body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


@pytest.fixture
def listener(lattice: Any, unique: Callable[[str], str]) -> dict[str, Any]:
    """An HTTP listener (fixed 404 by default) with `serviceIdentifier` and `listenerIdentifier` for calls."""
    service = lattice.create_service(name=unique("rsvc"))
    created = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=FIXED_404
    )
    return {**body(created), "scope": {"serviceIdentifier": service["id"], "listenerIdentifier": created["id"]}}


def add_rule(lattice: Any, listener: dict[str, Any], name: str, priority: int, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("match", GET)
    kwargs.setdefault("action", FIXED_500)
    return body(lattice.create_rule(**listener["scope"], name=name, priority=priority, **kwargs))


def priorities(lattice: Any, listener: dict[str, Any]) -> list[tuple[str, int | None]]:
    items = lattice.list_rules(**listener["scope"])["items"]
    return [(item["name"], item.get("priority")) for item in items]


# -- create / get / list ------------------------------------------------------------------------------------


def test_create_returns_the_minimal_shape(lattice: Any, listener: dict[str, Any]) -> None:
    created = lattice.create_rule(**listener["scope"], name="api", priority=10, match=API, action=FIXED_500)
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    assert set(body(created)) == {"action", "arn", "id", "match", "name", "priority"}
    assert created["match"] == API
    assert created["action"] == FIXED_500
    assert created["priority"] == 10
    assert created["arn"] == f"{listener['arn']}/rule/{created['id']}"


def test_get_adds_is_default_and_timestamps(lattice: Any, listener: dict[str, Any]) -> None:
    rule = add_rule(lattice, listener, "api", 10, match=API)
    got = body(lattice.get_rule(**listener["scope"], ruleIdentifier=rule["arn"]))
    assert set(got) == {"action", "arn", "createdAt", "id", "isDefault", "lastUpdatedAt", "match", "name", "priority"}
    assert got["isDefault"] is False
    assert got["match"] == API


def test_list_is_in_priority_order_with_the_default_rule_last(lattice: Any, listener: dict[str, Any]) -> None:
    add_rule(lattice, listener, "late", 30)
    add_rule(lattice, listener, "early", 5)
    add_rule(lattice, listener, "middle", 12)
    assert priorities(lattice, listener) == [("early", 5), ("middle", 12), ("late", 30), ("default", None)]
    item = lattice.list_rules(**listener["scope"])["items"][0]
    assert set(item) == {"arn", "createdAt", "id", "isDefault", "lastUpdatedAt", "name", "priority"}


def test_list_pages_in_priority_order(lattice: Any, listener: dict[str, Any]) -> None:
    for name, priority in (("third", 3), ("first", 1), ("second", 2)):
        add_rule(lattice, listener, name, priority)
    names, token = [], None
    while True:
        page = lattice.list_rules(**listener["scope"], maxResults=1, **({"nextToken": token} if token else {}))
        names += [item["name"] for item in page["items"]]
        token = page.get("nextToken")
        if token is None:
            break
    assert names == ["first", "second", "third", "default"]


def test_a_forged_token_is_refused(lattice: Any, listener: dict[str, Any]) -> None:
    add_rule(lattice, listener, "first", 1)
    token = lattice.list_rules(**listener["scope"], maxResults=1)["nextToken"]
    with pytest.raises(ClientError) as caught:
        lattice.list_rules(**listener["scope"], maxResults=1, nextToken=token[:-1] + ("0" if token[-1] != "0" else "1"))
    code, status, response = error_of(caught)
    assert (code, status, response["fieldList"][0]["name"]) == ("ValidationException", 400, "nextToken")


# -- refusals -----------------------------------------------------------------------------------------------


def test_names_are_unique_per_listener(lattice: Any, listener: dict[str, Any]) -> None:
    add_rule(lattice, listener, "api", 1)
    with pytest.raises(ClientError) as caught:
        add_rule(lattice, listener, "api", 2)
    code, status, response = error_of(caught)
    assert (code, status, response["resourceType"]) == ("ConflictException", 409, "RULE")


def test_priorities_are_unique_per_listener(lattice: Any, listener: dict[str, Any]) -> None:
    first = add_rule(lattice, listener, "api", 7)
    with pytest.raises(ClientError) as caught:
        add_rule(lattice, listener, "other", 7)
    code, status, response = error_of(caught)
    assert (code, status, response["resourceId"]) == ("ConflictException", 409, first["id"])


def test_rules_per_listener_quota_does_not_count_the_default_rule(make_server: Any) -> None:
    client = make_server("--quota", "rules_per_listener=1").client()
    service = client.create_service(name="quota-svc")
    listener = client.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=FIXED_404
    )
    scope = {"serviceIdentifier": service["id"], "listenerIdentifier": listener["id"]}
    client.create_rule(**scope, name="one", priority=1, match=GET, action=FIXED_500)
    with pytest.raises(ClientError) as caught:
        client.create_rule(**scope, name="two", priority=2, match=GET, action=FIXED_500)
    code, status, response = error_of(caught)
    assert (code, status, response["resourceType"]) == ("ServiceQuotaExceededException", 402, "RULE")


def test_fixed_response_must_be_404_or_500(lattice: Any, listener: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as caught:
        add_rule(lattice, listener, "api", 1, action={"fixedResponse": {"statusCode": 200}})
    code, _, response = error_of(caught)
    assert code == "ValidationException"
    assert response["fieldList"][0]["name"] == "action.fixedResponse.statusCode"


def test_a_rule_of_another_listener_is_not_found(lattice: Any, listener: dict[str, Any]) -> None:
    rule = add_rule(lattice, listener, "api", 1)
    service_id = listener["scope"]["serviceIdentifier"]
    other = lattice.create_listener(
        serviceIdentifier=service_id, name="alt", protocol="HTTP", port=81, defaultAction=FIXED_404
    )
    with pytest.raises(ClientError) as caught:
        lattice.get_rule(serviceIdentifier=service_id, listenerIdentifier=other["id"], ruleIdentifier=rule["id"])
    code, status, response = error_of(caught)
    assert (code, status, response["resourceType"], response["resourceId"]) == (
        "ResourceNotFoundException",
        404,
        "RULE",
        rule["id"],
    )


# -- update / delete ----------------------------------------------------------------------------------------


def test_update_changes_match_priority_and_action(lattice: Any, listener: dict[str, Any]) -> None:
    rule = add_rule(lattice, listener, "api", 1)
    updated = lattice.update_rule(
        **listener["scope"], ruleIdentifier=rule["id"], priority=9, match=API, action=FIXED_404
    )
    assert body(updated) == {
        "action": FIXED_404,
        "arn": rule["arn"],
        "id": rule["id"],
        "isDefault": False,
        "match": API,
        "name": "api",
        "priority": 9,
    }
    got = lattice.get_rule(**listener["scope"], ruleIdentifier=rule["id"])
    assert got["lastUpdatedAt"] > got["createdAt"]


def test_update_to_a_taken_priority_conflicts(lattice: Any, listener: dict[str, Any]) -> None:
    first = add_rule(lattice, listener, "first", 1)
    second = add_rule(lattice, listener, "second", 2)
    with pytest.raises(ClientError) as caught:
        lattice.update_rule(**listener["scope"], ruleIdentifier=second["id"], priority=1)
    code, status, response = error_of(caught)
    assert (code, status, response["resourceId"]) == ("ConflictException", 409, first["id"])
    # keeping one's own priority is fine
    assert lattice.update_rule(**listener["scope"], ruleIdentifier=second["id"], priority=2)["priority"] == 2


def default_rule_id(lattice: Any, listener: dict[str, Any]) -> str:
    items = lattice.list_rules(**listener["scope"])["items"]
    return str(next(item["id"] for item in items if item["isDefault"]))


def test_the_default_rule_is_updated_through_update_listener_only(lattice: Any, listener: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as caught:
        lattice.update_rule(**listener["scope"], ruleIdentifier=default_rule_id(lattice, listener), action=FIXED_500)
    code, status, response = error_of(caught)
    assert (code, status, response["fieldList"][0]["name"]) == ("ValidationException", 400, "ruleIdentifier")
    assert "UpdateListener" in response["message"]


def test_the_default_rule_cannot_be_deleted(lattice: Any, listener: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as caught:
        lattice.delete_rule(**listener["scope"], ruleIdentifier=default_rule_id(lattice, listener))
    code, status, response = error_of(caught)
    assert (code, status) == ("ValidationException", 400)
    assert "DeleteListener" in response["message"]


def test_get_the_default_rule(lattice: Any, listener: dict[str, Any]) -> None:
    got = body(lattice.get_rule(**listener["scope"], ruleIdentifier=default_rule_id(lattice, listener)))
    assert got["isDefault"] is True
    assert got["action"] == FIXED_404
    assert "priority" not in got and "match" not in got


def test_delete_returns_204_and_the_rule_is_gone(lattice: Any, listener: dict[str, Any]) -> None:
    rule = add_rule(lattice, listener, "api", 1)
    deleted = lattice.delete_rule(**listener["scope"], ruleIdentifier=rule["arn"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as caught:
        lattice.get_rule(**listener["scope"], ruleIdentifier=rule["id"])
    assert error_of(caught)[:2] == ("ResourceNotFoundException", 404)
    assert priorities(lattice, listener) == [("default", None)]
    # name and priority are free again
    add_rule(lattice, listener, "api", 1)


# -- BatchUpdateRule ----------------------------------------------------------------------------------------


def test_batch_swaps_two_priorities(lattice: Any, listener: dict[str, Any]) -> None:
    first = add_rule(lattice, listener, "first", 1)
    second = add_rule(lattice, listener, "second", 2)
    result = lattice.batch_update_rule(
        **listener["scope"],
        rules=[{"ruleIdentifier": first["id"], "priority": 2}, {"ruleIdentifier": second["arn"], "priority": 1}],
    )
    assert result["unsuccessful"] == []
    assert [(r["id"], r["priority"], r["isDefault"]) for r in result["successful"]] == [
        (first["id"], 2, False),
        (second["id"], 1, False),
    ]
    assert priorities(lattice, listener) == [("second", 1), ("first", 2), ("default", None)]


def test_batch_reports_each_failure_and_applies_the_rest(lattice: Any, listener: dict[str, Any]) -> None:
    first = add_rule(lattice, listener, "first", 1)
    second = add_rule(lattice, listener, "second", 2)
    third = add_rule(lattice, listener, "third", 3)
    missing = "rule-0123456789abcdef0"
    default = default_rule_id(lattice, listener)
    result = lattice.batch_update_rule(
        **listener["scope"],
        rules=[
            {"ruleIdentifier": first["id"], "action": FIXED_404},
            {"ruleIdentifier": missing, "priority": 9},
            {"ruleIdentifier": default, "action": FIXED_500},
            {"ruleIdentifier": second["id"], "priority": 3},  # third keeps 3
            {"ruleIdentifier": third["id"], "action": {"fixedResponse": {"statusCode": 302}}},
        ],
    )
    assert [r["id"] for r in result["successful"]] == [first["id"]]
    assert result["successful"][0]["action"] == FIXED_404
    failures = {f["ruleIdentifier"]: f["failureCode"] for f in result["unsuccessful"]}
    assert failures == {
        missing: "ResourceNotFoundException",
        default: "ValidationException",
        second["id"]: "ConflictException",
        third["id"]: "ValidationException",
    }
    assert all(f["failureMessage"] for f in result["unsuccessful"])
    assert priorities(lattice, listener) == [("first", 1), ("second", 2), ("third", 3), ("default", None)]


def test_batch_refuses_the_same_rule_twice(lattice: Any, listener: dict[str, Any]) -> None:
    rule = add_rule(lattice, listener, "api", 1)
    result = lattice.batch_update_rule(
        **listener["scope"],
        rules=[{"ruleIdentifier": rule["id"], "priority": 4}, {"ruleIdentifier": rule["arn"], "priority": 5}],
    )
    assert [r["priority"] for r in result["successful"]] == [4]
    assert [(f["ruleIdentifier"], f["failureCode"]) for f in result["unsuccessful"]] == [
        (rule["arn"], "ValidationException")
    ]


# -- forward actions (need CreateTargetGroup) ---------------------------------------------------------------


@pytest.fixture
def make_target_group(server: Any, lattice: Any, unique: Callable[[str], str]) -> Callable[..., str]:
    vpcs: list[str] = []

    def make(protocol: str = "HTTP") -> str:
        if not vpcs:
            vpcs.append(server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])
        config = {"port": 80 if protocol == "HTTP" else 443, "protocol": protocol, "vpcIdentifier": vpcs[0]}
        return str(lattice.create_target_group(name=unique("rtg"), type="IP", config=config)["id"])

    return make


def forward(tg: str) -> dict[str, Any]:
    return {"forward": {"targetGroups": [{"targetGroupIdentifier": tg}]}}


def test_rule_forward_gets_weight_100_and_releases_its_target_group(
    lattice: Any, listener: dict[str, Any], make_target_group: Any, unique: Any
) -> None:
    tg = make_target_group()
    rule = add_rule(lattice, listener, "api", 1, action=forward(tg))
    assert rule["action"] == {"forward": {"targetGroups": [{"targetGroupIdentifier": tg, "weight": 100}]}}
    other = lattice.create_service(name=unique("rsvc"))
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(serviceIdentifier=other["id"], name="web", protocol="HTTP", defaultAction=forward(tg))
    assert error_of(caught)[:2] == ("ConflictException", 409)
    lattice.update_rule(**listener["scope"], ruleIdentifier=rule["id"], action=FIXED_404)
    lattice.create_listener(serviceIdentifier=other["id"], name="web", protocol="HTTP", defaultAction=forward(tg))


def test_deleting_a_rule_releases_its_target_group(
    lattice: Any, listener: dict[str, Any], make_target_group: Any, unique: Any
) -> None:
    tg = make_target_group()
    rule = add_rule(lattice, listener, "api", 1, action=forward(tg))
    lattice.delete_rule(**listener["scope"], ruleIdentifier=rule["id"])
    other = lattice.create_service(name=unique("rsvc"))
    lattice.create_listener(serviceIdentifier=other["id"], name="web", protocol="HTTP", defaultAction=forward(tg))


def test_batch_action_to_a_missing_target_group_fails_that_rule_only(
    lattice: Any, listener: dict[str, Any], make_target_group: Any
) -> None:
    tg = make_target_group()
    first = add_rule(lattice, listener, "first", 1)
    second = add_rule(lattice, listener, "second", 2)
    result = lattice.batch_update_rule(
        **listener["scope"],
        rules=[
            {"ruleIdentifier": first["id"], "action": forward(tg)},
            {"ruleIdentifier": second["id"], "action": forward("tg-0123456789abcdef0")},
        ],
    )
    assert [r["id"] for r in result["successful"]] == [first["id"]]
    assert [f["failureCode"] for f in result["unsuccessful"]] == ["ResourceNotFoundException"]


def test_a_tls_passthrough_listener_takes_no_rules(lattice: Any, make_target_group: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("rsvc"), customDomainName=f"{unique('d')}.example.com")
    tls = lattice.create_listener(
        serviceIdentifier=service["id"],
        name="tls",
        protocol="TLS_PASSTHROUGH",
        port=443,
        defaultAction=forward(make_target_group("TCP")),
    )
    with pytest.raises(ClientError) as caught:
        lattice.create_rule(
            serviceIdentifier=service["id"],
            listenerIdentifier=tls["id"],
            name="api",
            priority=1,
            match=GET,
            action=FIXED_404,
        )
    code, status, response = error_of(caught)
    assert (code, status, response["fieldList"][0]["name"]) == ("ValidationException", 400, "listenerIdentifier")


def test_a_target_group_stays_in_use_while_any_rule_forwards_to_it(
    lattice: Any, listener: dict[str, Any], make_target_group: Any
) -> None:
    tg = make_target_group()
    lattice.update_listener(**listener["scope"], defaultAction=forward(tg))
    rule = add_rule(lattice, listener, "api", 1, action=forward(tg))
    lattice.update_rule(**listener["scope"], ruleIdentifier=rule["id"], action=FIXED_404)
    with pytest.raises(ClientError) as caught:
        lattice.delete_target_group(targetGroupIdentifier=tg)
    assert error_of(caught)[:2] == ("ConflictException", 409)
    lattice.update_listener(**listener["scope"], defaultAction=FIXED_404)
    assert lattice.get_target_group(targetGroupIdentifier=tg).get("serviceArns", []) == []
    lattice.delete_target_group(targetGroupIdentifier=tg)
