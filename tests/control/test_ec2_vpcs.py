"""EC2 VPCs and their tags through boto3's `ec2` client (and the AWS CLI once) against a real server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

VPC_ID = re.compile(r"vpc-0[0-9a-f]{16}")


@pytest.fixture
def ec2(server: Any) -> Any:
    return server.client("ec2")


def error(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    response = exc.value.response
    return response["ResponseMetadata"]["HTTPStatusCode"], response["Error"]["Code"], response["Error"]["Message"]


def new_vpc(ec2: Any, cidr: str = "10.0.0.0/16", **tags: str) -> str:
    spec = [{"ResourceType": "vpc", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}] if tags else []
    return str(ec2.create_vpc(CidrBlock=cidr, TagSpecifications=spec)["Vpc"]["VpcId"])


def test_create_vpc_returns_the_ec2_shape(ec2: Any, unique: Any) -> None:
    name = unique("web")
    created = ec2.create_vpc(
        CidrBlock="10.20.0.0/16", TagSpecifications=[{"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": name}]}]
    )
    assert created["ResponseMetadata"]["HTTPStatusCode"] == 200
    vpc = created["Vpc"]
    assert VPC_ID.fullmatch(vpc["VpcId"])
    assert vpc["State"] == "pending"  # AWS CLI create-vpc example
    assert vpc["CidrBlock"] == "10.20.0.0/16"
    assert vpc["InstanceTenancy"] == "default"
    assert vpc["IsDefault"] is False
    assert vpc["OwnerId"] == "000000000000"
    assert re.fullmatch(r"dopt-[0-9a-f]{8}", vpc["DhcpOptionsId"])
    assert vpc["Tags"] == [{"Key": "Name", "Value": name}]
    assert vpc["Ipv6CidrBlockAssociationSet"] == []
    [association] = vpc["CidrBlockAssociationSet"]
    assert re.fullmatch(r"vpc-cidr-assoc-0[0-9a-f]{16}", association["AssociationId"])
    assert association["CidrBlock"] == "10.20.0.0/16"
    assert association["CidrBlockState"] == {"State": "associated"}


def test_describe_shows_the_vpc_available(ec2: Any) -> None:
    vpc_id = new_vpc(ec2, "172.16.0.0/20")
    [vpc] = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["State"] == "available"
    assert vpc["CidrBlock"] == "172.16.0.0/20"
    assert "Tags" not in vpc  # an untagged VPC has no tagSet
    assert "Ipv6CidrBlockAssociationSet" not in vpc


def test_no_default_vpc_is_created(make_server: Any) -> None:
    ec2 = make_server().client("ec2")
    assert ec2.describe_vpcs()["Vpcs"] == []
    assert ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"] == []


RANGE = "The CIDR '{}' is invalid. A VPC's IPv4 CIDR block is between /16 and /28."
NOT_CIDR = "Value ({}) for parameter cidrBlock is invalid. This is not a valid CIDR block."


@pytest.mark.parametrize(
    ("cidr", "code", "message"),
    [
        ("10.0.0.0/8", "InvalidVpc.Range", RANGE),
        ("10.0.0.0/29", "InvalidVpc.Range", RANGE),
        ("10.0.0.1/16", "InvalidParameterValue", NOT_CIDR),
        ("10.0.0.0", "InvalidParameterValue", NOT_CIDR),
        ("300.0.0.0/16", "InvalidParameterValue", NOT_CIDR),
        ("fd00::/56", "InvalidParameterValue", NOT_CIDR),
    ],
)
def test_cidr_block_must_be_an_ipv4_network_from_16_to_28(ec2: Any, cidr: str, code: str, message: str) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.create_vpc(CidrBlock=cidr)
    assert error(exc) == (400, code, message.format(cidr))


def test_cidr_block_edges_16_and_28_are_accepted(ec2: Any) -> None:
    assert ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["CidrBlock"] == "10.1.0.0/16"
    assert ec2.create_vpc(CidrBlock="10.1.0.16/28")["Vpc"]["CidrBlock"] == "10.1.0.16/28"


def test_cidr_block_is_required(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.create_vpc()
    assert error(exc) == (400, "MissingParameter", "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")


def test_tag_specifications_must_be_for_vpc(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.create_vpc(CidrBlock="10.0.0.0/16", TagSpecifications=[{"ResourceType": "subnet", "Tags": []}])
    assert error(exc) == (
        400,
        "InvalidParameterValue",
        "'subnet' is not a valid taggable resource type for this operation.",
    )


def test_ipv6_and_ipam_are_refused_not_ignored(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.create_vpc(CidrBlock="10.0.0.0/16", AmazonProvidedIpv6CidrBlock=True)
    assert error(exc)[:2] == (400, "InvalidParameterValue")
    assert "AmazonProvidedIpv6CidrBlock" in error(exc)[2]


def test_dry_run_answers_412_and_creates_nothing(make_server: Any) -> None:
    ec2 = make_server().client("ec2")
    with pytest.raises(ClientError) as exc:
        ec2.create_vpc(CidrBlock="10.0.0.0/16", DryRun=True)
    assert error(exc) == (412, "DryRunOperation", "Request would have succeeded, but DryRun flag is set.")
    assert ec2.describe_vpcs()["Vpcs"] == []


def test_unknown_vpc_id_is_not_found_with_ec2_message(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpcs(VpcIds=["vpc-0123456789abcdef0"])
    assert error(exc) == (400, "InvalidVpcID.NotFound", "The vpc ID 'vpc-0123456789abcdef0' does not exist")
    with pytest.raises(ClientError) as exc:
        ec2.delete_vpc(VpcId="vpc-0123456789abcdef0")
    assert error(exc)[1] == "InvalidVpcID.NotFound"


def test_malformed_vpc_id_is_rejected(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpcs(VpcIds=["subnet-12345678"])
    assert error(exc) == (400, "InvalidVpcID.Malformed", 'Invalid id: "subnet-12345678" (expecting "vpc-...")')


def test_filters_and_across_names_or_across_values(ec2: Any, unique: Any) -> None:
    team = unique("team")
    a = new_vpc(ec2, "10.30.0.0/16", team=team, tier="web")
    b = new_vpc(ec2, "10.31.0.0/16", team=team, tier="db")
    c = new_vpc(ec2, "10.30.0.0/16", team=team)

    def ids(*filters: tuple[str, list[str]]) -> list[str]:
        given = [{"Name": n, "Values": v} for n, v in filters]
        return [v["VpcId"] for v in ec2.describe_vpcs(Filters=given)["Vpcs"]]

    assert ids(("tag:team", [team])) == [a, b, c]
    assert ids(("tag:team", [team]), ("cidr", ["10.30.0.0/16"])) == [a, c]
    assert ids(("tag:team", [team]), ("cidr-block-association.cidr-block", ["10.31.0.0/16"])) == [b]
    assert ids(("tag:team", [team]), ("tag:tier", ["web", "db"])) == [a, b]
    assert ids(("tag:team", [team]), ("tag:tier", ["w*"])) == [a]
    assert ids(("tag:team", [team]), ("tag:tier", ["d?"])) == [b]
    assert ids(("tag:team", [team]), ("tag-key", ["tier"])) == [a, b]
    assert ids(("vpc-id", [c]), ("state", ["available"]), ("is-default", ["false"])) == [c]
    assert ids(("vpc-id", [c]), ("is-default", ["true"])) == []
    assert ids(("tag:team", [team.upper()])) == []  # values are case-sensitive


def test_unknown_filter_is_invalid(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpcs(Filters=[{"Name": "colour", "Values": ["red"]}])
    assert error(exc) == (400, "InvalidParameterValue", "The filter 'colour' is invalid")


def test_describe_vpcs_pages_with_max_results_and_next_token(make_server: Any) -> None:
    ec2 = make_server().client("ec2")
    made = [new_vpc(ec2, f"10.{n}.0.0/16") for n in range(7)]
    first = ec2.describe_vpcs(MaxResults=5)
    assert [v["VpcId"] for v in first["Vpcs"]] == made[:5]
    second = ec2.describe_vpcs(MaxResults=5, NextToken=first["NextToken"])
    assert [v["VpcId"] for v in second["Vpcs"]] == made[5:]
    assert "NextToken" not in second
    pages = ec2.get_paginator("describe_vpcs").paginate(PaginationConfig={"PageSize": 5})
    assert [v["VpcId"] for p in pages for v in p["Vpcs"]] == made


def test_next_token_from_another_listing_is_refused(make_server: Any) -> None:
    ec2 = make_server().client("ec2")
    for n in range(6):
        new_vpc(ec2, f"10.{n}.0.0/16")
    token = ec2.describe_vpcs(MaxResults=5)["NextToken"]
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpcs(MaxResults=5, NextToken=token, Filters=[{"Name": "state", "Values": ["available"]}])
    assert error(exc)[:2] == (400, "InvalidPaginationToken")


@pytest.mark.parametrize("operation", ["describe_vpcs", "describe_tags"])
@pytest.mark.parametrize("token", ["nonsense", "\u00e9.\u00e9", ".\u0080"])
def test_forged_next_tokens_are_invalid_pagination_tokens(ec2: Any, operation: str, token: str) -> None:
    with pytest.raises(ClientError) as exc:
        getattr(ec2, operation)(MaxResults=5, NextToken=token)
    assert error(exc)[:2] == (400, "InvalidPaginationToken")


def test_max_results_with_vpc_ids_is_an_invalid_combination(ec2: Any) -> None:
    vpc_id = new_vpc(ec2)
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpcs(VpcIds=[vpc_id], MaxResults=5)
    assert error(exc) == (
        400,
        "InvalidParameterCombination",
        "The parameter vpcIds cannot be used with the parameter maxResults",
    )


def test_delete_vpc_then_it_is_gone(ec2: Any) -> None:
    vpc_id = new_vpc(ec2)
    assert ec2.delete_vpc(VpcId=vpc_id)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as exc:
        ec2.describe_vpcs(VpcIds=[vpc_id])
    assert error(exc) == (400, "InvalidVpcID.NotFound", f"The vpc ID '{vpc_id}' does not exist")


def test_delete_vpc_is_refused_while_a_service_network_is_associated(server: Any, ec2: Any, unique: Any) -> None:
    lattice = server.client()
    vpc_id = new_vpc(ec2)
    network = lattice.create_service_network(name=unique("net"))
    association = lattice.create_service_network_vpc_association(
        serviceNetworkIdentifier=network["id"], vpcIdentifier=vpc_id
    )
    with pytest.raises(ClientError) as exc:
        ec2.delete_vpc(VpcId=vpc_id)
    status, code, message = error(exc)
    assert (status, code) == (400, "DependencyViolation")
    assert message.startswith(f"The vpc '{vpc_id}' has dependencies and cannot be deleted")
    assert association["id"] in message
    lattice.delete_service_network_vpc_association(serviceNetworkVpcAssociationIdentifier=association["id"])
    ec2.delete_vpc(VpcId=vpc_id)


def test_delete_vpc_is_refused_while_a_target_group_or_resource_gateway_uses_it(
    server: Any, ec2: Any, unique: Any
) -> None:
    lattice = server.client()
    vpc_id = new_vpc(ec2)
    group = lattice.create_target_group(
        name=unique("web"), type="IP", config={"vpcIdentifier": vpc_id, "port": 80, "protocol": "HTTP"}
    )
    gateway = lattice.create_resource_gateway(
        name=unique("gw"), vpcIdentifier=vpc_id, subnetIds=["subnet-0123456789abcdef0"]
    )
    with pytest.raises(ClientError) as exc:
        ec2.delete_vpc(VpcId=vpc_id)
    status, code, message = error(exc)
    assert (status, code) == (400, "DependencyViolation")
    assert f"target group {group['id']}" in message and f"resource gateway {gateway['id']}" in message


def test_create_tags_adds_and_overwrites(ec2: Any) -> None:
    vpc_id = new_vpc(ec2, Name="one")
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "Name", "Value": "two"}, {"Key": "env", "Value": "dev"}])
    [vpc] = ec2.describe_vpcs(VpcIds=[vpc_id])["Vpcs"]
    assert vpc["Tags"] == [{"Key": "Name", "Value": "two"}, {"Key": "env", "Value": "dev"}]


def test_delete_tags_by_key_by_key_and_value_and_all(ec2: Any) -> None:
    vpc_id = new_vpc(ec2, a="1", b="2", c="")

    def tags() -> dict[str, str]:
        found = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["Tags"]
        return {t["Key"]: t["Value"] for t in found}

    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "a"}, {"Key": "b", "Value": "other"}])
    assert tags() == {"b": "2", "c": ""}  # a key alone deletes; a non-matching value keeps
    ec2.delete_tags(Resources=[vpc_id], Tags=[{"Key": "b", "Value": ""}, {"Key": "c", "Value": ""}])
    assert tags() == {"b": "2"}  # an empty value deletes only a tag whose value is empty
    ec2.delete_tags(Resources=[vpc_id])
    assert tags() == {}


def test_describe_tags_lists_vpc_tags_with_filters_and_pages(make_server: Any) -> None:
    ec2 = make_server().client("ec2")
    a = new_vpc(ec2, Name="a", env="dev", team="x")
    b = new_vpc(ec2, Name="b", env="prod", team="y")
    everything = ec2.describe_tags()["Tags"]
    assert everything[0] == {"Key": "Name", "ResourceId": a, "ResourceType": "vpc", "Value": "a"}
    assert len(everything) == 6
    by_key = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["env"]}])["Tags"]
    assert [(t["ResourceId"], t["Value"]) for t in by_key] == [(a, "dev"), (b, "prod")]
    by_value = ec2.describe_tags(
        Filters=[{"Name": "value", "Values": ["pro*"]}, {"Name": "resource-type", "Values": ["vpc"]}]
    )
    assert [t["ResourceId"] for t in by_value["Tags"]] == [b]
    first = ec2.describe_tags(MaxResults=5)
    assert first["Tags"] == everything[:5]
    rest = ec2.describe_tags(MaxResults=5, NextToken=first["NextToken"])
    assert rest["Tags"] == everything[5:] and "NextToken" not in rest


@pytest.mark.parametrize(
    ("tag", "code", "fragment"),
    [
        ({"Key": "aws:owner", "Value": "x"}, "InvalidParameterValue", "reserved"),
        ({"Key": "k" * 129, "Value": "x"}, "InvalidParameterValue", "1 to 128 characters"),
        ({"Key": "k", "Value": "v" * 257}, "InvalidParameterValue", "longer than 256 characters"),
    ],
)
def test_tag_restrictions(ec2: Any, tag: dict[str, str], code: str, fragment: str) -> None:
    vpc_id = new_vpc(ec2)
    with pytest.raises(ClientError) as exc:
        ec2.create_tags(Resources=[vpc_id], Tags=[tag])
    status, got_code, message = error(exc)
    assert (status, got_code) == (400, code) and fragment in message


def test_fifty_tags_per_vpc(ec2: Any) -> None:
    vpc_id = new_vpc(ec2)
    ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": f"k{n}", "Value": ""} for n in range(50)])
    with pytest.raises(ClientError) as exc:
        ec2.create_tags(Resources=[vpc_id], Tags=[{"Key": "one-more", "Value": ""}])
    assert error(exc)[:2] == (400, "TagLimitExceeded")


def test_tags_on_other_resource_ids_are_refused(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.create_tags(Resources=["subnet-0123456789abcdef0"], Tags=[{"Key": "k", "Value": "v"}])
    assert error(exc)[:2] == (400, "InvalidParameterValue")
    with pytest.raises(ClientError) as exc:
        ec2.create_tags(Resources=["nonsense"], Tags=[{"Key": "k", "Value": "v"}])
    assert error(exc) == (400, "InvalidID", "The ID 'nonsense' is not valid")


def test_unsupported_action_is_invalid_action(ec2: Any) -> None:
    with pytest.raises(ClientError) as exc:
        ec2.create_subnet(VpcId="vpc-0123456789abcdef0", CidrBlock="10.0.0.0/24")
    status, code, message = error(exc)
    assert (status, code) == (400, "InvalidAction")
    assert message.startswith("The action CreateSubnet is not valid for this web service.")


def post_form(server: Any, body: bytes) -> urllib.error.HTTPError:
    """An unsigned form POST (no SigV4 scope) is still read as the query protocol by its content type."""
    request = urllib.request.Request(
        server.url, data=body, headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    )
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(request, timeout=5)
    return exc.value


def test_error_document_is_ec2_xml(server: Any) -> None:
    failure = post_form(server, b"Action=DeleteVpc&Version=2016-11-15&VpcId=vpc-0123456789abcdef0")
    assert failure.code == 400
    root = ET.fromstring(failure.read())
    assert root.tag == "Response"
    assert root.findtext("Errors/Error/Code") == "InvalidVpcID.NotFound"
    assert root.findtext("Errors/Error/Message") == "The vpc ID 'vpc-0123456789abcdef0' does not exist"
    assert root.findtext("RequestID") == failure.headers["x-amzn-requestid"]


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        (b"Version=2016-11-15", "MissingAction", "The request must contain the parameter Action."),
        (b"Action=DescribeVpcs", "MissingParameter", "The request must contain the parameter Version."),
        (b"Action=Frobnicate&Version=2016-11-15", "InvalidAction", "The action Frobnicate is not valid"),
        (b"Action=DescribeVpcs&Version=2016-11-15&Colour=red", "UnknownParameter", "The parameter Colour is not"),
    ],
)
def test_malformed_requests_get_ec2_errors(server: Any, body: bytes, code: str, message: str) -> None:
    failure = post_form(server, body)
    root = ET.fromstring(failure.read())
    assert (failure.code, root.findtext("Errors/Error/Code")) == (400, code)
    assert (root.findtext("Errors/Error/Message") or "").startswith(message)


def test_aws_cli_create_vpc(server: Any, tmp_path: Path) -> None:
    aws = Path(sys.executable).with_name("aws")
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "AKIDEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "secret",
        "AWS_DEFAULT_REGION": "us-west-2",
        "AWS_CONFIG_FILE": str(tmp_path / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"),
    }
    command = [
        str(aws), "ec2", "create-vpc", "--endpoint-url", server.url, "--cidr-block", "10.9.0.0/16",
        "--tag-specifications", "ResourceType=vpc,Tags=[{Key=Name,Value=from-cli}]", "--output", "json",
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    vpc = json.loads(done.stdout)["Vpc"]
    assert VPC_ID.fullmatch(vpc["VpcId"])
    assert (vpc["CidrBlock"], vpc["State"], vpc["Tags"]) == (
        "10.9.0.0/16",
        "pending",
        [{"Key": "Name", "Value": "from-cli"}],
    )
