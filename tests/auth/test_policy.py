"""The IAM policy engine: every example auth policy of the VPC Lattice User Guide (and the Lattice policies AWS
publishes elsewhere) against requests that must allow or not, IAM's condition semantics from the IAM User
Guide's own tables, PolicyError messages, the explainer's element results, and hypothesis properties."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latticework.auth.policy import (
    FoldedKeys,
    Policy,
    PolicyError,
    RequestContext,
    compile_policy,
)
from latticework.auth.principals import Principal, parse_principal_arn

INVOKE = "vpc-lattice-svcs:Invoke"
ACCOUNT = "123456789012"
SVC = f"arn:aws:vpc-lattice:us-west-2:{ACCOUNT}:service/svc-0123456789abcdef0"
OTHER_SVC = f"arn:aws:vpc-lattice:us-west-2:{ACCOUNT}:service/svc-0fedcba9876543210"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/rates-client"
SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/rates-client/task-1"
OTHER_SESSION = f"arn:aws:sts::{ACCOUNT}:assumed-role/billing/task-2"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
FOREIGN_USER = "arn:aws:iam::444455556666:user/bob"

AUTH_POLICIES = "https://docs.aws.amazon.com/vpc-lattice/latest/ug/auth-policies.html"


def doc(*statements: dict[str, Any], version: str | None = "2012-10-17") -> str:
    document: dict[str, Any] = {"Statement": list(statements)}
    if version is not None:
        document["Version"] = version
    return json.dumps(document)


def allow(**extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": "*", "Action": INVOKE, "Resource": "*", **extra}


def deny(**extra: Any) -> dict[str, Any]:
    return {**allow(**extra), "Effect": "Deny"}


def who(arn: str | None, org: str | None = None, **tags: str) -> Principal | None:
    return None if arn is None else parse_principal_arn(arn, org_id=org, tags=tags)


def ask(
    policy: str | Policy,
    principal: Principal | None = None,
    path: str = "/rates",
    service: str = SVC,
    action: str = INVOKE,
    keys: Mapping[str, tuple[str, ...]] | None = None,
) -> str:
    compiled = compile_policy(policy) if isinstance(policy, str) else policy
    return compiled.evaluate(RequestContext(action, f"{service}{path}", principal, {} if keys is None else keys)).effect


def condition_policy(condition: dict[str, Any]) -> Policy:
    return compile_policy(doc(allow(Condition=condition)))


# -- every example auth policy in the VPC Lattice documentation ---------------------------------------------

ORG_EXAMPLE = doc(allow(Condition={"StringEquals": {"aws:PrincipalOrgID": ["o-123456example"]}}))
ROLE_EXAMPLE = doc(
    {
        "Effect": "Allow",
        "Principal": {"AWS": [ROLE]},
        "Action": INVOKE,
        "Resource": [f"{SVC}/*"],
        "Condition": {"StringEquals": {"vpc-lattice-svcs:RequestMethod": "GET"}},
    }
)
VPC_EXAMPLE = doc(
    allow(
        Condition={
            "StringNotEquals": {"aws:PrincipalType": "Anonymous"},
            "StringEquals": {"vpc-lattice-svcs:SourceVpc": "vpc-1a2b3c4d"},
        }
    )
)
RESOURCE_TAG_EXAMPLE = doc(
    {
        "Sid": "AllowGammaAccess",
        "Effect": "Allow",
        "Principal": "*",
        "Action": INVOKE,
        "Resource": f"{SVC}/*",
        "Condition": {"StringEquals": {"aws:ResourceTag/Environment": "Gamma"}},
    }
)
PRINCIPAL_TAG_EXAMPLE = doc(
    {
        "Sid": "AllowPaymentsTeam",
        "Effect": "Allow",
        "Principal": "*",
        "Action": INVOKE,
        "Resource": f"{SVC}/*",
        "Condition": {"StringEquals": {"aws:PrincipalTag/Team": "Payments"}},
    }
)
# Console template "Allow only authenticated access" as PutAuthPolicy stores it (EKS workshop, and the Pulumi
# registry's aws.vpclattice.AuthPolicy example): no Version, one Statement object, Action "*".
AUTHENTICATED_TEMPLATE = json.dumps(
    {
        "Statement": {
            "Effect": "Allow",
            "Principal": "*",
            "Resource": "*",
            "Condition": {"StringNotEqualsIgnoreCase": {"aws:PrincipalType": "anonymous"}},
            "Action": "*",
        }
    }
)
EVERYONE_TEMPLATE = doc(allow())  # console template "Allow authenticated and unauthenticated access"
SOURCE_VPCS = doc(allow(Condition={"StringEquals": {"vpc-lattice-svcs:SourceVpc": ["vpc-0bacccb5", "vpc-0eb911df"]}}))
GET_VPC = {"vpc-lattice-svcs:RequestMethod": ("GET",), "vpc-lattice-svcs:SourceVpc": ("vpc-1a2b3c4d",)}


@pytest.mark.parametrize(
    ("policy", "principal", "path", "service", "keys", "effect"),
    [
        pytest.param(ORG_EXAMPLE, who(USER, "o-123456example"), "/", SVC, {}, "ALLOW", id="auth-policies ex1: org"),
        pytest.param(ORG_EXAMPLE, who(USER, "o-other"), "/", SVC, {}, "NO_MATCH", id="auth-policies ex1: other org"),
        pytest.param(ORG_EXAMPLE, who(USER), "/", SVC, {}, "NO_MATCH", id="auth-policies ex1: no org"),
        pytest.param(ORG_EXAMPLE, None, "/", SVC, {}, "NO_MATCH", id="auth-policies ex1: anonymous"),
        pytest.param(ROLE_EXAMPLE, who(SESSION), "/rates", SVC, GET_VPC, "ALLOW", id="auth-policies ex2: session"),
        pytest.param(ROLE_EXAMPLE, who(ROLE), "/", SVC, GET_VPC, "ALLOW", id="auth-policies ex2: the role"),
        pytest.param(
            ROLE_EXAMPLE,
            who(SESSION),
            "/rates",
            SVC,
            {"vpc-lattice-svcs:RequestMethod": ("POST",)},
            "NO_MATCH",
            id="auth-policies ex2: POST",
        ),
        pytest.param(ROLE_EXAMPLE, who(OTHER_SESSION), "/", SVC, GET_VPC, "NO_MATCH", id="auth-policies ex2: role"),
        pytest.param(ROLE_EXAMPLE, who(SESSION), "/", OTHER_SVC, GET_VPC, "NO_MATCH", id="auth-policies ex2: svc"),
        pytest.param(ROLE_EXAMPLE, None, "/rates", SVC, GET_VPC, "NO_MATCH", id="auth-policies ex2: anonymous"),
        pytest.param(VPC_EXAMPLE, who(USER), "/", SVC, GET_VPC, "ALLOW", id="auth-policies ex3: signed, vpc"),
        pytest.param(VPC_EXAMPLE, None, "/", SVC, GET_VPC, "NO_MATCH", id="auth-policies ex3: anonymous"),
        pytest.param(
            VPC_EXAMPLE,
            who(USER),
            "/",
            SVC,
            {"vpc-lattice-svcs:SourceVpc": ("vpc-99999999",)},
            "NO_MATCH",
            id="auth-policies ex3: other vpc",
        ),
        pytest.param(
            RESOURCE_TAG_EXAMPLE,
            None,
            "/a",
            SVC,
            {"aws:ResourceTag/Environment": ("Gamma",)},
            "ALLOW",
            id="auth-policies resource tags: Gamma",
        ),
        pytest.param(
            RESOURCE_TAG_EXAMPLE,
            None,
            "/a",
            SVC,
            {"aws:ResourceTag/Environment": ("Beta",)},
            "NO_MATCH",
            id="auth-policies resource tags: Beta",
        ),
        pytest.param(RESOURCE_TAG_EXAMPLE, None, "/a", SVC, {}, "NO_MATCH", id="auth-policies resource tags: none"),
        pytest.param(
            PRINCIPAL_TAG_EXAMPLE,
            who(SESSION, Team="Payments"),
            "/",
            SVC,
            {},
            "ALLOW",
            id="auth-policies principal tags: Payments",
        ),
        pytest.param(
            PRINCIPAL_TAG_EXAMPLE,
            who(SESSION, team="Payments"),
            "/",
            SVC,
            {},
            "ALLOW",
            id="auth-policies principal tags: tag key case ignored",
        ),
        pytest.param(
            PRINCIPAL_TAG_EXAMPLE,
            who(SESSION, Team="payments"),
            "/",
            SVC,
            {},
            "NO_MATCH",
            id="auth-policies principal tags: value case kept",
        ),
        pytest.param(PRINCIPAL_TAG_EXAMPLE, None, "/", SVC, {}, "NO_MATCH", id="auth-policies principal tags: anon"),
        pytest.param(AUTHENTICATED_TEMPLATE, who(USER), "/", SVC, {}, "ALLOW", id="template authenticated: signed"),
        pytest.param(AUTHENTICATED_TEMPLATE, None, "/", SVC, {}, "NO_MATCH", id="template authenticated: anonymous"),
        pytest.param(EVERYONE_TEMPLATE, None, "/", SVC, {}, "ALLOW", id="template everyone: anonymous"),
        pytest.param(EVERYONE_TEMPLATE, who(FOREIGN_USER), "/", SVC, {}, "ALLOW", id="template everyone: signed"),
        pytest.param(
            SOURCE_VPCS,
            None,
            "/",
            SVC,
            {"vpc-lattice-svcs:SourceVpc": ("vpc-0eb911df",)},
            "ALLOW",
            id="workshop SourceVpc list: second vpc",
        ),
        pytest.param(
            SOURCE_VPCS,
            None,
            "/",
            SVC,
            {"vpc-lattice-svcs:SourceVpc": ("vpc-12345678",)},
            "NO_MATCH",
            id="workshop SourceVpc list: other vpc",
        ),
    ],
)
def test_lattice_documentation_examples(
    policy: str, principal: Principal | None, path: str, service: str, keys: dict[str, Any], effect: str
) -> None:
    """Each example policy of the Lattice UG (auth-policies.html and the console templates) decides as AWS says."""
    assert ask(policy, principal, path, service, keys=keys) == effect


@pytest.mark.parametrize(
    ("resource", "path", "matches"),
    [
        # auth-policies.html, "Resource format for auth policies" (HTTP and gRPC rows).
        (f"{SVC}/rates", "/rates", True),
        (f"{SVC}/rates", "/rates/today", False),
        ("*/rates", "/rates", True),
        ("*/rates", "/parking", False),
        ("*/*", "/", True),
        ("*/*", "/anything/at/all", True),
        (f"{SVC}/api.parking/GetRates", "/api.parking/GetRates", True),
        (f"{SVC}/api.parking/GetRates", "/api.parking/GetRate", False),
        (f"{SVC}/api.parking/*", "/api.parking/GetRates", True),
        (f"{SVC}/api.parking/*", "/api.billing/Charge", False),
        (f"{SVC}/*", "/", True),  # AWS's denials show `.../svc-.../` for path "/"
        (SVC, "", True),  # TCP services: the resource is the bare service ARN
        (SVC, "/", False),
        (f"{SVC}/Rates", "/rates", False),  # resource matching is case-sensitive
        (f"{SVC}/rate?", "/rates", True),
        (f"{SVC}/rate?", "/rate", False),
    ],
)
def test_resource_format(resource: str, path: str, matches: bool) -> None:
    """Lattice's `<serviceARN>/<path>` resources, with `*` and `?` over the whole string (auth-policies.html)."""
    policy = doc(allow(Resource=resource))
    assert ask(policy, path=path) == ("ALLOW" if matches else "NO_MATCH")


