"""Auth policies and resource policies: Put, Get and Delete for each, attached to a service network, service or
resource configuration, plus the pure check that a policy text is an IAM policy document.

An auth policy is stored as kind "authpolicy", a resource policy as kind "resourcepolicy", each with id = parent
= the owner's id; deleting the owner deletes them (`delete_attachments`). An auth policy's `state` is never
stored: it is read from the owner's authType each time, so it follows UpdateService / UpdateServiceNetwork.
Auth policies are compiled by the policy engine before they are stored, so one that could never evaluate is
refused; evaluating them is the data plane's job. Resource policies (sharing) are shape-checked only.
"""

from __future__ import annotations

import json
from typing import Any

from latticework.auth.policy import PolicyError, compile_policy
from latticework.control.backend._context import Ctx, pick
from latticework.control.errors import ValidationException
from latticework.control.store import Record

__all__ = [
    "delete_auth_policy",
    "delete_resource_policy",
    "get_auth_policy",
    "get_resource_policy",
    "put_auth_policy",
    "put_resource_policy",
]

OWNER_KINDS = ("servicenetwork", "service", "resourceconfiguration")

# IAM JSON policy reference, "Policy grammar": the elements of a document and of a statement.
_VERSIONS = ("2012-10-17", "2008-10-17")
_DOCUMENT_ELEMENTS = ("Version", "Id", "Statement")
_STATEMENT_ELEMENTS = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)
_EXCLUSIVE_PAIRS = (("Principal", "NotPrincipal"), ("Action", "NotAction"), ("Resource", "NotResource"))


# -- auth policies ---------------------------------------------------------------------------------------------


