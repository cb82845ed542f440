"""AWS_IAM end to end: a real server with a credential registry, SigV4-signed requests through a VPC's ingress,
service-network and service auth policies, identity policies, identity headers to targets, access-log fields,
and `latticework call` / `latticework policy explain` agreeing with the data plane."""

from __future__ import annotations

import json
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from topology import Network, eventually, forward
from typer.testing import CliRunner

from latticework.auth.principals import Identity, parse_principal_arn
from latticework.cli.call import sign_request
from latticework.cli.main import app

ORG = "o-retail0001"
ALICE = Identity(
    "AKIAALICE00000000001",
    "alice-secret",
    parse_principal_arn("arn:aws:iam::111122223333:user/alice", ORG, {"team": "checkout"}),
)
TASK = Identity(
    "ASIATASK000000000001",
    "task-secret",
    parse_principal_arn("arn:aws:sts::111122223333:assumed-role/ui-task/task-42", ORG),
    session_token="task-token",
)
OUTSIDER = Identity(
    "AKIAOUTSIDER00000001", "outsider-secret", parse_principal_arn("arn:aws:iam::999988887777:user/eve")
)
DENIED_BY_IDENTITY = Identity(
    "AKIANOIDENTITY000001",
    "bob-secret",
    parse_principal_arn(
        "arn:aws:iam::111122223333:user/bob",
        ORG,
        identity_policy=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
        ),
    ),
)

# The User Guide's "allow only authenticated access from my organization" shape, plus a method condition.
ORG_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "vpc-lattice-svcs:Invoke",
            "Resource": "*",
            "Condition": {
                "StringEquals": {"aws:PrincipalOrgID": [ORG]},
                "StringNotEquals": {"aws:PrincipalType": "Anonymous"},
            },
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "vpc-lattice-svcs:Invoke",
            "Resource": "*/admin*",
        },
    ],
}
ANYONE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "vpc-lattice-svcs:Invoke", "Resource": "*"}],
}


def _entry(identity: Identity) -> dict[str, Any]:
    principal = identity.principal
    return {
        "accessKeyId": identity.access_key,
        "secretAccessKey": identity.secret_key,
        "sessionToken": identity.session_token,
        "arn": principal.arn,
        "orgId": principal.org_id,
        "tags": dict(principal.tags),
        "identityPolicy": principal.identity_policy,
    }


@pytest.fixture
def secured(make_server: Any, tmp_path: Path) -> Network:
    path = tmp_path / "principals.json"
    path.write_text(json.dumps({"principals": [_entry(i) for i in (ALICE, TASK, OUTSIDER, DENIED_BY_IDENTITY)]}))
    return Network.on(make_server("--principals", str(path)))


def _service(network: Network, backend: Any, name: str, policy: dict[str, Any] | None) -> dict[str, Any]:
    group = network.target_group(f"{name}-tg", backend(name))
    service = network.service(name, forward((group, 100)), authType="AWS_IAM")
    if policy is not None:
        network.lattice.put_auth_policy(resourceIdentifier=service["id"], policy=json.dumps(policy))
    network.settle()
    return service


def _call(
    network: Network, vpc: str, url: str, identity: Identity | None = None, method: str = "GET", **headers: str
) -> tuple[int, Any]:
    host = url.split("/")[2]
    headers = {"host": host, **headers}
    if identity is not None:
        headers = sign_request(method, url, headers, None, identity, "us-west-2")
    request = urllib.request.Request(url, method=method, headers=headers)
    status, _, body = _open(network, vpc, request)
    return status, body


