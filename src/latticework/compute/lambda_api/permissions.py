"""Lambda operations on a function's resource policy and reserved concurrency: AddPermission,
RemovePermission, GetPolicy, PutFunctionConcurrency, GetFunctionConcurrency, DeleteFunctionConcurrency.

The policy is recorded as Lambda renders it (so GetPolicy shows what AWS would); a statement for
`vpc-lattice.amazonaws.com` is what lets a LAMBDA target group invoke the function in strict mode.
Reads and writes only through the transaction.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from latticework.compute.functions.concurrency import ACCOUNT_LIMIT, MIN_UNRESERVED
from latticework.compute.functions.model import FUNCTION_KIND
from latticework.compute.lambda_api._context import LambdaCtx
from latticework.compute.lambda_api.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
    ResourceNotFoundException,
)

__all__ = [
    "add_permission",
    "delete_function_concurrency",
    "get_function_concurrency",
    "get_policy",
    "lattice_may_invoke",
    "put_function_concurrency",
    "remove_permission",
]


def add_permission(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.function(params["FunctionName"], params.get("Qualifier"))
    _check_revision(record.doc, params.get("RevisionId"))
    statements: list[dict[str, Any]] = record.doc.setdefault("_policy", [])
    if any(s["Sid"] == params["StatementId"] for s in statements):
        raise ResourceConflictException(
            "The statement id (sid) provided already exists. Please specify a different statement id, or remove "
            "the existing statement."
        )
    statement = _statement(record.doc["FunctionArn"], params)
    statements.append(statement)
    record.doc["_policyRevision"] = str(uuid.uuid4())
    ctx.tx.put(record)
    return {"Statement": json.dumps(statement, separators=(",", ":"))}


def remove_permission(ctx: LambdaCtx, params: dict[str, Any]) -> None:
    record = ctx.function(params["FunctionName"], params.get("Qualifier"))
    _check_revision(record.doc, params.get("RevisionId"))
    statements = record.doc.get("_policy") or []
    kept = [s for s in statements if s["Sid"] != params["StatementId"]]
    if len(kept) == len(statements):
        raise ResourceNotFoundException(f"Statement {params['StatementId']} is not found in resource policy.")
    record.doc["_policy"] = kept
    record.doc["_policyRevision"] = str(uuid.uuid4())
    ctx.tx.put(record)


def get_policy(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    doc = ctx.function(params["FunctionName"], params.get("Qualifier")).doc
    if not doc.get("_policy"):
        raise ResourceNotFoundException("The resource you requested does not exist.")
    policy = {"Version": "2012-10-17", "Id": "default", "Statement": doc["_policy"]}
    return {"Policy": json.dumps(policy, separators=(",", ":")), "RevisionId": doc.get("_policyRevision")}


def lattice_may_invoke(doc: dict[str, Any], target_group_arn: str) -> bool:
    """Whether the policy lets VPC Lattice invoke the function for this target group (Lattice UG "Lambda
    functions as targets": principal vpc-lattice.amazonaws.com, source ARN the target group)."""
    for statement in doc.get("_policy") or []:
        if statement["Principal"].get("Service") != "vpc-lattice.amazonaws.com":
            continue
        source = (statement.get("Condition") or {}).get("ArnLike", {}).get("AWS:SourceArn")
        if source in (None, target_group_arn):
            return True
    return False


def put_function_concurrency(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.function(params["FunctionName"])
    wanted = params["ReservedConcurrentExecutions"]
    others = sum(
        r.doc.get("_reserved") or 0
        for r in ctx.tx.find(FUNCTION_KIND, ctx.caller.account, ctx.caller.region)
        if r.id != record.id
    )
    if ACCOUNT_LIMIT - others - wanted < MIN_UNRESERVED:
        # The message Lambda answers when a reservation would leave less than 100 unreserved.
        raise InvalidParameterValueException(
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{MIN_UNRESERVED}]."
        )
    record.doc["_reserved"] = wanted
    ctx.tx.put(record)
    return {"ReservedConcurrentExecutions": wanted}


def get_function_concurrency(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    reserved = ctx.function(params["FunctionName"]).doc.get("_reserved")
    return {} if reserved is None else {"ReservedConcurrentExecutions": reserved}


def delete_function_concurrency(ctx: LambdaCtx, params: dict[str, Any]) -> None:
    record = ctx.function(params["FunctionName"])
    record.doc.pop("_reserved", None)
    ctx.tx.put(record)


def _statement(function_arn: str, params: dict[str, Any]) -> dict[str, Any]:
    principal = params["Principal"]
    rendered = {"Service": principal} if principal.endswith(".amazonaws.com") else {"AWS": _account_root(principal)}
    statement: dict[str, Any] = {
        "Sid": params["StatementId"],
        "Effect": "Allow",
        "Principal": rendered,
        "Action": params["Action"],
        "Resource": function_arn,
    }
    condition: dict[str, Any] = {}
    if params.get("SourceAccount"):
        condition["StringEquals"] = {"AWS:SourceAccount": params["SourceAccount"]}
    if params.get("SourceArn"):
        condition["ArnLike"] = {"AWS:SourceArn": params["SourceArn"]}
    if params.get("PrincipalOrgID"):
        condition.setdefault("StringEquals", {})["aws:PrincipalOrgID"] = params["PrincipalOrgID"]
    if condition:
        statement["Condition"] = condition
    return statement


def _account_root(principal: str) -> str:
    return f"arn:aws:iam::{principal}:root" if principal.isdigit() else principal


def _check_revision(doc: dict[str, Any], revision: str | None) -> None:
    if revision is not None and revision != doc.get("_policyRevision"):
        raise PreconditionFailedException(
            "The Revision Id provided does not match the latest Revision Id. Call the GetPolicy API to retrieve "
            "the latest Revision Id"
        )
