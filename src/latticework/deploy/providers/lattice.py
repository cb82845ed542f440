"""AWS::VpcLattice::* providers, one table row per type: which operations create, update and delete it, which
properties are the API's identifiers, and where Ref and GetAtt read from (CFN UG "AWS::VpcLattice" resource
type reference: Ref returns the ARN for every type except AuthPolicy/ResourcePolicy).

Calls the Lattice API through the `vpc-lattice` client; never touches the store.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from latticework.deploy.providers.base import Applied, Context, Provider, dig, to_api

__all__ = ["LATTICE_PROVIDERS"]


@dataclass(frozen=True, slots=True)
class Kind:
    """How one Lattice type maps to API operations (operation names in botocore's PascalCase)."""

    type_name: str
    create: str
    delete: str
    delete_key: str  # the delete operation's identifier parameter; it gets the resource's ARN
    update: str | None = None
    update_key: str = ""
    mutable: frozenset[str] = frozenset()
    # Properties the delete and update operations also need (API parameter -> CFN property).
    parents: Mapping[str, str] = field(default_factory=dict)
    attributes: Mapping[str, str] = field(default_factory=lambda: {"Arn": "arn", "Id": "id"})
    ignored: frozenset[str] = frozenset()


_SERVICE_ATTRS = {
    "Arn": "arn", "Id": "id", "Status": "status", "CreatedAt": "createdAt",
    "DnsEntry.DomainName": "dnsEntry.domainName", "DnsEntry.HostedZoneId": "dnsEntry.hostedZoneId",
}  # fmt: skip
_KINDS = (
    Kind("ServiceNetwork", "CreateServiceNetwork", "DeleteServiceNetwork", "serviceNetworkIdentifier",
         "UpdateServiceNetwork", "serviceNetworkIdentifier", frozenset({"AuthType", "Tags"}),
         attributes={"Arn": "arn", "Id": "id", "CreatedAt": "createdAt"}),
    Kind("Service", "CreateService", "DeleteService", "serviceIdentifier", "UpdateService", "serviceIdentifier",
         frozenset({"AuthType", "CertificateArn", "Tags"}), attributes=_SERVICE_ATTRS,
         ignored=frozenset({"DnsEntry"})),
    Kind("TargetGroup", "CreateTargetGroup", "DeleteTargetGroup", "targetGroupIdentifier",
         mutable=frozenset({"Targets", "Tags"}), attributes={"Arn": "arn", "Id": "id", "Status": "status"},
         ignored=frozenset({"Targets"})),
    Kind("Listener", "CreateListener", "DeleteListener", "listenerIdentifier", "UpdateListener",
         "listenerIdentifier", frozenset({"DefaultAction", "Tags"}), {"serviceIdentifier": "ServiceIdentifier"},
         {"Arn": "arn", "Id": "id", "ServiceArn": "serviceArn", "ServiceId": "serviceId"}),
    Kind("Rule", "CreateRule", "DeleteRule", "ruleIdentifier", "UpdateRule", "ruleIdentifier",
         frozenset({"Action", "Match", "Priority", "Tags"}),
         {"serviceIdentifier": "ServiceIdentifier", "listenerIdentifier": "ListenerIdentifier"}),
    Kind("ServiceNetworkServiceAssociation", "CreateServiceNetworkServiceAssociation",
         "DeleteServiceNetworkServiceAssociation", "serviceNetworkServiceAssociationIdentifier",
         attributes={"Arn": "arn", "Id": "id", "Status": "status", "DnsEntry.DomainName": "dnsEntry.domainName",
                     "DnsEntry.HostedZoneId": "dnsEntry.hostedZoneId"},
         ignored=frozenset({"DnsEntry"})),
    Kind("ServiceNetworkVpcAssociation", "CreateServiceNetworkVpcAssociation",
         "DeleteServiceNetworkVpcAssociation", "serviceNetworkVpcAssociationIdentifier",
         "UpdateServiceNetworkVpcAssociation", "serviceNetworkVpcAssociationIdentifier",
         frozenset({"SecurityGroupIds"}), attributes={"Arn": "arn", "Id": "id", "Status": "status"}),
    Kind("AccessLogSubscription", "CreateAccessLogSubscription", "DeleteAccessLogSubscription",
         "accessLogSubscriptionIdentifier", "UpdateAccessLogSubscription", "accessLogSubscriptionIdentifier",
         frozenset({"DestinationArn"}),
         attributes={"Arn": "arn", "Id": "id", "ResourceArn": "resourceArn", "ResourceId": "resourceId"}),
    Kind("ResourceGateway", "CreateResourceGateway", "DeleteResourceGateway", "resourceGatewayIdentifier",
         attributes={"Arn": "arn", "Id": "id", "Status": "status"}),
    Kind("ResourceConfiguration", "CreateResourceConfiguration", "DeleteResourceConfiguration",
         "resourceConfigurationIdentifier", attributes={"Arn": "arn", "Id": "id", "Status": "status"}),
    Kind("ServiceNetworkResourceAssociation", "CreateServiceNetworkResourceAssociation",
         "DeleteServiceNetworkResourceAssociation", "serviceNetworkResourceAssociationIdentifier"),
)  # fmt: skip


class LatticeProvider(Provider):
    """A Lattice type driven by its `Kind` row."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.type_name = f"AWS::VpcLattice::{kind.type_name}"  # type: ignore[misc]
        self.mutable = kind.mutable  # type: ignore[misc]

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("vpc-lattice")
        request = self._input(client, self.kind.create, props, logical_id)
        if "name" in client.meta.service_model.operation_model(self.kind.create).input_shape.required_members:
            request.setdefault("name", _generated_name(ctx, logical_id))
        response = _call(client, self.kind.create, request)
        applied = self._applied(response)
        if self.kind.type_name == "TargetGroup":
            _register(client, applied.physical_id, props.get("Targets", []), [])
        return applied

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        client = ctx.client("vpc-lattice")
        if self.kind.type_name == "TargetGroup":
            _register(client, current.physical_id, new.get("Targets", []), old.get("Targets", []))
            return current
        if self.kind.update is None:
            return current
        changed = {key: new[key] for key in self.mutable - {"Tags"} if key in new and new.get(key) != old.get(key)}
        if not changed:
            return current
        request = self._input(client, self.kind.update, {**self._parents(new), **changed}, logical_id)
        request[self.kind.update_key] = current.physical_id
        _call(client, self.kind.update, request)
        return current

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("vpc-lattice")
        request = {api: props[cfn] for api, cfn in self.kind.parents.items()}
        request[self.kind.delete_key] = current.physical_id
        if self.kind.type_name == "TargetGroup":
            _deregister_all(client, current.physical_id)
        try:
            _call(client, self.kind.delete, request)
        except client.exceptions.ResourceNotFoundException:
            return  # already gone: a delete is done when the resource does not exist

    def waiting_for(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> str | None:
        if self.kind.type_name != "TargetGroup" or props.get("Type") in ("LAMBDA", None):
            return None
        client = ctx.client("vpc-lattice")
        targets = client.list_targets(targetGroupIdentifier=current.physical_id).get("items", [])
        if props.get("Type") == "ALB":
            # Lattice runs no health checks for ALB groups (reference 2.7: the target stays UNAVAILABLE); the
            # ALB's own ELBv2 target groups are waited on by their provider.
            return None if targets else "no ALB registered"
        pending = [f"{t['id']}:{t.get('port', '')} {t.get('status')}" for t in targets if t.get("status") != "HEALTHY"]
        return f"targets not healthy yet: {', '.join(pending)}" if pending else None

    def _parents(self, props: Mapping[str, Any]) -> dict[str, Any]:
        return {cfn: props[cfn] for cfn in self.kind.parents.values() if cfn in props}

    def _input(self, client: Any, operation: str, props: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
        shape = client.meta.service_model.operation_model(operation).input_shape
        sendable = {key: value for key, value in props.items() if key not in self.kind.ignored}
        return dict(to_api(sendable, shape, f"Resources.{logical_id}.Properties"))

    def _applied(self, response: Mapping[str, Any]) -> Applied:
        attributes = {name: dig(response, path) for name, path in self.kind.attributes.items()}
        attributes = {name: _plain(value) for name, value in attributes.items() if value is not None}
        return Applied(str(response["arn"]), response["arn"], attributes)


class PolicyProvider(Provider):
    """AuthPolicy (PutAuthPolicy on a service or network) and ResourcePolicy (PutResourcePolicy)."""

    mutable = frozenset({"Policy"})

    def __init__(self, type_name: str, put: str, remove: str, key: str, prop: str) -> None:
        self.type_name = f"AWS::VpcLattice::{type_name}"  # type: ignore[misc]
        self._put, self._remove, self._key, self._prop = put, remove, key, prop

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("vpc-lattice")
        request = {self._key: props[self._prop], "policy": to_api(props["Policy"], _string_shape(), logical_id)}
        _call(client, self._put, request)
        return Applied(str(props[self._prop]), props[self._prop])

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        return self.create(ctx, logical_id, new)

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("vpc-lattice")
        try:
            _call(client, self._remove, {self._key: current.physical_id})
        except client.exceptions.ResourceNotFoundException:
            return


class _StringShape:
    type_name = "string"


def _string_shape() -> Any:
    return _StringShape()


def _generated_name(ctx: Context, logical_id: str) -> str:
    """CFN names what the template leaves unnamed; Lattice names are lowercase letters, digits and single
    hyphens, at most 40 characters (Lattice API "CreateService" name pattern)."""
    base = "".join(c if c.isalnum() else "-" for c in f"{ctx.stack_name}-{logical_id}".lower())
    base = "-".join(part for part in base.split("-") if part)[:28].strip("-")
    return f"{base}-{secrets.token_hex(4)}"


def _call(client: Any, operation: str, request: Mapping[str, Any]) -> Any:
    method = "".join(f"_{c.lower()}" if c.isupper() else c for c in operation).lstrip("_")
    return getattr(client, method)(**request)


def _register(client: Any, group: str, targets: list[Any], previous: list[Any]) -> None:
    wanted, had = [_target(t) for t in targets], [_target(t) for t in previous]
    gone = [t for t in had if t not in wanted]
    if gone:
        client.deregister_targets(targetGroupIdentifier=group, targets=gone)
    added = [t for t in wanted if t not in had]
    if added:
        client.register_targets(targetGroupIdentifier=group, targets=added)


def _target(target: Mapping[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": str(target["Id"])}
    if target.get("Port") is not None:
        entry["port"] = int(target["Port"])
    return entry


def _deregister_all(client: Any, group: str) -> None:
    try:
        items = client.list_targets(targetGroupIdentifier=group).get("items", [])
    except client.exceptions.ResourceNotFoundException:
        return
    targets = [{"id": t["id"], **({"port": t["port"]} if "port" in t else {})} for t in items]
    if targets:
        client.deregister_targets(targetGroupIdentifier=group, targets=targets)


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


LATTICE_PROVIDERS: tuple[Provider, ...] = (
    *(LatticeProvider(kind) for kind in _KINDS),
    PolicyProvider("AuthPolicy", "PutAuthPolicy", "DeleteAuthPolicy", "resourceIdentifier", "ResourceIdentifier"),
    PolicyProvider("ResourcePolicy", "PutResourcePolicy", "DeleteResourcePolicy", "resourceArn", "ResourceArn"),
)