def put_auth_policy(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Create or replace the auth policy.

    Deviation: the API reference says the policy "must not contain newlines or blank lines", yet the AWS CLI
    example (put-auth-policy) sends a pretty-printed file and gets the policy back minified. We accept any
    whitespace and store the minified document, as that example shows; the 10 KB quota is measured on it (IAM
    does not count white space towards policy size either).
    """
    owner = ctx.resolve_any(params["resourceIdentifier"], OWNER_KINDS)
    policy = minified(checked_document(params["policy"]))
    try:
        # Issue 4: a policy that could never evaluate (unknown operator, wrong action prefix, unparsable
        # values) is refused here, with the engine's own words, instead of denying every request later.
        compile_policy(policy, "resource")
    except PolicyError as exc:
        raise ValidationException.field("policy", f"The auth policy cannot be evaluated: {exc}") from None
    # check_quota asks whether one more unit would pass the quota: `size` bytes are `size - 1` plus one.
    ctx.check_quota("auth_policy_bytes", len(policy.encode()) - 1, "AUTH_POLICY", owner.id)
    record = _put_attached(ctx, "authpolicy", owner, policy)
    return {"policy": record.doc["policy"], "state": _state(owner)}


def get_auth_policy(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """The auth policy with its state and timestamps.

    With no policy attached the answer is 200 with an empty body (no policy, no state): AWS's own CloudFormation
    handler for AWS::VpcLattice::AuthPolicy treats a GetAuthPolicy response whose policy and state are both
    null as "not found" (aws-cloudformation-resource-providers-vpc-lattice, authpolicy ReadHandler), and keeps
    ResourceNotFoundException for an owner that does not exist.
    """
    owner = ctx.resolve_any(params["resourceIdentifier"], OWNER_KINDS)
    record = _attached(ctx, "authpolicy", owner)
    if record is None:
        return {}
    return {**pick(record.doc, "policy", "createdAt", "lastUpdatedAt"), "state": _state(owner)}


def delete_auth_policy(ctx: Ctx, params: dict[str, Any]) -> None:
    """Delete the auth policy (204). The model marks DeleteAuthPolicy idempotent, so deleting a policy that is
    not there succeeds too. API reference, DeleteAuthPolicy: with authType AWS_IAM and no policy, all requests
    are denied; that is the data plane's rule, nothing is refused here."""
    owner = ctx.resolve_any(params["resourceIdentifier"], OWNER_KINDS)
    _delete_attached(ctx, "authpolicy", owner)


def _state(owner: Record) -> str:
    # API reference, GetAuthPolicy `state`: "The auth policy is only active when the auth type is set to
    # AWS_IAM ... If the auth type is NONE, then any auth policy that you provide remains inactive."
    return "Active" if owner.doc.get("authType") == "AWS_IAM" else "Inactive"


# -- resource policies ----------------------------------------------------------------------------------------


def put_resource_policy(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Attach the resource-based (RAM sharing) policy. The model bounds it to 1..10000 characters; the text must
    also be an IAM policy document. Stored as given: no AWS example shows it normalised."""
    owner = ctx.resolve_any(params["resourceArn"], OWNER_KINDS)
    checked_document(params["policy"])
    _put_attached(ctx, "resourcepolicy", owner, params["policy"])
    return {}


def get_resource_policy(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """The resource policy; 200 with an empty body when none is attached (AWS's CloudFormation handler for
    AWS::VpcLattice::ResourcePolicy reads an empty policy as "not found", as for auth policies)."""
    owner = ctx.resolve_any(params["resourceArn"], OWNER_KINDS)
    record = _attached(ctx, "resourcepolicy", owner)
    return {} if record is None else pick(record.doc, "policy")


def delete_resource_policy(ctx: Ctx, params: dict[str, Any]) -> None:
    """Delete the resource policy (204); idempotent like DeleteAuthPolicy, as the model marks it."""
    owner = ctx.resolve_any(params["resourceArn"], OWNER_KINDS)
    _delete_attached(ctx, "resourcepolicy", owner)


# -- shared ---------------------------------------------------------------------------------------------------


def _attached(ctx: Ctx, kind: str, owner: Record) -> Record | None:
    # Keyed by the owner's account and region: an owner named by ARN may live in another account.
    return ctx.tx.get(kind, owner.account, owner.region, owner.id)


def _put_attached(ctx: Ctx, kind: str, owner: Record, policy: str) -> Record:
    record = _attached(ctx, kind, owner)
    if record is None:
        # The owner's ARN plus a suffix: unique, so get_by_arn(owner ARN) can never return the policy instead.
        doc = {"policy": policy, "createdAt": ctx.stamp, "lastUpdatedAt": ctx.stamp}
        record = Record(kind, owner.account, owner.region, owner.id, f"{owner.arn}/{kind}", doc, None, owner.id)
        return ctx.tx.put(record)
    record.doc["policy"] = policy
    return ctx.touch(record)


def _delete_attached(ctx: Ctx, kind: str, owner: Record) -> None:
    record = _attached(ctx, kind, owner)
    if record is not None:
        ctx.tx.delete(record)


def checked_document(text: str) -> Any:
    """The parsed policy, or a ValidationException on `policy` saying what is wrong with it."""
    try:
        document = json.loads(text)
    except ValueError as exc:
        message = f"The policy is not valid JSON: {exc}."
        raise ValidationException.field("policy", message) from None
    problem = document_problem(document)
    if problem is not None:
        raise ValidationException.field("policy", problem)
    return document


def minified(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def document_problem(document: Any) -> str | None:
    """What keeps a parsed JSON value from being an IAM policy document (IAM JSON policy reference, "Policy
    grammar"), or None. Pure."""
    if not isinstance(document, dict):
        return f"The policy must be a JSON object (an IAM policy document), not {_json_type(document)}."
    unknown = [key for key in document if key not in _DOCUMENT_ELEMENTS]
    if unknown:
        return f"The policy has an unknown element '{unknown[0]}'; a policy document has Version, Id and Statement."
    if "Version" in document and document["Version"] not in _VERSIONS:
        return f"The policy Version must be one of {', '.join(_VERSIONS)}; got {json.dumps(document['Version'])}."
    if "Statement" not in document:
        return "The policy has no Statement; add a Statement with at least one statement."
    statements = document["Statement"]
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list) or not statements:
        return "The policy Statement must be a statement object or a non-empty list of statement objects."
    for index, statement in enumerate(statements):
        problem = _statement_problem(statement, f"Statement[{index}]")
        if problem is not None:
            return problem
    return None


def _statement_problem(statement: Any, where: str) -> str | None:
    if not isinstance(statement, dict):
        return f"{where} must be a JSON object, not {_json_type(statement)}."
    unknown = [key for key in statement if key not in _STATEMENT_ELEMENTS]
    if unknown:
        return f"{where} has an unknown element '{unknown[0]}'; allowed are {', '.join(_STATEMENT_ELEMENTS)}."
    if statement.get("Effect") not in ("Allow", "Deny"):
        return f'{where}.Effect must be "Allow" or "Deny".'
    for first, second in _EXCLUSIVE_PAIRS:
        if first in statement and second in statement:
            return f"{where} has both {first} and {second}; use one of them."
    for first, second in _EXCLUSIVE_PAIRS[:2]:
        if first not in statement and second not in statement:
            return f"{where} needs {first} (or {second})."
    return _element_types_problem(statement, where)


def _element_types_problem(statement: dict[str, Any], where: str) -> str | None:
    for element in ("Action", "NotAction", "Resource", "NotResource"):
        if element in statement and not _strings(statement[element]):
            return f"{where}.{element} must be a string or a non-empty list of strings."
    for element in ("Principal", "NotPrincipal"):
        value = statement.get(element)
        if element in statement and value != "*" and not _principal_map(value):
            return f'{where}.{element} must be "*" or an object such as {{"AWS": ["arn:aws:iam::..."]}}.'
    condition = statement.get("Condition")
    if "Condition" in statement and not (
        isinstance(condition, dict) and all(isinstance(v, dict) for v in condition.values())
    ):
        return f'{where}.Condition must map operators to objects of condition keys, e.g. {{"StringEquals": {{...}}}}.'
    if "Sid" in statement and not isinstance(statement["Sid"], str):
        return f"{where}.Sid must be a string."
    return None


def _strings(value: Any) -> bool:
    if isinstance(value, str):
        return True
    return isinstance(value, list) and bool(value) and all(isinstance(v, str) for v in value)


def _principal_map(value: Any) -> bool:
    return isinstance(value, dict) and bool(value) and all(_strings(v) for v in value.values())


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", int: "a number", float: "a number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)
