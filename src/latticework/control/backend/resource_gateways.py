"""Resource gateway operations: create (in an existing EC2 VPC record), get, list, update (security groups and
DNS resolution only), delete (refused while resource configurations use the gateway).

A gateway is stored, validated and listed as AWS does; Latticework creates no ENIs and carries no traffic
through it. Records: kind "resourcegateway", name, ref = the VPC's ID. Also holds `settling`, the
UPDATE_IN_PROGRESS step the resource configuration updates share. No I/O beyond the store transaction.
"""

from __future__ import annotations

import re
from typing import Any

from latticework.control.backend._context import Ctx, pick
from latticework.control.backend._paging import page
from latticework.control.backend.tags import check_tags
from latticework.control.errors import ConflictException, FieldError, ValidationException
from latticework.control.store import Record

__all__ = [
    "create_resource_gateway",
    "delete_resource_gateway",
    "get_resource_gateway",
    "list_resource_gateways",
    "update_resource_gateway",
]

# User Guide, "Resource gateways in VPC Lattice": "By default, all resource gateways are assigned 16 IPv4
# addresses per ENI"; the IPv6 type gets a /80 per ENI instead, so the setting does not apply to it.
DEFAULT_IPV4_ADDRESSES_PER_ENI = 16
DEFAULT_IP_ADDRESS_TYPE = "IPV4"
# API reference, CreateResourceGateway, resourceConfigDnsResolution: "The default is PUBLIC."
DEFAULT_DNS_RESOLUTION = "PUBLIC"
IN_VPC = "IN_VPC"
# EC2 subnet IDs: `subnet-` and 8 or 17 hex digits.
_SUBNET_ID = re.compile(r"subnet-(?:[0-9a-f]{8}|[0-9a-f]{17})")
_CREATE_FIELDS = (
    "arn",
    "id",
    "ipAddressType",
    "ipv4AddressesPerEni",
    "name",
    "resourceConfigDnsResolution",
    "securityGroupIds",
    "subnetIds",
    "vpcIdentifier",
)
_LIST_FIELDS = (*_CREATE_FIELDS, "createdAt", "lastUpdatedAt")
_UPDATE_FIELDS = (
    "arn",
    "id",
    "ipAddressType",
    "name",
    "resourceConfigDnsResolution",
    "securityGroupIds",
    "subnetIds",
)