def test_aws_managed_invoke_policy_is_an_identity_policy_that_allows_invoke() -> None:
    """VPCLatticeServicesInvokeAccess (AWS managed policy reference) allows any Lattice Invoke, no Principal."""
    managed = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": [INVOKE], "Resource": "*"}]}
    )
    policy = compile_policy(managed, "identity")
    assert ask(policy, who(SESSION)) == "ALLOW"
    assert ask(policy, who(SESSION), action="vpc-lattice-svcs:Connect") == "NO_MATCH"


def test_docs_resource_tag_example_as_printed_is_rejected_for_its_trailing_comma() -> None:
    """auth-policies.html prints `"Gamma", }`: that is not JSON, and the error points at it."""
    printed = RESOURCE_TAG_EXAMPLE.replace('"Gamma"', '"Gamma", ')
    with pytest.raises(PolicyError, match=r"not valid JSON: .* at line 1 column \d+"):
        compile_policy(printed)


@pytest.mark.parametrize(
    ("condition", "keys", "effect"),
    [
        # Lattice UG condition-keys table: RequestQueryString is ArrayOfString (quux: [corge, grault]).
        ({"StringEquals": {"vpc-lattice-svcs:RequestQueryString/quux": "corge"}}, ("corge", "grault"), "ALLOW"),
        ({"StringEquals": {"vpc-lattice-svcs:RequestQueryString/quux": "waldo"}}, ("corge", "grault"), "NO_MATCH"),
        ({"StringNotEquals": {"vpc-lattice-svcs:RequestQueryString/quux": "corge"}}, ("corge", "grault"), "NO_MATCH"),
        ({"ForAllValues:StringEquals": {"vpc-lattice-svcs:RequestQueryString/quux": ["corge"]}}, ("corge",), "ALLOW"),
        (
            {"ForAllValues:StringEquals": {"vpc-lattice-svcs:RequestQueryString/quux": ["corge"]}},
            ("corge", "grault"),
            "NO_MATCH",
        ),
        (
            {"ForAnyValue:StringEquals": {"vpc-lattice-svcs:RequestQueryString/quux": ["grault", "x"]}},
            ("corge", "grault"),
            "ALLOW",
        ),
    ],
)
def test_query_string_keys_are_multivalued(condition: dict[str, Any], keys: tuple[str, ...], effect: str) -> None:
    """A repeated query parameter is one multivalued key; plain operators match when any value does."""
    assert ask(condition_policy(condition), keys={"vpc-lattice-svcs:RequestQueryString/quux": keys}) == effect