def _open(network: Network, vpc: str, request: urllib.request.Request) -> tuple[int, dict[str, Any], Any]:
    try:
        with network.opener(vpc).open(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def test_org_policy_allows_signed_members_and_denies_anonymous_outsiders_and_admin_paths(
    secured: Network, backend: Any
) -> None:
    vpc = secured.add_vpc("ui")
    service = _service(secured, backend, "checkout", ORG_ONLY)
    url = f"http://{service['dnsEntry']['domainName']}/cart?x=1"
    status, echoed = _call(secured, vpc, url, ALICE)
    assert status == 200, echoed
    seen = echoed["headers"]
    assert seen["x-amzn-lattice-identity"] == (f"Principal={ALICE.principal.arn}; PrincipalOrgID={ORG}; Type=AWS_IAM")
    assert seen["x-amzn-lattice-identity-tags"] == f"principal={ALICE.principal.arn};principalorgid={ORG};team=checkout"
    status, body = _call(secured, vpc, url)
    assert status == 403 and body.startswith("AccessDeniedException: User: anonymous is not authorized")
    status, body = _call(secured, vpc, url, OUTSIDER)
    assert status == 403 and OUTSIDER.principal.arn in body and "vpc-lattice-svcs:Invoke" in body
    status, body = _call(secured, vpc, url.replace("/cart", "/admin/users"), ALICE)
    assert status == 403 and "explicit deny" in body


def test_assumed_role_session_needs_its_token_and_reaches_the_target_with_its_session_name(
    secured: Network, backend: Any
) -> None:
    vpc = secured.add_vpc("ui")
    service = _service(secured, backend, "orders", ORG_ONLY)
    url = f"http://{service['dnsEntry']['domainName']}/orders"
    status, echoed = _call(secured, vpc, url, TASK)
    assert status == 200, echoed
    assert "SessionName=task-42" in echoed["headers"]["x-amzn-lattice-identity"]
    forged = Identity(TASK.access_key, TASK.secret_key, TASK.principal, session_token="stolen")
    status, body = _call(secured, vpc, url, forged)
    assert status == 403 and "token" in body.lower()


def test_a_bad_signature_fails_even_where_anonymous_callers_are_allowed(secured: Network, backend: Any) -> None:
    vpc = secured.add_vpc("ui")
    service = _service(secured, backend, "open", ANYONE)
    url = f"http://{service['dnsEntry']['domainName']}/"
    assert _call(secured, vpc, url)[0] == 200
    assert _call(secured, vpc, url, ALICE)[0] == 200
    wrong = Identity(ALICE.access_key, "not-the-secret", ALICE.principal)
    status, body = _call(secured, vpc, url, wrong)
    assert status == 403 and body.startswith("InvalidSignatureException")
    unknown = Identity("AKIAUNKNOWN000000001", "x", ALICE.principal)
    assert _call(secured, vpc, url, unknown)[0] == 403


def test_network_policy_and_identity_policy_are_layers_that_each_must_allow(secured: Network, backend: Any) -> None:
    vpc = secured.add_vpc("ui")
    service = _service(secured, backend, "layers", ANYONE)
    url = f"http://{service['dnsEntry']['domainName']}/"
    assert _call(secured, vpc, url, ALICE)[0] == 200
    assert _call(secured, vpc, url, DENIED_BY_IDENTITY)[0] == 403  # its identity policy denies everything
    secured.lattice.update_service_network(serviceNetworkIdentifier=secured.network["id"], authType="AWS_IAM")
    secured.settle()
    status, body = _call(secured, vpc, url, ALICE)  # AWS_IAM with no policy: deny all
    assert status == 403 and body.startswith("AccessDeniedException")
    secured.lattice.put_auth_policy(resourceIdentifier=secured.network["id"], policy=json.dumps(ORG_ONLY))
    secured.settle()
    assert _call(secured, vpc, url, ALICE)[0] == 200
    assert _call(secured, vpc, url)[0] == 403  # the network policy wants authenticated callers


def test_access_log_records_the_caller_and_the_layer_that_denied(secured: Network, backend: Any) -> None:
    vpc = secured.add_vpc("ui")
    service = _service(secured, backend, "audited", ORG_ONLY)
    secured.lattice.create_access_log_subscription(
        resourceIdentifier=service["id"], destinationArn="arn:aws:logs:us-west-2:000000000000:log-group:auth"
    )
    secured.settle()
    time.sleep(0.2)
    url = f"http://{service['dnsEntry']['domainName']}/cart"
    _call(secured, vpc, url, ALICE)
    _call(secured, vpc, url)
    logs = Path(secured.server.state_dir) / "logs"

    def records() -> list[dict[str, Any]]:
        return [json.loads(line) for path in logs.rglob("*.log") for line in path.read_text().splitlines()]

    eventually(lambda: len(records()) >= 2, timeout=5)
    by_code = {record["responseCode"]: record for record in records()}
    allowed, denied = by_code[200], by_code[403]
    assert allowed["resolvedUser"] == ALICE.principal.arn and allowed["callerPrincipal"] == ALICE.principal.arn
    assert allowed["authDeniedReason"] == "-" and allowed["responseCode"] == 200
    assert allowed["callerPrincipalTags"].startswith(f"principal={ALICE.principal.arn}")
    assert denied["resolvedUser"] == "Anonymous" and denied["authDeniedReason"] == "Service"
    assert denied["responseCode"] == 403


def test_latticework_call_signs_as_a_registry_principal(secured: Network, backend: Any) -> None:
    vpc = secured.add_vpc("ui")
    service = _service(secured, backend, "called", ORG_ONLY)
    url = f"http://{service['dnsEntry']['domainName']}/cart"
    runner = CliRunner()
    state = ["--state-dir", str(secured.server.state_dir)]
    ok = runner.invoke(app, ["call", url, "--vpc", vpc, "--as", ALICE.principal.arn, "-f", *state])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout_bytes)["headers"]["x-amzn-lattice-identity"].startswith("Principal=")
    refused = runner.invoke(app, ["call", url, "--vpc", vpc, "-f", *state])
    assert refused.exit_code == 22


