"""The OpenAPI document generated from botocore's model: structurally valid (every $ref resolves), one
path + method per model operation, response codes and error responses as the model says, parameters and
schemas carrying the model's constraints, and `latticework openapi` printing it as JSON."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from latticework.control.api.model import service_model
from latticework.control.api.openapi import anchored, openapi_document

MODEL = service_model("vpc-lattice")
DOC = openapi_document()
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def by_id(doc: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {op["operationId"]: (path, method, op) for path, method, op in operations(doc)}


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


def resolve(doc: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), ref
    node: Any = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        assert isinstance(node, dict) and part in node, f"unresolved {ref}"
        node = node[part]
    return node


OPERATIONS = by_id(DOC)


def test_document_header_is_openapi_3_1_for_the_2022_11_30_api() -> None:
    assert DOC["openapi"] == "3.1.0"
    assert DOC["info"]["title"] == "Amazon VPC Lattice"
    assert DOC["info"]["version"] == "2022-11-30"
    assert DOC["components"]["securitySchemes"]["sigv4"]["in"] == "header"


def test_every_model_operation_is_one_path_and_method() -> None:
    """73 operations, none twice, each at the model's method and requestUri."""
    ids = [op["operationId"] for _, _, op in operations(DOC)]
    assert len(ids) == 73
    assert len(set(ids)) == 73
    assert set(ids) == set(MODEL.operation_names)
    for name in MODEL.operation_names:
        http = MODEL.operation_model(name).http
        path, method, _ = OPERATIONS[name]
        assert (path, method) == (http["requestUri"], http["method"].lower()), name


def test_every_ref_resolves() -> None:
    found = list(refs(DOC))
    assert len(found) > 500
    for ref in found:
        resolve(DOC, ref)


def test_every_model_shape_has_a_schema() -> None:
    assert set(DOC["components"]["schemas"]) == set(MODEL.shape_names)


@pytest.mark.parametrize("name", MODEL.operation_names)
def test_success_response_code_is_the_models(name: str) -> None:
    operation = MODEL.operation_model(name)
    _, _, spec = OPERATIONS[name]
    success = [code for code in spec["responses"] if code.startswith("2")]
    assert success == [str(operation.http["responseCode"])]
    response = spec["responses"][success[0]]
    if success[0] == "204":
        assert "content" not in response
    else:
        schema = response["content"]["application/json"]["schema"]
        assert schema == {"$ref": f"#/components/schemas/{operation.output_shape.name}"}


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DeleteServiceNetwork", "204"),
        ("DeleteService", "200"),
        ("CreateService", "201"),
        ("CreateServiceNetworkServiceAssociation", "200"),
        ("CreateServiceNetworkVpcAssociation", "200"),
        ("StartDomainVerification", "201"),
    ],
)
def test_status_quirks_of_the_model_are_kept(name: str, expected: str) -> None:
    """Lattice's inconsistent success codes (201 vs 200 creates, 204 vs 200 deletes) survive."""
    _, _, spec = OPERATIONS[name]
    assert [c for c in spec["responses"] if c.startswith("2")] == [expected]


ERROR_STATUS = {
    "ValidationException": "400",
    "AccessDeniedException": "403",
    "ResourceNotFoundException": "404",
    "ConflictException": "409",
    "ServiceQuotaExceededException": "402",
    "ThrottlingException": "429",
    "InternalServerException": "500",
}


@pytest.mark.parametrize("name", MODEL.operation_names)
def test_error_responses_are_the_operations_errors_at_their_status(name: str) -> None:
    _, _, spec = OPERATIONS[name]
    errors = {code: r for code, r in spec["responses"].items() if not code.startswith("2")}
    expected = {ERROR_STATUS[e.name]: e.name for e in MODEL.operation_model(name).error_shapes}
    assert {code: r["$ref"].rsplit("/", 1)[1] for code, r in errors.items()} == expected


@pytest.mark.parametrize("error", sorted(ERROR_STATUS))
def test_error_response_has_type_header_and_error_schema(error: str) -> None:
    response = DOC["components"]["responses"][error]
    assert response["headers"]["x-amzn-ErrorType"]["schema"] == {"type": "string", "enum": [error]}
    assert response["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{error}"}