def test_request_header_condition_from_the_condition_keys_table() -> None:
    """Lattice UG: RequestHeader/<header-name> filters on a header (content-type: application/json)."""
    policy = condition_policy({"StringEquals": {"vpc-lattice-svcs:RequestHeader/content-type": "application/json"}})
    assert ask(policy, keys={"vpc-lattice-svcs:requestheader/content-type": ("application/json",)}) == "ALLOW"
    assert ask(policy, keys={"vpc-lattice-svcs:requestheader/content-type": ("text/plain",)}) == "NO_MATCH"
    assert ask(policy, keys={}) == "NO_MATCH"


# -- IAM UG: multiple keys and values, set operators (the User Guide's own tables) ----------------------------

MULTI = "arn:aws:iam::222222222222"
MULTI_BASE = {
    "Effect": "Allow",
    "Principal": {"AWS": f"{MULTI}:root"},
    "Action": "vpc-lattice-svcs:Invoke",
    "Resource": "*",
}
TAGS = {"aws:PrincipalTag/department": ["finance", "hr", "legal"], "aws:PrincipalTag/role": ["audit", "security"]}
ARNS = [f"{MULTI}:user/Ana", f"{MULTI}:user/Mary"]


@pytest.mark.parametrize(
    ("operator", "user", "tags", "effect"),
    [
        # IAM UG "Conditions with multiple context keys or values", first table (ArnLike).
        ("ArnLike", "Mary", {"department": "legal", "role": "audit"}, "ALLOW"),
        ("ArnLike", "Nikki", {"department": "hr", "role": "audit"}, "NO_MATCH"),
        ("ArnLike", "Mary", {"department": "hr", "role": "payroll"}, "NO_MATCH"),
        ("ArnLike", "Mary", {"department": "hr"}, "NO_MATCH"),
        ("ArnLike", "Mary", {}, "NO_MATCH"),
        # Same page, "Evaluation logic for negated matching condition operators" (ArnNotLike: NOR).
        ("ArnNotLike", "Nikki", {"department": "legal", "role": "audit"}, "ALLOW"),
        ("ArnNotLike", "Mary", {"department": "hr", "role": "audit"}, "NO_MATCH"),
        ("ArnNotLike", "Nikki", {"department": "hr", "role": "payroll"}, "NO_MATCH"),
        ("ArnNotLike", "Nikki", {"department": "hr"}, "NO_MATCH"),
        ("ArnNotLike", "Nikki", {}, "NO_MATCH"),
    ],
)
def test_iam_guide_multiple_keys_and_values(operator: str, user: str, tags: dict[str, str], effect: str) -> None:
    """Operators AND, keys AND, values OR, negated values NOR (IAM UG tables, row by row)."""
    statement = {**MULTI_BASE, "Condition": {"StringEquals": TAGS, operator: {"aws:PrincipalArn": ARNS}}}
    assert ask(doc(statement), who(f"{MULTI}:user/{user}", **tags)) == effect


@pytest.mark.parametrize(
    ("operator", "tag_keys", "effect"),
    [
        # IAM UG "Single-valued vs. multivalued context keys", ForAllValues table (with the Null check).
        ("ForAllValues:StringEquals", ("environment",), "ALLOW"),
        ("ForAllValues:StringEquals", ("cost-center",), "ALLOW"),
        ("ForAllValues:StringEquals", ("environment", "cost-center"), "ALLOW"),
        ("ForAllValues:StringEquals", ("environment", "dept"), "NO_MATCH"),
        ("ForAllValues:StringEquals", None, "NO_MATCH"),
        # Same page, ForAnyValue table (no Null check).
        ("ForAnyValue:StringEquals", ("environment",), "ALLOW"),
        ("ForAnyValue:StringEquals", ("cost-center",), "ALLOW"),
        ("ForAnyValue:StringEquals", ("environment", "cost-center"), "ALLOW"),
        ("ForAnyValue:StringEquals", ("environment", "dept"), "ALLOW"),
        ("ForAnyValue:StringEquals", ("dept",), "NO_MATCH"),
        ("ForAnyValue:StringEquals", None, "NO_MATCH"),
    ],
)
def test_iam_guide_set_operators(operator: str, tag_keys: tuple[str, ...] | None, effect: str) -> None:
    """ForAllValues / ForAnyValue over a multivalued key, as the IAM UG tables evaluate them."""
    condition: dict[str, Any] = {operator: {"aws:TagKeys": ["environment", "cost-center"]}}
    if operator.startswith("ForAll"):
        condition["Null"] = {"aws:TagKeys": "false"}
    keys = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    assert ask(condition_policy(condition), keys=keys) == effect


def test_for_all_values_without_null_check_is_true_for_a_missing_key() -> None:
    """IAM UG: ForAllValues "also returns true if there are no context keys in the request"."""
    policy = condition_policy({"ForAllValues:StringEquals": {"aws:TagKeys": ["environment"]}})
    assert ask(policy, keys={}) == "ALLOW"


# -- condition operators, one family at a time ---------------------------------------------------------------

METHOD = "vpc-lattice-svcs:RequestMethod"


