"""What every operation works with: the caller's account and region, the clock reading, the open transaction,
and the small helpers operations share (resolve an ID-or-ARN, new records, quotas, status lifecycle, tags).

No I/O of its own: all reads and writes go through the store transaction it is handed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from latticework.config import Settings
from latticework.control.backend._kinds import KINDS, Kind, new_id, parse_arn
from latticework.control.errors import (
    ConflictException,
    ResourceNotFoundException,
    ServiceQuotaExceededException,
    ValidationException,
)
from latticework.control.store import Record, Transaction
from latticework.control.timestamps import iso8601

__all__ = ["Caller", "Ctx", "delete_attachments", "effective_status", "pick"]

_IN_PROGRESS_TO_SETTLED = {"CREATE_IN_PROGRESS": "ACTIVE", "UPDATE_IN_PROGRESS": "ACTIVE"}

# Quota codes as the Service Quotas console lists them for VPC Lattice (User Guide "Quotas" links).
# "Auth policy size" is not adjustable and has no console code; we name it after the quota.
_QUOTA_CODES = {
    "service_networks_per_region": "L-9CAD07FB",
    "services_per_region": "L-620C821E",
    "target_groups_per_region": "L-BB11C6B9",
    "target_groups_per_service": "L-3DEC3B9F",
    "listeners_per_service": "L-D64E952E",
    "rules_per_listener": "L-CF78395E",
    "targets_per_target_group": "L-D71303F3",
    "service_associations_per_service_network": "L-75D4A19E",
    "vpc_associations_per_service_network": "L-EF6E2D62",
    "resource_configurations_per_service_network": "L-6095700C",
    "resource_configurations_per_region": "L-5FF8F9B9",
    "child_resource_configurations_per_group": "L-9BC96FEF",
    "resource_gateways_per_vpc": "L-0DCA4434",
    "domain_verifications_per_region": "L-73D0F278",
    "auth_policy_bytes": "auth-policy-size",
}


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, from where: the account owning the resources, the region from the SigV4 scope, and the
    access key that signed the request (its account wins when the local credential registry knows it)."""

    account: str
    region: str
    access_key: str | None = None


def effective_status(doc: dict[str, Any], now: float) -> str | None:
    """The status a reader sees: an in-progress state settles once its `_settlesAt` time has passed."""
    status = doc.get("status")
    if status in _IN_PROGRESS_TO_SETTLED and now >= doc.get("_settlesAt", 0):
        return _IN_PROGRESS_TO_SETTLED[status]
    return status


