"""Listener operations through boto3 against a real server: shapes, defaults, conflicts, quotas, TLS
passthrough rules, forward actions and the target-group bookkeeping behind them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

FIXED_404 = {"fixedResponse": {"statusCode": 404}}
FIXED_500 = {"fixedResponse": {"statusCode": 500}}


def error_of(caught: pytest.ExceptionInfo[ClientError]) -> tuple[str, int, dict[str, Any]]:
    response: dict[str, Any] = caught.value.response
    return response["Error"]["Code"], response["ResponseMetadata"]["HTTPStatusCode"], response


@pytest.fixture
def service(lattice: Any, unique: Callable[[str], str]) -> dict[str, Any]:
    return dict(lattice.create_service(name=unique("lsvc")))


@pytest.fixture
def make_target_group(server: Any, lattice: Any, unique: Callable[[str], str]) -> Callable[..., str]:
    """Target groups through the real API (CreateTargetGroup, and CreateVpc on the EC2 endpoint)."""
    vpcs: list[str] = []

    def make(protocol: str = "HTTP", version: str | None = None, type_: str = "IP") -> str:
        if type_ == "LAMBDA":
            return str(lattice.create_target_group(name=unique("ltg"), type="LAMBDA")["id"])
        if not vpcs:
            vpcs.append(server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])
        config: dict[str, Any] = {
            "port": 443 if protocol != "HTTP" else 80,
            "protocol": protocol,
            "vpcIdentifier": vpcs[0],
        }
        if version:
            config["protocolVersion"] = version
        return str(lattice.create_target_group(name=unique("ltg"), type=type_, config=config)["id"])

    return make


def forward(*groups: str, weights: tuple[int, ...] | None = None) -> dict[str, Any]:
    if weights is None:
        return {"forward": {"targetGroups": [{"targetGroupIdentifier": g} for g in groups]}}
    pairs = zip(groups, weights, strict=True)
    return {"forward": {"targetGroups": [{"targetGroupIdentifier": g, "weight": w} for g, w in pairs]}}


# -- create / get / list ------------------------------------------------------------------------------------


def test_create_returns_the_minimal_aws_shape_with_default_http_port(lattice: Any, service: dict[str, Any]) -> None:
    created = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=FIXED_404
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    body = {k: v for k, v in created.items() if k != "ResponseMetadata"}
    assert set(body) == {"arn", "defaultAction", "id", "name", "port", "protocol", "serviceArn", "serviceId"}
    assert body["port"] == 80
    assert body["protocol"] == "HTTP"
    assert body["defaultAction"] == FIXED_404
    assert body["serviceId"] == service["id"]
    assert body["serviceArn"] == service["arn"]
    assert body["id"].startswith("listener-") and len(body["id"]) == 26
    assert body["arn"] == f"{service['arn']}/listener/{body['id']}"


def test_https_listener_defaults_to_port_443(lattice: Any, service: dict[str, Any]) -> None:
    created = lattice.create_listener(
        serviceIdentifier=service["id"], name="secure", protocol="HTTPS", defaultAction=FIXED_404
    )
    assert created["port"] == 443


def test_get_by_arns_returns_timestamps_and_default_action(lattice: Any, service: dict[str, Any]) -> None:
    created = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", port=8080, defaultAction=FIXED_500
    )
    got = lattice.get_listener(serviceIdentifier=service["arn"], listenerIdentifier=created["arn"])
    assert got["id"] == created["id"]
    assert got["port"] == 8080
    assert got["defaultAction"] == FIXED_500
    assert got["createdAt"] == got["lastUpdatedAt"]


def test_list_pages_through_listeners_with_signed_tokens(lattice: Any, service: dict[str, Any]) -> None:
    ids = [
        lattice.create_listener(
            serviceIdentifier=service["id"], name=name, protocol="HTTP", port=port, defaultAction=FIXED_404
        )["id"]
        for name, port in (("one", 81), ("two", 82))
    ]
    first = lattice.list_listeners(serviceIdentifier=service["id"], maxResults=1)
    assert [i["id"] for i in first["items"]] == ids[:1]
    assert set(first["items"][0]) == {"arn", "createdAt", "id", "lastUpdatedAt", "name", "port", "protocol"}
    second = lattice.list_listeners(serviceIdentifier=service["id"], maxResults=1, nextToken=first["nextToken"])
    assert [i["id"] for i in second["items"]] == ids[1:]
    assert "nextToken" not in second


def test_the_default_action_is_the_listeners_default_rule(lattice: Any, service: dict[str, Any]) -> None:
    listener = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=FIXED_404
    )
    items = lattice.list_rules(serviceIdentifier=service["id"], listenerIdentifier=listener["id"])["items"]
    assert len(items) == 1
    assert items[0]["isDefault"] is True
    assert "priority" not in items[0]
    rule = lattice.get_rule(
        serviceIdentifier=service["id"], listenerIdentifier=listener["id"], ruleIdentifier=items[0]["id"]
    )
    assert rule["action"] == FIXED_404
    assert rule["arn"] == f"{listener['arn']}/rule/{items[0]['id']}"


# -- refusals -----------------------------------------------------------------------------------------------


def test_listener_names_are_unique_per_service(lattice: Any, service: dict[str, Any], unique: Any) -> None:
    lattice.create_listener(serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=FIXED_404)
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(serviceIdentifier=service["id"], name="web", protocol="HTTPS", defaultAction=FIXED_404)
    code, status, response = error_of(caught)
    assert (code, status, response["resourceType"]) == ("ConflictException", 409, "LISTENER")
    other = lattice.create_service(name=unique("lsvc"))
    lattice.create_listener(serviceIdentifier=other["id"], name="web", protocol="HTTP", defaultAction=FIXED_404)


def test_one_listener_per_port(lattice: Any, service: dict[str, Any]) -> None:
    first = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", port=443, defaultAction=FIXED_404
    )
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(
            serviceIdentifier=service["id"], name="secure", protocol="HTTPS", defaultAction=FIXED_404
        )
    code, status, response = error_of(caught)
    assert (code, status, response["resourceId"]) == ("ConflictException", 409, first["id"])


def test_listeners_per_service_quota(make_server: Any) -> None:
    client = make_server("--quota", "listeners_per_service=1").client()
    service = client.create_service(name="quota-svc")
    client.create_listener(serviceIdentifier=service["id"], name="one", protocol="HTTP", defaultAction=FIXED_404)
    with pytest.raises(ClientError) as caught:
        client.create_listener(serviceIdentifier=service["id"], name="two", protocol="HTTPS", defaultAction=FIXED_404)
    code, status, response = error_of(caught)
    assert (code, status, response["resourceType"]) == ("ServiceQuotaExceededException", 402, "LISTENER")
    assert response["serviceCode"] == "vpc-lattice"


def test_unknown_service_is_not_found(lattice: Any) -> None:
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(
            serviceIdentifier="svc-0123456789abcdef0", name="web", protocol="HTTP", defaultAction=FIXED_404
        )
    code, status, response = error_of(caught)
    assert (code, status, response["resourceType"]) == ("ResourceNotFoundException", 404, "SERVICE")


def test_a_listener_of_another_service_is_not_found(lattice: Any, service: dict[str, Any], unique: Any) -> None:
    listener = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=FIXED_404
    )
    other = lattice.create_service(name=unique("lsvc"))
    with pytest.raises(ClientError) as caught:
        lattice.get_listener(serviceIdentifier=other["id"], listenerIdentifier=listener["id"])
    code, status, response = error_of(caught)
    assert (code, status, response["resourceType"]) == ("ResourceNotFoundException", 404, "LISTENER")
    assert response["resourceId"] == listener["id"]


@pytest.mark.parametrize("status_code", [200, 403, 503])
def test_fixed_responses_other_than_404_and_500_are_refused(
    lattice: Any, service: dict[str, Any], status_code: int
) -> None:
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(
            serviceIdentifier=service["id"],
            name="web",
            protocol="HTTP",
            defaultAction={"fixedResponse": {"statusCode": status_code}},
        )
    code, status, response = error_of(caught)
    assert (code, status) == ("ValidationException", 400)
    assert response["fieldList"][0]["name"] == "defaultAction.fixedResponse.statusCode"
    assert "Only 404 and 500" in response["message"] or "only 404 and 500" in response["message"]


def test_a_missing_target_group_is_not_found(lattice: Any, service: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(
            serviceIdentifier=service["id"],
            name="web",
            protocol="HTTP",
            defaultAction=forward("tg-0123456789abcdef0"),
        )
    code, status, response = error_of(caught)
    assert (code, status, response["resourceType"]) == ("ResourceNotFoundException", 404, "TARGET_GROUP")
    assert response["resourceId"] == "tg-0123456789abcdef0"


# -- TLS passthrough ----------------------------------------------------------------------------------------


def test_tls_passthrough_needs_a_custom_domain_name(lattice: Any, service: dict[str, Any]) -> None:
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(
            serviceIdentifier=service["id"],
            name="tls",
            protocol="TLS_PASSTHROUGH",
            port=443,
            defaultAction=FIXED_404,
        )
    code, status, response = error_of(caught)
    assert (code, status) == ("ValidationException", 400)
    assert response["fieldList"][0]["name"] == "protocol"
    assert "customDomainName" in response["message"]


def test_tls_passthrough_needs_a_port(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("lsvc"), customDomainName=f"{unique('d')}.example.com")
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(
            serviceIdentifier=service["id"], name="tls", protocol="TLS_PASSTHROUGH", defaultAction=FIXED_404
        )
    code, _, response = error_of(caught)
    assert code == "ValidationException"
    assert response["fieldList"][0]["name"] == "port"


def test_tls_passthrough_cannot_answer_with_a_fixed_response(lattice: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("lsvc"), customDomainName=f"{unique('d')}.example.com")
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(
            serviceIdentifier=service["id"],
            name="tls",
            protocol="TLS_PASSTHROUGH",
            port=443,
            defaultAction=FIXED_404,
        )
    code, _, response = error_of(caught)
    assert code == "ValidationException"
    assert response["fieldList"][0]["name"] == "defaultAction.fixedResponse"


# -- update / delete ----------------------------------------------------------------------------------------


def test_update_changes_only_the_default_action(lattice: Any, service: dict[str, Any]) -> None:
    listener = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", port=8080, defaultAction=FIXED_404
    )
    updated = lattice.update_listener(
        serviceIdentifier=service["id"], listenerIdentifier=listener["id"], defaultAction=FIXED_500
    )
    assert updated["ResponseMetadata"]["HTTPStatusCode"] == 200
    body = {k: v for k, v in updated.items() if k != "ResponseMetadata"}
    assert body == {**{k: v for k, v in listener.items() if k != "ResponseMetadata"}, "defaultAction": FIXED_500}
    got = lattice.get_listener(serviceIdentifier=service["id"], listenerIdentifier=listener["id"])
    assert got["defaultAction"] == FIXED_500
    assert got["lastUpdatedAt"] > got["createdAt"]


def test_delete_removes_the_listener_and_its_rules(lattice: Any, service: dict[str, Any]) -> None:
    listener = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=FIXED_404
    )
    rule = lattice.create_rule(
        serviceIdentifier=service["id"],
        listenerIdentifier=listener["id"],
        name="api",
        priority=1,
        match={"httpMatch": {"method": "GET"}},
        action=FIXED_500,
    )
    deleted = lattice.delete_listener(serviceIdentifier=service["id"], listenerIdentifier=listener["id"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    for call in (
        lambda: lattice.get_listener(serviceIdentifier=service["id"], listenerIdentifier=listener["id"]),
        lambda: lattice.get_rule(
            serviceIdentifier=service["id"], listenerIdentifier=listener["arn"], ruleIdentifier=rule["arn"]
        ),
    ):
        with pytest.raises(ClientError) as caught:
            call()
        assert error_of(caught)[:2] == ("ResourceNotFoundException", 404)
    assert lattice.list_listeners(serviceIdentifier=service["id"])["items"] == []
    # the port is free again
    lattice.create_listener(serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=FIXED_404)


# -- forward actions (need CreateTargetGroup) ---------------------------------------------------------------


def test_a_sole_target_group_gets_weight_100(lattice: Any, service: dict[str, Any], make_target_group: Any) -> None:
    tg = make_target_group()
    created = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=forward(tg)
    )
    assert created["defaultAction"] == {"forward": {"targetGroups": [{"targetGroupIdentifier": tg, "weight": 100}]}}


def test_a_target_group_arn_is_stored_as_its_id(lattice: Any, service: dict[str, Any], make_target_group: Any) -> None:
    tg = make_target_group()
    arn = lattice.get_target_group(targetGroupIdentifier=tg)["arn"]
    created = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=forward(arn)
    )
    assert created["defaultAction"]["forward"]["targetGroups"][0]["targetGroupIdentifier"] == tg


def test_several_target_groups_need_weights(lattice: Any, service: dict[str, Any], make_target_group: Any) -> None:
    one, two = make_target_group(), make_target_group()
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(
            serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=forward(one, two)
        )
    code, _, response = error_of(caught)
    assert code == "ValidationException"
    assert response["fieldList"][0]["name"] == "defaultAction.forward.targetGroups.0.weight"
    created = lattice.create_listener(
        serviceIdentifier=service["id"],
        name="web",
        protocol="HTTP",
        defaultAction=forward(one, two, weights=(30, 70)),
    )
    assert [g["weight"] for g in created["defaultAction"]["forward"]["targetGroups"]] == [30, 70]


def test_a_target_group_serves_one_service_only_until_released(
    lattice: Any, service: dict[str, Any], make_target_group: Any, unique: Any
) -> None:
    tg = make_target_group()
    listener = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=forward(tg)
    )
    # a second listener of the same service may use it
    alt = lattice.create_listener(
        serviceIdentifier=service["id"], name="alt", protocol="HTTP", port=81, defaultAction=forward(tg)
    )
    other = lattice.create_service(name=unique("lsvc"))
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(serviceIdentifier=other["id"], name="web", protocol="HTTP", defaultAction=forward(tg))
    code, status, response = error_of(caught)
    assert (code, status, response["resourceType"], response["resourceId"]) == (
        "ConflictException",
        409,
        "TARGET_GROUP",
        tg,
    )
    assert "one service only" in response["message"]
    # released by deleting one listener and pointing the other elsewhere
    lattice.delete_listener(serviceIdentifier=service["id"], listenerIdentifier=listener["id"])
    with pytest.raises(ClientError):
        lattice.create_listener(serviceIdentifier=other["id"], name="web", protocol="HTTP", defaultAction=forward(tg))
    lattice.update_listener(serviceIdentifier=service["id"], listenerIdentifier=alt["id"], defaultAction=FIXED_404)
    lattice.create_listener(serviceIdentifier=other["id"], name="web", protocol="HTTP", defaultAction=forward(tg))


def test_target_group_service_arns_follow_the_listener(
    lattice: Any, service: dict[str, Any], make_target_group: Any
) -> None:
    tg = make_target_group()
    listener = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=forward(tg)
    )
    assert lattice.get_target_group(targetGroupIdentifier=tg).get("serviceArns") == [service["arn"]]
    lattice.delete_listener(serviceIdentifier=service["id"], listenerIdentifier=listener["id"])
    assert lattice.get_target_group(targetGroupIdentifier=tg).get("serviceArns", []) == []


@pytest.mark.parametrize(
    ("listener_protocol", "tg_protocol", "version"),
    [("HTTP", "TCP", None), ("HTTPS", "TCP", None), ("HTTP", "HTTP", "HTTP2"), ("HTTP", "HTTPS", "GRPC")],
)
def test_target_group_protocol_must_fit_the_listener(
    lattice: Any,
    service: dict[str, Any],
    make_target_group: Any,
    listener_protocol: str,
    tg_protocol: str,
    version: str | None,
) -> None:
    tg = make_target_group(tg_protocol, version)
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(
            serviceIdentifier=service["id"], name="web", protocol=listener_protocol, defaultAction=forward(tg)
        )
    code, _, response = error_of(caught)
    assert code == "ValidationException"
    assert response["fieldList"][0]["name"] == "defaultAction.forward.targetGroups.0.targetGroupIdentifier"


def test_grpc_target_group_behind_an_https_listener(
    lattice: Any, service: dict[str, Any], make_target_group: Any
) -> None:
    tg = make_target_group("HTTPS", "GRPC")
    created = lattice.create_listener(
        serviceIdentifier=service["id"], name="grpc", protocol="HTTPS", defaultAction=forward(tg)
    )
    assert created["port"] == 443


def test_tls_passthrough_forwards_to_tcp_target_groups(lattice: Any, make_target_group: Any, unique: Any) -> None:
    service = lattice.create_service(name=unique("lsvc"), customDomainName=f"{unique('d')}.example.com")
    http_tg, tcp_tg = make_target_group("HTTPS"), make_target_group("TCP")
    with pytest.raises(ClientError) as caught:
        lattice.create_listener(
            serviceIdentifier=service["id"],
            name="tls",
            protocol="TLS_PASSTHROUGH",
            port=443,
            defaultAction=forward(http_tg),
        )
    assert error_of(caught)[0] == "ValidationException"
    created = lattice.create_listener(
        serviceIdentifier=service["id"],
        name="tls",
        protocol="TLS_PASSTHROUGH",
        port=443,
        defaultAction=forward(tcp_tg),
    )
    assert created["protocol"] == "TLS_PASSTHROUGH"


def test_target_groups_per_service_quota(make_server: Any) -> None:
    proc = make_server("--quota", "target_groups_per_service=1")
    client = proc.client()
    vpc = proc.client("ec2").create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    config = {"port": 80, "protocol": "HTTP", "vpcIdentifier": vpc}
    one = client.create_target_group(name="quota-one", type="IP", config=config)["id"]
    two = client.create_target_group(name="quota-two", type="IP", config=config)["id"]
    service = client.create_service(name="quota-svc")
    client.create_listener(serviceIdentifier=service["id"], name="one", protocol="HTTP", defaultAction=forward(one))
    with pytest.raises(ClientError) as caught:
        client.create_listener(
            serviceIdentifier=service["id"], name="two", protocol="HTTP", port=81, defaultAction=forward(two)
        )
    code, status, response = error_of(caught)
    assert (code, status, response["resourceType"]) == ("ServiceQuotaExceededException", 402, "TARGET_GROUP")
    # reusing the same target group does not count twice
    client.create_listener(
        serviceIdentifier=service["id"], name="two", protocol="HTTP", port=81, defaultAction=forward(one)
    )


def test_update_listener_moves_the_target_group_reference(
    lattice: Any, service: dict[str, Any], make_target_group: Any
) -> None:
    old, new = make_target_group(), make_target_group()
    listener = lattice.create_listener(
        serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=forward(old)
    )
    updated = lattice.update_listener(
        serviceIdentifier=service["id"], listenerIdentifier=listener["id"], defaultAction=forward(new)
    )
    assert updated["defaultAction"]["forward"]["targetGroups"] == [{"targetGroupIdentifier": new, "weight": 100}]
    assert lattice.get_target_group(targetGroupIdentifier=old).get("serviceArns", []) == []
    assert lattice.get_target_group(targetGroupIdentifier=new)["serviceArns"] == [service["arn"]]


def test_deleting_the_service_releases_its_target_groups(
    lattice: Any, service: dict[str, Any], make_target_group: Any
) -> None:
    tg = make_target_group()
    lattice.create_listener(serviceIdentifier=service["id"], name="web", protocol="HTTP", defaultAction=forward(tg))
    lattice.delete_service(serviceIdentifier=service["id"])
    assert lattice.get_target_group(targetGroupIdentifier=tg).get("serviceArns", []) == []
