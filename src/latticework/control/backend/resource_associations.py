"""Associations of resource configurations: with service networks (snra: create, get, list, delete) and with
VPC endpoints of type resource (rea: list, delete).

snra records: parent = service network ID, ref = resource configuration ID. A group's association reaches its
children too (User Guide, "Resource configuration for VPC resources": a child "can only be shared as part of a
group ... When added, its automatically accessible to those who can access the group"), so associating a
GROUP also writes one association per child, marked `_groupAssociationId`; Lattice manages those
(`isManagedAssociation` true), lists them only with `includeChildren`, and removes them with the group's.

rea records (parent = resource configuration ID) are made by EC2 CreateVpcEndpoint, which Latticework does not
implement: listing returns the records that exist (none unless some other part of Latticework writes them) and
deleting an unknown one is a ResourceNotFoundException. No I/O beyond the store transaction.
"""

from __future__ import annotations

import hashlib
from typing import Any

from latticework.control.backend._context import Ctx, pick
from latticework.control.backend._paging import page
from latticework.control.backend.domain_verifications import verification_status
from latticework.control.backend.tags import check_tags
from latticework.control.errors import ConflictException, ValidationException
from latticework.control.store import Record

__all__ = [
    "create_service_network_resource_association",
    "delete_resource_endpoint_association",
    "delete_service_network_resource_association",
    "get_service_network_resource_association",
    "list_resource_endpoint_associations",
    "list_service_network_resource_associations",
]

_GROUP_LINK = "_groupAssociationId"
_CREATE_FIELDS = ("arn", "createdBy", "id", "privateDnsEnabled")
_SUMMARY_FIELDS = (
    "arn",
    "createdAt",
    "createdBy",
    "dnsEntry",
    "failureCode",
    "id",
    "isManagedAssociation",
    "privateDnsEnabled",
    "privateDnsEntry",
    "resourceConfigurationArn",
    "resourceConfigurationId",
    "resourceConfigurationName",
    "serviceNetworkArn",
    "serviceNetworkId",
    "serviceNetworkName",
)
_GET_FIELDS = (*_SUMMARY_FIELDS, "failureReason", "lastUpdatedAt")
_REA_FIELDS = (
    "arn",
    "createdAt",
    "createdBy",
    "id",
    "payerResponsibility",
    "resourceConfigurationArn",
    "resourceConfigurationId",
    "resourceConfigurationName",
    "vpcEndpointId",
    "vpcEndpointOwner",
)


# -- service network resource associations ------------------------------------------------------------------


def create_service_network_resource_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    tags = params.get("tags") or {}
    check_tags(tags)
    network = ctx.resolve("servicenetwork", params["serviceNetworkIdentifier"])
    config = ctx.resolve("resourceconfiguration", params["resourceConfigurationIdentifier"])
    _require_associable(network, config)
    private_dns = _private_dns(config, params.get("privateDnsEnabled"))
    _require_new_pair(ctx, network, config)
    ctx.check_quota(
        "resource_configurations_per_service_network",
        len(_direct(ctx.find("snra", parent=network.id))),
        "SERVICE_NETWORK_RESOURCE_ASSOCIATION",
    )
    record = _associate(ctx, network, config, private_dns, tags)
    for child in ctx.find("resourceconfiguration", parent=config.id):
        add_child_association(ctx, record, child)
    return {**pick(record.doc, *_CREATE_FIELDS), "status": ctx.status(record)}


def get_service_network_resource_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("snra", params["serviceNetworkResourceAssociationIdentifier"])
    status = verification_status(ctx, _verification_of(ctx, record))
    return {**_view(ctx, record, _GET_FIELDS), "domainVerificationStatus": status}


