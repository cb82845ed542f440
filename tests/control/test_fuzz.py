"""Property-based tests of the whole API surface, driven by botocore's model: random inputs built from each
operation's input shape (mostly valid, some with wrong types, missing required members, too-long strings,
out-of-range numbers, strings that break patterns, unknown identifiers) go over raw HTTP to the real server,
and every answer must be AWS-shaped: never a 500, errors with `x-amzn-ErrorType` and a JSON body, validation
errors with a modelled reason and field list, and botocore able to parse every response.

Resources live in their own region (the SigV4 credential scope names it), so the resources and quota usage of
the fuzzing never meet the other tests that share the session's server.
"""

from __future__ import annotations

import http.client
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import pytest
from botocore.awsrequest import HeadersDict
from botocore.model import OperationModel, Shape
from botocore.parsers import create_parser
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latticework.control.api.model import service_model
from latticework.control.api.validate import validate

MODEL = service_model("vpc-lattice")
REGION = "eu-fuzz-1"
# Only the credential scope is read (signatures are the auth layer's business): it puts us in REGION.
AUTHORIZATION = (
    f"AWS4-HMAC-SHA256 Credential=AKIDFUZZ/20240101/{REGION}/vpc-lattice/aws4_request, SignedHeaders=host, Signature=00"
)
REASONS = set(MODEL.shape_for("ValidationExceptionReason").enum)
MAX_STRING = 80  # longest valid string drawn; longer limits are probed with one repeated character
MAX_DEPTH = 6
POLICY = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}'

# Deletes last, so the resources the other operations may refer to live as long as possible.
OPERATIONS = sorted(MODEL.operation_names, key=lambda name: (name.startswith("Delete"), name))

FUZZ_SETTINGS = settings(
    max_examples=int(os.environ.get("LATTICEWORK_FUZZ_EXAMPLES", "25")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)


# --- the wire -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exchange:
    """One request and its answer, printed whole when a property fails."""

    method: str
    path: str
    body: bytes | None
    status: int
    headers: HeadersDict
    answer: bytes

    def __str__(self) -> str:
        sent = self.body[:400] if self.body else b""
        return f"{self.method} {self.path} {sent!r} -> {self.status} {self.answer[:600]!r}"


def send(port: int, method: str, path: str, body: bytes | None = None) -> Exchange:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"authorization": AUTHORIZATION}
        if body is not None:
            headers["content-type"] = "application/json"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        return Exchange(method, path, body, response.status, HeadersDict(response.getheaders()), answer)
    finally:
        connection.close()


def request_parts(operation: OperationModel, params: dict[str, Any]) -> tuple[str, bytes | None]:
    """Path (labels substituted and URL-encoded, query members appended) and JSON body of an input."""
    shape = operation.input_shape
    path, query, body = operation.http["requestUri"], [], {}
    for name, member in shape.members.items() if shape is not None else ():
        location, wire = member.serialization.get("location"), member.serialization.get("name", name)
        value = params.get(name)
        if location == "uri":
            path = path.replace("{" + wire + "}", quote(_text(value), safe="") if name in params else "")
        elif location == "querystring" and name in params:
            values = value if isinstance(value, list) else [value]
            query += [f"{quote(wire)}={quote(_text(v), safe='')}" for v in values]
        elif location is None and name in params:
            body[name] = value
    if query:
        path += "?" + "&".join(query)
    has_body = any(not m.serialization.get("location") for m in (shape.members.values() if shape else ()))
    return path, json.dumps(body).encode() if has_body else None


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


# --- what every answer must be ---------------------------------------------------------------------------

PARSER = create_parser("rest-json")


def check_answer(operation: OperationModel | None, exchange: Exchange) -> None:
    """The AWS rest-json contract, for a known operation or (None) for a request that names no operation."""
    assert exchange.status != 500, f"500: {exchange}"
    assert exchange.status < 500, f"5xx: {exchange}"
    if 200 <= exchange.status < 300:
        assert operation is not None, f"success for a request that names no operation: {exchange}"
        check_success(operation, exchange)
    else:
        assert 400 <= exchange.status < 500, f"unexpected status: {exchange}"
        check_error(operation, exchange)


