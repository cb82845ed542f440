"""Resource configurations through boto3 against a real server, plus the pure type and input rules."""

from __future__ import annotations

import re
from typing import Any

import pytest
from botocore.exceptions import ClientError

from latticework.control.backend.resource_configurations import (
    address_families,
    arn_problem,
    cidr_problems,
    definition_problems,
    ip_problem,
    member_problems,
    port_range_problem,
    with_defaults,
)

SUBNET = "subnet-0123456789abcdef0"
RDS_ARN = "arn:aws:rds:us-west-2:000000000000:db:orders"
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}'
RCFG_ARN = re.compile(r"arn:aws:vpc-lattice:us-west-2:000000000000:resourceconfiguration/rcfg-0[0-9a-f]{16}")


def _error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    response = exc.value.response
    return {**response["Error"], **response, "status": response["ResponseMetadata"]["HTTPStatusCode"]}


def _fields(exc: pytest.ExceptionInfo[ClientError]) -> list[str]:
    error = _error(exc)
    assert (error["Code"], error["status"]) == ("ValidationException", 400)
    return [f["name"] for f in error["fieldList"]]


def _body(response: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in response.items() if k != "ResponseMetadata"}


def _gateway(server: Any, unique: Any, **extra: Any) -> str:
    vpc = server.client("ec2").create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    created = server.client().create_resource_gateway(name=unique("gw"), vpcIdentifier=vpc, subnetIds=[SUBNET], **extra)
    return str(created["id"])


def _ip(address: str = "10.0.1.5") -> dict[str, Any]:
    return {"ipResource": {"ipAddress": address}}


@pytest.fixture
def gateway(server: Any, unique: Any) -> str:
    return _gateway(server, unique)


# -- pure rules ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ok"),
    [("80", True), ("1-65535", True), ("22-22", True), ("0", False), ("65536", False), ("90-80", False),
     ("1-70000", False), ("a-b", False)],
)  # fmt: skip
def test_port_ranges_are_ordered_ports_from_1_to_65535(text: str, ok: bool) -> None:
    assert (port_range_problem(text) is None) is ok


@pytest.mark.parametrize(
    ("address", "ok"),
    [("10.0.1.5", True), ("172.16.9.1", True), ("192.168.0.1", True), ("100.64.0.7", True), ("8.8.8.8", False),
     ("172.32.0.1", False), ("2001:db8::5", True), ("not-an-ip", False)],
)  # fmt: skip
def test_ip_resources_are_private_ipv4_or_ipv6(address: str, ok: bool) -> None:
    assert (ip_problem(address) is None) is ok


@pytest.mark.parametrize(
    ("ranges", "problems"),
    [(["10.0.0.0/16"], 0), (["10.0.0.0/16", "2600:1f14::/56"], 0), (["0.0.0.0/0"], 0), (["::/0"], 0),
     (["10.0.0.1"], 1), (["10.0.0.1/16"], 1), (["169.254.10.0/24"], 1), (["fe80::/64"], 1), (["224.0.0.0/8"], 1),
     (["0.0.0.0/0", "10.0.0.0/8"], 1)],
)  # fmt: skip
def test_cidr_ranges_need_prefixes_and_avoid_reserved_blocks(ranges: list[str], problems: int) -> None:
    assert len(cidr_problems(ranges)) == problems


@pytest.mark.parametrize(
    ("arn", "ok"),
    [(RDS_ARN, True), ("arn:aws:rds:us-west-2:000000000000:cluster:c1", True),
     ("arn:aws:s3:::bucket", False), ("not:an:arn", False)],
)  # fmt: skip
def test_arn_resources_are_rds_databases(arn: str, ok: bool) -> None:
    assert (arn_problem(arn) is None) is ok