def create_resource_gateway(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Deviations: `vpcIdentifier` and `subnetIds` are required (a gateway is ENIs in the VPC's subnets; the
    model leaves them optional); subnets are checked for shape only, as Latticework keeps no subnet records.
    Without `securityGroupIds` the gateway gets the VPC's default security group if the VPC record names one
    (the CLI example shows AWS doing so), otherwise none."""
    name = params["name"]
    _require_placement(params)
    tags = params.get("tags") or {}
    check_tags(tags)
    ctx.require_unique_name("resourcegateway", name)
    vpc = ctx.resolve("vpc", params["vpcIdentifier"])
    ctx.check_quota("resource_gateways_per_vpc", ctx.count("resourcegateway", ref=vpc.id), "RESOURCE_GATEWAY")
    ip_type = params.get("ipAddressType", DEFAULT_IP_ADDRESS_TYPE)
    doc = ctx.provisioning(
        {
            "vpcIdentifier": vpc.id,
            "subnetIds": params["subnetIds"],
            "securityGroupIds": params.get("securityGroupIds") or _default_security_groups(vpc),
            "ipAddressType": ip_type,
            "ipv4AddressesPerEni": _addresses_per_eni(ip_type, params.get("ipv4AddressesPerEni")),
            "resourceConfigDnsResolution": params.get("resourceConfigDnsResolution", DEFAULT_DNS_RESOLUTION),
            "tags": tags,
        }
    )
    record = ctx.tx.put(ctx.new_record("resourcegateway", doc, name=name, ref=vpc.id))
    return {**pick(record.doc, *_CREATE_FIELDS), "status": ctx.status(record)}


def get_resource_gateway(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("resourcegateway", params["resourceGatewayIdentifier"])
    # API reference, GetResourceGateway: the VPC is `vpcId` here, `vpcIdentifier` in create and list.
    return {**_view(ctx, record, _LIST_FIELDS), "vpcId": record.doc["vpcIdentifier"]}


def list_resource_gateways(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return page(ctx, "ListResourceGateways", params, "resourcegateway", lambda r: _view(ctx, r, _LIST_FIELDS))


def update_resource_gateway(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Only `securityGroupIds` and `resourceConfigDnsResolution` change. The DNS resolution must keep fitting
    the configurations on the gateway: ARN configurations cannot use IN_VPC, CIDR configurations need it
    (API reference, CreateResourceGateway, resourceConfigDnsResolution)."""
    record = ctx.resolve("resourcegateway", params["resourceGatewayIdentifier"])
    ctx.require_settled(record, "RESOURCE_GATEWAY", "Resource gateway")
    resolution = params.get("resourceConfigDnsResolution")
    if resolution is not None and resolution != record.doc["resourceConfigDnsResolution"]:
        _require_resolution_fits(ctx, record, resolution)
        record.doc["resourceConfigDnsResolution"] = resolution
    if params.get("securityGroupIds") is not None:
        record.doc["securityGroupIds"] = params["securityGroupIds"]
    settling(ctx, record.doc)
    ctx.touch(record)
    return {**_view(ctx, record, _UPDATE_FIELDS), "vpcId": record.doc["vpcIdentifier"]}


def delete_resource_gateway(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("resourcegateway", params["resourceGatewayIdentifier"])
    ctx.require_settled(record, "RESOURCE_GATEWAY", "Resource gateway")
    used = ctx.count("resourceconfiguration", ref=record.id)
    if used:
        raise ConflictException(
            f"Resource gateway {record.id} is used by {used} resource configuration(s). Delete them first, then "
            "the resource gateway.",
            "RESOURCE_GATEWAY",
            record.id,
        )
    ctx.tx.delete(record)
    # CLI example, delete-resource-gateway: `{arn, id, name, status: DELETE_IN_PROGRESS}`.
    return {**pick(record.doc, "arn", "id", "name"), "status": "DELETE_IN_PROGRESS"}


def settling(ctx: Ctx, doc: dict[str, Any]) -> None:
    """Mark an updated resource UPDATE_IN_PROGRESS; it reads ACTIVE again after the provisioning delay."""
    doc["status"] = "UPDATE_IN_PROGRESS"
    doc["_settlesAt"] = ctx.now + ctx.settings.provisioning_seconds


def _view(ctx: Ctx, record: Record, fields: tuple[str, ...]) -> dict[str, Any]:
    return {**pick(record.doc, *fields), "status": ctx.status(record)}


def _require_placement(params: dict[str, Any]) -> None:
    problems = []
    if not params.get("vpcIdentifier"):
        problems.append(FieldError("vpcIdentifier", "A resource gateway needs the ID of the VPC it is in."))
    subnets = params.get("subnetIds") or []
    if not subnets:
        problems.append(FieldError("subnetIds", "A resource gateway needs at least one subnet of its VPC."))
    for subnet in subnets:
        if not _SUBNET_ID.fullmatch(subnet):
            problems.append(FieldError("subnetIds", f"'{subnet}' is not a subnet ID (subnet-0123456789abcdef0)."))
    if problems:
        raise ValidationException.from_fields(problems)


def _addresses_per_eni(ip_type: str, requested: int | None) -> int | None:
    if ip_type == "IPV6":
        if requested is not None:
            raise ValidationException.field(
                "ipv4AddressesPerEni",
                "ipv4AddressesPerEni applies to IPV4 and DUALSTACK gateways only; an IPV6 gateway gets a /80 per ENI.",
            )
        return None
    return requested or DEFAULT_IPV4_ADDRESSES_PER_ENI


def _default_security_groups(vpc: Record) -> list[str]:
    default = vpc.doc.get("defaultSecurityGroupId")
    return [default] if default else []


def _require_resolution_fits(ctx: Ctx, gateway: Record, resolution: str) -> None:
    clashing = "ARN" if resolution == IN_VPC else "CIDR"
    users = [r.id for r in ctx.find("resourceconfiguration", ref=gateway.id) if r.doc["type"] == clashing]
    if users:
        need = "must not use IN_VPC" if clashing == "ARN" else "need IN_VPC"
        raise ConflictException(
            f"Resource gateway {gateway.id} cannot switch to {resolution}: {clashing} resource configurations "
            f"{need} and these use the gateway: {', '.join(users)}.",
            "RESOURCE_GATEWAY",
            gateway.id,
        )