@pytest.mark.parametrize(
    ("operator", "policy_values", "request_values", "holds"),
    [
        ("StringEquals", "GET", ("GET",), True),
        ("StringEquals", "GET", ("get",), False),
        ("StringEquals", ["GET", "HEAD"], ("HEAD",), True),  # values OR
        ("StringEquals", "GET", None, False),  # missing key: false
        ("StringEquals", "G*", ("GET",), False),  # no wildcards in StringEquals
        ("StringNotEquals", "GET", ("POST",), True),
        ("StringNotEquals", ["GET", "HEAD"], ("HEAD",), False),  # NOR
        ("StringNotEquals", ["GET", "HEAD"], ("PUT",), True),
        ("StringNotEquals", "GET", None, True),  # IAM UG: negated operator, missing key: true
        ("StringEqualsIgnoreCase", "get", ("GET",), True),
        ("StringNotEqualsIgnoreCase", "anonymous", ("Anonymous",), False),
        ("StringNotEqualsIgnoreCase", "anonymous", ("User",), True),
        ("StringLike", "G?T", ("GET",), True),
        ("StringLike", "P*", ("PATCH",), True),
        ("StringLike", "P*", ("GET",), False),
        ("StringLike", "p*", ("PUT",), False),  # case-sensitive
        ("StringNotLike", ["P*", "D*"], ("DELETE",), False),
        ("StringNotLike", ["P*", "D*"], ("GET",), True),
        ("StringNotLike", "P*", None, True),
        ("StringEqualsIfExists", "GET", None, True),  # IfExists: missing key true
        ("StringEqualsIfExists", "GET", ("POST",), False),
        ("StringNotEqualsIfExists", "GET", None, True),
        ("ForAnyValue:StringEqualsIfExists", "GET", None, True),
        ("ForAnyValue:StringNotEquals", ["GET"], ("GET", "POST"), True),  # some value outside the set
        ("ForAnyValue:StringNotEquals", ["GET"], ("GET",), False),
        ("ForAnyValue:StringNotEquals", ["GET"], None, False),
        ("ForAllValues:StringNotEquals", ["GET"], ("PUT", "POST"), True),  # every value outside the set
        ("ForAllValues:StringNotEquals", ["GET"], ("PUT", "GET"), False),
        ("ForAllValues:StringNotEquals", ["GET"], None, True),
        ("ForAllValues:StringLike", ["P*"], ("PUT", "POST"), True),
        ("ForAllValues:StringLike", ["P*"], ("PUT", "GET"), False),
    ],
)
def test_string_operators(operator: str, policy_values: Any, request_values: Any, holds: bool) -> None:
    """IAM UG "String condition operators", with missing keys, IfExists, NOR and set operators."""
    policy = condition_policy({operator: {METHOD: policy_values}})
    keys = {} if request_values is None else {METHOD: request_values}
    assert ask(policy, keys=keys) == ("ALLOW" if holds else "NO_MATCH")


PORT = "vpc-lattice-svcs:Port"


@pytest.mark.parametrize(
    ("operator", "policy_values", "port", "holds"),
    [
        ("NumericEquals", "443", "443", True),
        ("NumericEquals", 443, "443", True),  # JSON numbers are policy values too
        ("NumericEquals", "443", "443.0", True),
        ("NumericEquals", ["80", "443"], "80", True),
        ("NumericNotEquals", ["80", "443"], "80", False),
        ("NumericNotEquals", ["80", "443"], "8080", True),
        ("NumericLessThan", "1024", "443", True),
        ("NumericLessThan", "443", "443", False),
        ("NumericLessThanEquals", "443", "443", True),
        ("NumericGreaterThan", "1024", "8080", True),
        ("NumericGreaterThanEquals", "8080", "8080", True),
        ("NumericGreaterThanEquals", "8080", "80", False),
        ("NumericEquals", "443", "not-a-number", False),
        ("NumericEquals", "443", None, False),
        ("NumericLessThanIfExists", "1024", None, True),
        ("NumericEquals", "1.5", "1.50", True),
    ],
)
def test_numeric_operators(operator: str, policy_values: Any, port: str | None, holds: bool) -> None:
    """IAM UG "Numeric condition operators": integers and decimals compared as numbers."""
    policy = condition_policy({operator: {PORT: policy_values}})
    keys = {} if port is None else {PORT: (port,)}
    assert ask(policy, keys=keys) == ("ALLOW" if holds else "NO_MATCH")


@pytest.mark.parametrize(
    ("operator", "policy_values", "address", "holds"),
    [
        ("IpAddress", "203.0.113.0/24", "203.0.113.7", True),
        ("IpAddress", "203.0.113.0/24", "198.51.100.7", False),
        ("IpAddress", ["198.51.100.0/24", "203.0.113.0/24"], "198.51.100.1", True),
        ("IpAddress", "203.0.113.7", "203.0.113.7", True),  # a bare address is a /32
        ("IpAddress", "2001:db8::/32", "2001:db8::1", True),
        ("IpAddress", "2001:db8::/32", "2001:db9::1", False),
        ("IpAddress", "2001:db8::/32", "203.0.113.7", False),  # families never match each other
        ("IpAddress", "203.0.113.0/24", "not-an-address", False),
        ("NotIpAddress", "10.0.0.0/8", "203.0.113.7", True),
        ("NotIpAddress", ["10.0.0.0/8", "203.0.113.0/24"], "203.0.113.7", False),
        ("NotIpAddress", "10.0.0.0/8", None, True),
        ("IpAddress", "10.0.0.0/8", None, False),
    ],
)
def test_ip_address_operators(operator: str, policy_values: Any, address: str | None, holds: bool) -> None:
    """IAM UG "IP address condition operators": CIDR blocks, IPv4 and IPv6, against aws:SourceIp."""
    policy = condition_policy({operator: {"aws:SourceIp": policy_values}})
    keys = {} if address is None else {"aws:SourceIp": (address,)}
    assert ask(policy, keys=keys) == ("ALLOW" if holds else "NO_MATCH")


SN = "arn:aws:vpc-lattice:us-west-2:123456789012:servicenetwork/sn-0123456789abcdef0"


@pytest.mark.parametrize(
    ("operator", "pattern", "value", "holds"),
    [
        ("ArnEquals", SN, SN, True),
        ("ArnLike", "arn:aws:vpc-lattice:*:123456789012:servicenetwork/*", SN, True),
        ("ArnLike", "arn:aws:vpc-lattice:*:111122223333:servicenetwork/*", SN, False),
        ("ArnEquals", "arn:aws:vpc-lattice:us-west-?:123456789012:servicenetwork/*", SN, True),
        ("ArnLike", "arn:aws:*:123456789012:servicenetwork/*", SN, False),  # `*` stays inside its segment
        ("ArnLike", "arn:aws:vpc-lattice:us-west-2:123456789012:*", SN, True),  # last segment takes anything
        ("ArnLike", "arn:aws:vpc-lattice:us-west-2:123456789012:*", "not-an-arn", False),
        ("ArnNotEquals", SN, SN, False),
        ("ArnNotLike", "arn:aws:vpc-lattice:*:*:servicenetwork/sn-1*", SN, True),
        ("ArnLike", "*", SN, True),
    ],
)
def test_arn_operators(operator: str, pattern: str, value: str, holds: bool) -> None:
    """IAM UG "ARN condition operators": each of the six colon-separated segments matched on its own."""
    policy = condition_policy({operator: {"vpc-lattice-svcs:ServiceNetworkArn": pattern}})
    effect = ask(policy, keys={"vpc-lattice-svcs:ServiceNetworkArn": (value,)})
    assert effect == ("ALLOW" if holds else "NO_MATCH")


