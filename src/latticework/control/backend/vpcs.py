"""EC2 VPC operations, the subset Lattice needs: CreateVpc, DescribeVpcs, DeleteVpc and CreateTags / DeleteTags /
DescribeTags for VPCs. Inputs and outputs use the ec2 model's member names (`CidrBlock`, `Vpcs`, `Tags`); errors
are `Ec2Error`s with EC2's codes.

A VPC is a record of kind "vpc" with an EC2 ARN; its doc holds `cidrBlock`, `cidrBlockAssociationId`,
`dhcpOptionsId`, `instanceTenancy` and `tags` (a key -> value map). There is no default VPC: every VPC is one the
caller created. Subnets, security groups, route tables, IPv6 and IPAM are not modelled. No I/O beyond the store
transaction it is handed.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Callable, Iterable
from typing import Any

from latticework.control.backend._context import Ctx
from latticework.control.backend._paging import BadToken, issue_token, list_scope, page, read_token
from latticework.control.errors import Ec2Error, ValidationException
from latticework.control.store import Record

__all__ = ["create_tags", "create_vpc", "delete_tags", "delete_vpc", "describe_tags", "describe_vpcs"]

# EC2 UG "Tag your resources", tag restrictions: 50 tags per resource, keys 1-128 and values 0-256 characters,
# the aws: prefix is reserved.
MAX_TAGS = 50
_VPC_ID = re.compile(r"vpc-(?:[0-9a-f]{8}|[0-9a-f]{17})")
_RESOURCE_ID = re.compile(r"[a-z][a-z0-9-]*-(?:[0-9a-f]{8}|[0-9a-f]{17})")
_DOTTED_CIDR = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}/\d{1,2}")
_ALL = 1 << 62  # Describe* without MaxResults returns every match in one page.
_UNSUPPORTED_CREATE_MEMBERS = (
    "Ipv4IpamPoolId", "Ipv4NetmaskLength", "Ipv6CidrBlock", "Ipv6CidrBlockNetworkBorderGroup", "Ipv6IpamPoolId",
    "Ipv6NetmaskLength", "Ipv6Pool", "VpcEncryptionControl",
)  # fmt: skip


# -- VPCs ----------------------------------------------------------------------------------------------------


def create_vpc(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Deviation: IPv4 only, from a CidrBlock; IPAM pools and IPv6 blocks are refused with InvalidParameterValue."""
    _refuse_unsupported(params)
    tenancy = params.get("InstanceTenancy") or "default"
    if tenancy == "host":  # EC2 API reference, CreateVpc InstanceTenancy: "The host value cannot be used".
        raise Ec2Error("InvalidParameterValue", "Value (host) for parameter instanceTenancy is invalid.")
    doc = {
        "cidrBlock": _vpc_cidr(params.get("CidrBlock")),
        "cidrBlockAssociationId": f"vpc-cidr-assoc-0{secrets.token_hex(8)}",
        "dhcpOptionsId": _dhcp_options_id(ctx),
        "instanceTenancy": tenancy,
        "tags": _specified_tags(params.get("TagSpecifications") or []),
    }
    record = ctx.tx.put(ctx.new_record("vpc", doc, service="ec2"))
    _dry_run(params)
    # The AWS CLI's create-vpc example: the new VPC reads "pending" (then "available"), with an empty IPv6 set.
    return {"Vpc": {**_vpc(record, "pending"), "Ipv6CidrBlockAssociationSet": []}}


