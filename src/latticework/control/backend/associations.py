"""Service network associations: with services (snsa), with VPCs (snva), and the listing of service network VPC
endpoint associations (reference 1.4, 1.5, 1.8).

Records: snsa has parent = service network id, ref = service id; snva has parent = service network id, ref = vpc
id. Both keep the names, IDs and ARNs of their ends in the doc (they are immutable), and an snsa also keeps the
service's customDomainName and dnsEntry, which the API returns on the association.

Deviations, for every operation here: a delete removes the association at once (it answers DELETE_IN_PROGRESS,
as AWS does, but there is no delay before it is gone); an association lives in the caller's account only, so the
owner of a service network shared from another account does not see associations other accounts made with it.
No I/O beyond the store transaction it is handed.
"""

from __future__ import annotations

from typing import Any

from latticework.control.backend._context import Ctx, pick
from latticework.control.backend._paging import page
from latticework.control.errors import ConflictException, FieldError, ValidationException
from latticework.control.store import Record

__all__ = [
    "create_service_network_service_association",
    "create_service_network_vpc_association",
    "delete_service_network_service_association",
    "delete_service_network_vpc_association",
    "get_service_network_service_association",
    "get_service_network_vpc_association",
    "list_service_network_service_associations",
    "list_service_network_vpc_associations",
    "list_service_network_vpc_endpoint_associations",
    "update_service_network_vpc_association",
]

_SNSA = "SERVICE_NETWORK_SERVICE_ASSOCIATION"
_SNVA = "SERVICE_NETWORK_VPC_ASSOCIATION"
_NETWORK_FIELDS = ("serviceNetworkArn", "serviceNetworkId", "serviceNetworkName")
_SERVICE_FIELDS = ("serviceArn", "serviceId", "serviceName")
# DnsOptions (API reference): the two *SPECIFIED* preferences take privateDnsSpecifiedDomains, the others do not
# and read back as ["*"] (as observed by the Terraform AWS provider, PR #45619).
_SPECIFIED_PREFERENCES = ("VERIFIED_DOMAINS_AND_SPECIFIED_DOMAINS", "SPECIFIED_DOMAINS_ONLY")


# -- service network <-> service --------------------------------------------------------------------------------


def create_service_network_service_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    network = ctx.resolve("servicenetwork", params["serviceNetworkIdentifier"])
    service = ctx.resolve("service", params["serviceIdentifier"])
    _refuse_second_association(ctx, network, service)
    _refuse_domain_clash(ctx, network, service)
    used = ctx.count("snsa", parent=network.id)
    ctx.check_quota("service_associations_per_service_network", used, _SNSA)
    doc = ctx.provisioning(
        {
            **_ends(ctx, network),
            "serviceArn": service.arn,
            "serviceId": service.id,
            "serviceName": service.doc["name"],
            "customDomainName": service.doc.get("customDomainName"),
            "dnsEntry": service.doc.get("dnsEntry"),
            "tags": params.get("tags") or {},
        }
    )
    record = ctx.tx.put(ctx.new_record("snsa", doc, parent=network.id, ref=service.id))
    return pick(record.doc, "arn", "createdBy", "customDomainName", "dnsEntry", "id", "status")


def get_service_network_service_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("snsa", params["serviceNetworkServiceAssociationIdentifier"])
    fields = ("arn", "createdAt", "createdBy", "customDomainName", "dnsEntry", "failureCode", "failureMessage", "id")
    return {**pick(record.doc, *fields, *_SERVICE_FIELDS, *_NETWORK_FIELDS), "status": ctx.status(record)}