@pytest.mark.parametrize(
    ("operator", "policy_value", "request_values", "holds"),
    [
        ("Bool", "true", ("true",), True),
        ("Bool", True, ("TRUE",), True),
        ("Bool", "false", ("true",), False),
        ("Bool", "true", None, False),
        ("BoolIfExists", "true", None, True),
        ("Null", "true", None, True),  # key absent
        ("Null", "true", ("x",), False),
        ("Null", "false", ("x",), True),  # key present
        ("Null", "false", None, False),
        ("Null", "false", (), False),  # an empty value list is no value
        ("DateGreaterThan", "2020-01-01T00:00:00Z", ("2024-05-01T12:00:00Z",), True),
        ("DateLessThan", "2020-01-01T00:00:00Z", ("2024-05-01T12:00:00Z",), False),
        ("DateLessThan", "2020-01-01T00:00:00Z", ("1500000000",), True),  # epoch seconds
        ("DateEquals", "2020-01-01", ("2020-01-01T00:00:00+00:00",), True),
        ("DateNotEquals", "2020-01-01", ("2020-01-02",), True),
        ("DateEquals", "2020-01-01", ("yesterday",), False),
        ("BinaryEquals", "QmluYXJ5", ("QmluYXJ5",), True),
    ],
)
def test_bool_null_date_binary_operators(operator: str, policy_value: Any, request_values: Any, holds: bool) -> None:
    """IAM UG: Bool, Null (existence), Date (ISO 8601 or epoch) and BinaryEquals."""
    policy = condition_policy({operator: {"aws:Custom": policy_value}})
    keys = {} if request_values is None else {"aws:Custom": request_values}
    assert ask(policy, keys=keys) == ("ALLOW" if holds else "NO_MATCH")


def test_condition_key_names_ignore_case_on_both_sides() -> None:
    """IAM UG "Condition": key names are not case-sensitive; values are, per operator."""
    policy = condition_policy({"StringEquals": {"VPC-LATTICE-SVCS:requestmethod": "GET"}})
    assert ask(policy, keys={"vpc-lattice-svcs:RequestMethod": ("GET",)}) == "ALLOW"
    assert ask(policy, keys={"Vpc-Lattice-Svcs:REQUESTMETHOD": ("GET",)}) == "ALLOW"


class _Folded(FoldedKeys):
    """A lower-case-only mapping that records what it was asked, to show it is never enumerated."""

    def __init__(self, values: dict[str, tuple[str, ...]]) -> None:
        self.values_by_name, self.asked = values, []

    def __getitem__(self, key: str) -> tuple[str, ...]:
        self.asked.append(key)
        return self.values_by_name[key]

    def __iter__(self) -> Any:
        raise AssertionError("a FoldedKeys mapping is never enumerated")

    def __len__(self) -> int:
        raise AssertionError("a FoldedKeys mapping is never enumerated")


def test_folded_keys_are_looked_up_by_lower_case_name_and_never_enumerated() -> None:
    """A caller's lazily computed key mapping is asked only for the keys a policy names."""
    policy = condition_policy({"StringEquals": {METHOD: "GET"}, "Null": {"aws:SourceIp": "true"}})
    keys = _Folded({"vpc-lattice-svcs:requestmethod": ("GET",)})
    assert ask(policy, keys=keys) == "ALLOW"
    assert "vpc-lattice-svcs:requestmethod" in keys.asked and "aws:sourceip" in keys.asked


@pytest.mark.parametrize(
    ("key", "principal", "expected"),
    [
        ("aws:PrincipalArn", SESSION, ROLE),  # IAM UG: a role session reports its role
        ("aws:PrincipalArn", USER, USER),
        ("aws:PrincipalAccount", FOREIGN_USER, "444455556666"),
        ("aws:PrincipalType", SESSION, "AssumedRole"),
        ("aws:PrincipalType", USER, "User"),
        ("aws:PrincipalType", None, "Anonymous"),
        ("aws:username", USER, "alice"),
    ],
)
def test_principal_keys_come_from_the_principal(key: str, principal: str | None, expected: str) -> None:
    """aws:Principal* keys are derived from the authenticated caller, never from the caller-built keys."""
    policy = condition_policy({"StringEquals": {key: expected}})
    forged = {key: ("forged",)}
    assert ask(policy, who(principal), keys=forged) == "ALLOW"


def test_principal_keys_are_absent_for_anonymous_callers_and_cannot_be_forged() -> None:
    policy = condition_policy({"StringEquals": {"aws:PrincipalOrgID": "o-1"}})
    assert ask(policy, None, keys={"aws:PrincipalOrgID": ("o-1",)}) == "NO_MATCH"
    assert ask(condition_policy({"Null": {"aws:PrincipalArn": "true"}}), None) == "ALLOW"


@pytest.mark.parametrize(
    ("value", "principal", "holds"),
    [
        ("${aws:PrincipalTag/team}", who(USER, team="payments"), True),
        ("${aws:PrincipalTag/team}", who(USER, team="billing"), False),
        ("${aws:PrincipalTag/team}", who(USER), False),  # no value, no default: the condition fails
        ("${aws:PrincipalTag/team, 'payments'}", who(USER), True),  # default value
        ("${aws:principaltag/TEAM}", who(USER, team="payments"), True),  # variable names ignore case
    ],
)
def test_policy_variables_in_conditions(value: str, principal: Principal | None, holds: bool) -> None:
    """IAM UG "Variables and tags": ${key} and ${key, 'default'} in condition values."""
    policy = condition_policy({"StringEquals": {"vpc-lattice-svcs:RequestHeader/x-team": value}})
    keys = {"vpc-lattice-svcs:RequestHeader/x-team": ("payments",)}
    assert ask(policy, principal, keys=keys) == ("ALLOW" if holds else "NO_MATCH")


def test_policy_variables_in_resources_and_their_escapes() -> None:
    """A resource naming `${aws:PrincipalTag/team}` follows the caller's tag; `${*}` is a literal star."""
    policy = doc(allow(Resource=f"{SVC}/teams/${{aws:PrincipalTag/team}}/*"))
    assert ask(policy, who(USER, team="a"), path="/teams/a/x") == "ALLOW"
    assert ask(policy, who(USER, team="b"), path="/teams/a/x") == "NO_MATCH"
    assert ask(policy, who(USER), path="/teams/a/x") == "NO_MATCH"
    starred = doc(allow(Resource=f"{SVC}/literal${{*}}"))
    assert ask(starred, path="/literal*") == "ALLOW"
    assert ask(starred, path="/literally") == "NO_MATCH"


def test_policy_variables_are_literal_text_in_version_2008() -> None:
    """IAM UG "Version": variables need 2012-10-17; in 2008-10-17 `${...}` is plain text."""
    policy = doc(allow(Resource=f"{SVC}/${{aws:username}}"), version="2008-10-17")
    assert ask(policy, who(USER), path="/alice") == "NO_MATCH"
    assert ask(policy, who(USER), path="/${aws:username}") == "ALLOW"


