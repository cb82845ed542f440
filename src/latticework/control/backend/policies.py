"""Auth policies and resource policies: Put, Get and Delete for each, attached to a service network, service or
resource configuration, each checked by the policy engine before it is stored.

An auth policy is stored as kind "authpolicy", a resource policy as kind "resourcepolicy", each with id = parent
= the owner's id; deleting the owner deletes them (`delete_attachments`). An auth policy's `state` is never
stored: it is read from the owner's authType each time, so it follows UpdateService / UpdateServiceNetwork.
Both kinds are compiled by the policy engine (auth/policy.py) before they are stored, so one that could never
evaluate is refused; evaluating auth policies is the data plane's job.
"""

from __future__ import annotations

import json
from typing import Any

from latticework.auth.policy import PolicyError, PolicyKind, compile_policy
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

# -- auth policies ---------------------------------------------------------------------------------------------


def put_auth_policy(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    """Create or replace the auth policy.

    Deviation: the API reference says the policy "must not contain newlines or blank lines", yet the AWS CLI
    example (put-auth-policy) sends a pretty-printed file and gets the policy back minified. We accept any
    whitespace and store the minified document, as that example shows; the 10 KB quota is measured on it (IAM
    does not count white space towards policy size either).
    """
    owner = ctx.resolve_any(params["resourceIdentifier"], OWNER_KINDS)
    policy = minified(checked_document(params["policy"], "resource"))
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
    checked_document(params["policy"], "sharing")
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


def checked_document(text: str, kind: PolicyKind) -> Any:
    """The parsed policy, or a ValidationException on `policy` in the policy engine's words. Issue 4: a policy
    that could never evaluate (bad JSON, unknown element or operator, wrong action prefix, values an operator
    cannot read) is refused here instead of denying every request later."""
    try:
        compile_policy(text, kind)
    except PolicyError as exc:
        raise ValidationException.field("policy", f"The policy cannot be evaluated: {exc}") from None
    return json.loads(text)


def minified(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)