def test_retry_after_is_a_header_not_a_body_member() -> None:
    """Retry-After is bound to a header in the model, so it is absent from the body schema."""
    assert "Retry-After" in DOC["components"]["responses"]["ThrottlingException"]["headers"]
    assert "retryAfterSeconds" not in DOC["components"]["schemas"]["ThrottlingException"]["properties"]


def test_validation_exception_schema_has_reason_enum_and_field_list() -> None:
    schemas = DOC["components"]["schemas"]
    validation = schemas["ValidationException"]
    assert validation["required"] == ["message", "reason"]
    reason = resolve(DOC, validation["properties"]["reason"]["$ref"])
    assert reason["enum"] == ["unknownOperation", "cannotParse", "fieldValidationFailed", "other"]
    field_list = resolve(DOC, validation["properties"]["fieldList"]["$ref"])
    assert field_list["type"] == "array"
    assert resolve(DOC, field_list["items"]["$ref"])["required"] == ["name", "message"]


@pytest.mark.parametrize("name", MODEL.operation_names)
def test_every_path_label_is_a_required_path_parameter(name: str) -> None:
    path, _, spec = OPERATIONS[name]
    labels = set(re.findall(r"\{([^}]+)\}", path))
    in_path = {p["name"] for p in spec.get("parameters", []) if p["in"] == "path"}
    assert in_path == labels
    assert all(p["required"] for p in spec.get("parameters", []) if p["in"] == "path")


def test_path_parameter_schema_carries_the_member_constraints() -> None:
    _, _, spec = OPERATIONS["GetListener"]
    params = {p["name"]: p for p in spec["parameters"]}
    listener = params["listenerIdentifier"]["schema"]
    assert listener["type"] == "string"
    assert (listener["minLength"], listener["maxLength"]) == (20, 2048)
    assert listener["pattern"] == anchored(MODEL.shape_for("ListenerIdentifier").metadata["pattern"])


def test_list_query_parameters_have_range_and_length() -> None:
    """maxResults 1-100 and nextToken 1-2048 as optional query parameters."""
    _, _, spec = OPERATIONS["ListServices"]
    params = {p["name"]: p for p in spec["parameters"]}
    assert params["maxResults"]["in"] == "query"
    assert params["maxResults"]["required"] is False
    assert params["maxResults"]["schema"] == {"type": "integer", "format": "int32", "minimum": 1, "maximum": 100}
    assert params["nextToken"]["schema"] == {"type": "string", "minLength": 1, "maxLength": 2048}
    assert "requestBody" not in spec


def test_required_query_parameters_are_required() -> None:
    """UntagResource's repeated tagKeys and ListAccessLogSubscriptions' resourceIdentifier are required."""
    _, _, untag = OPERATIONS["UntagResource"]
    tag_keys = next(p for p in untag["parameters"] if p["name"] == "tagKeys")
    assert tag_keys["required"] is True
    assert tag_keys["schema"]["type"] == "array"
    assert tag_keys["schema"]["items"] == {"type": "string", "minLength": 1, "maxLength": 128}
    assert (tag_keys["style"], tag_keys["explode"]) == ("form", True)
    _, _, list_als = OPERATIONS["ListAccessLogSubscriptions"]
    assert next(p for p in list_als["parameters"] if p["name"] == "resourceIdentifier")["required"] is True


def test_request_body_schema_lists_only_body_members() -> None:
    """CreateListener's serviceIdentifier is in the path, not in the body schema."""
    path, method, spec = OPERATIONS["CreateListener"]
    assert (path, method) == ("/services/{serviceIdentifier}/listeners", "post")
    body = spec["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/CreateListenerRequest"}
    schema = DOC["components"]["schemas"]["CreateListenerRequest"]
    assert set(schema["properties"]) == {"name", "protocol", "port", "defaultAction", "clientToken", "tags"}
    assert schema["required"] == ["name", "protocol", "defaultAction"]


@pytest.mark.parametrize("name", MODEL.operation_names)
def test_request_body_is_present_exactly_when_the_input_has_body_members(name: str) -> None:
    shape = MODEL.operation_model(name).input_shape
    body_members = [m for m in shape.members.values() if not m.serialization.get("location")]
    _, _, spec = OPERATIONS[name]
    assert ("requestBody" in spec) == bool(body_members)