def check_success(operation: OperationModel, exchange: Exchange) -> None:
    assert exchange.status == operation.http["responseCode"], f"status is not the model's: {exchange}"
    parsed = PARSER.parse(_botocore_response(exchange), operation.output_shape)
    assert "Error" not in parsed, f"botocore read an error: {exchange}"
    if exchange.status == 204 or operation.output_shape is None:
        return
    body = json.loads(exchange.answer)
    members = operation.output_shape.members
    assert set(body) <= set(members), f"members outside the output shape: {set(body) - set(members)}: {exchange}"
    problems = output_problems(body, operation.output_shape)
    assert not problems, f"response breaks the output shape: {problems}: {exchange}"


def output_problems(body: dict[str, Any], shape: Shape) -> list[str]:
    """Types, required members, lengths, enums and ranges of a response body. Patterns are left out: the
    model's output patterns lag its inputs (CreateAccessLogSubscription accepts a resource configuration, but
    its response's ResourceId pattern allows only sn-/svc- IDs), and SDKs never check them."""
    return [f"{e.name}: {e.message}" for e in validate(body, shape) if "regular expression pattern" not in e.message]


def check_error(operation: OperationModel | None, exchange: Exchange) -> None:
    error_type = exchange.headers.get("x-amzn-errortype")
    assert error_type, f"no x-amzn-ErrorType: {exchange}"
    error_shape = MODEL.shape_for(error_type)
    assert exchange.status == error_shape.metadata["error"]["httpStatusCode"], f"status vs type: {exchange}"
    if operation is not None:
        allowed = {e.name for e in operation.error_shapes}
        assert error_type in allowed, f"{operation.name} does not list {error_type} in the model: {exchange}"
    if exchange.method == "HEAD":
        return
    body = json.loads(exchange.answer)
    assert isinstance(body, dict) and isinstance(body.get("message"), str), f"no message: {exchange}"
    error_members = {k: v for k, v in error_shape.members.items() if not v.serialization.get("location")}
    assert set(body) <= set(error_members), f"members outside {error_type}: {exchange}"
    problems = [f"{e.name}: {e.message}" for e in validate(body, error_shape)]
    assert not problems, f"error body breaks {error_type}: {problems}: {exchange}"
    if error_type == "ValidationException":
        check_validation(body, exchange)
    response = _botocore_response(exchange)
    parsed = PARSER.parse(response, operation.output_shape if operation else None)
    assert parsed["Error"]["Code"] == error_type, f"botocore read {parsed['Error']}: {exchange}"
    assert parsed["Error"]["Message"] == body["message"]
    modeled = PARSER.parse(response, error_shape)
    assert modeled.get("message") == body["message"]


def check_validation(body: dict[str, Any], exchange: Exchange) -> None:
    assert body.get("reason") in REASONS, f"reason not in the model's enum: {exchange}"
    if body["reason"] == "fieldValidationFailed":
        fields = body.get("fieldList")
        assert isinstance(fields, list) and fields, f"fieldValidationFailed without fieldList: {exchange}"
        for item in fields:
            assert set(item) == {"name", "message"}, f"fieldList item {item}: {exchange}"
            assert item["name"] and item["message"], f"empty fieldList item {item}: {exchange}"


def _botocore_response(exchange: Exchange) -> dict[str, Any]:
    return {"status_code": exchange.status, "headers": exchange.headers, "body": exchange.answer}


# --- inputs from the model -------------------------------------------------------------------------------

JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.text(max_size=5),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
# Characters no model pattern of an identifier or name accepts together, and a few that break naive parsers.
PATTERN_BREAKERS = st.text(alphabet=" \t\n\x00/\\%?#&=\"'<>é😀{}[]", min_size=1, max_size=6)