# -- Principal and NotPrincipal ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal_element", "caller", "matches"),
    [
        ("*", None, True),
        ({"AWS": "*"}, None, True),  # IAM UG: the same as "*"
        ({"AWS": ACCOUNT}, who(USER), True),  # an account stands for all of its principals
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, who(SESSION), True),
        ({"AWS": ACCOUNT}, who(FOREIGN_USER), False),
        ({"AWS": ACCOUNT}, None, False),  # anonymous matches only "*"
        ({"AWS": ROLE}, who(SESSION), True),  # a role names its sessions
        ({"AWS": ROLE}, who(ROLE), True),
        ({"AWS": ROLE}, who(OTHER_SESSION), False),
        ({"AWS": SESSION}, who(SESSION), True),  # one session
        ({"AWS": SESSION}, who(f"arn:aws:sts::{ACCOUNT}:assumed-role/rates-client/other"), False),
        ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/team/rates-client"}, who(SESSION), True),  # path-less session ARN
        ({"AWS": USER}, who(USER), True),
        ({"AWS": USER}, who(f"arn:aws:iam::{ACCOUNT}:user/alicia"), False),
        ({"AWS": [FOREIGN_USER, USER]}, who(USER), True),
        ({"Service": "ec2.amazonaws.com"}, who(USER), False),
    ],
)
def test_principal_element(principal_element: Any, caller: Principal | None, matches: bool) -> None:
    """IAM UG "AWS JSON policy elements: Principal"."""
    policy = doc({**allow(), "Principal": principal_element})
    assert ask(policy, caller) == ("ALLOW" if matches else "NO_MATCH")


@pytest.mark.parametrize(
    ("listed", "caller", "denied"),
    [
        # IAM UG "NotPrincipal": list the account with the identity, or the account's check denies it anyway.
        ([FOREIGN_USER, "arn:aws:iam::444455556666:root"], who(FOREIGN_USER), False),
        ([FOREIGN_USER], who(FOREIGN_USER), True),
        ([FOREIGN_USER, "arn:aws:iam::444455556666:root"], who(USER), True),
        ([SESSION, ROLE, f"arn:aws:iam::{ACCOUNT}:root"], who(SESSION), False),
        ([SESSION, f"arn:aws:iam::{ACCOUNT}:root"], who(SESSION), True),  # the role is missing
        ([ROLE, f"arn:aws:iam::{ACCOUNT}:root"], who(SESSION), True),  # the session is missing
        ([f"arn:aws:iam::{ACCOUNT}:root"], who(f"arn:aws:iam::{ACCOUNT}:root"), False),
        ([USER, f"arn:aws:iam::{ACCOUNT}:root"], None, True),  # anonymous is never listed
    ],
)
def test_not_principal_with_deny(listed: list[str], caller: Principal | None, denied: bool) -> None:
    """Deny + NotPrincipal denies everyone not listed, checking the account, the role and the session."""
    statement = {"Effect": "Deny", "NotPrincipal": {"AWS": listed}, "Action": INVOKE, "Resource": "*"}
    policy = doc(allow(), statement)
    assert ask(policy, caller) == ("DENY" if denied else "ALLOW")


# -- Action / NotAction, Resource / NotResource ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "value", "action", "matches"),
    [
        ("Action", "vpc-lattice-svcs:Invoke", INVOKE, True),
        ("Action", "VPC-Lattice-Svcs:invoke", INVOKE, True),  # IAM UG: actions ignore case
        ("Action", "vpc-lattice-svcs:*", INVOKE, True),
        ("Action", "vpc-lattice-svcs:Inv*", INVOKE, True),
        ("Action", "vpc-lattice-svcs:Connect", INVOKE, False),
        ("Action", "*", INVOKE, True),
        ("Action", ["vpc-lattice-svcs:Connect", "vpc-lattice-svcs:Invoke"], INVOKE, True),
        ("NotAction", "vpc-lattice-svcs:Connect", INVOKE, True),
        ("NotAction", "vpc-lattice-svcs:*", INVOKE, False),
    ],
)
def test_action_element(element: str, value: Any, action: str, matches: bool) -> None:
    statement = {"Effect": "Allow", "Principal": "*", element: value, "Resource": "*"}
    assert ask(doc(statement), action=action) == ("ALLOW" if matches else "NO_MATCH")


def test_not_resource_excludes_paths() -> None:
    statement = {"Effect": "Deny", "Principal": "*", "Action": INVOKE, "NotResource": f"{SVC}/public/*"}
    policy = doc(allow(), statement)
    assert ask(policy, path="/public/index.html") == "ALLOW"
    assert ask(policy, path="/private") == "DENY"


def test_deny_wins_over_allow_whatever_the_order() -> None:
    """IAM UG "Policy evaluation logic": an explicit deny in any statement overrides any allow."""
    assert ask(doc(deny(), allow())) == "DENY"
    assert ask(doc(allow(), deny())) == "DENY"
    assert ask(doc(allow(Resource=f"{OTHER_SVC}/*"))) == "NO_MATCH"


# -- PolicyError: the message names the problem and where ----------------------------------------------------


