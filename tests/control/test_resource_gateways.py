"""Resource gateways through boto3 against a real server (VPCs come from the server's EC2 API)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

SUBNET = "subnet-0123456789abcdef0"
RGW_ARN = re.compile(r"arn:aws:vpc-lattice:us-west-2:000000000000:resourcegateway/rgw-0[0-9a-f]{16}")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    response = exc.value.response
    return {**response["Error"], **response, "status": response["ResponseMetadata"]["HTTPStatusCode"]}


def _body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _vpc(server: Any) -> str:
    return str(server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])


def _gateway(server: Any, lattice: Any, name: str, **extra: Any) -> dict[str, Any]:
    vpc = extra.pop("vpcIdentifier", None) or _vpc(server)
    return dict(lattice.create_resource_gateway(name=name, vpcIdentifier=vpc, subnetIds=[SUBNET], **extra))


def test_create_returns_the_cli_shape_with_aws_defaults(server: Any, lattice: Any, unique: Any) -> None:
    vpc = _vpc(server)
    created = lattice.create_resource_gateway(name=unique("gw"), vpcIdentifier=vpc, subnetIds=[SUBNET])
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    body = _body(created)
    assert set(body) == {
        "arn", "id", "ipAddressType", "ipv4AddressesPerEni", "name", "resourceConfigDnsResolution",
        "securityGroupIds", "status", "subnetIds", "vpcIdentifier",
    }  # fmt: skip
    assert re.fullmatch(r"rgw-0[0-9a-f]{16}", body["id"]) and RGW_ARN.fullmatch(body["arn"])
    assert body["arn"].endswith(body["id"])
    assert (body["ipAddressType"], body["ipv4AddressesPerEni"], body["resourceConfigDnsResolution"]) == (
        "IPV4",
        16,
        "PUBLIC",
    )
    assert body["vpcIdentifier"] == vpc and body["subnetIds"] == [SUBNET] and body["status"] == "ACTIVE"
    assert body["securityGroupIds"] == []


def test_get_by_id_or_arn_names_the_vpc_vpc_id(server: Any, lattice: Any, unique: Any) -> None:
    created = _gateway(server, lattice, unique("gw"), securityGroupIds=["sg-0123456789abcdef0"])
    by_id = _body(lattice.get_resource_gateway(resourceGatewayIdentifier=created["id"]))
    by_arn = _body(lattice.get_resource_gateway(resourceGatewayIdentifier=created["arn"]))
    assert by_id == by_arn
    assert by_id["vpcId"] == created["vpcIdentifier"] and "vpcIdentifier" not in by_id
    assert by_id["securityGroupIds"] == ["sg-0123456789abcdef0"]
    assert by_id["createdAt"] <= by_id["lastUpdatedAt"] and by_id["status"] == "ACTIVE"


def test_names_are_unique(server: Any, lattice: Any, unique: Any) -> None:
    name = unique("gw")
    _gateway(server, lattice, name)
    with pytest.raises(ClientError) as exc:
        _gateway(server, lattice, name)
    error = _error(exc)
    assert (error["Code"], error["status"], error["resourceType"]) == ("ConflictException", 409, "RESOURCE_GATEWAY")


def test_unknown_vpc_is_not_found(lattice: Any, unique: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_gateway(name=unique("gw"), vpcIdentifier="vpc-0aaaaaaaaaaaaaaaa", subnetIds=[SUBNET])
    error = _error(exc)
    assert (error["Code"], error["status"], error["resourceType"]) == ("ResourceNotFoundException", 404, "VPC")
    assert error["resourceId"] == "vpc-0aaaaaaaaaaaaaaaa"


@pytest.mark.parametrize(
    ("subnets", "field"),
    [([], "subnetIds"), (["subnet-xyz"], "subnetIds"), (["subnet-0123456789abcdef0", "sg-01234567"], "subnetIds")],
)
def test_subnets_are_required_and_shaped(
    server: Any, lattice: Any, unique: Any, subnets: list[str], field: str
) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_gateway(name=unique("gw"), vpcIdentifier=_vpc(server), subnetIds=subnets)
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ValidationException", 400)
    assert [f["name"] for f in error["fieldList"]] == [field]


def test_vpc_is_required(lattice: Any, unique: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_gateway(name=unique("gw"), subnetIds=[SUBNET])
    assert [f["name"] for f in _error(exc)["fieldList"]] == ["vpcIdentifier"]


def test_ipv6_gateways_take_no_ipv4_address_count(server: Any, lattice: Any, unique: Any) -> None:
    ipv6 = _gateway(server, lattice, unique("gw"), ipAddressType="IPV6")
    assert ipv6["ipAddressType"] == "IPV6" and "ipv4AddressesPerEni" not in ipv6
    with pytest.raises(ClientError) as exc:
        _gateway(server, lattice, unique("gw"), ipAddressType="IPV6", ipv4AddressesPerEni=8)
    assert [f["name"] for f in _error(exc)["fieldList"]] == ["ipv4AddressesPerEni"]
    dual = _gateway(server, lattice, unique("gw"), ipAddressType="DUALSTACK", ipv4AddressesPerEni=8)
    assert (dual["ipAddressType"], dual["ipv4AddressesPerEni"]) == ("DUALSTACK", 8)


def test_model_ranges_are_enforced_before_the_backend(server: Any, lattice: Any, unique: Any) -> None:
    with pytest.raises(ClientError) as exc:
        _gateway(server, lattice, unique("gw"), ipv4AddressesPerEni=63)
    error = _error(exc)
    assert error["Code"] == "ValidationException" and error["fieldList"][0]["name"] == "ipv4AddressesPerEni"


def test_quota_per_vpc(make_server: Any, unique: Any) -> None:
    server = make_server("--quota", "resource_gateways_per_vpc=1")
    lattice, vpc = server.client(), _vpc(server)
    _gateway(server, lattice, unique("gw"), vpcIdentifier=vpc)
    with pytest.raises(ClientError) as exc:
        _gateway(server, lattice, unique("gw"), vpcIdentifier=vpc)
    error = _error(exc)
    assert (error["Code"], error["status"], error["resourceType"]) == (
        "ServiceQuotaExceededException",
        402,
        "RESOURCE_GATEWAY",
    )
    assert error["quotaCode"] == "L-0DCA4434" and error["serviceCode"] == "vpc-lattice"
    _gateway(server, lattice, unique("gw"))  # another VPC has its own quota


def test_update_changes_security_groups_and_dns_resolution(server: Any, lattice: Any, unique: Any) -> None:
    created = _gateway(server, lattice, unique("gw"))
    updated = _body(
        lattice.update_resource_gateway(
            resourceGatewayIdentifier=created["arn"],
            securityGroupIds=["sg-0123456789abcdef0", "sg-01234567"],
            resourceConfigDnsResolution="IN_VPC",
        )
    )
    assert updated["securityGroupIds"] == ["sg-0123456789abcdef0", "sg-01234567"]
    assert updated["resourceConfigDnsResolution"] == "IN_VPC" and updated["vpcId"] == created["vpcIdentifier"]
    assert updated["status"] == "ACTIVE" and updated["name"] == created["name"]
    got = lattice.get_resource_gateway(resourceGatewayIdentifier=created["id"])
    assert got["resourceConfigDnsResolution"] == "IN_VPC" and got["lastUpdatedAt"] >= got["createdAt"]


def test_dns_resolution_must_keep_fitting_its_configurations(server: Any, lattice: Any, unique: Any) -> None:
    gateway = _gateway(server, lattice, unique("gw"))
    lattice.create_resource_configuration(
        name=unique("cfg"),
        type="ARN",
        resourceGatewayIdentifier=gateway["id"],
        resourceConfigurationDefinition={"arnResource": {"arn": "arn:aws:rds:us-west-2:000000000000:db:orders"}},
    )
    with pytest.raises(ClientError) as exc:
        lattice.update_resource_gateway(resourceGatewayIdentifier=gateway["id"], resourceConfigDnsResolution="IN_VPC")
    error = _error(exc)
    assert (error["Code"], error["status"], error["resourceId"]) == ("ConflictException", 409, gateway["id"])


def test_delete_is_refused_while_configurations_use_it(server: Any, lattice: Any, unique: Any) -> None:
    gateway = _gateway(server, lattice, unique("gw"))
    config = lattice.create_resource_configuration(
        name=unique("cfg"),
        type="SINGLE",
        resourceGatewayIdentifier=gateway["id"],
        resourceConfigurationDefinition={"ipResource": {"ipAddress": "10.0.1.5"}},
    )
    with pytest.raises(ClientError) as exc:
        lattice.delete_resource_gateway(resourceGatewayIdentifier=gateway["id"])
    assert (_error(exc)["Code"], _error(exc)["resourceType"]) == ("ConflictException", "RESOURCE_GATEWAY")
    lattice.delete_resource_configuration(resourceConfigurationIdentifier=config["id"])
    deleted = lattice.delete_resource_gateway(resourceGatewayIdentifier=gateway["arn"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _body(deleted) == {
        "arn": gateway["arn"],
        "id": gateway["id"],
        "name": gateway["name"],
        "status": "DELETE_IN_PROGRESS",
    }
    with pytest.raises(ClientError) as exc:
        lattice.get_resource_gateway(resourceGatewayIdentifier=gateway["id"])
    assert (_error(exc)["Code"], _error(exc)["status"]) == ("ResourceNotFoundException", 404)


def test_vpc_cannot_be_deleted_under_a_gateway(server: Any, lattice: Any, unique: Any) -> None:
    gateway = _gateway(server, lattice, unique("gw"))
    with pytest.raises(ClientError) as exc:
        server.client("ec2").delete_vpc(VpcId=gateway["vpcIdentifier"])
    assert exc.value.response["Error"]["Code"] == "DependencyViolation"


def test_list_pages_through_every_gateway(make_server: Any, unique: Any) -> None:
    server = make_server()
    lattice = server.client()
    made = [_gateway(server, lattice, unique("gw"))["id"] for _ in range(3)]
    first = lattice.list_resource_gateways(maxResults=2)
    assert len(first["items"]) == 2 and "nextToken" in first
    rest = lattice.list_resource_gateways(maxResults=2, nextToken=first["nextToken"])
    assert "nextToken" not in rest
    items = first["items"] + rest["items"]
    assert [i["id"] for i in items] == made
    assert set(items[0]) == {
        "arn", "createdAt", "id", "ipAddressType", "ipv4AddressesPerEni", "lastUpdatedAt", "name",
        "resourceConfigDnsResolution", "securityGroupIds", "status", "subnetIds", "vpcIdentifier",
    }  # fmt: skip


def test_status_settles_from_create_in_progress_to_active(make_server: Any, unique: Any) -> None:
    server = make_server("--provisioning-seconds", "1")
    lattice = server.client()
    created = _gateway(server, lattice, unique("gw"))
    assert created["status"] == "CREATE_IN_PROGRESS"
    with pytest.raises(ClientError) as exc:
        lattice.delete_resource_gateway(resourceGatewayIdentifier=created["id"])
    assert _error(exc)["Code"] == "ConflictException"
    time.sleep(1.1)
    assert lattice.get_resource_gateway(resourceGatewayIdentifier=created["id"])["status"] == "ACTIVE"
    updated = lattice.update_resource_gateway(resourceGatewayIdentifier=created["id"], securityGroupIds=[])
    assert updated["status"] == "UPDATE_IN_PROGRESS"


def test_client_token_makes_create_idempotent(server: Any, lattice: Any, unique: Any) -> None:
    vpc, name = _vpc(server), unique("gw")
    first = lattice.create_resource_gateway(name=name, vpcIdentifier=vpc, subnetIds=[SUBNET], clientToken=name)
    again = lattice.create_resource_gateway(name=name, vpcIdentifier=vpc, subnetIds=[SUBNET], clientToken=name)
    assert again["id"] == first["id"]
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_gateway(name=unique("gw"), vpcIdentifier=vpc, subnetIds=[SUBNET], clientToken=name)
    assert _error(exc)["Code"] == "ConflictException"


def test_create_takes_tags(server: Any, lattice: Any, unique: Any) -> None:
    created = _gateway(server, lattice, unique("gw"), tags={"team": "data"})
    assert lattice.list_tags_for_resource(resourceArn=created["arn"])["tags"] == {"team": "data"}