def test_union_requires_exactly_one_member() -> None:
    schema = DOC["components"]["schemas"]["RuleAction"]
    assert schema["type"] == "object"
    assert schema["oneOf"] == [{"required": ["forward"]}, {"required": ["fixedResponse"]}]


def test_map_list_enum_timestamp_and_integer_schemas() -> None:
    schemas = DOC["components"]["schemas"]
    tag_map = schemas["TagMap"]
    assert tag_map["type"] == "object"
    assert tag_map["additionalProperties"]["$ref"] == "#/components/schemas/TagValue"
    assert tag_map["propertyNames"] == {"type": "string", "minLength": 1, "maxLength": 128}
    assert (tag_map["minProperties"], tag_map["maxProperties"]) == (0, 200)
    header_matches = schemas["HeaderMatchList"]
    assert (header_matches["type"], header_matches["minItems"], header_matches["maxItems"]) == ("array", 1, 5)
    assert header_matches["items"] == {"$ref": "#/components/schemas/HeaderMatch"}
    assert schemas["ListenerProtocol"]["enum"] == ["HTTP", "HTTPS", "TLS_PASSTHROUGH"]
    assert schemas["Timestamp"] == {"type": "string", "format": "date-time"}
    assert schemas["Port"] == {"type": "integer", "format": "int32", "minimum": 1, "maximum": 65535}


@pytest.mark.parametrize(
    ("shape", "value", "accepted"),
    [
        ("ServiceName", "my-svc", True),
        ("ServiceName", "svc-abc", False),  # the model's negative look-ahead
        ("ServiceName", "a--b", False),
        ("ListenerIdentifier", "listener-0123456789abcdefg", True),
        ("ListenerIdentifier", "xlistener-0123456789abcdefg", False),  # unanchored in the model: must not pass
        ("ListenerIdentifier", "listener-0123456789abcdefgx", False),
    ],
)
def test_patterns_match_the_whole_value(shape: str, value: str, accepted: bool) -> None:
    """JSON Schema searches with `pattern`; the anchored form accepts exactly what AWS's full match does."""
    pattern = DOC["components"]["schemas"][shape]["pattern"]
    assert (re.search(pattern, value) is not None) is accepted


def test_document_is_pure_and_json_serialisable() -> None:
    assert openapi_document() == DOC
    assert json.loads(json.dumps(DOC)) == DOC


def test_document_validates_with_openapi_spec_validator() -> None:
    """Runs once openapi-spec-validator is installed (not a declared dependency yet)."""
    validator = pytest.importorskip("openapi_spec_validator")
    validator.validate(DOC)


def test_cli_prints_the_document_as_json() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "latticework", "openapi"], capture_output=True, text=True, timeout=60, check=True
    )
    printed = json.loads(result.stdout)
    assert printed == json.loads(json.dumps(DOC))


def test_errors_sharing_a_status_become_one_response() -> None:
    """Not the case in today's model, but a model may list two errors with one status: both are kept."""
    from botocore.model import ServiceModel

    from latticework.control.api.openapi import _operation_errors

    error = {"type": "structure", "members": {"message": {"shape": "S"}}, "exception": True}
    model = ServiceModel(
        {
            "metadata": {"protocol": "rest-json", "apiVersion": "1", "endpointPrefix": "x"},
            "operations": {
                "Op": {
                    "name": "Op",
                    "http": {"method": "GET", "requestUri": "/"},
                    "errors": [{"shape": "AError"}, {"shape": "BError"}, {"shape": "CError"}],
                }
            },
            "shapes": {
                "S": {"type": "string"},
                "AError": {**error, "error": {"httpStatusCode": 400}},
                "BError": {**error, "error": {"httpStatusCode": 400}},
                "CError": {**error, "error": {"httpStatusCode": 404}},
            },
        }
    )
    responses = _operation_errors(model.operation_model("Op"))
    assert responses["404"] == {"$ref": "#/components/responses/CError"}
    shared = responses["400"]
    assert shared["headers"]["x-amzn-ErrorType"]["schema"]["enum"] == ["AError", "BError"]
    assert shared["content"]["application/json"]["schema"]["oneOf"] == [
        {"$ref": "#/components/schemas/AError"},
        {"$ref": "#/components/schemas/BError"},
    ]
