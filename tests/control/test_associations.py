"""Service network associations with services and VPCs through boto3 against a real server: shapes, lifecycle,
conflicts, quotas, listing and deletes."""

from __future__ import annotations

import re
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

ACCOUNT = "000000000000"
SG = "sg-0123456789abcdef0"


def error(exc: pytest.ExceptionInfo[ClientError]) -> dict[str, Any]:
    response = exc.value.response
    return {"status": response["ResponseMetadata"]["HTTPStatusCode"], "code": response["Error"]["Code"], **response}


@pytest.fixture
def ec2(server: Any) -> Any:
    return server.client("ec2")


def new_vpc(ec2: Any) -> str:
    return str(ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"])


# -- service network <-> service ------------------------------------------------------------------------------


def test_create_service_association_returns_200_and_service_dns(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    service = lattice.create_service(name=unique("pay"), customDomainName=f"{unique('pay')}.example.com")
    created = lattice.create_service_network_service_association(
        serviceNetworkIdentifier=network["id"], serviceIdentifier=service["id"]
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 200  # not 201: the model says 200
    assert re.fullmatch(r"snsa-0[0-9a-f]{16}", created["id"])
    assert created["arn"] == f"arn:aws:vpc-lattice:us-west-2:{ACCOUNT}:servicenetworkserviceassociation/{created['id']}"
    assert created["status"] == "CREATE_IN_PROGRESS"
    assert created["createdBy"] == ACCOUNT
    assert created["dnsEntry"] == service["dnsEntry"]
    assert created["customDomainName"] == service["customDomainName"]
    assert set(created) - {"ResponseMetadata"} == {"arn", "createdBy", "customDomainName", "dnsEntry", "id", "status"}


def test_get_service_association_names_both_ends(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    service = lattice.create_service(name=unique("ship"))
    created = lattice.create_service_network_service_association(
        serviceNetworkIdentifier=network["arn"], serviceIdentifier=service["arn"]
    )
    got = lattice.get_service_network_service_association(serviceNetworkServiceAssociationIdentifier=created["arn"])
    assert got["status"] == "ACTIVE"
    assert (got["serviceId"], got["serviceName"], got["serviceArn"]) == (service["id"], service["name"], service["arn"])
    assert (got["serviceNetworkId"], got["serviceNetworkName"], got["serviceNetworkArn"]) == (
        network["id"],
        network["name"],
        network["arn"],
    )
    assert got["dnsEntry"] == service["dnsEntry"] and got["createdBy"] == ACCOUNT
    assert "customDomainName" not in got


def test_associating_the_same_pair_twice_conflicts(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    service = lattice.create_service(name=unique("dup"))
    first = lattice.create_service_network_service_association(
        serviceNetworkIdentifier=network["id"], serviceIdentifier=service["id"]
    )
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_service_association(
            serviceNetworkIdentifier=network["arn"], serviceIdentifier=service["arn"]
        )
    found = error(exc)
    assert (found["status"], found["code"]) == (409, "ConflictException")
    assert (found["resourceType"], found["resourceId"]) == ("SERVICE_NETWORK_SERVICE_ASSOCIATION", first["id"])


def test_custom_domain_name_is_unique_within_a_service_network(lattice: Any, unique: Any) -> None:
    domain = f"{unique('api')}.example.com"
    network = lattice.create_service_network(name=unique("net"))
    other_network = lattice.create_service_network(name=unique("net"))
    one = lattice.create_service(name=unique("one"), customDomainName=domain)
    two = lattice.create_service(name=unique("two"), customDomainName=domain.upper())
    first = lattice.create_service_network_service_association(
        serviceNetworkIdentifier=network["id"], serviceIdentifier=one["id"]
    )
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_service_association(
            serviceNetworkIdentifier=network["id"], serviceIdentifier=two["id"]
        )
    found = error(exc)
    assert (found["status"], found["code"], found["resourceId"]) == (409, "ConflictException", first["id"])
    assert domain in found["Error"]["Message"]
    # In another service network the same name is fine.
    lattice.create_service_network_service_association(
        serviceNetworkIdentifier=other_network["id"], serviceIdentifier=two["id"]
    )


def test_unknown_service_is_not_found(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_service_association(
            serviceNetworkIdentifier=network["id"], serviceIdentifier="svc-0123456789abcdef0"
        )
    found = error(exc)
    assert (found["status"], found["resourceType"], found["resourceId"]) == (404, "SERVICE", "svc-0123456789abcdef0")


def test_list_service_associations_needs_a_network_or_a_service(lattice: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.list_service_network_service_associations()
    found = error(exc)
    assert (found["status"], found["code"]) == (400, "ValidationException")
    assert [f["name"] for f in found["fieldList"]] == ["serviceNetworkIdentifier", "serviceIdentifier"]


def test_list_service_associations_by_network_by_service_and_paged(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    services = [lattice.create_service(name=unique("many")) for _ in range(3)]
    made = [
        lattice.create_service_network_service_association(
            serviceNetworkIdentifier=network["id"], serviceIdentifier=s["id"]
        )["id"]
        for s in services
    ]
    listed = lattice.list_service_network_service_associations(serviceNetworkIdentifier=network["arn"])["items"]
    assert [i["id"] for i in listed] == made
    assert listed[0]["serviceName"] == services[0]["name"] and listed[0]["status"] == "ACTIVE"
    by_service = lattice.list_service_network_service_associations(serviceIdentifier=services[1]["arn"])["items"]
    assert [i["id"] for i in by_service] == [made[1]]
    first = lattice.list_service_network_service_associations(serviceNetworkIdentifier=network["id"], maxResults=2)
    rest = lattice.list_service_network_service_associations(
        serviceNetworkIdentifier=network["id"], maxResults=2, nextToken=first["nextToken"]
    )
    assert [i["id"] for i in first["items"] + rest["items"]] == made and "nextToken" not in rest


def test_delete_service_association_then_service_and_network_can_go(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    service = lattice.create_service(name=unique("bye"))
    created = lattice.create_service_network_service_association(
        serviceNetworkIdentifier=network["id"], serviceIdentifier=service["id"]
    )
    with pytest.raises(ClientError) as exc:
        lattice.delete_service(serviceIdentifier=service["id"])
    assert error(exc)["code"] == "ConflictException"
    deleted = lattice.delete_service_network_service_association(
        serviceNetworkServiceAssociationIdentifier=created["id"]
    )
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert {k: deleted[k] for k in ("arn", "id", "status")} == {
        "arn": created["arn"],
        "id": created["id"],
        "status": "DELETE_IN_PROGRESS",
    }
    with pytest.raises(ClientError) as exc:
        lattice.get_service_network_service_association(serviceNetworkServiceAssociationIdentifier=created["id"])
    assert (error(exc)["status"], error(exc)["resourceType"]) == (404, "SERVICE_NETWORK_SERVICE_ASSOCIATION")
    lattice.delete_service(serviceIdentifier=service["id"])
    lattice.delete_service_network(serviceNetworkIdentifier=network["id"])


def test_delete_is_refused_while_the_association_is_being_created(make_server: Any) -> None:
    lattice = make_server("--provisioning-seconds", "0.6").client()
    network = lattice.create_service_network(name="slow-net")
    service = lattice.create_service(name="slow-svc")
    created = lattice.create_service_network_service_association(
        serviceNetworkIdentifier=network["id"], serviceIdentifier=service["id"]
    )
    identifier = {"serviceNetworkServiceAssociationIdentifier": created["id"]}
    assert lattice.get_service_network_service_association(**identifier)["status"] == "CREATE_IN_PROGRESS"
    with pytest.raises(ClientError) as exc:
        lattice.delete_service_network_service_association(**identifier)
    assert (error(exc)["status"], error(exc)["resourceId"]) == (409, created["id"])
    time.sleep(0.7)
    assert lattice.get_service_network_service_association(**identifier)["status"] == "ACTIVE"
    assert lattice.delete_service_network_service_association(**identifier)["status"] == "DELETE_IN_PROGRESS"


def test_service_association_quota(make_server: Any) -> None:
    lattice = make_server("--quota", "service_associations_per_service_network=1").client()
    network = lattice.create_service_network(name="small-net")
    one, two = lattice.create_service(name="first-one"), lattice.create_service(name="second-one")
    lattice.create_service_network_service_association(
        serviceNetworkIdentifier=network["id"], serviceIdentifier=one["id"]
    )
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_service_association(
            serviceNetworkIdentifier=network["id"], serviceIdentifier=two["id"]
        )
    found = error(exc)
    assert (found["status"], found["code"]) == (402, "ServiceQuotaExceededException")
    assert (found["serviceCode"], found["resourceType"]) == ("vpc-lattice", "SERVICE_NETWORK_SERVICE_ASSOCIATION")


# -- service network <-> VPC ----------------------------------------------------------------------------------


def test_create_vpc_association_returns_200_and_the_cli_shape(lattice: Any, ec2: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    vpc_id = new_vpc(ec2)
    created = lattice.create_service_network_vpc_association(
        serviceNetworkIdentifier=network["id"], vpcIdentifier=vpc_id, securityGroupIds=[SG]
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert re.fullmatch(r"snva-0[0-9a-f]{16}", created["id"])
    assert created["arn"] == f"arn:aws:vpc-lattice:us-west-2:{ACCOUNT}:servicenetworkvpcassociation/{created['id']}"
    assert (created["status"], created["createdBy"], created["securityGroupIds"]) == (
        "CREATE_IN_PROGRESS",
        ACCOUNT,
        [SG],
    )
    assert created["privateDnsEnabled"] is False
    assert "dnsOptions" not in created


def test_get_vpc_association_names_the_network_and_vpc(lattice: Any, ec2: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    vpc_id = new_vpc(ec2)
    created = lattice.create_service_network_vpc_association(
        serviceNetworkIdentifier=network["arn"], vpcIdentifier=vpc_id
    )
    got = lattice.get_service_network_vpc_association(serviceNetworkVpcAssociationIdentifier=created["arn"])
    assert got["status"] == "ACTIVE" and got["vpcId"] == vpc_id
    assert (got["serviceNetworkId"], got["serviceNetworkName"], got["serviceNetworkArn"]) == (
        network["id"],
        network["name"],
        network["arn"],
    )
    assert "securityGroupIds" not in got  # none were given
    assert got["lastUpdatedAt"] >= got["createdAt"]


def test_vpc_must_exist(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_vpc_association(
            serviceNetworkIdentifier=network["id"], vpcIdentifier="vpc-0123456789abcdef0"
        )
    found = error(exc)
    assert (found["status"], found["code"]) == (404, "ResourceNotFoundException")
    assert (found["resourceType"], found["resourceId"]) == ("VPC", "vpc-0123456789abcdef0")


def test_a_vpc_has_one_service_network(lattice: Any, ec2: Any, unique: Any) -> None:
    vpc_id = new_vpc(ec2)
    first_network = lattice.create_service_network(name=unique("net"))
    second_network = lattice.create_service_network(name=unique("net"))
    first = lattice.create_service_network_vpc_association(
        serviceNetworkIdentifier=first_network["id"], vpcIdentifier=vpc_id
    )
    for network in (first_network, second_network):
        with pytest.raises(ClientError) as exc:
            lattice.create_service_network_vpc_association(serviceNetworkIdentifier=network["id"], vpcIdentifier=vpc_id)
        found = error(exc)
        assert (found["status"], found["resourceType"], found["resourceId"]) == (
            409,
            "SERVICE_NETWORK_VPC_ASSOCIATION",
            first["id"],
        )


def test_at_most_five_security_groups(lattice: Any, ec2: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_vpc_association(
            serviceNetworkIdentifier=network["id"],
            vpcIdentifier=new_vpc(ec2),
            securityGroupIds=[f"sg-0{n:016x}" for n in range(6)],
        )
    found = error(exc)
    assert (found["status"], [f["name"] for f in found["fieldList"]]) == (400, ["securityGroupIds"])


def test_update_replaces_security_groups_but_cannot_remove_all(server: Any, ec2: Any, unique: Any) -> None:
    lattice = server.client()
    network = lattice.create_service_network(name=unique("net"))
    created = lattice.create_service_network_vpc_association(
        serviceNetworkIdentifier=network["id"], vpcIdentifier=new_vpc(ec2), securityGroupIds=[SG]
    )
    other = "sg-0fedcba9876543210"
    updated = lattice.update_service_network_vpc_association(
        serviceNetworkVpcAssociationIdentifier=created["id"], securityGroupIds=[other, SG]
    )
    assert (updated["securityGroupIds"], updated["status"]) == ([other, SG], "UPDATE_IN_PROGRESS")
    got = lattice.get_service_network_vpc_association(serviceNetworkVpcAssociationIdentifier=created["id"])
    assert (got["securityGroupIds"], got["status"]) == ([other, SG], "ACTIVE")
    # boto3 itself refuses an empty list (the model's minimum is 1); send it anyway to see the server refuse it.
    raw = boto3.client(
        "vpc-lattice",
        endpoint_url=server.url,
        region_name="us-west-2",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",
        config=Config(parameter_validation=False, retries={"max_attempts": 1}),
    )
    with pytest.raises(ClientError) as exc:
        raw.update_service_network_vpc_association(
            serviceNetworkVpcAssociationIdentifier=created["id"], securityGroupIds=[]
        )
    found = error(exc)
    assert (found["status"], found["code"], [f["name"] for f in found["fieldList"]]) == (
        400,
        "ValidationException",
        ["securityGroupIds"],
    )


def test_private_dns_options_follow_the_preference(lattice: Any, ec2: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    created = lattice.create_service_network_vpc_association(
        serviceNetworkIdentifier=network["id"],
        vpcIdentifier=new_vpc(ec2),
        privateDnsEnabled=True,
        dnsOptions={"privateDnsPreference": "VERIFIED_DOMAINS_ONLY"},
    )
    assert created["privateDnsEnabled"] is True
    assert created["dnsOptions"] == {
        "privateDnsPreference": "VERIFIED_DOMAINS_ONLY",
        "privateDnsSpecifiedDomains": ["*"],
    }
    identifier = {"serviceNetworkVpcAssociationIdentifier": created["id"]}
    specified = {"privateDnsPreference": "SPECIFIED_DOMAINS_ONLY", "privateDnsSpecifiedDomains": ["*.corp.example"]}
    assert lattice.update_service_network_vpc_association(**identifier, dnsOptions=specified)["dnsOptions"] == specified
    assert lattice.get_service_network_vpc_association(**identifier)["dnsOptions"] == specified
    turned_off = lattice.update_service_network_vpc_association(**identifier, privateDnsEnabled=False)
    assert turned_off["privateDnsEnabled"] is False and "dnsOptions" not in turned_off


@pytest.mark.parametrize(
    ("enabled", "options", "field"),
    [
        (False, {"privateDnsPreference": "ALL_DOMAINS"}, "dnsOptions"),
        (True, {"privateDnsPreference": "SPECIFIED_DOMAINS_ONLY"}, "dnsOptions.privateDnsSpecifiedDomains"),
        (
            True,
            {"privateDnsPreference": "ALL_DOMAINS", "privateDnsSpecifiedDomains": ["a.example"]},
            "dnsOptions.privateDnsSpecifiedDomains",
        ),
        (True, {"privateDnsSpecifiedDomains": ["a.example"]}, "dnsOptions.privateDnsPreference"),
    ],
)
def test_inconsistent_dns_options_are_rejected(
    lattice: Any, ec2: Any, unique: Any, enabled: bool, options: dict[str, Any], field: str
) -> None:
    network = lattice.create_service_network(name=unique("net"))
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_vpc_association(
            serviceNetworkIdentifier=network["id"], vpcIdentifier=new_vpc(ec2), privateDnsEnabled=enabled,
            dnsOptions=options,
        )  # fmt: skip
    found = error(exc)
    assert (found["status"], found["code"], [f["name"] for f in found["fieldList"]]) == (
        400,
        "ValidationException",
        [field],
    )


def test_list_vpc_associations_needs_a_network_or_a_vpc(lattice: Any) -> None:
    with pytest.raises(ClientError) as exc:
        lattice.list_service_network_vpc_associations()
    found = error(exc)
    assert (found["status"], [f["name"] for f in found["fieldList"]]) == (
        400,
        ["serviceNetworkIdentifier", "vpcIdentifier"],
    )


def test_list_vpc_associations_by_network_and_by_vpc(lattice: Any, ec2: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    vpcs = [new_vpc(ec2) for _ in range(3)]
    made = [
        lattice.create_service_network_vpc_association(serviceNetworkIdentifier=network["id"], vpcIdentifier=v)["id"]
        for v in vpcs
    ]
    items = lattice.list_service_network_vpc_associations(serviceNetworkIdentifier=network["arn"])["items"]
    assert [(i["id"], i["vpcId"], i["status"]) for i in items] == [
        (m, v, "ACTIVE") for m, v in zip(made, vpcs, strict=True)
    ]
    assert items[0]["serviceNetworkName"] == network["name"] and items[0]["privateDnsEnabled"] is False
    assert [i["id"] for i in lattice.list_service_network_vpc_associations(vpcIdentifier=vpcs[2])["items"]] == made[2:]
    pages = lattice.get_paginator("list_service_network_vpc_associations").paginate(
        serviceNetworkIdentifier=network["id"], PaginationConfig={"PageSize": 2}
    )
    assert [i["id"] for p in pages for i in p["items"]] == made


def test_delete_vpc_association_frees_the_vpc(lattice: Any, ec2: Any, unique: Any) -> None:
    vpc_id = new_vpc(ec2)
    network = lattice.create_service_network(name=unique("net"))
    created = lattice.create_service_network_vpc_association(
        serviceNetworkIdentifier=network["id"], vpcIdentifier=vpc_id
    )
    with pytest.raises(ClientError) as exc:
        lattice.delete_service_network(serviceNetworkIdentifier=network["id"])
    assert error(exc)["code"] == "ConflictException"
    deleted = lattice.delete_service_network_vpc_association(serviceNetworkVpcAssociationIdentifier=created["arn"])
    assert {k: deleted[k] for k in ("arn", "id", "status")} == {
        "arn": created["arn"],
        "id": created["id"],
        "status": "DELETE_IN_PROGRESS",
    }
    with pytest.raises(ClientError) as exc:
        lattice.get_service_network_vpc_association(serviceNetworkVpcAssociationIdentifier=created["id"])
    assert (error(exc)["status"], error(exc)["resourceType"]) == (404, "SERVICE_NETWORK_VPC_ASSOCIATION")
    other = lattice.create_service_network(name=unique("net"))
    lattice.create_service_network_vpc_association(serviceNetworkIdentifier=other["id"], vpcIdentifier=vpc_id)
    lattice.delete_service_network(serviceNetworkIdentifier=network["id"])


def test_vpc_association_lifecycle_blocks_delete_while_creating_or_updating(make_server: Any) -> None:
    server = make_server("--provisioning-seconds", "0.6")
    lattice, ec2 = server.client(), server.client("ec2")
    network = lattice.create_service_network(name="slow-net")
    created = lattice.create_service_network_vpc_association(
        serviceNetworkIdentifier=network["id"], vpcIdentifier=new_vpc(ec2), securityGroupIds=[SG]
    )
    identifier = {"serviceNetworkVpcAssociationIdentifier": created["id"]}
    for _ in range(2):
        with pytest.raises(ClientError) as exc:
            lattice.delete_service_network_vpc_association(**identifier)
        assert (error(exc)["status"], error(exc)["resourceId"]) == (409, created["id"])
        time.sleep(0.7)
        assert lattice.get_service_network_vpc_association(**identifier)["status"] == "ACTIVE"
        lattice.update_service_network_vpc_association(**identifier, securityGroupIds=[SG])
    time.sleep(0.7)
    assert lattice.delete_service_network_vpc_association(**identifier)["status"] == "DELETE_IN_PROGRESS"


def test_vpc_association_quota(make_server: Any) -> None:
    server = make_server("--quota", "vpc_associations_per_service_network=1")
    lattice, ec2 = server.client(), server.client("ec2")
    network = lattice.create_service_network(name="small-net")
    lattice.create_service_network_vpc_association(serviceNetworkIdentifier=network["id"], vpcIdentifier=new_vpc(ec2))
    with pytest.raises(ClientError) as exc:
        lattice.create_service_network_vpc_association(
            serviceNetworkIdentifier=network["id"], vpcIdentifier=new_vpc(ec2)
        )
    found = error(exc)
    assert (found["status"], found["code"], found["resourceType"]) == (
        402,
        "ServiceQuotaExceededException",
        "SERVICE_NETWORK_VPC_ASSOCIATION",
    )


def test_vpc_endpoint_associations_list_nothing(lattice: Any, unique: Any) -> None:
    network = lattice.create_service_network(name=unique("net"))
    listed = lattice.list_service_network_vpc_endpoint_associations(serviceNetworkIdentifier=network["id"])
    assert listed["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert listed["items"] == [] and "nextToken" not in listed