def list_service_network_service_associations(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """API reference: "You must provide either the service network identifier or the service identifier"."""
    network_id = _id_of(ctx, "servicenetwork", params.get("serviceNetworkIdentifier"))
    service_id = _id_of(ctx, "service", params.get("serviceIdentifier"))
    if network_id is None and service_id is None:
        raise _one_of_required("serviceNetworkIdentifier", "serviceIdentifier")

    def item(record: Record) -> dict[str, Any]:
        fields = ("arn", "createdAt", "createdBy", "customDomainName", "dnsEntry", "id")
        return {**pick(record.doc, *fields, *_SERVICE_FIELDS, *_NETWORK_FIELDS), "status": ctx.status(record)}

    operation = "ListServiceNetworkServiceAssociations"
    return page(ctx, operation, params, "snsa", item, parent=network_id, ref=service_id)


def delete_service_network_service_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("snsa", params["serviceNetworkServiceAssociationIdentifier"])
    ctx.require_settled(record, _SNSA, "Association")
    ctx.tx.delete(record)
    return {**pick(record.doc, "arn", "id"), "status": "DELETE_IN_PROGRESS"}


def _refuse_second_association(ctx: Ctx, network: Record, service: Record) -> None:
    # API reference, CreateServiceNetworkServiceAssociation: not if already associated or a deletion is running.
    for existing in ctx.find("snsa", parent=network.id, ref=service.id):
        raise ConflictException(
            f"Service {service.id} is already associated with service network {network.id} "
            f"(association {existing.id}, {ctx.status(existing)}).",
            _SNSA,
            existing.id,
        )


def _refuse_domain_clash(ctx: Ctx, network: Record, service: Record) -> None:
    # User Guide "Custom domain names": a custom domain name is unique within a service network.
    domain = (service.doc.get("customDomainName") or "").lower()
    if not domain:
        return
    for existing in ctx.find("snsa", parent=network.id):
        if (existing.doc.get("customDomainName") or "").lower() == domain:
            raise ConflictException(
                f"Service network {network.id} already has service {existing.doc['serviceId']} with custom domain "
                f"name '{domain}'. Custom domain names must be unique within a service network.",
                _SNSA,
                existing.id,
            )


# -- service network <-> VPC ----------------------------------------------------------------------------------


def create_service_network_vpc_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Deviation: privateDnsEnabled defaults to false when omitted; the API reference names no default, and
    associations created without it read back false (aws-application-networking-k8s issue #995)."""
    network = ctx.resolve("servicenetwork", params["serviceNetworkIdentifier"])
    vpc = ctx.resolve("vpc", params["vpcIdentifier"])
    _refuse_second_network(ctx, vpc)
    used = ctx.count("snva", parent=network.id)
    ctx.check_quota("vpc_associations_per_service_network", used, _SNVA)
    enabled = bool(params.get("privateDnsEnabled", False))
    doc = ctx.provisioning(
        {
            **_ends(ctx, network),
            "vpcId": vpc.id,
            "securityGroupIds": params.get("securityGroupIds") or None,
            "privateDnsEnabled": enabled,
            "dnsOptions": _dns_options(enabled, params.get("dnsOptions")),
            "tags": params.get("tags") or {},
        }
    )
    record = ctx.tx.put(ctx.new_record("snva", doc, parent=network.id, ref=vpc.id))
    fields = ("arn", "createdBy", "dnsOptions", "id", "privateDnsEnabled", "securityGroupIds", "status")
    return pick(record.doc, *fields)


def get_service_network_vpc_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("snva", params["serviceNetworkVpcAssociationIdentifier"])
    fields = (
        "arn", "createdAt", "createdBy", "dnsOptions", "failureCode", "failureMessage", "id", "lastUpdatedAt",
        "privateDnsEnabled", "securityGroupIds", "vpcId",
    )  # fmt: skip
    return {**pick(record.doc, *fields, *_NETWORK_FIELDS), "status": ctx.status(record)}


def list_service_network_vpc_associations(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """API reference: "You must provide either the ID of the service network identifier or the ID of the VPC"."""
    network_id = _id_of(ctx, "servicenetwork", params.get("serviceNetworkIdentifier"))
    vpc_id = params.get("vpcIdentifier")
    if network_id is None and vpc_id is None:
        raise _one_of_required("serviceNetworkIdentifier", "vpcIdentifier")

    def item(record: Record) -> dict[str, Any]:
        fields = ("arn", "createdAt", "createdBy", "dnsOptions", "id", "lastUpdatedAt", "privateDnsEnabled", "vpcId")
        return {**pick(record.doc, *fields, *_NETWORK_FIELDS), "status": ctx.status(record)}

    return page(ctx, "ListServiceNetworkVpcAssociations", params, "snva", item, parent=network_id, ref=vpc_id)


def update_service_network_vpc_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Security groups can be replaced but, once there are some, not all removed (API reference); turning private
    DNS off drops the dnsOptions."""
    record = ctx.resolve("snva", params["serviceNetworkVpcAssociationIdentifier"])
    ctx.require_settled(record, _SNVA, "Association")
    doc = record.doc
    groups = params.get("securityGroupIds")
    if groups is not None:
        if not groups and doc.get("securityGroupIds"):
            raise ValidationException.field(
                "securityGroupIds",
                "An association with security groups must keep at least one. To remove them all, delete the "
                "association and create it again without security groups.",
            )
        doc["securityGroupIds"] = groups or None
    enabled = params.get("privateDnsEnabled", doc["privateDnsEnabled"])
    options = _dns_options(enabled, params["dnsOptions"]) if "dnsOptions" in params else doc.get("dnsOptions")
    doc.update(privateDnsEnabled=enabled, dnsOptions=options if enabled else None)
    doc.update(status="UPDATE_IN_PROGRESS", _settlesAt=ctx.now + ctx.settings.provisioning_seconds)
    ctx.touch(record)
    fields = ("arn", "createdBy", "dnsOptions", "id", "privateDnsEnabled", "securityGroupIds", "status")
    return pick(doc, *fields)


def delete_service_network_vpc_association(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("snva", params["serviceNetworkVpcAssociationIdentifier"])
    # API reference, DeleteServiceNetworkVpcAssociation: not while a create or update is in progress.
    ctx.require_settled(record, _SNVA, "Association")
    ctx.tx.delete(record)
    return {**pick(record.doc, "arn", "id"), "status": "DELETE_IN_PROGRESS"}


def list_service_network_vpc_endpoint_associations(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Always empty: VPC endpoints of type ServiceNetwork are created by EC2 CreateVpcEndpoint, which Latticework
    does not implement, so no service network has any. Like AWS (the model lists no ResourceNotFoundException
    here), an unknown service network is not an error."""
    if params.get("nextToken") is not None:
        raise ValidationException.field("nextToken", "The nextToken is not valid: it was not issued by this server.")
    return {"items": []}


def _refuse_second_network(ctx: Ctx, vpc: Record) -> None:
    # User Guide "Quotas": a VPC can be associated with one service network (more only through VPC endpoints).
    for existing in ctx.find("snva", ref=vpc.id):
        raise ConflictException(
            f"VPC {vpc.id} is already associated with service network {existing.parent} (association "
            f"{existing.id}). A VPC can be associated with one service network; use a VPC endpoint of type "
            "service network for more.",
            _SNVA,
            existing.id,
        )


def _dns_options(enabled: bool, options: dict[str, Any] | None) -> dict[str, Any] | None:
    if options is None:
        return None
    if not enabled:
        raise ValidationException.field(
            "dnsOptions", "dnsOptions apply only when privateDnsEnabled is true. Enable private DNS or omit them."
        )
    preference = options.get("privateDnsPreference")
    domains = options.get("privateDnsSpecifiedDomains")
    if preference is None:
        raise ValidationException.field("dnsOptions.privateDnsPreference", "dnsOptions needs a privateDnsPreference.")
    if preference in _SPECIFIED_PREFERENCES and not domains:
        raise ValidationException.field(
            "dnsOptions.privateDnsSpecifiedDomains", f"privateDnsPreference {preference} needs the domains to use."
        )
    if preference not in _SPECIFIED_PREFERENCES and domains:
        raise ValidationException.field(
            "dnsOptions.privateDnsSpecifiedDomains",
            f"privateDnsSpecifiedDomains apply only with {' or '.join(_SPECIFIED_PREFERENCES)}, not {preference}.",
        )
    return {"privateDnsPreference": preference, "privateDnsSpecifiedDomains": domains or ["*"]}


# -- shared ---------------------------------------------------------------------------------------------------


def _ends(ctx: Ctx, network: Record) -> dict[str, Any]:
    """What every association records of its service network, and who made it (createdBy = the account)."""
    return {
        "createdBy": ctx.caller.account,
        "serviceNetworkArn": network.arn,
        "serviceNetworkId": network.id,
        "serviceNetworkName": network.doc["name"],
    }


def _id_of(ctx: Ctx, kind: str, identifier: str | None) -> str | None:
    """The ID an ID-or-ARN filter names (an unknown one filters to nothing, as List operations do not 404)."""
    if identifier is None:
        return None
    record = ctx.lookup(kind, identifier)
    return record.id if record is not None else identifier.rsplit("/", 1)[-1]


def _one_of_required(*names: str) -> ValidationException:
    message = f"Give {' or '.join(names)} to say which associations to list."
    return ValidationException(message, fields=[FieldError(name, message) for name in names])