class Inputs:
    """Hypothesis strategies for the values of botocore shapes. `known` holds identifiers and names of real
    resources: where one fits a string shape (its pattern and length), valid values use it often, so that
    inputs reach the operations' logic and not only the not-found path."""

    def __init__(self, known: list[str]) -> None:
        self.known = known
        self._valid: dict[tuple[str, int], st.SearchStrategy[Any]] = {}
        self._any: dict[tuple[str, int], st.SearchStrategy[Any]] = {}

    def request(self, shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
        """Two thirds valid (half of those with the required members only, which the operations' own rules
        refuse least), the rest with anything anywhere or a required member missing."""
        modes = [
            self.valid(shape, 0),
            self._required_only(shape),
            self._build(shape, 0, valid=False),
            self._missing_required(shape),
        ]
        return st.sampled_from([0, 0, 1, 1, 2, 3]).flatmap(lambda k: modes[k])

    def valid(self, shape: Shape, depth: int) -> st.SearchStrategy[Any]:
        key = (shape.name, depth)
        if key not in self._valid:
            self._valid[key] = self._build(shape, depth, valid=True)
        return self._valid[key]

    def anything(self, shape: Shape, depth: int) -> st.SearchStrategy[Any]:
        """Mostly well-formed values whose members may be anything; one time in four a value `shape` refuses."""
        key = (shape.name, depth)
        if key not in self._any:
            good = self._build(shape, depth, valid=False)
            self._any[key] = st.sampled_from([0, 1, 2, 3]).flatmap(lambda k: good if k else self._invalid(shape))
        return self._any[key]

    def _build(self, shape: Shape, depth: int, valid: bool) -> st.SearchStrategy[Any]:
        builder = {
            "structure": self._structure,
            "list": self._list,
            "map": self._map,
            "string": lambda s, d, v: self._string(s),
            "integer": lambda s, d, v: _integers(s),
            "long": lambda s, d, v: _integers(s),
            "boolean": lambda s, d, v: st.booleans(),
        }.get(shape.type_name, lambda s, d, v: JUNK)
        return builder(shape, depth, valid)

    def _member(self, shape: Shape, depth: int, valid: bool) -> st.SearchStrategy[Any]:
        if depth >= MAX_DEPTH:
            return st.just({}) if shape.type_name == "structure" else self.valid(shape, depth)
        return self.valid(shape, depth) if valid else self.anything(shape, depth)

    def _structure(self, shape: Shape, depth: int, valid: bool) -> st.SearchStrategy[Any]:
        members = shape.members
        if shape.is_tagged_union:
            return st.sampled_from(list(members)).flatmap(
                lambda name: st.fixed_dictionaries({name: self._member(members[name], depth + 1, valid)})
            )
        required = {n: self._member(m, depth + 1, valid) for n, m in members.items() if n in shape.required_members}
        optional = {n: self._member(m, depth + 1, valid) for n, m in members.items() if n not in required}
        return st.fixed_dictionaries(required, optional=optional)

    def _list(self, shape: Shape, depth: int, valid: bool) -> st.SearchStrategy[Any]:
        low, high = shape.metadata.get("min", 0), shape.metadata.get("max", 4)
        return st.lists(self._member(shape.member, depth + 1, valid), min_size=low, max_size=min(high, low + 3))

    def _map(self, shape: Shape, depth: int, valid: bool) -> st.SearchStrategy[Any]:
        high = min(shape.metadata.get("max", 4), 4)
        return st.dictionaries(self._string(shape.key), self._member(shape.value, depth + 1, valid), max_size=high)

    def _string(self, shape: Shape) -> st.SearchStrategy[str]:
        meta = shape.metadata
        low, high = meta.get("min", 0), meta.get("max", MAX_STRING)
        if meta.get("enum"):
            return st.sampled_from(list(meta["enum"]))
        fitting = [v for v in self.known if _fits(v, shape)]
        if meta.get("pattern"):
            drawn = st.from_regex(re.compile(meta["pattern"], re.DOTALL), fullmatch=True)
            drawn = drawn.filter(lambda v: low <= len(v) <= high)
        else:
            drawn = st.text(min_size=low, max_size=min(high, max(low, MAX_STRING)))
        if not fitting:
            return drawn
        # Three times in four a real resource's identifier or name: that is what reaches the operation's logic.
        return st.sampled_from([0, 1, 2, 3]).flatmap(lambda k: st.sampled_from(fitting) if k else drawn)

    def _invalid(self, shape: Shape) -> st.SearchStrategy[Any]:
        """A value this shape refuses: wrong type, out of range, too long or short, off-pattern, off-enum."""
        meta, options = shape.metadata, [JUNK]
        low, high = meta.get("min"), meta.get("max")
        if shape.type_name == "string":
            options.append(PATTERN_BREAKERS)
            if high is not None:
                options.append(
                    st.characters(min_codepoint=33, max_codepoint=0x1F600, exclude_categories=("Cs",)).map(
                        lambda c: c * (high + 1)
                    )
                )
            if low:
                options.append(st.just("a" * (low - 1)))
        elif shape.type_name in ("integer", "long"):
            outside = ([low - 1] if low is not None else []) + ([high + 1] if high is not None else [2**63])
            options.append(st.sampled_from(outside))
            options.append(st.sampled_from(["5", 1.5, True]))
        elif shape.type_name == "list" and high is not None and high < 200:
            options.append(st.builds(lambda item: [item] * (high + 1), self.valid(shape.member, MAX_DEPTH)))
        elif shape.type_name == "structure":
            options.append(self._missing_required(shape))
        return st.one_of(options)

    def existing(self, shape: Shape) -> dict[str, Any]:
        """The required and the identifier members of `shape`, each the first real resource's identifier that
        fits it (some lists need one filter of several, none of which the model requires)."""
        wanted = [n for n in shape.members if n in shape.required_members or n.endswith("Identifier")]
        chosen = {n: next((v for v in self.known if _fits(v, shape.members[n])), None) for n in wanted}
        return {n: v for n, v in chosen.items() if v is not None}

    def _required_only(self, shape: Shape) -> st.SearchStrategy[dict[str, Any]]:
        members = shape.members
        return st.fixed_dictionaries({n: self.valid(members[n], 1) for n in shape.required_members})

    def _missing_required(self, shape: Shape) -> st.SearchStrategy[Any]:
        if not shape.required_members:
            return st.just({"unknownMember": 1})
        full = self.valid(shape, MAX_DEPTH - 1)
        return st.tuples(full, st.sampled_from(shape.required_members)).map(
            lambda pair: {k: v for k, v in pair[0].items() if k != pair[1]}
        )


def _integers(shape: Shape) -> st.SearchStrategy[int]:
    low, high = shape.metadata.get("min"), shape.metadata.get("max")
    return st.integers(min_value=low, max_value=high if high is not None else 2**31 - 1)


def _fits(value: str, shape: Shape) -> bool:
    meta = shape.metadata
    if not meta.get("min", 0) <= len(value) <= meta.get("max", 10**6):
        return False
    pattern = meta.get("pattern")
    return pattern is None or re.fullmatch(pattern, value, re.DOTALL) is not None


# --- real resources for the inputs to name ---------------------------------------------------------------


def strings_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "ResponseMetadata":
                yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


class World:
    """Creates one resource of each kind (as far as the server implements them) and records every string of
    the answers: IDs, ARNs, names."""

    def __init__(self, server: Any) -> None:
        self.lattice = server.client(region=REGION)
        self.ec2 = server.client("ec2", region=REGION)
        self.found: list[str] = []
        self.tag = f"fz{os.getpid()}"

    def attempt(self, call: Any, **kwargs: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = call(**kwargs)
        except Exception:  # an operation not implemented yet: fuzz without its resources
            return {}
        self.found.extend(strings_in(answer))
        return answer

    def build(self) -> list[str]:
        lattice, tag = self.lattice, self.tag
        vpc = self.attempt(self.ec2.create_vpc, CidrBlock="10.9.0.0/16").get("Vpc", {}).get("VpcId", "vpc-0")
        network = self.attempt(lattice.create_service_network, name=f"{tag}-net").get("id", "sn-0")
        service = self.attempt(lattice.create_service, name=f"{tag}-svc").get("id", "svc-0")
        self.attempt(lattice.create_target_group, name=f"{tag}-lambda", type="LAMBDA")
        config = {"port": 80, "protocol": "HTTP", "vpcIdentifier": vpc}
        ip = self.attempt(lattice.create_target_group, name=f"{tag}-ip", type="IP", config=config).get("id", "tg-1")
        self.attempt(lattice.register_targets, targetGroupIdentifier=ip, targets=[{"id": "10.9.0.5", "port": 80}])
        fixed = {"fixedResponse": {"statusCode": 404}}
        listener = self.attempt(
            lattice.create_listener, serviceIdentifier=service, name=f"{tag}-http", protocol="HTTP",
            defaultAction=fixed,
        ).get("id", "listener-0")  # fmt: skip
        self.attempt(
            lattice.create_rule, serviceIdentifier=service, listenerIdentifier=listener, name=f"{tag}-rule",
            priority=10, match={"httpMatch": {"pathMatch": {"match": {"prefix": "/fuzz"}}}},
            action={"forward": {"targetGroups": [{"targetGroupIdentifier": ip, "weight": 100}]}},
        )  # fmt: skip
        self.associations(network, service, vpc)
        self.attachments(network, service)
        self.resources(network, vpc)
        return sorted({v for v in self.found if self.is_reference(v)} | {POLICY})

    def is_reference(self, value: str) -> bool:
        """ARNs, resource IDs and our own names; not the status words and numbers of the answers."""
        return value.startswith(("arn:", self.tag)) or re.fullmatch(r"[a-z]+-[0-9a-z]{17}", value) is not None

    def associations(self, network: str, service: str, vpc: str) -> None:
        lattice = self.lattice
        self.attempt(
            lattice.create_service_network_service_association,
            serviceNetworkIdentifier=network,
            serviceIdentifier=service,
        )
        self.attempt(
            lattice.create_service_network_vpc_association, serviceNetworkIdentifier=network, vpcIdentifier=vpc
        )

    def attachments(self, network: str, service: str) -> None:
        lattice = self.lattice
        self.attempt(
            lattice.create_access_log_subscription,
            resourceIdentifier=network,
            destinationArn="arn:aws:s3:::fuzz-bucket",
        )
        self.attempt(lattice.put_auth_policy, resourceIdentifier=service, policy=POLICY)
        self.attempt(lattice.tag_resource, resourceArn=self.arn_of(service), tags={"fuzz": "yes"})
        self.attempt(lattice.start_domain_verification, domainName=f"{self.tag}.example.com")

    def resources(self, network: str, vpc: str) -> None:
        lattice = self.lattice
        gateway = self.attempt(
            lattice.create_resource_gateway, name=f"{self.tag}-gw", vpcIdentifier=vpc,
            subnetIds=["subnet-0123456789abcdef0"],
        ).get("id", "rgw-0")  # fmt: skip
        configuration = self.attempt(
            lattice.create_resource_configuration, name=f"{self.tag}-rcfg", type="SINGLE",
            resourceGatewayIdentifier=gateway, portRanges=["80"],
            resourceConfigurationDefinition={"ipResource": {"ipAddress": "10.9.0.9"}},
        ).get("id", "rcfg-0")  # fmt: skip
        self.attempt(
            lattice.create_service_network_resource_association,
            serviceNetworkIdentifier=network,
            resourceConfigurationIdentifier=configuration,
        )

    def arn_of(self, resource_id: str) -> str:
        return next((v for v in self.found if v.startswith("arn:") and v.endswith("/" + resource_id)), resource_id)


@pytest.fixture(scope="module")
def inputs(server: Any) -> Inputs:
    return Inputs(World(server).build())


# --- the properties --------------------------------------------------------------------------------------


LIST_OPERATIONS = [name for name in OPERATIONS if "nextToken" in MODEL.operation_model(name).input_shape.members]


@pytest.mark.parametrize("token", [".\u0080", "é.é", "abc.def", "eyJ4IjoxfQ.00", "%%", "a" * 2048])
@pytest.mark.parametrize("name", LIST_OPERATIONS)
def test_next_tokens_not_issued_by_the_server_are_validation_errors(
    server: Any, inputs: Inputs, name: str, token: str
) -> None:
    """Any nextToken the server did not issue (non-ASCII ones included) is a 400 naming nextToken."""
    operation = MODEL.operation_model(name)
    params = {**inputs.existing(operation.input_shape), "nextToken": token}
    path, body = request_parts(operation, params)
    exchange = send(server.port, operation.http["method"], path, body)
    check_answer(operation, exchange)
    assert exchange.status == 400, exchange
    assert [f["name"] for f in json.loads(exchange.answer)["fieldList"]] == ["nextToken"], exchange


MALFORMED = {
    "not JSON": b"this is not json",
    "truncated": b'{"name": ',
    "array": b"[1, 2, 3]",
    "string": b'"name"',
    "number": b"42",
    "null": b"null",
    "invalid UTF-8": b'{"name": "\xff\xfe"}',
    "deeply nested": b"[" * 100_000 + b"]" * 100_000,
}
BODY_OPERATIONS = [
    name
    for name in OPERATIONS
    if any(not m.serialization.get("location") for m in MODEL.operation_model(name).input_shape.members.values())
]


def placeholder_path(operation: OperationModel) -> str:
    """The operation's path with each label given a pattern-valid but unknown identifier."""
    examples = {
        "serviceIdentifier": "svc-0123456789abcdef0",
        "listenerIdentifier": "listener-0123456789abcdef0",
        "ruleIdentifier": "rule-0123456789abcdef0",
        "targetGroupIdentifier": "tg-0123456789abcdef0",
        "resourceArn": quote("arn:aws:vpc-lattice:eu-fuzz-1:000000000000:service/svc-0123456789abcdef0", safe=""),
    }
    return re.sub(
        r"\{([^}]+)\}", lambda m: examples.get(m.group(1), "x-0123456789abcdef0"), operation.http["requestUri"]
    )


@pytest.mark.parametrize("kind", sorted(MALFORMED))
@pytest.mark.parametrize("name", BODY_OPERATIONS)
def test_malformed_body_is_a_cannot_parse_validation_error(server: Any, name: str, kind: str) -> None:
    operation = MODEL.operation_model(name)
    exchange = send(server.port, operation.http["method"], placeholder_path(operation), MALFORMED[kind])
    check_answer(operation, exchange)
    assert exchange.status == 400, exchange
    assert exchange.headers["x-amzn-errortype"] == "ValidationException"
    assert json.loads(exchange.answer)["reason"] == "cannotParse", exchange


WRONG_TYPES = {
    "string": 12345,
    "integer": "12",
    "long": "12",
    "boolean": "true",
    "list": "not-a-list",
    "map": ["not", "a", "map"],
    "structure": "not-a-structure",
}


@pytest.mark.parametrize("name", BODY_OPERATIONS)
def test_wrong_member_types_are_named_in_the_field_list(server: Any, name: str) -> None:
    """Every body member of the wrong JSON type is reported in fieldList by its name."""
    operation = MODEL.operation_model(name)
    members = {n: m for n, m in operation.input_shape.members.items() if not m.serialization.get("location")}
    body = {n: WRONG_TYPES[m.type_name] for n, m in members.items()}
    exchange = send(server.port, operation.http["method"], placeholder_path(operation), json.dumps(body).encode())
    check_answer(operation, exchange)
    assert exchange.status == 400, exchange
    answer = json.loads(exchange.answer)
    assert answer["reason"] == "fieldValidationFailed"
    assert set(members) <= {item["name"] for item in answer["fieldList"]}, exchange


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/nothing-here"),
        ("POST", "/services/svc-0123456789abcdef0/listeners/listener-0123456789abcdef0/rules/rule-0/extra"),
        ("PUT", "/services"),  # the path exists, the method does not
        ("DELETE", "/services"),
        ("PATCH", "/targetgroups"),
        ("GET", "/targetgroups/tg-0123456789abcdef0/registertargets"),
        ("OPTIONS", "/services"),
        ("HEAD", "/services/svc-0123456789abcdef0"),
        ("TRACE", "/servicenetworks"),
        ("GET", "/%zz%00"),
        ("GET", "/services/" + "a" * 5000),
    ],
)
def test_unknown_paths_and_methods_are_4xx(server: Any, method: str, path: str) -> None:
    exchange = send(server.port, method, path)
    check_answer(None, exchange)
    assert exchange.headers["x-amzn-errortype"] == "ValidationException"