def describe_vpcs(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = _filters(params.get("Filters") or [], _VPC_FILTERS, _tag_values)
    ids = params.get("VpcIds") or []
    _dry_run(params)
    if ids and params.get("MaxResults") is not None:
        raise Ec2Error(
            "InvalidParameterCombination", "The parameter vpcIds cannot be used with the parameter maxResults"
        )
    if ids:
        records = sorted({r.id: r for r in _existing_all(ctx, ids)}.values(), key=lambda r: r.seq)
        return {"Vpcs": [_vpc(r, "available") for r in records if _matches(r, filters)]}
    query = {"maxResults": params.get("MaxResults") or _ALL, "nextToken": params.get("NextToken"),
             "filters": params.get("Filters")}  # fmt: skip
    if not (params.get("NextToken") or "").isascii():  # _paging compares tokens as str: ASCII only
        raise Ec2Error("InvalidPaginationToken", "The NextToken is not valid: it was not issued by this server.")
    try:
        found = page(ctx, "DescribeVpcs", query, "vpc", lambda r: _vpc(r, "available"),
                     keep=lambda r: _matches(r, filters), items_key="Vpcs")  # fmt: skip
    except ValidationException as error:
        raise Ec2Error("InvalidPaginationToken", error.message) from None
    if "nextToken" in found:
        found["NextToken"] = found.pop("nextToken")
    return found


def delete_vpc(ctx: Ctx, params: dict[str, Any]) -> None:
    """Refused with DependencyViolation while a Lattice service network VPC association, a target group or a
    resource gateway references the VPC (EC2 API reference, DeleteVpc: delete what is in the VPC first)."""
    record = _existing(ctx, params["VpcId"])
    dependents = _dependents(ctx, record)
    if dependents:
        raise Ec2Error(
            "DependencyViolation",
            f"The vpc '{record.id}' has dependencies and cannot be deleted: {', '.join(dependents)}. "
            "Delete or disassociate them first.",
        )
    ctx.tx.delete(record)
    _dry_run(params)


def _vpc(record: Record, state: str) -> dict[str, Any]:
    doc = record.doc
    vpc: dict[str, Any] = {
        "CidrBlock": doc["cidrBlock"],
        "DhcpOptionsId": doc["dhcpOptionsId"],
        "State": state,
        "VpcId": record.id,
        "OwnerId": record.account,
        "InstanceTenancy": doc["instanceTenancy"],
        "CidrBlockAssociationSet": [
            {
                "AssociationId": doc["cidrBlockAssociationId"],
                "CidrBlock": doc["cidrBlock"],
                "CidrBlockState": {"State": "associated"},
            }
        ],
        "IsDefault": False,
    }
    if doc["tags"]:  # DescribeVpcs leaves tagSet out for an untagged VPC.
        vpc["Tags"] = [{"Key": k, "Value": v} for k, v in doc["tags"].items()]
    return vpc


def _vpc_cidr(text: str | None) -> str:
    """An IPv4 network in dotted/prefix form with no host bits, /16 to /28 (VPC UG, "VPC CIDR blocks")."""
    if not text:
        raise Ec2Error("MissingParameter", "Either 'cidrBlock' or 'ipv4IpamPoolId' should be provided.")
    try:
        network = ipaddress.IPv4Network(text) if _DOTTED_CIDR.fullmatch(text) else None
    except ValueError:
        network = None
    if network is None:
        raise Ec2Error(
            "InvalidParameterValue",
            f"Value ({text}) for parameter cidrBlock is invalid. This is not a valid CIDR block.",
        )
    if not 16 <= network.prefixlen <= 28:
        raise Ec2Error(
            "InvalidVpc.Range", f"The CIDR '{text}' is invalid. A VPC's IPv4 CIDR block is between /16 and /28."
        )
    return str(network)


def _refuse_unsupported(params: dict[str, Any]) -> None:
    given = [m for m in _UNSUPPORTED_CREATE_MEMBERS if params.get(m) is not None]
    if params.get("AmazonProvidedIpv6CidrBlock"):
        given.append("AmazonProvidedIpv6CidrBlock")
    if given:
        raise Ec2Error(
            "InvalidParameterValue",
            f"{given[0]} is not supported by Latticework's EC2 subset: VPCs are IPv4-only and take a CidrBlock.",
        )


def _dhcp_options_id(ctx: Ctx) -> str:
    """The account's default DHCP options set: one stable ID per account and Region (no DHCP options API here)."""
    digest = hashlib.sha256(f"dopt/{ctx.caller.account}/{ctx.caller.region}".encode()).hexdigest()
    return f"dopt-{digest[:8]}"


def _dependents(ctx: Ctx, vpc: Record) -> list[str]:
    found = [
        f"service network VPC association {a.id} (service network {a.parent})" for a in ctx.find("snva", ref=vpc.id)
    ]
    found += [f"target group {tg.id}" for tg in ctx.find("targetgroup", ref=vpc.id)]
    found += [f"resource gateway {g.id}" for g in ctx.find("resourcegateway", ref=vpc.id)]
    return found


def _existing(ctx: Ctx, vpc_id: str) -> Record:
    return _existing_all(ctx, [vpc_id])[0]


def _existing_all(ctx: Ctx, vpc_ids: list[str]) -> list[Record]:
    for vpc_id in vpc_ids:
        if not _VPC_ID.fullmatch(vpc_id):
            raise Ec2Error("InvalidVpcID.Malformed", f'Invalid id: "{vpc_id}" (expecting "vpc-...")')
    records = {i: ctx.get_or_none("vpc", i) for i in vpc_ids}
    missing = [i for i, r in records.items() if r is None]
    if len(missing) == 1:
        raise Ec2Error("InvalidVpcID.NotFound", f"The vpc ID '{missing[0]}' does not exist")
    if missing:
        raise Ec2Error("InvalidVpcID.NotFound", f"The vpc IDs '{', '.join(missing)}' do not exist")
    return [r for r in records.values() if r is not None]


def _dry_run(params: dict[str, Any]) -> None:
    """EC2's DryRun: everything was checked (and is rolled back with the transaction), answer 412."""
    if params.get("DryRun"):
        raise Ec2Error("DryRunOperation", "Request would have succeeded, but DryRun flag is set.", status=412)


# -- filters (EC2 API reference, DescribeVpcs / DescribeTags "Filters") ------------------------------------------

Filter = tuple[Callable[[Any], list[str]], list[re.Pattern[str]]]

_VPC_FILTERS: dict[str, Callable[[Record], list[str]]] = {
    "cidr": lambda r: [r.doc["cidrBlock"]],
    "cidr-block-association.cidr-block": lambda r: [r.doc["cidrBlock"]],
    "cidr-block-association.association-id": lambda r: [r.doc["cidrBlockAssociationId"]],
    "cidr-block-association.state": lambda r: ["associated"],
    "dhcp-options-id": lambda r: [r.doc["dhcpOptionsId"]],
    "is-default": lambda r: ["false"],
    "owner-id": lambda r: [r.account],
    "state": lambda r: ["available"],
    "tag-key": lambda r: list(r.doc["tags"]),
    "vpc-id": lambda r: [r.id],
}


def _tag_values(key: str) -> Callable[[Record], list[str]]:
    return lambda r: [r.doc["tags"][key]] if key in r.doc["tags"] else []


def _filters(
    given: list[dict[str, Any]], known: dict[str, Callable[[Any], list[str]]], tag: Callable[[str], Any]
) -> list[Filter]:
    """Each filter as (what it reads, value patterns). Values of one filter are ORed, filters are ANDed."""
    filters: list[Filter] = []
    for item in given:
        name = item.get("Name") or ""
        reader = tag(name[4:]) if name.startswith("tag:") and len(name) > 4 else known.get(name)
        if reader is None:
            raise Ec2Error("InvalidParameterValue", f"The filter '{name}' is invalid")
        values = item.get("Values") or []
        if not values:
            raise Ec2Error("InvalidParameterValue", f"The filter '{name}' needs at least one value (Filter.N.Value.M).")
        filters.append((reader, [_wildcard(v) for v in values]))
    return filters


def _matches(subject: Any, filters: list[Filter]) -> bool:
    return all(any(p.fullmatch(v) for v in reader(subject) for p in patterns) for reader, patterns in filters)


def _wildcard(value: str) -> re.Pattern[str]:
    """EC2 filter values: `*` any run, `?` one character, a backslash escapes them; case-sensitive."""
    pattern = []
    for token in re.findall(r"\\[\\*?]|[*?]|[^*?\\]+|\\", value):
        if token in _WILDCARDS:
            pattern.append(_WILDCARDS[token])
        else:
            pattern.append(re.escape(token[1:] if token[0] == "\\" and len(token) == 2 else token))
    return re.compile("".join(pattern), re.DOTALL)


_WILDCARDS = {"*": ".*", "?": "."}


# -- tags ----------------------------------------------------------------------------------------------------


def create_tags(ctx: Ctx, params: dict[str, Any]) -> None:
    """Adds or overwrites tags. Deviation: only VPCs are taggable here (other EC2 IDs are refused)."""
    records = [_taggable(ctx, i) for i in params["Resources"]]
    tags = _tag_map(params["Tags"])
    for record in records:
        merged = {**record.doc["tags"], **tags}
        if len(merged) > MAX_TAGS:
            raise Ec2Error(
                "TagLimitExceeded", f"The maximum number of Tags for a resource ({MAX_TAGS}) has been reached."
            )
        record.doc["tags"] = merged
        ctx.touch(record)
    _dry_run(params)


def delete_tags(ctx: Ctx, params: dict[str, Any]) -> None:
    """EC2 API reference, DeleteTags: no Tags deletes every tag; a key alone deletes it whatever its value; a key
    with a value (even empty) deletes it only if the value matches."""
    records = [_taggable(ctx, i) for i in params["Resources"]]
    for item in params.get("Tags") or []:
        if not item.get("Key"):
            raise Ec2Error("InvalidParameterValue", "Each Tag.N to delete needs a Key.")
    for record in records:
        tags = record.doc["tags"]
        if params.get("Tags") is None:
            tags.clear()
        for item in params.get("Tags") or []:
            if item["Key"] in tags and item.get("Value", tags[item["Key"]]) == tags[item["Key"]]:
                del tags[item["Key"]]
        ctx.touch(record)
    _dry_run(params)


def describe_tags(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    filters = _filters(params.get("Filters") or [], _TAG_FILTERS, _described_tag_values)
    _dry_run(params)
    limit = params.get("MaxResults")
    if limit is not None and not 5 <= limit <= 1000:
        raise Ec2Error(
            "InvalidParameterValue",
            f"Value ({limit}) for parameter maxResults is invalid. Expecting a value between 5 and 1000.",
        )
    found = [d for d in _tag_descriptions(ctx.find("vpc")) if _matches(d, filters)]
    scope = list_scope(ctx, "DescribeTags", params.get("Filters"))
    start = _offset(ctx.secret, params.get("NextToken"), scope)
    end = start + (limit or _ALL)
    result: dict[str, Any] = {"Tags": found[start:end]}
    if end < len(found):
        result["NextToken"] = issue_token(ctx.secret, end, scope)
    return result


_TAG_FILTERS: dict[str, Callable[[dict[str, str]], list[str]]] = {
    "key": lambda d: [d["Key"]],
    "resource-id": lambda d: [d["ResourceId"]],
    "resource-type": lambda d: [d["ResourceType"]],
    "value": lambda d: [d["Value"]],
}


def _described_tag_values(key: str) -> Callable[[dict[str, Any]], list[str]]:
    """`tag:KEY`: descriptions of resources that carry KEY with a matching value."""
    return lambda d: [d["_tags"][key]] if key in d["_tags"] else []


def _tag_descriptions(vpcs: Iterable[Record]) -> list[dict[str, Any]]:
    return [
        {"Key": k, "ResourceId": r.id, "ResourceType": "vpc", "Value": v, "_tags": r.doc["tags"]}
        for r in vpcs
        for k, v in r.doc["tags"].items()
    ]


def _taggable(ctx: Ctx, resource_id: str) -> Record:
    if resource_id.startswith("vpc-"):
        return _existing(ctx, resource_id)
    if _RESOURCE_ID.fullmatch(resource_id):
        raise Ec2Error(
            "InvalidParameterValue", f"Latticework's EC2 subset tags only VPCs; '{resource_id}' is not a VPC ID."
        )
    raise Ec2Error("InvalidID", f"The ID '{resource_id}' is not valid")


def _specified_tags(specifications: list[dict[str, Any]]) -> dict[str, str]:
    """CreateVpc's TagSpecifications: one specification, of ResourceType vpc."""
    seen: set[str] = set()
    tags: dict[str, str] = {}
    for spec in specifications:
        kind = spec.get("ResourceType")
        if kind != "vpc":
            raise Ec2Error(
                "InvalidParameterValue", f"'{kind}' is not a valid taggable resource type for this operation."
            )
        if kind in seen:
            raise Ec2Error(
                "InvalidParameterValue",
                "The same resource type may not be specified more than once in tag specifications.",
            )
        seen.add(kind)
        tags = _tag_map(spec.get("Tags") or [])
    if len(tags) > MAX_TAGS:
        raise Ec2Error("TagLimitExceeded", f"The maximum number of Tags for a resource ({MAX_TAGS}) has been reached.")
    return tags


def _tag_map(items: list[dict[str, Any]]) -> dict[str, str]:
    """Validated tags; a tag without a Value gets the empty string (EC2 API reference, Tag)."""
    tags: dict[str, str] = {}
    for item in items:
        key, value = item.get("Key"), item.get("Value")
        if not key or len(key) > 128:
            raise Ec2Error("InvalidParameterValue", f"Tag key '{key or ''}' is invalid: a key has 1 to 128 characters.")
        if key.lower().startswith("aws:"):
            raise Ec2Error("InvalidParameterValue", "Tag keys starting with 'aws:' are reserved for internal use")
        if value is not None and len(value) > 256:
            raise Ec2Error("InvalidParameterValue", f"The value of tag '{key}' is longer than 256 characters.")
        if key in tags:
            raise Ec2Error("InvalidParameterValue", f"Duplicate tag key '{key}' specified.")
        tags[key] = value or ""
    return tags


# -- DescribeTags pagination: a signed offset into the filtered list ---------------------------------------------


def _offset(secret: bytes, token: str | None, scope: str) -> int:
    if token is None:
        return 0
    try:
        return read_token(secret, token, scope)
    except BadToken:
        raise Ec2Error(
            "InvalidPaginationToken", "The NextToken is not valid: repeat the request with the same filters."
        ) from None
