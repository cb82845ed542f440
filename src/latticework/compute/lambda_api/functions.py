"""Lambda operations on functions: CreateFunction, GetFunction, GetFunctionConfiguration, ListFunctions,
UpdateFunctionCode, UpdateFunctionConfiguration, DeleteFunction. One function per operation, named after it.

Deviations from AWS: only $LATEST exists (no versions, aliases or layers); code comes from `Code.ZipFile` or
from a path on the server (`S3Bucket` `local`, `S3Key` an absolute directory or zip path); changes apply at
once (State Active, LastUpdateStatus Successful, never Pending). Reads and writes only through the transaction;
code is unpacked into the state dir by `code.py`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

from latticework.compute.functions import code
from latticework.compute.functions.environment import RESERVED_VARIABLES
from latticework.compute.functions.model import FUNCTION_KIND, RuntimeUnavailable
from latticework.compute.functions.runtimes import interpreter_for
from latticework.compute.lambda_api._context import LambdaCtx, last_modified
from latticework.compute.lambda_api.errors import (
    InvalidParameterValueException,
    PreconditionFailedException,
    ResourceConflictException,
)
from latticework.control.store import Record

__all__ = [
    "create_function",
    "delete_function",
    "get_function",
    "get_function_configuration",
    "list_functions",
    "update_function_code",
    "update_function_configuration",
]

_CONFIG_FIELDS = ("Role", "Handler", "Description", "Timeout", "MemorySize", "Environment", "Runtime")
_MAX_TIMEOUT = 900  # Lambda DG "Configure Lambda function timeout": at most 900 seconds


def create_function(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    name = ctx.ref(params["FunctionName"]).name
    if ctx.tx.get(FUNCTION_KIND, ctx.caller.account, ctx.caller.region, name) is not None:
        raise ResourceConflictException(f"Function already exist: {name}")
    if params.get("PackageType", "Zip") != "Zip":
        raise InvalidParameterValueException("Latticework runs Zip packages only; container images are not supported.")
    for required in ("Runtime", "Handler"):
        if not params.get(required):
            raise InvalidParameterValueException(f"{required} is required when the package type is Zip.")
    doc = {
        "FunctionName": name,
        "FunctionArn": ctx.arn(name),
        "Timeout": 3,  # Lambda's defaults
        "MemorySize": 128,
        "Version": "$LATEST",
        "PackageType": "Zip",
        "TracingConfig": {"Mode": "PassThrough"},
        "Architectures": params.get("Architectures") or ["x86_64"],
        "EphemeralStorage": params.get("EphemeralStorage") or {"Size": 512},
        "LoggingConfig": {"LogFormat": "Text", "LogGroup": f"/aws/lambda/{name}"},
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "_tags": params.get("Tags") or {},
    }
    _apply_configuration(doc, params)
    _apply_code(ctx, doc, params["Code"])
    ctx.tx.put(Record(FUNCTION_KIND, ctx.caller.account, ctx.caller.region, name, ctx.arn(name), doc, name))
    return configuration(doc)


def get_function(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    doc = ctx.function(params["FunctionName"], params.get("Qualifier")).doc
    result: dict[str, Any] = {
        "Configuration": configuration(doc),
        # No S3 here: the location is the unpacked code on the server.
        "Code": {"RepositoryType": "S3", "Location": f"file://{doc['_codeDir']}"},
    }
    if doc.get("_tags"):
        result["Tags"] = doc["_tags"]
    if doc.get("_reserved") is not None:
        result["Concurrency"] = {"ReservedConcurrentExecutions": doc["_reserved"]}
    return result


def get_function_configuration(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    return configuration(ctx.function(params["FunctionName"], params.get("Qualifier")).doc)


def list_functions(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    limit = params.get("MaxItems") or 50
    after = _marker(params.get("Marker"))
    records = ctx.tx.find(FUNCTION_KIND, ctx.caller.account, ctx.caller.region, after=after, limit=limit + 1)
    result: dict[str, Any] = {"Functions": [configuration(r.doc) for r in records[:limit]]}
    if len(records) > limit:
        result["NextMarker"] = str(records[limit - 1].seq)
    return result


def update_function_code(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.function(params["FunctionName"])
    _check_revision(record.doc, params.get("RevisionId"))
    source = {k: params[k] for k in ("ZipFile", "S3Bucket", "S3Key", "ImageUri") if params.get(k) is not None}
    if params.get("DryRun"):
        return configuration(record.doc)
    _apply_code(ctx, record.doc, source)
    ctx.tx.put(record)
    return configuration(record.doc)


def update_function_configuration(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.function(params["FunctionName"])
    _check_revision(record.doc, params.get("RevisionId"))
    _apply_configuration(record.doc, params)
    _touch(ctx, record.doc)
    ctx.tx.put(record)
    return configuration(record.doc)


def delete_function(ctx: LambdaCtx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.function(params["FunctionName"], params.get("Qualifier"))
    ctx.tx.delete(record)
    # Warm workers of the function are retired on their next use (the definition is gone); the code directory
    # goes now, as a deleted function's package does on AWS.
    code.remove_function_code(ctx.state_dir, record.id)
    return {"StatusCode": 204}


def configuration(doc: dict[str, Any]) -> dict[str, Any]:
    """The FunctionConfiguration members of a stored document (private `_` keys dropped)."""
    return {k: v for k, v in doc.items() if not k.startswith("_")}


def _apply_configuration(doc: dict[str, Any], params: dict[str, Any]) -> None:
    for field in _CONFIG_FIELDS:
        if params.get(field) is not None:
            doc[field] = params[field]
    if not 1 <= doc["Timeout"] <= _MAX_TIMEOUT:
        raise InvalidParameterValueException(f"Timeout must be between 1 and {_MAX_TIMEOUT} seconds.")
    _check_variables((doc.get("Environment") or {}).get("Variables") or {})
    try:
        interpreter_for(doc["Runtime"])
    except RuntimeUnavailable as exc:
        raise InvalidParameterValueException(str(exc)) from None
    doc["RevisionId"] = str(uuid.uuid4())


def _check_variables(variables: dict[str, str]) -> None:
    reserved = sorted(set(variables) & RESERVED_VARIABLES)
    if reserved:
        # The message Lambda answers (Lambda DG "Defining Lambda function environment variables").
        raise InvalidParameterValueException(
            "Lambda was unable to configure your environment variables because the environment variables you "
            "have provided contains reserved keys that are currently not supported for modification. "
            f"Reserved keys used in this request: {','.join(reserved)}"
        )


def _apply_code(ctx: LambdaCtx, doc: dict[str, Any], source: dict[str, Any]) -> None:
    package = _package(source)
    try:
        directory = code.unpack(ctx.state_dir, doc["FunctionName"], package)
    except code.BadPackage as exc:
        raise InvalidParameterValueException(str(exc)) from None
    doc["CodeSha256"] = code.code_sha256(package)
    doc["CodeSize"] = len(package)
    doc["_codeDir"] = str(directory)
    doc["RevisionId"] = str(uuid.uuid4())
    _touch(ctx, doc)


def _package(source: dict[str, Any]) -> bytes:
    if source.get("ZipFile") is not None:
        return _zip_bytes(source["ZipFile"])
    if source.get("S3Bucket") == code.LOCAL_BUCKET and source.get("S3Key"):
        try:
            return code.read_local(source["S3Key"])
        except code.BadPackage as exc:
            raise InvalidParameterValueException(str(exc)) from None
    raise InvalidParameterValueException(
        "Latticework has no S3 or image registry: pass Code.ZipFile, or Code.S3Bucket 'local' with Code.S3Key "
        "an absolute path (directory or .zip) on the server."
    )


def _zip_bytes(value: str | bytes) -> bytes:
    if isinstance(value, bytes):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidParameterValueException("ZipFile must be base64-encoded (boto3 and the CLI do this).") from None


def _check_revision(doc: dict[str, Any], revision: str | None) -> None:
    if revision is not None and revision != doc["RevisionId"]:
        raise PreconditionFailedException(
            "The Revision Id provided does not match the latest Revision Id. Call the GetFunction/GetAlias API "
            "to retrieve the latest Revision Id"
        )


def _touch(ctx: LambdaCtx, doc: dict[str, Any]) -> None:
    doc["LastModified"] = last_modified(ctx.now)


def _marker(marker: str | None) -> int:
    if marker is None:
        return 0
    if not marker.isdigit():
        raise InvalidParameterValueException(f"Marker '{marker}' is not one this API returned.")
    return int(marker)