@pytest.mark.parametrize(
    ("document", "kind", "message"),
    [
        ("{", "resource", r"^Policy: not valid JSON: .* at line 1 column 2\.$"),
        ("[]", "resource", r"^Policy: must be a JSON object"),
        (json.dumps({"Version": "2012-10-17"}), "resource", r"^Policy: no Statement"),
        (json.dumps({"Statement": []}), "resource", r"^Statement: empty"),
        (
            json.dumps({"Statment": [allow()]}),
            "resource",
            r"^Policy: unknown element 'Statment'\. Did you mean Statement\?",
        ),
        (doc(allow(), version="2012-10-18"), "resource", r"^Version: '2012-10-18' is not a policy language version"),
        (
            doc({**allow(), "Effect": "allow"}),
            "resource",
            r"^Statement\[0\]\.Effect: must be \"Allow\" or \"Deny\", not \"allow\"\. Did you mean Allow\?",
        ),
        (doc({**allow(), "Effect": "Permit"}), "resource", r"^Statement\[0\]\.Effect: must be \"Allow\" or \"Deny\""),
        (doc({k: v for k, v in allow().items() if k != "Effect"}), "resource", r"^Statement\[0\]\.Effect: must be"),
        (
            doc(allow(), {**allow(), "Actions": INVOKE}),
            "resource",
            r"^Statement\[1\]: unknown element 'Actions'\. Did you mean Action\?",
        ),
        (
            doc({k: v for k, v in allow().items() if k != "Principal"}),
            "resource",
            r"^Statement\[0\]: a resource-based policy \(an auth or sharing policy\) needs a Principal",
        ),
        (doc(allow()), "identity", r"^Statement\[0\]\.Principal: an identity policy takes no Principal"),
        (doc({**allow(), "NotAction": INVOKE}), "resource", r"^Statement\[0\]: use Action or NotAction, not both\."),
        (
            doc({k: v for k, v in allow().items() if k != "Action"}),
            "resource",
            r"^Statement\[0\]: Action \(or NotAction\) is required\.",
        ),
        (
            doc({k: v for k, v in allow().items() if k != "Resource"}),
            "resource",
            r"^Statement\[0\]: Resource \(or NotResource\) is required\.",
        ),
        (
            doc(allow(Action="s3:GetObject")),
            "resource",
            r"^Statement\[0\]\.Action: 's3:GetObject' is not a VPC Lattice action",
        ),
        (doc(allow(Action="Invoke")), "resource", r"^Statement\[0\]\.Action: 'Invoke' needs a service prefix"),
        (doc(allow(Action=[])), "resource", r"^Statement\[0\]\.Action: give at least one value\."),
        (doc(allow(Resource=[""])), "resource", r"^Statement\[0\]\.Resource: values must be non-empty strings\."),
        (
            doc(allow(Condition={"StringEqual": {METHOD: "GET"}})),
            "resource",
            r"^Statement\[0\]\.Condition: unknown operator 'StringEqual'\. Did you mean StringEquals\?$",
        ),
        (
            doc(allow(Condition={"stringEquals": {METHOD: "GET"}})),
            "resource",
            r"^Statement\[0\]\.Condition: unknown operator 'stringEquals'\. Did you mean StringEquals\?$",
        ),
        (
            doc(allow(Condition={"ForAnyValues:StringEquals": {METHOD: "GET"}})),
            "resource",
            r"unknown set operator 'ForAnyValues:'.* Did you mean ForAnyValue\?",
        ),
        (
            doc(allow(Condition={"NullIfExists": {METHOD: "true"}})),
            "resource",
            r"Null takes neither IfExists nor a set operator",
        ),
        (
            doc(allow(Condition={"NumericLessThan": {PORT: "eighty"}})),
            "resource",
            r"^Statement\[0\]\.Condition\.NumericLessThan: vpc-lattice-svcs:Port value 'eighty' is not a number\.$",
        ),
        (
            doc(allow(Condition={"Bool": {"aws:SecureTransport": "yes"}})),
            "resource",
            r"aws:SecureTransport value 'yes' is not a boolean",
        ),
        (
            doc(allow(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}})),
            "resource",
            r"value '10\.0\.0\.0/33' is not an IP address or CIDR block",
        ),
        (
            doc(allow(Condition={"DateLessThan": {"aws:CurrentTime": "soon"}})),
            "resource",
            r"value 'soon' is not a date",
        ),
        (doc(allow(Condition={"Null": {"aws:SourceIp": "maybe"}})), "resource", r"value 'maybe' is not a boolean"),
        (doc(allow(Condition={"StringEquals": {METHOD: []}})), "resource", r"give at least one value"),
        (
            doc(allow(Condition={"StringEquals": {METHOD: {"a": 1}}})),
            "resource",
            r"values must be strings, numbers or booleans",
        ),
        (doc(allow(Condition={"StringEquals": {}})), "resource", r"must map condition keys to values"),
        (doc(allow(Condition=["StringEquals"])), "resource", r"^Statement\[0\]\.Condition: must be an object"),
        (
            doc({**allow(), "Principal": "arn:aws:iam::123456789012:root"}),
            "resource",
            r'Principal: must be "\*" or an object',
        ),
        (
            doc({**allow(), "Principal": {"AWS": "arn:aws:iam::123456789012:role/*"}}),
            "resource",
            r"cannot be a wildcard pattern",
        ),
        (doc({**allow(), "Principal": {"AWS": "alice"}}), "resource", r"'alice' is not a principal"),
        (doc({**allow(), "Principal": {"Aws": "*"}}), "resource", r"unknown principal type 'Aws'\. Did you mean AWS\?"),
        ('{"Version": "2012-10-17", "Version": "2012-10-17", "Statement": []}', "resource", r"'Version' appears twice"),
        (doc(allow(Condition={"NumericEquals": {PORT: float("nan")}})), "resource", r"NaN is not a JSON value"),
        ("[" * 100_000 + "]" * 100_000, "resource", r"^Policy: nested too deeply"),
    ],
)
def test_policy_errors_name_the_problem_and_where(document: str, kind: Any, message: str) -> None:
    """Each PolicyError message says what is wrong, where, and how to fix it where it can."""
    with pytest.raises(PolicyError, match=message):
        compile_policy(document, kind)


def test_unknown_lattice_condition_key_compiles_with_a_warning() -> None:
    """A misspelt vpc-lattice-svcs key still evaluates (as absent), and the policy says so."""
    policy = compile_policy(doc(allow(Condition={"StringEquals": {"vpc-lattice-svcs:SourceVPCs": "vpc-1"}})))
    assert len(policy.warnings) == 1
    assert "is not a VPC Lattice condition key" in policy.warnings[0]
    assert "Did you mean vpc-lattice-svcs:sourcevpc?" in policy.warnings[0]
    assert compile_policy(ROLE_EXAMPLE).warnings == ()


# -- explaining an evaluation ------------------------------------------------------------------------------------


def test_evaluation_explains_every_statement_and_element() -> None:
    """The explainer gets each statement's verdict and each element's request values and verdict."""
    policy = compile_policy(ROLE_EXAMPLE.replace('"Effect": "Allow"', '"Sid": "Rates", "Effect": "Allow"'))
    evaluation = policy.evaluate(RequestContext(INVOKE, f"{SVC}/rates", who(SESSION), {METHOD: ("POST",)}))
    assert evaluation.effect == "NO_MATCH"
    (statement,) = evaluation.statements
    assert (statement.index, statement.sid, statement.effect, statement.matched) == (0, "Rates", "Allow", False)
    verdicts = {(e.element, e.operator): (e.request_values, e.matched) for e in statement.elements}
    assert verdicts == {
        ("Principal", None): ((SESSION,), True),
        ("Action", None): ((INVOKE,), True),
        ("Resource", None): ((f"{SVC}/rates",), True),
        ("Condition", "StringEquals"): (("POST",), False),
    }
    text = "\n".join(evaluation.describe())
    assert "StringEquals vpc-lattice-svcs:RequestMethod: request [POST]; policy [GET] -> fails" in text
    assert "Statement[0] (Rates) Allow: does not apply" in text


def test_explanation_shows_absent_keys_and_anonymous_callers() -> None:
    policy = compile_policy(ORG_EXAMPLE)
    evaluation = policy.evaluate(RequestContext(INVOKE, f"{SVC}/", None, {}))
    principal, _, _, condition = evaluation.statements[0].elements
    assert principal.request_values == ("anonymous",) and principal.matched
    assert condition.request_values is None and not condition.matched
    assert "aws:PrincipalOrgID: request has no value; policy [o-123456example] -> fails" in condition.describe()


# -- hypothesis properties ---------------------------------------------------------------------------------------

