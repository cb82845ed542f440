"""The EC2 query protocol in isolation: forms botocore's EC2 serializer writes parse back to the same input,
XML we write parses back through botocore's EC2 parser, errors have EC2's shape."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

import pytest
from botocore.parsers import create_parser
from botocore.serialize import create_serializer

from latticework.control.api.ec2query import error_response, parse_form, serialize_output
from latticework.control.api.model import service_model
from latticework.control.errors import Ec2Error, ValidationException

EC2 = service_model("ec2")


def botocore_form(operation: str, params: dict[str, Any]) -> dict[str, str]:
    """The form boto3 would send, minus Action and Version (as `handle` strips them)."""
    body = create_serializer("ec2").serialize_to_request(params, EC2.operation_model(operation))["body"]
    return {k: str(v) for k, v in body.items() if k not in ("Action", "Version")}


def botocore_parse(operation: str, body: bytes, status: int = 200) -> dict[str, Any]:
    response = {"body": body, "headers": {}, "status_code": status}
    parsed: dict[str, Any] = create_parser("ec2").parse(response, EC2.operation_model(operation).output_shape)
    return parsed


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("CreateVpc", {"CidrBlock": "10.0.0.0/16", "InstanceTenancy": "default", "DryRun": True}),
        (
            "CreateVpc",
            {
                "CidrBlock": "10.1.0.0/16",
                "TagSpecifications": [
                    {"ResourceType": "vpc", "Tags": [{"Key": "Name", "Value": "a"}, {"Key": "env", "Value": ""}]}
                ],
            },
        ),
        (
            "DescribeVpcs",
            {
                "VpcIds": ["vpc-0123456789abcdef0", "vpc-1a2b3c4d"],
                "Filters": [{"Name": "tag:Name", "Values": ["a", "b*"]}, {"Name": "state", "Values": ["available"]}],
            },
        ),
        ("DescribeVpcs", {"MaxResults": 5, "NextToken": "abc.def"}),
        ("DeleteVpc", {"VpcId": "vpc-0123456789abcdef0"}),
        ("CreateTags", {"Resources": ["vpc-0123456789abcdef0"], "Tags": [{"Key": "k", "Value": "v"}]}),
        ("DeleteTags", {"Resources": ["vpc-1a2b3c4d"], "Tags": [{"Key": "k"}, {"Key": "e", "Value": ""}]}),
        ("DescribeTags", {"Filters": [{"Name": "resource-id", "Values": ["vpc-1a2b3c4d"]}], "MaxResults": 6}),
    ],
)
def test_form_from_botocore_serializer_parses_back_to_the_same_input(operation: str, params: dict[str, Any]) -> None:
    form = botocore_form(operation, params)
    assert parse_form(EC2.operation_model(operation).input_shape, form) == params


def test_list_items_are_ordered_by_number_not_text() -> None:
    """VpcId.10 comes after VpcId.2 (EC2 lists are `Name.N`, N from 1)."""
    form = {f"VpcId.{n}": f"vpc-{n:08x}" for n in (10, 2, 1)}
    parsed = parse_form(EC2.operation_model("DescribeVpcs").input_shape, form)
    assert parsed == {"VpcIds": ["vpc-00000001", "vpc-00000002", "vpc-0000000a"]}


@pytest.mark.parametrize(
    ("operation", "form", "code", "message"),
    [
        ("DescribeVpcs", {"Bogus": "1"}, "UnknownParameter", "The parameter Bogus is not recognized."),
        ("DescribeVpcs", {"Filter.1.Nme": "x"}, "UnknownParameter", "The parameter Filter.1.Nme is not recognized."),
        ("DescribeVpcs", {"VpcId.x": "vpc-1"}, "UnknownParameter", "The parameter VpcId.x is not recognized."),
        ("DeleteVpc", {}, "MissingParameter", "The request must contain the parameter VpcId."),
        (
            "CreateTags",
            {"ResourceId.1": "vpc-1a2b3c4d"},
            "MissingParameter",
            "The request must contain the parameter Tag.",
        ),
        (
            "DescribeVpcs",
            {"MaxResults": "ten"},
            "InvalidParameterValue",
            "Value (ten) for parameter MaxResults is invalid. Expected an integer.",
        ),
        (
            "CreateVpc",
            {"DryRun": "yes"},
            "InvalidParameterValue",
            "Value (yes) for parameter DryRun is invalid. Expected true or false.",
        ),
    ],
)
def test_bad_forms_raise_ec2_errors(operation: str, form: dict[str, str], code: str, message: str) -> None:
    with pytest.raises(Ec2Error) as exc:
        parse_form(EC2.operation_model(operation).input_shape, form)
    assert (exc.value.code, exc.value.message) == (code, message)


@pytest.mark.parametrize(
    ("form", "fragment"),
    [
        ({"MaxResults": "4"}, "Member must have value greater than or equal to 5"),
        ({"MaxResults": "1001"}, "Member must have value less than or equal to 1000"),
    ],
)
def test_model_constraints_are_checked_as_invalid_parameter_value(form: dict[str, str], fragment: str) -> None:
    with pytest.raises(Ec2Error) as exc:
        parse_form(EC2.operation_model("DescribeVpcs").input_shape, form)
    assert exc.value.code == "InvalidParameterValue" and fragment in exc.value.message


def test_enum_members_are_checked() -> None:
    with pytest.raises(Ec2Error) as exc:
        parse_form(EC2.operation_model("CreateVpc").input_shape, {"InstanceTenancy": "shared"})
    assert exc.value.code == "InvalidParameterValue" and "enum value set" in exc.value.message


VPC = {
    "CidrBlock": "10.0.0.0/16",
    "DhcpOptionsId": "dopt-1a2b3c4d",
    "State": "available",
    "VpcId": "vpc-0123456789abcdef0",
    "OwnerId": "000000000000",
    "InstanceTenancy": "default",
    "CidrBlockAssociationSet": [
        {"AssociationId": "vpc-cidr-assoc-0123456789abcdef0", "CidrBlock": "10.0.0.0/16",
         "CidrBlockState": {"State": "associated"}}
    ],
    "IsDefault": False,
    "Tags": [{"Key": "Name", "Value": "a & <b>"}],
}  # fmt: skip


@pytest.mark.parametrize(
    ("operation", "output"),
    [
        ("CreateVpc", {"Vpc": {**VPC, "Ipv6CidrBlockAssociationSet": []}}),
        ("DescribeVpcs", {"Vpcs": [VPC, {**VPC, "VpcId": "vpc-1a2b3c4d", "Tags": []}], "NextToken": "t.0"}),
        ("DescribeVpcs", {"Vpcs": []}),
        ("DescribeTags", {"Tags": [{"Key": "k", "ResourceId": "vpc-1a2b3c4d", "ResourceType": "vpc", "Value": ""}]}),
    ],
)
def test_xml_output_parses_back_through_botocore(operation: str, output: dict[str, Any]) -> None:
    body = serialize_output(EC2.operation_model(operation), output, "req-1")
    parsed = botocore_parse(operation, body)
    assert parsed.pop("ResponseMetadata")["RequestId"] == "req-1"
    assert parsed == output


def test_output_document_has_ec2_namespace_and_lower_camel_names() -> None:
    body = serialize_output(EC2.operation_model("DescribeVpcs"), {"Vpcs": [VPC]}, "req-2")
    assert body.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<DescribeVpcsResponse ')
    root = ET.fromstring(body)
    ns = "{http://ec2.amazonaws.com/doc/2016-11-15/}"
    assert root.tag == f"{ns}DescribeVpcsResponse"
    item = root.find(f"{ns}vpcSet/{ns}item")
    assert item is not None
    assert item.findtext(f"{ns}isDefault") == "false"
    assert item.findtext(f"{ns}tagSet/{ns}item/{ns}value") == "a & <b>"
    assert item.findtext(f"{ns}cidrBlockAssociationSet/{ns}item/{ns}cidrBlockState/{ns}state") == "associated"


def test_operation_without_output_shape_answers_return_true() -> None:
    body = serialize_output(EC2.operation_model("DeleteVpc"), None, "req-3")
    root = ET.fromstring(body)
    assert [child.tag.split("}")[1] for child in root] == ["requestId", "return"]
    assert root[1].text == "true"


def test_error_document_has_ec2_shape_and_is_escaped() -> None:
    response = error_response(Ec2Error("InvalidVpcID.NotFound", "The vpc ID '<x>&' does not exist"), "req-4")
    assert response.status == 400
    root = ET.fromstring(response.body)
    assert root.tag == "Response"
    assert root.findtext("Errors/Error/Code") == "InvalidVpcID.NotFound"
    assert root.findtext("Errors/Error/Message") == "The vpc ID '<x>&' does not exist"
    assert root.findtext("RequestID") == "req-4"
    parsed = botocore_parse("DeleteVpc", response.body, 400)
    assert parsed["Error"] == {"Code": "InvalidVpcID.NotFound", "Message": "The vpc ID '<x>&' does not exist"}
    assert parsed["ResponseMetadata"]["RequestId"] == "req-4"


def test_lattice_validation_errors_take_ec2_codes() -> None:
    response = error_response(ValidationException("bad token"), "req-5")
    root = ET.fromstring(response.body)
    assert (response.status, root.findtext("Errors/Error/Code")) == (400, "InvalidParameterValue")