@dataclass(slots=True)
class Ctx:
    tx: Transaction
    caller: Caller
    now: float
    settings: Settings
    secret: bytes

    @property
    def stamp(self) -> str:
        """`now` as the API shows timestamps; documents keep this text, so listing them formats nothing."""
        return iso8601(self.now)

    # -- naming ---------------------------------------------------------------------------------------------

    def arn(self, resource: str, service: str = "vpc-lattice") -> str:
        return f"arn:aws:{service}:{self.caller.region}:{self.caller.account}:{resource}"

    def new_record(
        self,
        kind_name: str,
        doc: dict[str, Any],
        *,
        name: str | None = None,
        parent: str | None = None,
        ref: str | None = None,
        arn_prefix: str | None = None,
        service: str = "vpc-lattice",
    ) -> Record:
        """A fresh record with an AWS-shaped ID and ARN (nested under `arn_prefix` for listeners and rules)."""
        kind = KINDS[kind_name]
        id = new_id(kind)
        arn = f"{arn_prefix}/{kind.arn_type}/{id}" if arn_prefix else self.arn(f"{kind.arn_type}/{id}", service)
        doc = {"id": id, "arn": arn, **doc, "createdAt": self.stamp, "lastUpdatedAt": self.stamp}
        if name is not None:
            doc["name"] = name
        return Record(kind.name, self.caller.account, self.caller.region, id, arn, doc, name, parent, ref)

    # -- lookups --------------------------------------------------------------------------------------------

    def resolve(self, kind_name: str, identifier: str) -> Record:
        """The record an ID or ARN names, in the caller's account and region (ARNs carry their own)."""
        record = self.lookup(kind_name, identifier)
        if record is None:
            raise ResourceNotFoundException(KINDS[kind_name].resource_type, identifier)
        return record

    def lookup(self, kind_name: str, identifier: str) -> Record | None:
        kind = KINDS[kind_name]
        if identifier.startswith("arn:"):
            record = self.tx.get_by_arn(identifier)
            return record if record is not None and record.kind == kind.name else None
        return self.tx.get(kind.name, self.caller.account, self.caller.region, identifier)

    def resolve_any(self, identifier: str, kind_names: tuple[str, ...]) -> Record:
        """A record that may be any of several kinds (auth policies, access logs, tags)."""
        for kind_name in kind_names:
            kind = KINDS[kind_name]
            if identifier.startswith(f"{kind.prefix}-") or _arn_names(identifier, kind):
                return self.resolve(kind_name, identifier)
        expected = ", ".join(KINDS[k].resource_type for k in kind_names)
        raise ValidationException.field("resourceIdentifier", f"'{identifier}' is not the ID or ARN of a {expected}.")

    def get_or_none(self, kind_name: str, id: str) -> Record | None:
        return self.tx.get(kind_name, self.caller.account, self.caller.region, id)

    def count(self, kind_name: str, *, parent: str | None = None, ref: str | None = None) -> int:
        return self.tx.count(kind_name, self.caller.account, self.caller.region, parent=parent, ref=ref)

    def find(self, kind_name: str, **columns: Any) -> list[Record]:
        return self.tx.find(kind_name, self.caller.account, self.caller.region, **columns)

    # -- rules every create shares --------------------------------------------------------------------------

    def require_unique_name(self, kind_name: str, name: str, *, parent: str | None = None) -> None:
        kind = KINDS[kind_name]
        if self.find(kind_name, name=name, parent=parent):
            raise ConflictException(
                f"A {kind.resource_type.replace('_', ' ').lower()} named '{name}' already exists. "
                "Names are unique; choose another name.",
                kind.resource_type,
                name,
            )

    def check_quota(self, quota: str, used: int, resource_type: str, resource_id: str | None = None) -> None:
        """Raise ServiceQuotaExceededException when one more would pass the quota."""
        limit = self.settings.quotas[quota]
        if used >= limit:
            raise ServiceQuotaExceededException(
                f"Quota exceeded: {quota.replace('_', ' ')} is {limit}. "
                "Delete unused resources or raise the quota (latticework server --quota NAME=VALUE).",
                resource_type,
                _QUOTA_CODES[quota],
                resource_id,
            )

    def provisioning(self, doc: dict[str, Any]) -> dict[str, Any]:
        """Mark a new resource CREATE_IN_PROGRESS; it reads as ACTIVE after the provisioning delay."""
        doc["status"] = "CREATE_IN_PROGRESS"
        doc["_settlesAt"] = self.now + self.settings.provisioning_seconds
        return doc

    def status(self, record: Record) -> str | None:
        return effective_status(record.doc, self.now)

    def require_settled(self, record: Record, resource_type: str, label: str) -> None:
        """ConflictException while a create or update of the record is in progress: AWS refuses to delete (or
        change again) a resource that is still being provisioned."""
        status = self.status(record)
        if status in ("CREATE_IN_PROGRESS", "UPDATE_IN_PROGRESS"):
            raise ConflictException(
                f"{label} {record.id} is {status}; retry once it is ACTIVE.", resource_type, record.id
            )

    def touch(self, record: Record) -> Record:
        record.doc["lastUpdatedAt"] = self.stamp
        return self.tx.put(record)


def _arn_names(identifier: str, kind: Kind) -> bool:
    parsed = parse_arn(identifier)
    return parsed is not None and parsed[3].split("/")[0] == kind.arn_type


def pick(doc: dict[str, Any], *fields: str) -> dict[str, Any]:
    """The named fields of a document that are set (responses carry no unset optional members)."""
    return {f: doc[f] for f in fields if doc.get(f) is not None}


def delete_attachments(ctx: Ctx, owner: Record) -> None:
    """What AWS deletes with a service network, service or resource configuration: its auth policy, resource
    policy and access log subscriptions."""
    for kind in ("authpolicy", "resourcepolicy"):
        attached = ctx.get_or_none(kind, owner.id)
        if attached is not None:
            ctx.tx.delete(attached)
    for subscription in ctx.find("accesslogsubscription", parent=owner.id):
        ctx.tx.delete(subscription)