@st.composite
def unknown_requests(draw: st.DrawFn) -> tuple[str, str]:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]))
    segments = draw(st.lists(st.text(alphabet="abcz-_.~%09{}", min_size=1, max_size=12), min_size=1, max_size=6))
    return method, "/" + "/".join(segments)


@settings(max_examples=60, deadline=None, database=None)
@given(request=unknown_requests())
def test_random_paths_are_never_500(server: Any, request: tuple[str, str]) -> None:
    """Random paths either name an operation (and get its answer) or are refused as unknown, never a 500."""
    method, path = request
    check_answer(_operation_for(method, path), send(server.port, method, path))


def _operation_for(method: str, path: str) -> OperationModel | None:
    """The operation a request names, by the rules of the API's router: labels match any non-empty segment,
    literal segments win over labels, surrounding slashes do not count."""
    parts = path.strip("/").split("/") if path.strip("/") else []
    for operation in ROUTES:
        template = _segments(operation)
        if operation.http["method"] != method or len(template) != len(parts):
            continue
        if all((t.startswith("{") and p) or t == p for t, p in zip(template, parts, strict=True)):
            return operation
    return None


def _segments(operation: OperationModel) -> list[str]:
    path = operation.http["requestUri"].partition("?")[0].strip("/")
    return path.split("/") if path else []


ROUTES = sorted(
    (MODEL.operation_model(name) for name in MODEL.operation_names),
    key=lambda op: -sum(1 for t in _segments(op) if not t.startswith("{")),
)


# Last in the file: the random deletes may remove the resources the tests above name (xdist hands tests
# to workers in file order).
@pytest.mark.slow
@pytest.mark.parametrize("name", OPERATIONS)
def test_random_inputs_get_aws_shaped_answers(server: Any, inputs: Inputs, name: str) -> None:
    """Whatever the input, the answer is a modelled success or a modelled 4xx error, never a 500."""
    operation = MODEL.operation_model(name)
    strategy = inputs.request(operation.input_shape) if operation.input_shape else st.just({})

    @FUZZ_SETTINGS
    @given(params=strategy)
    def answers_are_aws_shaped(params: dict[str, Any]) -> None:
        path, body = request_parts(operation, params)
        # An empty label leaves `/services/`, which is ListServices' path: judge by the operation it names.
        routed = _operation_for(operation.http["method"], path.partition("?")[0])
        check_answer(routed, send(server.port, operation.http["method"], path, body))

    answers_are_aws_shaped()
