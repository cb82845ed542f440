"""SigV4 / SigV4A verification against the SDKs' own signers: botocore's SigV4Auth / SigV4QueryAuth and awscrt's
aws_sign_request (V4 and V4_ASYMMETRIC) sign, our Verifier verifies. Every failure of issue 4's acceptance list,
AWS's malformed-signature errors, and properties: any botocore- or awscrt-signed path and query verifies; one
changed byte of signature, path or query never does."""

from __future__ import annotations

import datetime
import hashlib
from collections.abc import Callable
from dataclasses import replace
from urllib.parse import quote, unquote, unquote_to_bytes, urlsplit

import pytest
from awscrt import auth as crt
from awscrt import http as crt_http
from awscrt.exceptions import AwsCrtError
from botocore.auth import SigV4Auth, SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.utils import remove_dot_segments
from hypothesis import HealthCheck, given, reject, settings
from hypothesis import strategies as st

from latticework.auth import _canonical, sigv4
from latticework.auth._sigv4a import derive_public_key, region_set_includes
from latticework.auth.principals import Identity, parse_principal_arn
from latticework.auth.sigv4 import (
    SERVICE,
    ParsedSignature,
    SignatureError,
    SignedRequest,
    Verifier,
    signature_of,
)

REGION = "us-west-2"
HOST = "checkout-0a1b2c3d4e5f60718.7d67968.vpc-lattice-svcs.us-west-2.on.aws"
ALICE = Identity(
    "AKIAALICE0000EXAMPLE", "alice/secret+key", parse_principal_arn("arn:aws:iam::111122223333:user/alice")
)
TASK = Identity(
    "ASIATASK00000EXAMPLE",
    "task-secret",
    parse_principal_arn("arn:aws:sts::444455556666:assumed-role/checkout/task-7"),
    session_token="FwoGZXIvYXdzEXAMPLE//token==",
)
REGISTRY = {identity.access_key: identity for identity in (ALICE, TASK)}
UNSIGNED = {"X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
CRT_DATE = datetime.datetime(2026, 3, 14, 15, 9, 26, tzinfo=datetime.UTC)

INCOMPLETE = "IncompleteSignatureException"
INVALID = "InvalidSignatureException"
UNRECOGNIZED = "UnrecognizedClientException"


def verifier() -> Verifier:
    return Verifier(REGISTRY.get)


def credentials(identity: Identity, secret: str | None = None, token: str | None = None) -> Credentials:
    return Credentials(identity.access_key, secret or identity.secret_key, token or identity.session_token)


def wire(method: str, url: str, headers: list[tuple[str, str]]) -> SignedRequest:
    """The request as the data plane hands it over: raw path and query, lower-case header names in order."""
    parts = urlsplit(url)
    return SignedRequest(method, parts.path, parts.query, [(name.lower(), value) for name, value in headers])


def botocore_signed(
    path: str = "/orders",
    query: str = "",
    *,
    identity: Identity = TASK,
    headers: dict[str, str] | None = None,
    method: str = "GET",
    region: str = REGION,
    service: str = SERVICE,
    secret: str | None = None,
    token: str | None = None,
) -> SignedRequest:
    """Signed the way the Lattice UG's Python sample signs: SigV4Auth with x-amz-content-sha256 UNSIGNED-PAYLOAD."""
    url = f"https://{HOST}{path}" + (f"?{query}" if query else "")
    request = AWSRequest(
        method, url, headers={"Host": HOST, "Accept": "application/json", **UNSIGNED, **(headers or {})}
    )
    SigV4Auth(credentials(identity, secret, token), service, region).add_auth(request)
    return wire(method, request.url, list(request.headers.items()))


def botocore_presigned(
    path: str = "/orders", query: str = "", *, identity: Identity = TASK, expires: int = 60
) -> SignedRequest:
    url = f"https://{HOST}{path}" + (f"?{query}" if query else "")
    request = AWSRequest("GET", url, headers={"Host": HOST, **UNSIGNED})
    SigV4QueryAuth(credentials(identity), SERVICE, REGION, expires=expires).add_auth(request)
    return wire("GET", request.url, list(request.headers.items()))


def crt_signed(
    path_and_query: str = "/orders?size=10",
    *,
    identity: Identity = TASK,
    asymmetric: bool = False,
    presign: bool = False,
    region: str | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> SignedRequest:
    """Signed by awscrt (aws-c-auth) as the Lattice UG's CrtSigV4Auth / CrtSigV4AsymAuth samples do."""
    request = crt_http.HttpRequest("GET", path_and_query, crt_http.HttpHeaders([("host", HOST), *(headers or [])]))
    config = crt.AwsSigningConfig(
        algorithm=crt.AwsSigningAlgorithm.V4_ASYMMETRIC if asymmetric else crt.AwsSigningAlgorithm.V4,
        signature_type=crt.AwsSignatureType.HTTP_REQUEST_QUERY_PARAMS
        if presign
        else crt.AwsSignatureType.HTTP_REQUEST_HEADERS,
        credentials_provider=crt.AwsCredentialsProvider.new_static(
            identity.access_key, identity.secret_key, identity.session_token
        ),
        region=region or ("*" if asymmetric else REGION),
        service=SERVICE,
        date=CRT_DATE,
        signed_body_value=crt.AwsSignedBodyValue.UNSIGNED_PAYLOAD,
        signed_body_header_type=crt.AwsSignedBodyHeaderType.X_AMZ_CONTENT_SHA_256,
        expiration_in_seconds=300 if presign else None,
    )
    crt.aws_sign_request(request, config).result()
    return wire("GET", f"https://{HOST}{request.path}", list(request.headers))


def signed_at(request: SignedRequest) -> float:
    parsed = signature_of(request)
    assert parsed is not None
    return parsed.signed_at


def rejected(request: SignedRequest, now: float | None = None, region: str = REGION) -> SignatureError:
    with pytest.raises(SignatureError) as caught:
        verifier().verify(request, region, signed_at(request) if now is None else now)
    assert caught.value.status == 403
    return caught.value


def with_header(request: SignedRequest, name: str, value: str | None) -> SignedRequest:
    """`request` with header `name` replaced by `value` (dropped when None)."""
    headers = [(n, v) for n, v in request.headers if n != name]
    return replace(request, headers=headers + ([(name, value)] if value is not None else []))


# --- what verifies -------------------------------------------------------------------------------------------

SIGNERS: dict[str, Callable[[Identity], SignedRequest]] = {
    "botocore-header": lambda identity: botocore_signed(identity=identity),
    "botocore-presigned": lambda identity: botocore_presigned(identity=identity),
    "crt-v4-header": lambda identity: crt_signed(identity=identity),
    "crt-v4-presigned": lambda identity: crt_signed(identity=identity, presign=True),
    "crt-v4a-header": lambda identity: crt_signed(identity=identity, asymmetric=True),
    "crt-v4a-presigned": lambda identity: crt_signed(identity=identity, asymmetric=True, presign=True),
    "crt-v4a-region-list": lambda identity: crt_signed(
        identity=identity, asymmetric=True, region="us-east-1,us-west-2"
    ),
    "crt-v4a-region-wildcard": lambda identity: crt_signed(identity=identity, asymmetric=True, region="us-*"),
}


@pytest.mark.parametrize("signer", sorted(SIGNERS))
@pytest.mark.parametrize("identity", [ALICE, TASK], ids=["user-key", "session-key"])
def test_sdk_signed_requests_verify_as_their_signer(signer: str, identity: Identity) -> None:
    request = SIGNERS[signer](identity)
    assert verifier().verify(request, REGION, signed_at(request) + 1) == identity


@pytest.mark.parametrize("offset", [-300, 0, 299, 300])
def test_clock_skew_of_up_to_five_minutes_either_way_is_accepted(offset: int) -> None:
    request = botocore_signed()
    assert verifier().verify(request, REGION, signed_at(request) + offset) == TASK


def test_presigned_url_is_valid_for_its_whole_lifetime_beyond_the_skew() -> None:
    request = botocore_presigned(expires=3600)
    assert verifier().verify(request, REGION, signed_at(request) + 3600) == TASK


def test_repeated_headers_are_joined_in_arrival_order_with_values_trimmed() -> None:
    request = crt_signed(headers=[("x-tag", "  a   b "), ("x-tag", "c")])
    assert verifier().verify(request, REGION, signed_at(request)) == TASK
    swapped = replace(
        request, headers=[h for h in request.headers if h[0] != "x-tag"] + [("x-tag", "c"), ("x-tag", " a b")]
    )
    assert "does not match" in rejected(swapped).message


def test_date_header_stands_in_for_x_amz_date() -> None:
    request = botocore_signed(headers={"Date": "Thu, 01 Jan 2026 00:00:00 GMT"})
    assert "x-amz-date" not in dict(request.headers)
    assert verifier().verify(request, REGION, signed_at(request)) == TASK


def test_unsigned_request_is_anonymous_and_verify_refuses_it() -> None:
    request = SignedRequest("GET", "/", "", [("host", HOST), ("authorization", "Bearer token")])
    assert signature_of(request) is None
    assert verifier().authenticate(request, REGION, 0.0) is None
    with pytest.raises(SignatureError) as caught:
        verifier().verify(request, REGION, 0.0)
    assert caught.value.error_type == "MissingAuthenticationTokenException"


def test_sigv4a_public_key_matches_the_aws_signing_test_suite() -> None:
    """aws-c-auth tests/aws-signing-test-suite/v4a/get-vanilla/public-key.json for the suite's example key."""
    numbers = derive_public_key("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY").public_numbers()
    assert (f"{numbers.x:064x}", f"{numbers.y:064x}") == (
        "b6618f6a65740a99e650b33b6b4b5bd0d43b176d721a3edfea7e7d2d56d936b1",
        "865ed22a7eadc9c5cb9d2cbaca1b3699139fedc5043dc6661864218330c8e518",
    )


@pytest.mark.parametrize(
    ("region_set", "included"),
    [("*", True), ("us-west-2", True), ("us-east-1, us-west-2", True), ("us-*", True), ("*-west-2", True),
     ("us-east-1", False), ("eu-*", False), ("us-west-", False), ("us-west-2?", False), ("", False)],
)  # fmt: skip
def test_region_set_entries_match_exactly_or_by_star_wildcards(region_set: str, included: bool) -> None:
    assert region_set_includes(region_set, REGION) is included


# --- what fails: issue 4's acceptance list, and AWS's wording -----------------------------------------------


def _tampered(request: SignedRequest, path: str | None = None, query: str | None = None) -> SignedRequest:
    return replace(
        request, path=request.path if path is None else path, query=request.query if query is None else query
    )


FAILURES: dict[str, tuple[Callable[[], SignatureError], str, str]] = {
    "wrong secret": (
        lambda: rejected(botocore_signed(secret="not-the-secret")),
        INVALID,
        "The request signature we calculated does not match the signature you provided",
    ),
    "clock skew past 5 minutes behind": (
        lambda: rejected(request := botocore_signed(), signed_at(request) + 301),
        INVALID,
        "Signature expired: ",
    ),
    "clock skew past 5 minutes ahead": (
        lambda: rejected(request := botocore_signed(), signed_at(request) - 301),
        INVALID,
        "Signature not yet current: ",
    ),
    "tampered path": (lambda: rejected(_tampered(botocore_signed(), path="/admin")), INVALID, "does not match"),
    "tampered query": (
        lambda: rejected(_tampered(botocore_signed(query="size=10"), query="size=11")),
        INVALID,
        "does not match",
    ),
    "tampered host": (
        lambda: rejected(with_header(botocore_signed(), "host", "evil.example")),
        INVALID,
        "does not match",
    ),
    "tampered signed header": (
        lambda: rejected(with_header(botocore_signed(), "accept", "text/html")),
        INVALID,
        "does not match",
    ),
    "signed header missing": (
        lambda: rejected(with_header(botocore_signed(), "x-amz-security-token", None)),
        INCOMPLETE,
        "'x-amz-security-token' is named as a SignedHeader, but it does not exist in the HTTP request.",
    ),
    "signed hop-by-hop header": (
        lambda: rejected(_signed_connection()),
        INCOMPLETE,
        "'connection' is named as a SignedHeader",
    ),
    "host not signed": (
        lambda: rejected(_without_host_signed()),
        INCOMPLETE,
        "'Host' or ':authority' must be a 'SignedHeader'",
    ),
    "wrong service": (
        lambda: rejected(botocore_signed(service="vpc-lattice")),
        INVALID,
        "Credential should be scoped to correct service: 'vpc-lattice-svcs'.",
    ),
    "wrong region": (
        lambda: rejected(botocore_signed(region="us-east-1")),
        INVALID,
        "Credential should be scoped to a valid region, not 'us-east-1'.",
    ),
    "expired presigned URL": (
        lambda: rejected(request := botocore_presigned(expires=60), signed_at(request) + 61),
        INVALID,
        "Signature expired: the presigned URL",
    ),
    "signed payload hash": (
        lambda: rejected(botocore_signed(headers={"X-Amz-Content-SHA256": hashlib.sha256(b"{}").hexdigest()})),
        INVALID,
        "VPC Lattice does not support payload signing",
    ),
    "missing x-amz-content-sha256": (
        lambda: rejected(_without_content_sha256()),
        INCOMPLETE,
        "Missing the 'x-amz-content-sha256' in canonical headers.",
    ),
    "presigned without x-amz-content-sha256": (
        lambda: rejected(_presigned_without_content_sha256()),
        INCOMPLETE,
        "Missing the 'x-amz-content-sha256' in canonical headers.",
    ),
    "unknown access key": (
        lambda: rejected(botocore_signed(identity=replace(ALICE, access_key="AKIAUNKNOWN000000000"))),
        UNRECOGNIZED,
        "The security token included in the request is invalid.",
    ),
    "wrong session token": (
        lambda: rejected(botocore_signed(token="not-the-token")),
        UNRECOGNIZED,
        "The security token included in the request is invalid.",
    ),
    "session token missing": (
        lambda: rejected(botocore_signed(identity=replace(TASK, session_token=None))),
        UNRECOGNIZED,
        "The security token included in the request is invalid.",
    ),
    "session token on a key without one": (
        lambda: rejected(botocore_signed(identity=ALICE, token="made-up")),
        UNRECOGNIZED,
        "is a long-term key: send no session token with it.",
    ),
    "sigv4a region set without the service's region": (
        lambda: rejected(crt_signed(asymmetric=True, region="us-east-1")),
        INVALID,
        "The SigV4A region set 'us-east-1' does not include this service's region 'us-west-2'.",
    ),
    "sigv4a region set not signed": (
        lambda: rejected(_resigned_headers(crt_signed(asymmetric=True), ";x-amz-region-set", "")),
        INCOMPLETE,
        "Missing the 'x-amz-region-set' in canonical headers",
    ),
    "sigv4a presigned for another region": (
        lambda: rejected(crt_signed(asymmetric=True, presign=True, region="eu-west-1")),
        INVALID,
        "The SigV4A region set 'eu-west-1' does not include this service's region 'us-west-2'.",
    ),
    "sigv4a wrong secret": (
        lambda: rejected(crt_signed(identity=replace(TASK, secret_key="other"), asymmetric=True)),
        INVALID,
        "does not match",
    ),
    "sigv4a tampered path": (
        lambda: rejected(_tampered(crt_signed(asymmetric=True), path="/admin")),
        INVALID,
        "does not match",
    ),
    "scope date is not the x-amz-date day": (
        lambda: rejected(
            request := with_header(botocore_signed(), "x-amz-date", "20260101T000000Z"), signed_at(request)
        ),
        INVALID,
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP",
    ),
}


def _resigned_headers(request: SignedRequest, old: str, new: str) -> SignedRequest:
    authorization = dict(request.headers)["authorization"]
    assert old in authorization
    return with_header(request, "authorization", authorization.replace(old, new))


def _signed_connection() -> SignedRequest:
    # SDKs never sign `connection` (botocore's blacklist, aws-c-auth's skipped headers); a hand-made signer might.
    request = with_header(crt_signed(), "connection", "keep-alive")
    return _resigned_headers(request, "SignedHeaders=host;", "SignedHeaders=connection;host;")


def _without_host_signed() -> SignedRequest:
    return _resigned_headers(crt_signed(), "SignedHeaders=host;", "SignedHeaders=")


def _without_content_sha256() -> SignedRequest:
    url = f"https://{HOST}/orders"
    request = AWSRequest("GET", url, headers={"Host": HOST})
    request.context["payload_signing_enabled"] = True
    SigV4Auth(credentials(TASK), SERVICE, REGION).add_auth(request)
    return wire("GET", request.url, list(request.headers.items()))


def _presigned_without_content_sha256() -> SignedRequest:
    request = AWSRequest("GET", f"https://{HOST}/orders", headers={"Host": HOST})
    SigV4QueryAuth(credentials(TASK), SERVICE, REGION, expires=60).add_auth(request)
    return wire("GET", request.url, list(request.headers.items()))


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_failures_carry_aws_error_type_and_wording(case: str) -> None:
    reject, error_type, wording = FAILURES[case]
    error = reject()
    assert (error.error_type, wording in error.message) == (error_type, True), error.message


def test_signature_mismatch_shows_the_canonical_request_we_expected() -> None:
    error = rejected(_tampered(botocore_signed(query="b=2&a=1"), path="/admin"))
    assert "\n/admin\na=1&b=2\naccept:application/json\nhost:" in error.message
    assert "\nUNSIGNED-PAYLOAD'" in error.message
    assert "AWS4-HMAC-SHA256\n" in error.message.split("String-to-Sign should have been", 1)[1]


AUTH = "AWS4-HMAC-SHA256 Credential=AKIAALICE0000EXAMPLE/20260314/us-west-2/vpc-lattice-svcs/aws4_request"
PRESIGNED = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2F20260314%2Fus-west-2%2Fvpc-lattice-svcs%2Faws4_request"
    "&X-Amz-Date=20260314T150926Z&X-Amz-SignedHeaders=host&X-Amz-Signature=ab"
)
DATE = ("x-amz-date", "20260314T150926Z")


@pytest.mark.parametrize(
    ("headers", "query", "wording"),
    [
        ([("authorization", "AWS4-HMAC-SHA256")], "",
         "Authorization header requires 'Credential' parameter. Authorization header requires 'Signature' parameter. "
         "Authorization header requires 'SignedHeaders' parameter. Authorization header requires existence of "
         "either a 'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256"),
        ([("authorization", f"{AUTH}, SignedHeaders=host"), DATE], "", "Authorization header requires 'Signature'"),
        ([("authorization", f"{AUTH}, SignedHeaders, Signature=ab"), DATE], "",
         "'SignedHeaders' not a valid key=value pair (missing equal-sign) in Authorization header"),
        ([("authorization", "AWS4-HMAC-SHA256 Credential=AK/20260314/vpc-lattice-svcs/aws4_request, "
           "SignedHeaders=host, Signature=ab"), DATE], "",
         "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term"),
        ([("authorization", "AWS4-ECDSA-P256-SHA256 Credential=AK/20260314/us-west-2/vpc-lattice-svcs/aws4_request, "
           "SignedHeaders=host, Signature=ab"), DATE], "", "Credential must have exactly 4 slash-delimited elements"),
        ([("authorization", "AWS4-HMAC-SHA512 Credential=AK/20260314/us-west-2/s/aws4_request, SignedHeaders=host, "
           "Signature=ab"), DATE], "", "Unsupported AWS 'algorithm': 'AWS4-HMAC-SHA512'"),
        ([("authorization", f"{AUTH}, SignedHeaders=host, Signature=ab"), ("x-amz-date", "2026-03-14T15:09:26Z")], "",
         "Date must be in ISO-8601 'basic format'. Got '2026-03-14T15:09:26Z'"),
        ([("authorization", f"{AUTH}, SignedHeaders=host, Signature=ab"), ("x-amz-date", "20260230T150926Z")], "",
         "Date must be in ISO-8601 'basic format'. Got '20260230T150926Z'"),
        ([("authorization", f"{AUTH}, SignedHeaders=host, Signature=ab"), ("date", "yesterday")], "",
         "Date header 'yesterday' is not an HTTP date"),
        ([], "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260314T150926Z",
         "AWS query-string parameters must include 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-SignedHeaders'. "
         "Re-examine the query-string parameters."),
        ([], f"{PRESIGNED}&X-Amz-Expires=604801",
         "X-Amz-Expires must be from 1 to 604800 seconds"),
        ([], f"{PRESIGNED}&X-Amz-Expires=soon",
         "X-Amz-Expires should be a number of seconds, got 'soon'"),
        ([("authorization", f"{AUTH}, SignedHeaders=host, Signature=ab"), DATE], "X-Amz-Algorithm=AWS4-HMAC-SHA256",
         "Found both 'X-Amz-Algorithm' as a query-string param and 'Authorization' as HTTP header."),
    ],
)  # fmt: skip
def test_malformed_signatures_are_incomplete_in_aws_wording(
    headers: list[tuple[str, str]], query: str, wording: str
) -> None:
    with pytest.raises(SignatureError) as caught:
        signature_of(SignedRequest("GET", "/", query, [("host", HOST), *headers]))
    assert (caught.value.error_type, caught.value.status) == (INCOMPLETE, 403)
    assert wording in caught.value.message, caught.value.message


def test_parsed_signature_reads_the_header_form() -> None:
    parsed = signature_of(botocore_signed())
    assert isinstance(parsed, ParsedSignature)
    assert (parsed.algorithm, parsed.access_key, parsed.region, parsed.service, parsed.presigned) == (
        "AWS4-HMAC-SHA256",
        TASK.access_key,
        REGION,
        SERVICE,
        False,
    )
    assert parsed.signed_headers == "accept;host;x-amz-content-sha256;x-amz-date;x-amz-security-token"
    assert parsed.credential_scope == f"{parsed.timestamp[:8]}/{REGION}/{SERVICE}/aws4_request"


def test_parsed_signature_reads_sigv4a_presigned_form() -> None:
    parsed = signature_of(crt_signed(asymmetric=True, presign=True))
    assert parsed is not None
    assert (parsed.region, parsed.region_set, parsed.presigned, parsed.expires) == (None, "*", True, 300)
    assert parsed.credential_scope == f"20260314/{SERVICE}/aws4_request"


# --- properties ----------------------------------------------------------------------------------------------

SUB_DELIMS = "!$&'()*+,;=:@"  # RFC 3986 3.3: legal unencoded in a path segment
segment_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=8)
path_segments = st.lists(st.one_of(segment_text, st.sampled_from(["", ".", ".."])), max_size=5)
query_pairs = st.lists(
    st.tuples(
        st.one_of(st.sampled_from(["a", "b", "A", "a b", "é"]), segment_text).filter(
            lambda k: not k.startswith("X-Amz-")
        ),
        st.one_of(st.just(""), segment_text),
    ),
    max_size=5,
)