# Conditions on what the caller sends: a header, a query value, the method, the source VPC.
REQUEST_SHAPED = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "vpc-lattice-svcs:Invoke",
            "Resource": "*",
            "Condition": {
                "StringEqualsIgnoreCase": {"vpc-lattice-svcs:RequestHeader/x-tenant": "retail"},
                "ForAnyValue:StringLike": {"vpc-lattice-svcs:RequestQueryString/view": ["summary", "full*"]},
            },
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "vpc-lattice-svcs:Invoke",
            "Resource": "*",
            "Condition": {"StringEquals": {"vpc-lattice-svcs:RequestMethod": "DELETE"}},
        },
    ],
}


def test_explain_agrees_with_the_data_plane_on_request_conditions(secured: Network, backend: Any) -> None:
    vpc = secured.add_vpc("ui")
    service = _service(secured, backend, "shaped", REQUEST_SHAPED)
    host = service["dnsEntry"]["domainName"]
    runner = CliRunner()
    state = ["--state-dir", str(secured.server.state_dir)]
    seen = set()
    for method in ("GET", "DELETE"):
        for tenant in ("RETAIL", "wholesale", None):
            for query in ("view=summary", "view=fullest&view=x", "view=brief", ""):
                path = f"/items?{query}" if query else "/items"
                headers = {"x-tenant": tenant} if tenant else {}
                status, _ = _call(secured, vpc, f"http://{host}{path}", ALICE, method, **headers)
                options = ["--header", f"x-tenant:{tenant}"] if tenant else []
                explained = runner.invoke(
                    app,
                    ["policy", "explain", "--service", host, "--principal", ALICE.access_key, "--method", method,
                     "--path", path, *options, "--vpc", vpc, "--json", *state],
                )  # fmt: skip
                assert explained.exit_code == 0, explained.output
                allowed = json.loads(explained.output)["allowed"]
                assert allowed == (status == 200), (method, tenant, query, status)
                seen.add(allowed)
    assert seen == {True, False}


def test_explain_agrees_with_the_data_plane(secured: Network, backend: Any) -> None:
    vpc = secured.add_vpc("ui")
    service = _service(secured, backend, "explained", ORG_ONLY)
    host = service["dnsEntry"]["domainName"]
    runner = CliRunner()
    state = ["--state-dir", str(secured.server.state_dir)]
    cases = [
        (ALICE, "GET", "/cart"),
        (ALICE, "POST", "/admin/x"),
        (OUTSIDER, "GET", "/cart"),
        (None, "GET", "/cart"),
        (DENIED_BY_IDENTITY, "GET", "/cart"),
        (TASK, "DELETE", "/orders/1"),
    ]
    for identity, method, path in cases:
        status, _ = _call(secured, vpc, f"http://{host}{path}", identity, method)
        who = identity.principal.arn if identity else "anonymous"
        explained = runner.invoke(
            app,
            [
                "policy",
                "explain",
                "--service",
                service["id"],
                "--principal",
                who,
                "--method",
                method,
                "--path",
                path,
                "--vpc",
                vpc,
                "--json",
                *state,
            ],
        )
        assert explained.exit_code == 0, explained.output
        verdict = json.loads(explained.output)
        assert verdict["allowed"] == (status == 200), (identity, method, path, status, verdict)