KEYS = ["vpc-lattice-svcs:RequestMethod", "vpc-lattice-svcs:Port", "aws:SourceIp", "aws:PrincipalTag/team"]
KEY_VALUES = st.sampled_from(["GET", "POST", "443", "80", "10.0.0.1", "203.0.113.9", "a", "b*", "", "2020-01-01"])
OPERATORS = st.sampled_from(
    [
        "StringEquals",
        "StringNotEquals",
        "StringLike",
        "StringNotLikeIfExists",
        "StringEqualsIgnoreCase",
        "ForAnyValue:StringEquals",
        "ForAllValues:StringNotLike",
        "NumericLessThan",
        "NumericNotEquals",
        "IpAddress",
        "NotIpAddress",
        "ArnLike",
        "Bool",
        "Null",
    ]
)
VALUE_FOR = {
    "Numeric": st.sampled_from(["80", "443", "1024"]),
    "IpAddress": st.sampled_from(["10.0.0.0/8", "203.0.113.0/24", "2001:db8::/32"]),
    "NotIpAddress": st.sampled_from(["10.0.0.0/8", "203.0.113.0/24"]),
    "Bool": st.sampled_from(["true", "false"]),
    "Null": st.sampled_from(["true", "false"]),
}
PRINCIPALS = st.sampled_from([None, USER, SESSION, OTHER_SESSION, FOREIGN_USER, f"arn:aws:iam::{ACCOUNT}:root"])


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    block: dict[str, Any] = {}
    for operator in draw(st.lists(OPERATORS, max_size=3, unique=True)):
        family = next((name for name in VALUE_FOR if name in operator), None)
        values = VALUE_FOR[family] if family else KEY_VALUES
        keys = draw(st.lists(st.sampled_from(KEYS), min_size=1, max_size=2, unique=True))
        block[operator] = {key: draw(st.lists(values, min_size=1, max_size=3)) for key in keys}
    return block


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
        draw(st.sampled_from(["Principal", "NotPrincipal"])): draw(
            st.sampled_from(["*", {"AWS": ACCOUNT}, {"AWS": [ROLE, USER]}, {"AWS": FOREIGN_USER}])
        ),
        draw(st.sampled_from(["Action", "NotAction"])): draw(
            st.sampled_from(["*", INVOKE, "vpc-lattice-svcs:Conn*", ["vpc-lattice-svcs:*"]])
        ),
        draw(st.sampled_from(["Resource", "NotResource"])): draw(
            st.sampled_from(["*", "*/rates", f"{SVC}/*", f"{OTHER_SVC}/?ates", f"{SVC}/${{aws:PrincipalTag/team}}"])
        ),
    }
    condition = draw(conditions())
    if condition:
        statement["Condition"] = condition
    return statement


@st.composite
def requests(draw: st.DrawFn) -> RequestContext:
    arn = draw(PRINCIPALS)
    principal = (
        None if arn is None else parse_principal_arn(arn, tags=draw(st.dictionaries(st.just("team"), KEY_VALUES)))
    )
    keys = draw(st.dictionaries(st.sampled_from(KEYS), st.lists(KEY_VALUES, max_size=3).map(tuple)))
    path = draw(st.sampled_from(["/", "/rates", "/a", "/b*", ""]))
    service = draw(st.sampled_from([SVC, OTHER_SVC]))
    action = draw(st.sampled_from([INVOKE, "vpc-lattice-svcs:Connect", "VPC-LATTICE-SVCS:INVOKE"]))
    return RequestContext(action, f"{service}{path}", principal, keys)


@settings(max_examples=300, deadline=None)
@given(st.lists(statements(), min_size=1, max_size=4), requests())
def test_evaluate_never_raises_and_agrees_with_its_explanation(
    raw: list[dict[str, Any]], request: RequestContext
) -> None:
    """Any compiled policy evaluates any request without raising; the explanation tells the same story."""
    policy = compile_policy(doc(*raw))
    evaluation = policy.evaluate(request)
    results = evaluation.statements
    assert [r.matched for r in results] == [all(e.matched for e in r.elements) for r in results]
    denied = any(r.matched and r.effect == "Deny" for r in results)
    allowed = any(r.matched and r.effect == "Allow" for r in results)
    assert evaluation.effect == ("DENY" if denied else "ALLOW" if allowed else "NO_MATCH")


@settings(max_examples=200, deadline=None)
@given(st.lists(statements(), min_size=1, max_size=3), statements(effect="Deny"), requests())
def test_adding_a_deny_never_turns_a_refusal_into_an_allow(
    raw: list[dict[str, Any]], extra: dict[str, Any], request: RequestContext
) -> None:
    before = compile_policy(doc(*raw)).evaluate(request).effect
    after = compile_policy(doc(*raw, extra)).evaluate(request).effect
    assert before == "ALLOW" or after != "ALLOW"
    assert before != "DENY" or after == "DENY"


@settings(max_examples=200, deadline=None)
@given(st.lists(statements(), min_size=2, max_size=4), st.data(), requests())
def test_removing_an_allow_never_turns_a_refusal_into_an_allow(
    raw: list[dict[str, Any]], data: st.DataObject, request: RequestContext
) -> None:
    allows = [i for i, statement in enumerate(raw) if statement["Effect"] == "Allow"]
    if not allows:
        raw = [{**raw[0], "Effect": "Allow"}, *raw[1:]]
        allows = [0]
    drop = data.draw(st.sampled_from(allows))
    before = compile_policy(doc(*raw)).evaluate(request).effect
    after = compile_policy(doc(*[s for i, s in enumerate(raw) if i != drop])).evaluate(request).effect
    assert before == "ALLOW" or after != "ALLOW"


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8) | st.sampled_from(["*", "Allow", "Deny", INVOKE]),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Version",
                    "Statement",
                    "Effect",
                    "Principal",
                    "AWS",
                    "Action",
                    "Resource",
                    "Condition",
                    "StringEquals",
                    "x",
                ]
            ),
            children,
            max_size=4,
        )
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(JSON, st.sampled_from(["resource", "identity"]))
def test_compile_raises_only_policy_errors(document: Any, kind: Any) -> None:
    """Whatever JSON arrives at PutAuthPolicy, the answer is a Policy or a PolicyError, never a crash."""
    try:
        policy = compile_policy(json.dumps(document), kind)
    except PolicyError as error:
        assert str(error)
        return
    policy.evaluate(RequestContext(INVOKE, f"{SVC}/", None, {}))


def _reference_match(pattern: str, text: str) -> bool:
    """A slow, obviously right glob: `*` any run, `?` one character, everything else itself."""
    if not pattern:
        return not text
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return any(_reference_match(rest, text[i:]) for i in range(len(text) + 1))
    return bool(text) and (head == "?" or head == text[0]) and _reference_match(rest, text[1:])


@settings(max_examples=300, deadline=None)
@given(st.text("ab*?/.\\[", max_size=8), st.text("ab*?/.\\[", max_size=8))
def test_resource_wildcards_match_like_a_reference_glob(pattern: str, text: str) -> None:
    """Resource patterns: `*` and `?` only; regex metacharacters are themselves."""
    policy = compile_policy(doc(allow(Resource=f"{SVC}{pattern}")))
    expected = _reference_match(pattern, text)
    assert (ask(policy, path=text) == "ALLOW") == expected


def test_error_messages_quote_the_operator_exactly_as_written() -> None:
    with pytest.raises(PolicyError) as caught:
        compile_policy(doc(allow(), allow(Condition={"StringEqual": {METHOD: "GET"}})))
    assert str(caught.value) == "Statement[1].Condition: unknown operator 'StringEqual'. Did you mean StringEquals?"
    assert re.search(r"Statement\[1\]", str(caught.value))