def encoded_path(segments: list[str], safe: str, lower_hex: bool) -> str:
    encoded = [quote(segment, safe=safe) for segment in segments]
    if lower_hex:
        encoded = [_lower_escapes(segment) for segment in encoded]
    return "/" + "/".join(encoded)


def _lower_escapes(text: str) -> str:
    pieces = text.split("%")
    return pieces[0] + "".join("%" + piece[:2].lower() + piece[2:] for piece in pieces[1:])


def encoded_query(pairs: list[tuple[str, str]], safe: str = "-_.~", bare_empty: bool = False) -> str:
    def one(key: str, value: str) -> str:
        if bare_empty and not value and key:  # "k" means "k="; a bare "" would be an empty item, skipped
            return quote(key, safe=safe)
        return f"{quote(key, safe=safe)}={quote(value, safe=safe)}"

    return "&".join(one(key, value) for key, value in pairs)


@given(
    segments=path_segments,
    safe=st.sampled_from(["/", "/" + SUB_DELIMS, "/~:@"]),
    lower_hex=st.booleans(),
    pairs=query_pairs,
    bare_empty=st.booleans(),
)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_any_botocore_signed_path_and_query_verifies(
    segments: list[str], safe: str, lower_hex: bool, pairs: list[tuple[str, str]], bare_empty: bool
) -> None:
    # botocore signs the query as sent, so it verifies only when sent canonically encoded (as its serializer does).
    request = botocore_signed(encoded_path(segments, safe, lower_hex), encoded_query(pairs, bare_empty=bare_empty))
    assert verifier().verify(request, REGION, signed_at(request)) == TASK


