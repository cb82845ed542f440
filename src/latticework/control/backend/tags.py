"""Tagging: TagResource, UntagResource and ListTagsForResource on the ARN of any Lattice resource (service
networks, services, listeners, rules, target groups, associations, access log subscriptions, resource gateways
and configurations, domain verifications), plus `check_tags`, the pure tag rules creates can share.

Tags live in each record's doc["tags"] (creates already put them there). Internal kinds (auth and resource
policies, targets, target group references) are not resources and have no taggable ARN.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from latticework.control.backend._context import Ctx
from latticework.control.backend._kinds import KINDS, parse_arn
from latticework.control.errors import ResourceNotFoundException, ValidationException
from latticework.control.store import Record

__all__ = ["list_tags_for_resource", "tag_resource", "untag_resource"]

# Lattice User Guide, "Tags for your VPC Lattice target group", Restrictions: "Maximum number of tags per
# resource—50" (the TagMap shape allows 200 entries per call, but a resource holds at most 50).
MAX_TAGS_PER_RESOURCE = 50
# Same page: "Do not use the aws: prefix in your tag names or values because it is reserved for AWS use. You
# can't edit or delete tag names or values with this prefix. Tags with this prefix do not count against your
# tags per resource limit."
RESERVED_PREFIX = "aws:"
# Same page: "letters, spaces, and numbers representable in UTF-8, plus the following special characters:
# + - = . _ : / @".
_SPECIAL_CHARACTERS = frozenset("+-=._:/@")

_BY_ARN_TYPE = {kind.arn_type: kind for kind in KINDS.values()}


def tag_resource(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Add or overwrite tags; a key already on the resource gets the new value."""
    record = _taggable(ctx, params["resourceArn"])
    existing = record.doc.get("tags") or {}
    check_tags(params["tags"], existing)
    record.doc["tags"] = {**existing, **params["tags"]}
    ctx.tx.put(record)
    return {}


def untag_resource(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Remove the named tags; keys the resource does not have are ignored."""
    record = _taggable(ctx, params["resourceArn"])
    keys = set(params["tagKeys"])
    _refuse_reserved(keys, "tagKeys")
    record.doc["tags"] = {k: v for k, v in (record.doc.get("tags") or {}).items() if k not in keys}
    ctx.tx.put(record)
    return {}


def list_tags_for_resource(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    record = _taggable(ctx, params["resourceArn"])
    return {"tags": dict(record.doc.get("tags") or {})}


def check_tags(new: Mapping[str, str], existing: Mapping[str, str] | None = None, field: str = "tags") -> None:
    """Raise ValidationException on `field` if `new` (added to `existing`) breaks the Lattice tag rules: a reserved
    `aws:` key, a character outside the allowed set, or more than 50 tags on the resource. Pure."""
    _refuse_reserved(new, field)
    for text in (*new.keys(), *new.values()):
        bad = sorted({c for c in text if not (c.isalnum() or c.isspace() or c in _SPECIAL_CHARACTERS)})
        if bad:
            raise ValidationException.field(
                field,
                f"Tag '{text}' has characters that are not allowed ({''.join(bad)}): use letters, numbers, spaces "
                "and + - = . _ : / @.",
            )
    existing = existing or {}
    keys = {k for k in (*existing, *new) if not _reserved(k)}
    if len(keys) > MAX_TAGS_PER_RESOURCE and set(new) - set(existing):
        raise ValidationException.field(
            field,
            f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags; this request would leave it with "
            f"{len(keys)}. Remove tags with UntagResource first.",
        )


def _refuse_reserved(keys: Iterable[str], field: str) -> None:
    reserved = sorted(k for k in keys if _reserved(k))
    if reserved:
        raise ValidationException.field(
            field,
            f"Tag keys starting with '{RESERVED_PREFIX}' are reserved for AWS use and cannot be set or removed: "
            f"{', '.join(reserved)}.",
        )


def _reserved(key: str) -> bool:
    return key.lower().startswith(RESERVED_PREFIX)


def _taggable(ctx: Ctx, arn: str) -> Record:
    """The resource an ARN names, if it is a Lattice resource of the caller's account and region.

    Deviation: an ARN of another account or region answers ResourceNotFoundException (AWS may answer
    AccessDeniedException for another account's resource)."""
    record = ctx.tx.get_by_arn(arn)
    if record is None or not _is_lattice_resource(record):
        raise ResourceNotFoundException(resource_type(arn), arn)
    if (record.account, record.region) != (ctx.caller.account, ctx.caller.region):
        raise ResourceNotFoundException(resource_type(arn), arn)
    return record


def _is_lattice_resource(record: Record) -> bool:
    # Internal kinds (policies, targets, references) have no ID prefix; VPCs are EC2's, not Lattice's.
    parsed = parse_arn(record.arn)
    return bool(KINDS[record.kind].prefix) and parsed is not None and parsed[0] == "vpc-lattice"


def resource_type(arn: str) -> str:
    """The error resourceType for an ARN: the type of its last `type/id` pair (`.../listener/listener-x` ->
    LISTENER). Pure."""
    parsed = parse_arn(arn)
    parts = parsed[3].split("/") if parsed else []
    arn_type = parts[-2] if len(parts) >= 2 else ""
    kind = _BY_ARN_TYPE.get(arn_type)
    return kind.resource_type if kind is not None else (arn_type.upper() or "RESOURCE")
