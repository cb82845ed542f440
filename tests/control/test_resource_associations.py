"""Service network resource associations and resource endpoint associations through boto3 against a real
server, plus the pure DNS name helpers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from latticework.control.backend.resource_associations import resource_dns_name, resource_hosted_zone_id

SUBNET = "subnet-0123456789abcdef0"
RDS_ARN = "arn:aws:rds:us-west-2:000000000000:db:orders"
SNRA_ARN = re.compile(
    r"arn:aws:vpc-lattice:us-west-2:000000000000:servicenetworkresourceassociation/snra-0[0-9a-f]{16}"
)


def _error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    response = exc.value.response
    return {**response["Error"], **response, "status": response["ResponseMetadata"]["HTTPStatusCode"]}


def _body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _gateway(server: Any, unique: Any) -> str:
    vpc = server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    return str(server.client().create_resource_gateway(name=unique("gw"), vpcIdentifier=vpc, subnetIds=[SUBNET])["id"])


def _config(lattice: Any, unique: Any, gateway: str, **extra: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "type": "SINGLE",
        "resourceGatewayIdentifier": gateway,
        "resourceConfigurationDefinition": {"ipResource": {"ipAddress": "10.0.1.5"}},
        **extra,
    }
    if args["type"] in ("GROUP", "CHILD"):
        args.pop("resourceConfigurationDefinition" if args["type"] == "GROUP" else "resourceGatewayIdentifier")
    return dict(lattice.create_resource_configuration(name=unique("cfg"), **args))


@pytest.fixture
def gateway(server: Any, unique: Any) -> str:
    return _gateway(server, unique)


def test_dns_names_follow_the_lattice_rsc_shape() -> None:
    name = resource_dns_name("snra-0123456789abcdef0", "rcfg-0123456789abcdef0", "000000000000", "us-east-1")
    assert re.fullmatch(
        r"snra-0123456789abcdef0\.rcfg-0123456789abcdef0\.[0-9a-f]{7}\.vpc-lattice-rsc\.us-east-1\.on\.aws", name
    )
    assert name == resource_dns_name("snra-0123456789abcdef0", "rcfg-0123456789abcdef0", "000000000000", "us-east-1")
    assert re.fullmatch(r"Z[0-9A-F]{20}", resource_hosted_zone_id("us-east-1"))
    assert resource_hosted_zone_id("us-east-1") != resource_hosted_zone_id("eu-west-1")


def test_create_returns_the_minimal_shape(lattice: Any, unique: Any, gateway: str) -> None:
    network = lattice.create_service_network(name=unique("net"))
    config = _config(lattice, unique, gateway)
    created = lattice.create_service_network_resource_association(
        serviceNetworkIdentifier=network["id"], resourceConfigurationIdentifier=config["arn"]
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    body = _body(created)
    assert set(body) == {"arn", "createdBy", "id", "privateDnsEnabled", "status"}
    assert re.fullmatch(r"snra-0[0-9a-f]{16}", body["id"]) and SNRA_ARN.fullmatch(body["arn"])
    assert (body["createdBy"], body["privateDnsEnabled"], body["status"]) == ("000000000000", False, "ACTIVE")


def test_get_describes_both_sides_and_the_dns_entry(lattice: Any, unique: Any, gateway: str) -> None:
    network = lattice.create_service_network(name=unique("net"))
    config = _config(lattice, unique, gateway)
    created = lattice.create_service_network_resource_association(
        serviceNetworkIdentifier=network["arn"], resourceConfigurationIdentifier=config["id"]
    )
    got = _body(
        lattice.get_service_network_resource_association(serviceNetworkResourceAssociationIdentifier=created["arn"])
    )
    assert set(got) == {
        "arn", "createdAt", "createdBy", "dnsEntry", "id", "isManagedAssociation", "lastUpdatedAt",
        "privateDnsEnabled", "resourceConfigurationArn", "resourceConfigurationId", "resourceConfigurationName",
        "serviceNetworkArn", "serviceNetworkId", "serviceNetworkName", "status",
    }  # fmt: skip
    assert (got["serviceNetworkId"], got["serviceNetworkArn"], got["serviceNetworkName"]) == (
        network["id"],
        network["arn"],
        network["name"],
    )
    assert (got["resourceConfigurationId"], got["resourceConfigurationName"]) == (config["id"], config["name"])
    assert got["isManagedAssociation"] is False
    assert got["dnsEntry"]["domainName"].startswith(f"{created['id']}.{config['id']}.")
    assert got["dnsEntry"]["domainName"].endswith(".vpc-lattice-rsc.us-west-2.on.aws")
    assert re.fullmatch(r"Z[0-9A-F]{20}", got["dnsEntry"]["hostedZoneId"])


def test_a_pair_is_associated_once(lattice: Any, unique: Any, gateway: str) -> None:
    network = lattice.create_service_network(name=unique("net"))
    config = _config(lattice, unique, gateway)
    first = lattice.create_service_network_resource_association(
        serviceNetworkIdentifier=network["id"], resourceConfigurationIdentifier=config["id"]
    )
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_resource_association(
            serviceNetworkIdentifier=network["arn"], resourceConfigurationIdentifier=config["arn"]
        )
    error = _error(exc)
    assert (error["Code"], error["status"], error["resourceId"]) == ("ConflictException", 409, first["id"])
    assert error["resourceType"] == "SERVICE_NETWORK_RESOURCE_ASSOCIATION"


def test_unknown_sides_are_not_found(lattice: Any, unique: Any, gateway: str) -> None:
    network = lattice.create_service_network(name=unique("net"))
    config = _config(lattice, unique, gateway)
    for sn, rcfg, kind in (
        ("sn-0aaaaaaaaaaaaaaaa", config["id"], "SERVICE_NETWORK"),
        (network["id"], "rcfg-0aaaaaaaaaaaaaaaa", "RESOURCE_CONFIGURATION"),
    ):
        with pytest.raises(ClientError) as exc:
            lattice.create_service_network_resource_association(
                serviceNetworkIdentifier=sn, resourceConfigurationIdentifier=rcfg
            )
        assert (_error(exc)["Code"], _error(exc)["status"], _error(exc)["resourceType"]) == (
            "ResourceNotFoundException",
            404,
            kind,
        )


def test_children_and_cidr_configurations_cannot_be_associated(server: Any, lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    gateway = _gateway(server, unique)
    group = _config(lattice, unique, gateway, type="GROUP")
    child = _config(lattice, unique, gateway, type="CHILD", resourceConfigurationGroupIdentifier=group["id"])
    in_vpc = lattice.create_resource_gateway(
        name=unique("gw"),
        vpcIdentifier=server.client("ec2").create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"],
        subnetIds=[SUBNET],
        resourceConfigDnsResolution="IN_VPC",
    )
    cidr = _config(
        lattice, unique, in_vpc["id"], type="CIDR",
        resourceConfigurationDefinition={"cidrResource": {"cidrRanges": ["10.1.0.0/16"]}},
    )  # fmt: skip
    for config in (child, cidr):
        with pytest.raises(ClientError) as exc:
            lattice.create_service_network_resource_association(
                serviceNetworkIdentifier=network["id"], resourceConfigurationIdentifier=config["id"]
            )
        assert [f["name"] for f in _error(exc)["fieldList"]] == ["resourceConfigurationIdentifier"]


def test_shareable_networks_take_only_configurations_that_allow_it(lattice: Any, unique: Any, gateway: str) -> None:
    shared = lattice.create_service_network(name=unique("net"), sharingConfig={"enabled": True})
    private = lattice.create_service_network(name=unique("net"), sharingConfig={"enabled": False})
    closed = _config(lattice, unique, gateway, allowAssociationToShareableServiceNetwork=False)
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_resource_association(
            serviceNetworkIdentifier=shared["id"], resourceConfigurationIdentifier=closed["id"]
        )
    assert (_error(exc)["Code"], _error(exc)["fieldList"][0]["name"]) == (
        "ValidationException",
        "resourceConfigurationIdentifier",
    )
    lattice.create_service_network_resource_association(
        serviceNetworkIdentifier=private["id"], resourceConfigurationIdentifier=closed["id"]
    )
    open_ = _config(lattice, unique, gateway)  # AWS's default: allowed
    lattice.create_service_network_resource_association(
        serviceNetworkIdentifier=shared["id"], resourceConfigurationIdentifier=open_["id"]
    )
    with pytest.raises(ClientError) as exc:
        lattice.update_resource_configuration(
            resourceConfigurationIdentifier=open_["id"], allowAssociationToShareableServiceNetwork=False
        )
    assert _error(exc)["fieldList"][0]["name"] == "allowAssociationToShareableServiceNetwork"


def test_arn_configurations_always_have_private_dns(lattice: Any, unique: Any, gateway: str) -> None:
    network = lattice.create_service_network(name=unique("net"))
    arn = _config(
        lattice, unique, gateway, type="ARN", resourceConfigurationDefinition={"arnResource": {"arn": RDS_ARN}}
    )
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_resource_association(
            serviceNetworkIdentifier=network["id"], resourceConfigurationIdentifier=arn["id"], privateDnsEnabled=False
        )
    assert _error(exc)["fieldList"][0]["name"] == "privateDnsEnabled"
    created = lattice.create_service_network_resource_association(
        serviceNetworkIdentifier=network["id"], resourceConfigurationIdentifier=arn["id"]
    )
    assert created["privateDnsEnabled"] is True


def test_private_dns_entry_is_the_custom_domain(lattice: Any, unique: Any, gateway: str) -> None:
    network = lattice.create_service_network(name=unique("net"))
    config = _config(lattice, unique, gateway, customDomainName="db.example.com")
    created = lattice.create_service_network_resource_association(
        serviceNetworkIdentifier=network["id"], resourceConfigurationIdentifier=config["id"], privateDnsEnabled=True
    )
    got = lattice.get_service_network_resource_association(serviceNetworkResourceAssociationIdentifier=created["id"])
    assert got["privateDnsEnabled"] is True and got["privateDnsEntry"] == {"domainName": "db.example.com"}
    assert "domainVerificationStatus" not in got


def test_group_associations_reach_children_listed_with_include_children(server: Any, lattice: Any, unique: Any) -> None:
    gateway = _gateway(server, unique)
    network = lattice.create_service_network(name=unique("net"))
    group = _config(lattice, unique, gateway, type="GROUP")
    early = _config(lattice, unique, gateway, type="CHILD", resourceConfigurationGroupIdentifier=group["id"])
    association = lattice.create_service_network_resource_association(
        serviceNetworkIdentifier=network["id"], resourceConfigurationIdentifier=group["id"]
    )
    late = _config(lattice, unique, gateway, type="CHILD", resourceConfigurationGroupIdentifier=group["id"])
    plain = lattice.list_service_network_resource_associations(serviceNetworkIdentifier=network["id"])["items"]
    assert [i["id"] for i in plain] == [association["id"]]
    full = lattice.list_service_network_resource_associations(
        serviceNetworkIdentifier=network["id"], includeChildren=True
    )
    assert [i["resourceConfigurationId"] for i in full["items"]] == [group["id"], early["id"], late["id"]]
    assert [i["isManagedAssociation"] for i in full["items"]] == [False, True, True]
    by_group = lattice.list_service_network_resource_associations(
        resourceConfigurationIdentifier=group["arn"], includeChildren=True
    )["items"]
    assert [i["resourceConfigurationId"] for i in by_group] == [group["id"], early["id"], late["id"]]
    child_association = full["items"][1]["id"]
    with pytest.raises(ClientError) as exc:
        lattice.delete_service_network_resource_association(
            serviceNetworkResourceAssociationIdentifier=child_association
        )
    assert (_error(exc)["Code"], _error(exc)["resourceId"]) == ("ConflictException", child_association)
    lattice.delete_resource_configuration(resourceConfigurationIdentifier=late["id"])
    lattice.delete_service_network_resource_association(serviceNetworkResourceAssociationIdentifier=association["id"])
    left = lattice.list_service_network_resource_associations(
        serviceNetworkIdentifier=network["id"], includeChildren=True
    )
    assert left["items"] == []


def test_associated_configurations_cannot_be_deleted(lattice: Any, unique: Any, gateway: str) -> None:
    network = lattice.create_service_network(name=unique("net"))
    config = _config(lattice, unique, gateway)
    association = lattice.create_service_network_resource_association(
        serviceNetworkIdentifier=network["id"], resourceConfigurationIdentifier=config["id"]
    )
    with pytest.raises(ClientError) as exc:
        lattice.delete_resource_configuration(resourceConfigurationIdentifier=config["id"])
    assert (_error(exc)["Code"], _error(exc)["resourceType"]) == ("ConflictException", "RESOURCE_CONFIGURATION")
    with pytest.raises(ClientError) as exc:
        lattice.delete_service_network(serviceNetworkIdentifier=network["id"])
    assert _error(exc)["Code"] == "ConflictException"
    deleted = lattice.delete_service_network_resource_association(
        serviceNetworkResourceAssociationIdentifier=association["arn"]
    )
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert _body(deleted) == {"arn": association["arn"], "id": association["id"], "status": "DELETE_IN_PROGRESS"}
    with pytest.raises(ClientError) as exc:
        lattice.get_service_network_resource_association(serviceNetworkResourceAssociationIdentifier=association["id"])
    assert (_error(exc)["Code"], _error(exc)["status"]) == ("ResourceNotFoundException", 404)
    lattice.delete_resource_configuration(resourceConfigurationIdentifier=config["id"])


def test_quota_per_service_network(make_server: Any, unique: Any) -> None:
    server = make_server("--quota", "resource_configurations_per_service_network=1")
    lattice, gateway = server.client(), _gateway(server, unique)
    network = lattice.create_service_network(name=unique("net"))
    for config in (_config(lattice, unique, gateway), _config(lattice, unique, gateway)):
        try:
            lattice.create_service_network_resource_association(
                serviceNetworkIdentifier=network["id"], resourceConfigurationIdentifier=config["id"]
            )
        except ClientError as error:
            response = error.response
            assert response["Error"]["Code"] == "ServiceQuotaExceededException"
            assert (response["quotaCode"], response["ResponseMetadata"]["HTTPStatusCode"]) == ("L-6095700C", 402)
            break
    else:
        pytest.fail("the second association passed the quota of 1")


def test_list_filters_and_pages(make_server: Any, unique: Any) -> None:
    server = make_server()
    lattice, gateway = server.client(), _gateway(server, unique)
    networks = [lattice.create_service_network(name=unique("net")) for _ in range(2)]
    configs = [_config(lattice, unique, gateway) for _ in range(2)]
    made = {
        (n["id"], c["id"]): lattice.create_service_network_resource_association(
            serviceNetworkIdentifier=n["id"], resourceConfigurationIdentifier=c["id"], tags={"k": "v"}
        )["id"]
        for n in networks
        for c in configs
    }
    first = lattice.list_service_network_resource_associations(maxResults=3)
    rest = lattice.list_service_network_resource_associations(maxResults=3, nextToken=first["nextToken"])
    assert [i["id"] for i in first["items"] + rest["items"]] == list(made.values())
    by_config = lattice.list_service_network_resource_associations(resourceConfigurationIdentifier=configs[1]["id"])
    assert [i["id"] for i in by_config["items"]] == [made[(n["id"], configs[1]["id"])] for n in networks]
    both = lattice.list_service_network_resource_associations(
        serviceNetworkIdentifier=networks[0]["id"], resourceConfigurationIdentifier=configs[0]["id"]
    )
    assert [i["id"] for i in both["items"]] == [made[(networks[0]["id"], configs[0]["id"])]]
    assert set(both["items"][0]) == {
        "arn", "createdAt", "createdBy", "dnsEntry", "id", "isManagedAssociation", "privateDnsEnabled",
        "resourceConfigurationArn", "resourceConfigurationId", "resourceConfigurationName", "serviceNetworkArn",
        "serviceNetworkId", "serviceNetworkName", "status",
    }  # fmt: skip
    count = lattice.list_service_networks()["items"][0]["numberOfAssociatedResourceConfigurations"]
    assert count == 2
    assert lattice.list_tags_for_resource(resourceArn=both["items"][0]["arn"])["tags"] == {"k": "v"}


def test_resource_endpoint_associations_come_only_from_vpc_endpoints(lattice: Any, unique: Any, gateway: str) -> None:
    config = _config(lattice, unique, gateway)
    listed = lattice.list_resource_endpoint_associations(resourceConfigurationIdentifier=config["id"])
    assert listed["items"] == [] and "nextToken" not in listed
    with pytest.raises(ClientError) as exc:
        lattice.delete_resource_endpoint_association(resourceEndpointAssociationIdentifier="rea-0aaaaaaaaaaaaaaaa")
    error = _error(exc)
    assert (error["Code"], error["status"], error["resourceType"]) == (
        "ResourceNotFoundException",
        404,
        "RESOURCE_ENDPOINT_ASSOCIATION",
    )


def test_client_token_makes_create_idempotent(lattice: Any, unique: Any, gateway: str) -> None:
    network = lattice.create_service_network(name=unique("net"))
    config = _config(lattice, unique, gateway)
    token = unique("tok")
    args = {"serviceNetworkIdentifier": network["id"], "resourceConfigurationIdentifier": config["id"]}
    first = lattice.create_service_network_resource_association(clientToken=token, **args)
    again = lattice.create_service_network_resource_association(clientToken=token, **args)
    assert again["id"] == first["id"]
