"""Domain verification operations (StartDomainVerification, Get, List, Delete) and the pure domain-name rules
the resource configuration operations share (`domain_problem`, `within`).

A verification is a DNS TXT challenge: Lattice hands out `txtMethodConfig {name, value}` and checks public DNS
for the record (User Guide, "Create and verify a domain"). Latticework cannot see the public DNS of the
caller's zone, so it never verifies: every verification stays PENDING, `lastVerifiedTime` is never set, and
nothing ever moves to VERIFIED or VERIFICATION_TIMED_OUT. Resource configurations may still name a pending
verification, as they may on AWS. No I/O here beyond the store transaction.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from latticework.control.backend._context import Ctx, pick
from latticework.control.backend._paging import page
from latticework.control.backend.tags import check_tags
from latticework.control.errors import ConflictException, ValidationException
from latticework.control.store import Record

__all__ = [
    "delete_domain_verification",
    "get_domain_verification",
    "list_domain_verifications",
    "start_domain_verification",
]

PENDING = "PENDING"
# User Guide "Create and verify a domain": the TXT record is `{"name": "_11111aaaaaaaaa", "value":
# "vpc-lattice:1111aaaaaaa"}`, a record name under the domain and a `vpc-lattice:` value.
TXT_VALUE_PREFIX = "vpc-lattice:"
# RFC 1035 2.3.4: labels of at most 63 octets; letters, digits and hyphens, no hyphen at either end.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_FIELDS = ("arn", "createdAt", "domainName", "id", "lastVerifiedTime", "status", "tags", "txtMethodConfig")


def start_domain_verification(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Deviation: the verification stays PENDING for good (see the module docstring). Starting a second
    verification of a domain that already has one is a ConflictException (the API lists Conflict for it)."""
    domain = params["domainName"]
    _require_domain("domainName", domain)
    tags = params.get("tags") or {}
    check_tags(tags)
    _require_new_domain(ctx, domain)
    ctx.check_quota("domain_verifications_per_region", ctx.count("domainverification"), "DOMAIN_VERIFICATION")
    challenge = {"name": f"_{secrets.token_hex(7)}", "value": TXT_VALUE_PREFIX + secrets.token_hex(16)}
    doc = {"domainName": domain, "status": PENDING, "txtMethodConfig": challenge, "tags": tags}
    record = ctx.tx.put(ctx.new_record("domainverification", doc))
    return pick(record.doc, "arn", "domainName", "id", "status", "txtMethodConfig")


def get_domain_verification(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.resolve("domainverification", params["domainVerificationIdentifier"])
    return pick(record.doc, *_FIELDS)


def list_domain_verifications(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return page(ctx, "ListDomainVerifications", params, "domainverification", lambda r: pick(r.doc, *_FIELDS))


def delete_domain_verification(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """The API lists no ConflictException here: a verification named by resource configurations can be deleted;
    they keep its ID and no longer report a verification status."""
    record = ctx.resolve("domainverification", params["domainVerificationIdentifier"])
    ctx.tx.delete(record)
    return {}


# -- shared with resource configurations --------------------------------------------------------------------


def domain_problem(domain: str) -> str | None:
    """Why `domain` is not a fully qualified domain name, or None (at least two labels, RFC 1035 labels)."""
    labels = domain.split(".")
    if len(labels) < 2:
        return f"'{domain}' is not a fully qualified domain name: it needs at least two labels, e.g. example.com."
    for label in labels:
        if not _LABEL.fullmatch(label):
            return (
                f"'{domain}' is not a valid domain name: the label '{label}' must be 1-63 letters, digits or "
                "hyphens, and must not start or end with a hyphen."
            )
    return None


def within(domain: str, parent: str) -> bool:
    """`domain` is `parent` or one of its subdomains (DNS names compare case-insensitively)."""
    domain, parent = _canonical(domain), _canonical(parent)
    return domain == parent or domain.endswith("." + parent)


def verification_status(ctx: Ctx, verification_id: str | None) -> str | None:
    """The status of the named verification, None if there is none (or it was deleted)."""
    if verification_id is None:
        return None
    record = ctx.get_or_none("domainverification", verification_id)
    return None if record is None else str(record.doc["status"])


def _require_domain(field: str, domain: str) -> None:
    problem = domain_problem(domain)
    if problem is not None:
        raise ValidationException.field(field, problem)


def _require_new_domain(ctx: Ctx, domain: str) -> None:
    existing = _for_domain(ctx, domain)
    if existing is not None:
        raise ConflictException(
            f"The domain '{domain}' already has domain verification {existing.id}. Use it, or delete it before "
            "starting a new one.",
            "DOMAIN_VERIFICATION",
            existing.id,
        )


def _for_domain(ctx: Ctx, domain: str) -> Record | None:
    # At most a handful per region (quota: 5), so a scan is cheap.
    wanted = _canonical(domain)
    return next((r for r in ctx.find("domainverification") if _canonical(r.doc["domainName"]) == wanted), None)


def _canonical(domain: str) -> str:
    return domain.lower().rstrip(".")