@given(
    segments=path_segments,
    safe=st.sampled_from(["/", "/" + SUB_DELIMS]),
    pairs=query_pairs,
    query_safe=st.sampled_from(["-_.~", "-_.~/:@!$'()*,;", "-_.~+"]),
    lower_hex=st.booleans(),
)
@settings(max_examples=75, deadline=None)
def test_any_awscrt_signed_path_and_query_verifies(
    segments: list[str], safe: str, pairs: list[tuple[str, str]], query_safe: str, lower_hex: bool
) -> None:
    # aws-c-auth decodes and re-encodes query parameters, so non-canonical encodings must verify too.
    query = encoded_query(pairs, safe=query_safe)
    if lower_hex:
        query = _lower_escapes(query)
    path = encoded_path(segments, safe, lower_hex)
    try:
        request = crt_signed(path + (f"?{query}" if query else ""))
    except AwsCrtError:
        reject()  # the oracle cannot sign it (aws-c-common refuses paths such as "/:/"): nothing to compare
    assert verifier().verify(request, REGION, signed_at(request)) == TASK


def _changed(text: str, index: int, replacement_seed: int) -> str:
    """`text` with the alphanumeric character at `index` replaced by one that differs even ignoring case."""
    alphabet = [c for c in "0123456789abcdefghijklmnopqrstuvwxyz" if c != text[index].lower()]
    return text[:index] + alphabet[replacement_seed % len(alphabet)] + text[index + 1 :]