@pytest.mark.parametrize(
    ("kind", "params", "names"),
    [
        ("SINGLE", {"resourceGatewayIdentifier": "g", "resourceConfigurationDefinition": {}}, []),
        ("SINGLE", {}, ["resourceGatewayIdentifier", "resourceConfigurationDefinition"]),
        ("GROUP", {"resourceGatewayIdentifier": "g", "resourceConfigurationDefinition": {}},
         ["resourceConfigurationDefinition"]),
        ("CHILD", {"resourceConfigurationGroupIdentifier": "g", "resourceConfigurationDefinition": {},
                   "resourceGatewayIdentifier": "g", "protocol": "TCP"}, ["resourceGatewayIdentifier", "protocol"]),
        ("ARN", {"resourceGatewayIdentifier": "g", "resourceConfigurationDefinition": {}, "portRanges": ["80"]},
         ["portRanges"]),
        ("SINGLE", {"resourceGatewayIdentifier": "g", "resourceConfigurationDefinition": {}, "protocol": "TCP_UDP"},
         ["protocol"]),
        ("CIDR", {"resourceGatewayIdentifier": "g", "resourceConfigurationDefinition": {}, "protocol": "TCP_UDP"}, []),
        ("GROUP", {"resourceGatewayIdentifier": "g", "groupDomain": "x.example.com"}, []),
        ("SINGLE", {"resourceGatewayIdentifier": "g", "resourceConfigurationDefinition": {}, "groupDomain": "a.b"},
         ["groupDomain"]),
        ("SINGLE", {"resourceGatewayIdentifier": "g", "resourceConfigurationDefinition": {},
                    "domainVerificationIdentifier": "dv"}, ["domainVerificationIdentifier"]),
    ],
)  # fmt: skip
def test_member_problems_follow_the_type_table(kind: str, params: dict[str, Any], names: list[str]) -> None:
    assert [p.name for p in member_problems(kind, params)] == names


@pytest.mark.parametrize(
    ("kind", "definition", "names"),
    [
        ("SINGLE", {"ipResource": {"ipAddress": "10.0.0.1"}}, []),
        ("SINGLE", {"arnResource": {"arn": RDS_ARN}}, ["resourceConfigurationDefinition.arnResource"]),
        ("ARN", {"ipResource": {"ipAddress": "10.0.0.1"}}, ["resourceConfigurationDefinition.ipResource"]),
        ("CHILD", {"dnsResource": {"domainName": "nodot"}}, ["resourceConfigurationDefinition.dnsResource.domainName"]),
        ("CIDR", {"cidrResource": {"cidrRanges": ["10.0.0.0/8"]}}, []),
        ("SINGLE", {"ipResource": {}}, ["resourceConfigurationDefinition.ipResource.ipAddress"]),
    ],
)
def test_definition_problems_name_the_member_at_fault(kind: str, definition: dict[str, Any], names: list[str]) -> None:
    assert [p.name for p in definition_problems(kind, definition)] == names


def test_dns_resources_default_to_ipv4_and_carry_their_address_families() -> None:
    stored = with_defaults({"dnsResource": {"domainName": "db.example.com"}})
    assert stored == {"dnsResource": {"domainName": "db.example.com", "ipAddressType": "IPV4"}}
    assert address_families(stored) == {4}
    assert address_families(_ip("2001:db8::1")) == {6}
    assert address_families({"dnsResource": {"ipAddressType": "DUALSTACK"}}) == {4, 6}
    assert address_families({"arnResource": {"arn": RDS_ARN}}) is None


# -- through the API ----------------------------------------------------------------------------------------