def list_service_network_resource_associations(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """`includeChildren` adds the associations Lattice keeps for the children of associated groups; filtering
    on a GROUP configuration with it set also lists its children's associations."""
    network_id = id_of(params.get("serviceNetworkIdentifier"))
    config_id = id_of(params.get("resourceConfigurationIdentifier"))
    children = bool(params.get("includeChildren"))
    wanted = _configurations_wanted(ctx, config_id, children)

    def keep(record: Record) -> bool:
        return (children or _GROUP_LINK not in record.doc) and (wanted is None or record.ref in wanted)

    ref = config_id if wanted is not None and len(wanted) == 1 else None
    return page(
        ctx,
        "ListServiceNetworkResourceAssociations",
        params,
        "snra",
        lambda r: _view(ctx, r, _SUMMARY_FIELDS),
        keep=keep,
        parent=network_id,
        ref=ref,
    )


def delete_service_network_resource_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Deleting a group's association also removes the associations Lattice made for its children; those
    cannot be deleted on their own (ConflictException)."""
    record = ctx.resolve("snra", params["serviceNetworkResourceAssociationIdentifier"])
    if _GROUP_LINK in record.doc:
        raise ConflictException(
            f"Association {record.id} is managed by VPC Lattice for a child of group association "
            f"{record.doc[_GROUP_LINK]}. Delete the group's association instead.",
            "SERVICE_NETWORK_RESOURCE_ASSOCIATION",
            record.id,
        )
    for linked in ctx.find("snra", parent=record.parent):
        if linked.doc.get(_GROUP_LINK) == record.id:
            ctx.tx.delete(linked)
    ctx.tx.delete(record)
    return {**pick(record.doc, "arn", "id"), "status": "DELETE_IN_PROGRESS"}


def add_child_association(ctx: Ctx, group_association: Record, child: Record) -> None:
    """The association Lattice keeps for one child of an associated group (also used when a child is added to
    a group that is already associated)."""
    network = ctx.resolve("servicenetwork", group_association.parent or "")
    private_dns = bool(group_association.doc["privateDnsEnabled"])
    record = ctx.new_record("snra", {}, parent=network.id, ref=child.id)
    record.doc.update(_association_doc(ctx, record, network, child, private_dns, {}))
    record.doc.update({_GROUP_LINK: group_association.id, "isManagedAssociation": True})
    ctx.tx.put(record)


def drop_associations(ctx: Ctx, config: Record) -> None:
    """Remove every association Lattice made for a configuration that is going away (child records)."""
    for record in ctx.find("snra", ref=config.id):
        ctx.tx.delete(record)


def direct_associations(ctx: Ctx, config: Record) -> list[Record]:
    """The associations a user made for a configuration (not those Lattice keeps for group children)."""
    return _direct(ctx.find("snra", ref=config.id))


def is_shareable(network: Record) -> bool:
    """A service network is shareable when its sharingConfig says so."""
    return bool((network.doc.get("sharingConfig") or {}).get("enabled"))


def resource_dns_name(association_id: str, config_id: str, account: str, region: str) -> str:
    """The name Lattice generates for a resource reached through a service network, as seen in published
    deployments: `snra-0123456789abcdef0.rcfg-0123456789abcdef0.4232ccc.vpc-lattice-rsc.us-east-1.on.aws`."""
    partition = hashlib.sha256(f"rsc/{account}/{region}".encode()).hexdigest()[:7]
    return f"{association_id}.{config_id}.{partition}.vpc-lattice-rsc.{region}.on.aws"


def resource_hosted_zone_id(region: str) -> str:
    """A Route 53-shaped zone ID (`Z` + 20 upper-case characters) for the resource DNS names of a region."""
    return "Z" + hashlib.sha256(f"lattice-rsc/{region}".encode()).hexdigest().upper()[:20]


def _associate(ctx: Ctx, network: Record, config: Record, private_dns: bool, tags: dict[str, str]) -> Record:
    record = ctx.new_record("snra", {}, parent=network.id, ref=config.id)
    record.doc.update(_association_doc(ctx, record, network, config, private_dns, tags))
    return ctx.tx.put(record)


def _association_doc(
    ctx: Ctx, record: Record, network: Record, config: Record, private_dns: bool, tags: dict[str, str]
) -> dict[str, Any]:
    doc = ctx.provisioning(
        {
            "createdBy": ctx.caller.account,
            "serviceNetworkId": network.id,
            "serviceNetworkArn": network.arn,
            "serviceNetworkName": network.name,
            "resourceConfigurationId": config.id,
            "resourceConfigurationArn": config.arn,
            "resourceConfigurationName": config.name,
            "privateDnsEnabled": private_dns,
            "isManagedAssociation": False,
            "dnsEntry": {
                "domainName": resource_dns_name(record.id, config.id, ctx.caller.account, ctx.caller.region),
                "hostedZoneId": resource_hosted_zone_id(ctx.caller.region),
            },
            "tags": tags,
        }
    )
    custom_domain = config.doc.get("customDomainName")
    if private_dns and custom_domain:
        # API reference: privateDnsEntry "includes only the domain name".
        doc["privateDnsEntry"] = {"domainName": custom_domain}
    return doc


def _require_associable(network: Record, config: Record) -> None:
    kind = config.doc["type"]
    if kind == "CHILD":
        # User Guide: a child "can't be shared independently; and can only be shared as part of a group".
        raise ValidationException.field(
            "resourceConfigurationIdentifier",
            f"Resource configuration {config.id} is a CHILD; associate its group "
            f"{config.doc['resourceConfigurationGroupId']} instead.",
        )
    if kind == "CIDR":
        # API reference, CreateResourceConfiguration, type: "You can't add a CIDR resource configuration to a
        # service network."
        raise ValidationException.field(
            "resourceConfigurationIdentifier",
            f"Resource configuration {config.id} is a CIDR configuration; those are reached through a VPC "
            "endpoint, not a service network.",
        )
    if is_shareable(network) and not config.doc.get("allowAssociationToShareableServiceNetwork"):
        # User Guide, "Association with service network type": such a configuration cannot be added to a service
        # network "that is shared or can be shared with another account".
        raise ValidationException.field(
            "resourceConfigurationIdentifier",
            f"Resource configuration {config.id} does not allow association to shareable service networks, and "
            f"service network {network.id} has sharing enabled.",
        )


def _private_dns(config: Record, requested: bool | None) -> bool:
    if config.doc["type"] != "ARN":
        return bool(requested)
    # User Guide: "For resource configurations of type ARN the private DNS flag is true and immutable."
    if requested is False:
        raise ValidationException.field(
            "privateDnsEnabled", "Private DNS is always enabled for ARN resource configurations; omit it or pass true."
        )
    return True


def _require_new_pair(ctx: Ctx, network: Record, config: Record) -> None:
    existing = ctx.find("snra", parent=network.id, ref=config.id)
    if existing:
        raise ConflictException(
            f"Resource configuration {config.id} is already associated with service network {network.id} "
            f"({existing[0].id}).",
            "SERVICE_NETWORK_RESOURCE_ASSOCIATION",
            existing[0].id,
        )


def _direct(records: list[Record]) -> list[Record]:
    return [r for r in records if _GROUP_LINK not in r.doc]


def _view(ctx: Ctx, record: Record, fields: tuple[str, ...]) -> dict[str, Any]:
    return {**pick(record.doc, *fields), "status": ctx.status(record)}


def _verification_of(ctx: Ctx, record: Record) -> str | None:
    """The verification behind an association's configuration; children inherit their group's (User Guide)."""
    config = ctx.get_or_none("resourceconfiguration", record.ref or "")
    while config is not None:
        if config.doc.get("domainVerificationId"):
            return config.doc["domainVerificationId"]  # type: ignore[no-any-return]
        config = ctx.get_or_none("resourceconfiguration", config.parent) if config.parent else None
    return None


def _configurations_wanted(ctx: Ctx, config_id: str | None, children: bool) -> set[str] | None:
    if config_id is None:
        return None
    wanted = {config_id}
    if children:
        wanted.update(r.id for r in ctx.find("resourceconfiguration", parent=config_id))
    return wanted


def id_of(identifier: str | None) -> str | None:
    """The ID an ID-or-ARN filter names (list filters match nothing, rather than fail, when nothing exists)."""
    return None if identifier is None else identifier.rsplit("/", 1)[-1]


# -- resource endpoint associations -------------------------------------------------------------------------


def list_resource_endpoint_associations(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Deviation: Latticework has no EC2 CreateVpcEndpoint, so this lists only rea records some other part of
    Latticework wrote: none otherwise."""
    config_id = id_of(params["resourceConfigurationIdentifier"])
    filters = {
        "id": id_of(params.get("resourceEndpointAssociationIdentifier")),
        "vpcEndpointId": params.get("vpcEndpointId"),
        "vpcEndpointOwner": params.get("vpcEndpointOwner"),
    }

    def keep(record: Record) -> bool:
        return all(value is None or record.doc.get(key) == value for key, value in filters.items())

    return page(
        ctx,
        "ListResourceEndpointAssociations",
        params,
        "rea",
        lambda r: pick(r.doc, *_REA_FIELDS),
        keep=keep,
        parent=config_id,
    )


def delete_resource_endpoint_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Deviation: rea records come from EC2 CreateVpcEndpoint, which Latticework lacks, so unless another part
    of Latticework wrote one this is always a ResourceNotFoundException."""
    record = ctx.resolve("rea", params["resourceEndpointAssociationIdentifier"])
    ctx.tx.delete(record)
    return pick(record.doc, "arn", "id", "resourceConfigurationArn", "resourceConfigurationId", "vpcEndpointId")