no_dots_segment = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=8).filter(
    lambda s: s.strip(".") != ""
)


@given(
    segments=st.lists(no_dots_segment, min_size=1, max_size=4),
    pairs=st.lists(st.tuples(segment_text, segment_text), min_size=1, max_size=4),
    part=st.sampled_from(["signature", "path", "query"]),
    position=st.integers(min_value=0),
    seed=st.integers(min_value=0),
)
@settings(max_examples=150, deadline=None)
def test_one_changed_byte_of_signature_path_or_query_fails(
    segments: list[str], pairs: list[tuple[str, str]], part: str, position: int, seed: int
) -> None:
    request = botocore_signed(encoded_path(segments, "/", False), encoded_query(pairs))
    authorization = dict(request.headers)["authorization"]
    text = {"signature": authorization.rsplit("=", 1)[1], "path": request.path, "query": request.query}[part]
    spots = [i for i, c in enumerate(text) if c.isascii() and c.isalnum()]
    if not spots:
        return  # e.g. a query of only '=' and '&': nothing alphanumeric to change
    changed = _changed(text, spots[position % len(spots)], seed)
    if part == "signature":
        tampered = with_header(request, "authorization", authorization.rsplit("=", 1)[0] + "=" + changed)
    else:
        tampered = _tampered(request, **{part: changed})
    with pytest.raises(SignatureError) as caught:
        verifier().verify(tampered, REGION, signed_at(request))
    assert caught.value.error_type == INVALID


any_text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30)
escape_heavy = st.lists(
    st.one_of(
        st.sampled_from(["%", "%2F", "%2f", "%41", "%7E", "%E2%82%AC", "%FF", "%3D", "/", ".", "..", "+"]), any_text
    ),
    max_size=8,
).map("".join)


@given(text=st.one_of(any_text, escape_heavy))
@settings(max_examples=300)
def test_fast_percent_helpers_agree_with_urllib(text: str) -> None:
    """The verifier's shortcuts (already-canonical checks, its own decoder) change no result, only its speed."""
    assert sigv4._decoded(text) == unquote(text)
    assert _canonical._canonical_component(text) == quote(unquote_to_bytes(text), safe="-_.~")


@given(path=st.one_of(any_text, escape_heavy).map(lambda p: "/" + p))
@settings(max_examples=300)
def test_canonical_path_is_botocores_for_non_s3_services(path: str) -> None:
    assert _canonical.canonical_path(path) == quote(remove_dot_segments(path), safe="/~")