def test_create_single_returns_the_cli_shape_with_defaults(lattice: Any, unique: Any, gateway: str) -> None:
    created = lattice.create_resource_configuration(
        name=unique("cfg"), type="SINGLE", resourceGatewayIdentifier=gateway, resourceConfigurationDefinition=_ip()
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 201
    body = _body(created)
    assert set(body) == {
        "allowAssociationToShareableServiceNetwork", "arn", "id", "name", "portRanges", "protocol",
        "resourceConfigurationDefinition", "resourceGatewayId", "status", "type",
    }  # fmt: skip
    assert re.fullmatch(r"rcfg-0[0-9a-f]{16}", body["id"]) and RCFG_ARN.fullmatch(body["arn"])
    assert body["allowAssociationToShareableServiceNetwork"] is True
    assert (body["portRanges"], body["protocol"], body["status"]) == (["1-65535"], "TCP", "ACTIVE")
    assert body["resourceConfigurationDefinition"] == _ip() and body["resourceGatewayId"] == gateway


def test_get_and_list_add_amazon_managed_and_timestamps(lattice: Any, unique: Any, gateway: str) -> None:
    created = lattice.create_resource_configuration(
        name=unique("cfg"),
        type="SINGLE",
        resourceGatewayIdentifier=gateway,
        portRanges=["5432"],
        resourceConfigurationDefinition={"dnsResource": {"domainName": "db.internal.example.com"}},
    )
    got = _body(lattice.get_resource_configuration(resourceConfigurationIdentifier=created["arn"]))
    assert got["amazonManaged"] is False and got["createdAt"] <= got["lastUpdatedAt"]
    assert got["resourceConfigurationDefinition"] == {
        "dnsResource": {"domainName": "db.internal.example.com", "ipAddressType": "IPV4"}
    }
    assert got["portRanges"] == ["5432"] and "domainVerificationStatus" not in got
    listed = lattice.list_resource_configurations(resourceGatewayIdentifier=gateway)["items"]
    assert [i["id"] for i in listed] == [created["id"]]
    assert set(listed[0]) == {
        "amazonManaged", "arn", "createdAt", "id", "lastUpdatedAt", "name", "resourceGatewayId", "status", "type",
    }  # fmt: skip


def test_names_are_unique(lattice: Any, unique: Any, gateway: str) -> None:
    name = unique("cfg")
    args = {"type": "SINGLE", "resourceGatewayIdentifier": gateway, "resourceConfigurationDefinition": _ip()}
    lattice.create_resource_configuration(name=name, **args)
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(name=name, **args)
    assert (_error(exc)["Code"], _error(exc)["resourceType"]) == ("ConflictException", "RESOURCE_CONFIGURATION")


def test_unknown_gateway_is_not_found(lattice: Any, unique: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(
            name=unique("cfg"),
            type="SINGLE",
            resourceGatewayIdentifier="rgw-0aaaaaaaaaaaaaaaa",
            resourceConfigurationDefinition=_ip(),
        )
    error = _error(exc)
    assert (error["Code"], error["status"], error["resourceType"]) == (
        "ResourceNotFoundException",
        404,
        "RESOURCE_GATEWAY",
    )


def test_group_children_inherit_gateway_protocol_and_ports(lattice: Any, unique: Any, gateway: str) -> None:
    group = lattice.create_resource_configuration(
        name=unique("grp"), type="GROUP", resourceGatewayIdentifier=gateway, portRanges=["6379"]
    )
    assert "resourceConfigurationDefinition" not in group and group["portRanges"] == ["6379"]
    child = lattice.create_resource_configuration(
        name=unique("cfg"), type="CHILD", resourceConfigurationGroupIdentifier=group["arn"],
        resourceConfigurationDefinition=_ip("10.0.2.7"),
    )  # fmt: skip
    assert (child["resourceGatewayId"], child["resourceConfigurationGroupId"]) == (gateway, group["id"])
    assert (child["protocol"], child["portRanges"]) == ("TCP", ["6379"])
    assert "allowAssociationToShareableServiceNetwork" not in child
    children = lattice.list_resource_configurations(resourceConfigurationGroupIdentifier=group["id"])["items"]
    assert [c["id"] for c in children] == [child["id"]] and children[0]["resourceConfigurationGroupId"] == group["id"]


@pytest.mark.parametrize(
    ("kind", "extra", "fields"),
    [
        ("GROUP", {"resourceConfigurationDefinition": _ip()}, ["resourceConfigurationDefinition"]),
        ("SINGLE", {}, ["resourceConfigurationDefinition"]),
        ("SINGLE", {"resourceConfigurationDefinition": _ip("8.8.8.8")},
         ["resourceConfigurationDefinition.ipResource.ipAddress"]),
        ("SINGLE", {"resourceConfigurationDefinition": _ip(), "portRanges": ["80", "90-70"]}, ["portRanges"]),
        ("SINGLE", {"resourceConfigurationDefinition": _ip(), "protocol": "TCP_UDP"}, ["protocol"]),
        ("ARN", {"resourceConfigurationDefinition": {"arnResource": {"arn": RDS_ARN}}, "portRanges": ["5432"]},
         ["portRanges"]),
        ("ARN", {"resourceConfigurationDefinition": {"arnResource": {"arn": "arn:aws:s3:::bucket-name-x"}}},
         ["resourceConfigurationDefinition.arnResource.arn"]),
        ("SINGLE", {"resourceConfigurationDefinition": _ip(), "customDomainName": "nodots"}, ["customDomainName"]),
    ],
)  # fmt: skip
def test_type_rules_are_enforced(
    lattice: Any, unique: Any, gateway: str, kind: str, extra: dict[str, Any], fields: list[str]
) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(name=unique("cfg"), type=kind, resourceGatewayIdentifier=gateway, **extra)
    assert _fields(exc) == fields


def test_a_child_needs_a_group_and_no_gateway_of_its_own(lattice: Any, unique: Any, gateway: str) -> None:
    single = lattice.create_resource_configuration(
        name=unique("cfg"), type="SINGLE", resourceGatewayIdentifier=gateway, resourceConfigurationDefinition=_ip()
    )
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(
            name=unique("cfg"), type="CHILD", resourceConfigurationGroupIdentifier=single["id"],
            resourceConfigurationDefinition=_ip(),
        )  # fmt: skip
    assert _fields(exc) == ["resourceConfigurationGroupIdentifier"]
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(
            name=unique("cfg"), type="CHILD", resourceConfigurationGroupIdentifier=single["id"],
            resourceGatewayIdentifier=gateway, resourceConfigurationDefinition=_ip(),
        )  # fmt: skip
    assert _fields(exc) == ["resourceGatewayIdentifier"]


def test_arn_and_cidr_types_need_matching_gateway_dns_resolution(server: Any, lattice: Any, unique: Any) -> None:
    public, in_vpc = _gateway(server, unique), _gateway(server, unique, resourceConfigDnsResolution="IN_VPC")
    cidr = {"cidrResource": {"cidrRanges": ["10.1.0.0/16"]}}
    arn = {"arnResource": {"arn": RDS_ARN}}
    for kind, definition, wrong, right in (("CIDR", cidr, public, in_vpc), ("ARN", arn, in_vpc, public)):
        with pytest.raises(ClientError) as exc:
            lattice.create_resource_configuration(
                name=unique("cfg"),
                type=kind,
                resourceGatewayIdentifier=wrong,
                resourceConfigurationDefinition=definition,
            )
        assert _fields(exc) == ["resourceGatewayIdentifier"]
        made = lattice.create_resource_configuration(
            name=unique("cfg"), type=kind, resourceGatewayIdentifier=right, resourceConfigurationDefinition=definition
        )
        assert made["type"] == kind
    assert "portRanges" not in made and "protocol" not in made


def test_cidr_takes_tcp_udp(server: Any, lattice: Any, unique: Any) -> None:
    in_vpc = _gateway(server, unique, resourceConfigDnsResolution="IN_VPC")
    made = lattice.create_resource_configuration(
        name=unique("cfg"), type="CIDR", resourceGatewayIdentifier=in_vpc, protocol="TCP_UDP", portRanges=["53"],
        resourceConfigurationDefinition={"cidrResource": {"cidrRanges": ["10.1.0.0/16", "10.2.0.0/16"]}},
    )  # fmt: skip
    assert (made["protocol"], made["portRanges"]) == ("TCP_UDP", ["53"])
    assert "allowAssociationToShareableServiceNetwork" not in made


def test_gateway_address_type_must_reach_the_resource(server: Any, lattice: Any, unique: Any) -> None:
    ipv4 = _gateway(server, unique)
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(
            name=unique("cfg"), type="SINGLE", resourceGatewayIdentifier=ipv4,
            resourceConfigurationDefinition=_ip("2001:db8::5"),
        )  # fmt: skip
    assert _fields(exc) == ["resourceGatewayIdentifier"]
    dual = _gateway(server, unique, ipAddressType="DUALSTACK")
    made = lattice.create_resource_configuration(
        name=unique("cfg"), type="SINGLE", resourceGatewayIdentifier=dual,
        resourceConfigurationDefinition={"dnsResource": {"domainName": "db.example.com", "ipAddressType": "IPV6"}},
    )  # fmt: skip
    assert made["resourceConfigurationDefinition"]["dnsResource"]["ipAddressType"] == "IPV6"


def test_quotas_per_region_and_per_group(make_server: Any, unique: Any) -> None:
    server = make_server(
        "--quota", "resource_configurations_per_region=3", "--quota", "child_resource_configurations_per_group=1"
    )
    lattice, gateway = server.client(), _gateway(server, unique)
    group = lattice.create_resource_configuration(name=unique("grp"), type="GROUP", resourceGatewayIdentifier=gateway)
    child = {
        "type": "CHILD",
        "resourceConfigurationGroupIdentifier": group["id"],
        "resourceConfigurationDefinition": _ip(),
    }
    lattice.create_resource_configuration(name=unique("cfg"), **child)
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(name=unique("cfg"), **child)
    error = _error(exc)
    assert (error["Code"], error["status"], error["quotaCode"]) == ("ServiceQuotaExceededException", 402, "L-9BC96FEF")
    assert error["resourceId"] == group["id"]
    lattice.create_resource_configuration(name=unique("cfg"), type="GROUP", resourceGatewayIdentifier=gateway)
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(name=unique("cfg"), type="GROUP", resourceGatewayIdentifier=gateway)
    assert (_error(exc)["Code"], _error(exc)["quotaCode"]) == ("ServiceQuotaExceededException", "L-5FF8F9B9")


def test_custom_domains_and_verifications(make_server: Any, unique: Any) -> None:
    server = make_server()  # private: the five verifications per region of the shared server are not ours
    lattice, gateway = server.client(), _gateway(server, unique)
    verification = lattice.start_domain_verification(domainName="example.com")
    made = lattice.create_resource_configuration(
        name=unique("cfg"), type="SINGLE", resourceGatewayIdentifier=gateway, resourceConfigurationDefinition=_ip(),
        customDomainName="db.example.com", domainVerificationIdentifier=verification["arn"],
    )  # fmt: skip
    assert (made["customDomainName"], made["domainVerificationId"]) == ("db.example.com", verification["id"])
    assert made["domainVerificationArn"] == verification["arn"]
    got = lattice.get_resource_configuration(resourceConfigurationIdentifier=made["id"])
    assert got["domainVerificationStatus"] == "PENDING"
    listed = lattice.list_resource_configurations(domainVerificationIdentifier=verification["id"])["items"]
    assert [i["id"] for i in listed] == [made["id"]] and listed[0]["domainVerificationId"] == verification["id"]
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(
            name=unique("cfg"), type="SINGLE", resourceGatewayIdentifier=gateway, resourceConfigurationDefinition=_ip(),
            customDomainName="db.example.org", domainVerificationIdentifier=verification["id"],
        )  # fmt: skip
    assert _fields(exc) == ["domainVerificationIdentifier"]
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(
            name=unique("cfg"), type="SINGLE", resourceGatewayIdentifier=gateway, resourceConfigurationDefinition=_ip(),
            customDomainName="db.example.com", domainVerificationIdentifier="dv-0aaaaaaaaaaaaaaaa",
        )  # fmt: skip
    assert (_error(exc)["Code"], _error(exc)["resourceType"]) == ("ResourceNotFoundException", "DOMAIN_VERIFICATION")
    lattice.delete_domain_verification(domainVerificationIdentifier=verification["id"])
    got = lattice.get_resource_configuration(resourceConfigurationIdentifier=made["id"])
    assert got["domainVerificationId"] == verification["id"] and "domainVerificationStatus" not in got


def test_children_use_subdomains_of_the_group_domain_and_its_verification(make_server: Any, unique: Any) -> None:
    server = make_server()
    lattice, gateway = server.client(), _gateway(server, unique)
    verification = lattice.start_domain_verification(domainName="cache.example.com")
    group = lattice.create_resource_configuration(
        name=unique("grp"), type="GROUP", resourceGatewayIdentifier=gateway, groupDomain="cache.example.com",
        domainVerificationIdentifier=verification["id"],
    )  # fmt: skip
    assert group["groupDomain"] == "cache.example.com"
    child = {
        "type": "CHILD",
        "resourceConfigurationGroupIdentifier": group["id"],
        "resourceConfigurationDefinition": _ip(),
    }
    with pytest.raises(ClientError) as exc:
        lattice.create_resource_configuration(name=unique("cfg"), customDomainName="node1.other.com", **child)
    assert _fields(exc) == ["customDomainName"]
    made = lattice.create_resource_configuration(
        name=unique("cfg"), customDomainName="node1.cache.example.com", **child
    )
    got = lattice.get_resource_configuration(resourceConfigurationIdentifier=made["id"])
    assert got["customDomainName"] == "node1.cache.example.com" and got["domainVerificationStatus"] == "PENDING"


def test_update_changes_definition_ports_and_shareability(lattice: Any, unique: Any, gateway: str) -> None:
    made = lattice.create_resource_configuration(
        name=unique("cfg"), type="SINGLE", resourceGatewayIdentifier=gateway, resourceConfigurationDefinition=_ip()
    )
    updated = _body(
        lattice.update_resource_configuration(
            resourceConfigurationIdentifier=made["arn"],
            resourceConfigurationDefinition=_ip("10.0.3.3"),
            portRanges=["80", "8000-8100"],
            allowAssociationToShareableServiceNetwork=False,
        )
    )
    assert set(updated) == {
        "allowAssociationToShareableServiceNetwork", "arn", "id", "name", "portRanges", "protocol",
        "resourceConfigurationDefinition", "resourceGatewayId", "status", "type",
    }  # fmt: skip
    assert updated["resourceConfigurationDefinition"] == _ip("10.0.3.3") and updated["portRanges"] == [
        "80",
        "8000-8100",
    ]
    assert updated["allowAssociationToShareableServiceNetwork"] is False
    got = lattice.get_resource_configuration(resourceConfigurationIdentifier=made["id"])
    assert got["resourceConfigurationDefinition"] == _ip("10.0.3.3") and got["lastUpdatedAt"] >= got["createdAt"]


def test_update_keeps_the_type_rules(lattice: Any, unique: Any, gateway: str) -> None:
    arn = lattice.create_resource_configuration(
        name=unique("cfg"), type="ARN", resourceGatewayIdentifier=gateway,
        resourceConfigurationDefinition={"arnResource": {"arn": RDS_ARN}},
    )  # fmt: skip
    with pytest.raises(ClientError) as exc:
        lattice.update_resource_configuration(resourceConfigurationIdentifier=arn["id"], portRanges=["5432"])
    assert _fields(exc) == ["portRanges"]
    with pytest.raises(ClientError) as exc:
        lattice.update_resource_configuration(
            resourceConfigurationIdentifier=arn["id"], resourceConfigurationDefinition=_ip()
        )
    assert _fields(exc) == ["resourceConfigurationDefinition.ipResource"]
    with pytest.raises(ClientError) as exc:
        lattice.update_resource_configuration(
            resourceConfigurationIdentifier="rcfg-0aaaaaaaaaaaaaaaa", portRanges=["1"]
        )
    assert (_error(exc)["Code"], _error(exc)["status"]) == ("ResourceNotFoundException", 404)


def test_delete_answers_204_and_takes_policies_and_logs_with_it(lattice: Any, unique: Any, gateway: str) -> None:
    made = lattice.create_resource_configuration(
        name=unique("cfg"), type="SINGLE", resourceGatewayIdentifier=gateway, resourceConfigurationDefinition=_ip()
    )
    lattice.put_auth_policy(resourceIdentifier=made["id"], policy=POLICY)
    log = lattice.create_access_log_subscription(
        resourceIdentifier=made["id"], destinationArn="arn:aws:logs:us-west-2:000000000000:log-group:rcfg"
    )
    deleted = lattice.delete_resource_configuration(resourceConfigurationIdentifier=made["arn"])
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204 and _body(deleted) == {}
    for call in (
        lambda: lattice.get_resource_configuration(resourceConfigurationIdentifier=made["id"]),
        lambda: lattice.get_auth_policy(resourceIdentifier=made["id"]),
        lambda: lattice.get_access_log_subscription(accessLogSubscriptionIdentifier=log["id"]),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert (_error(exc)["Code"], _error(exc)["status"]) == ("ResourceNotFoundException", 404)


def test_a_group_with_children_cannot_be_deleted(lattice: Any, unique: Any, gateway: str) -> None:
    group = lattice.create_resource_configuration(name=unique("grp"), type="GROUP", resourceGatewayIdentifier=gateway)
    child = lattice.create_resource_configuration(
        name=unique("cfg"), type="CHILD", resourceConfigurationGroupIdentifier=group["id"],
        resourceConfigurationDefinition=_ip(),
    )  # fmt: skip
    with pytest.raises(ClientError) as exc:
        lattice.delete_resource_configuration(resourceConfigurationIdentifier=group["id"])
    error = _error(exc)
    assert (error["Code"], error["status"], error["resourceId"]) == ("ConflictException", 409, group["id"])
    lattice.delete_resource_configuration(resourceConfigurationIdentifier=child["id"])
    lattice.delete_resource_configuration(resourceConfigurationIdentifier=group["id"])


def test_list_pages_through_every_configuration(make_server: Any, unique: Any) -> None:
    server = make_server()
    lattice, gateway = server.client(), _gateway(server, unique)
    made = [
        lattice.create_resource_configuration(
            name=unique("cfg"), type="SINGLE", resourceGatewayIdentifier=gateway, resourceConfigurationDefinition=_ip()
        )["id"]
        for _ in range(3)
    ]
    first = lattice.list_resource_configurations(maxResults=2)
    rest = lattice.list_resource_configurations(maxResults=2, nextToken=first["nextToken"])
    assert [i["id"] for i in first["items"] + rest["items"]] == made and "nextToken" not in rest
    assert lattice.list_resource_configurations(resourceGatewayIdentifier="rgw-0aaaaaaaaaaaaaaaa")["items"] == []


def test_create_takes_tags_and_a_client_token(lattice: Any, unique: Any, gateway: str) -> None:
    name = unique("cfg")
    args = {"name": name, "type": "GROUP", "resourceGatewayIdentifier": gateway, "tags": {"team": "db"}}
    first = lattice.create_resource_configuration(clientToken=name, **args)
    again = lattice.create_resource_configuration(clientToken=name, **args)
    assert again["id"] == first["id"]
    assert lattice.list_tags_for_resource(resourceArn=first["arn"])["tags"] == {"team": "db"}
