"""Lattice's layered authorization: network, service and identity layers each must allow, an explicit deny
anywhere wins, a layer without a policy denies; the layer a refusal names; AWS's AccessDeniedException text,
checked against refusals AWS actually printed; and monotonicity properties per layer."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from latticework.auth.authorize import AuthDecision, Layer, LayerName, authorize
from latticework.auth.policy import Policy, RequestContext, compile_policy
from latticework.auth.principals import parse_principal_arn

INVOKE = "vpc-lattice-svcs:Invoke"
SVC = "arn:aws:vpc-lattice:us-west-2:123456789012:service/svc-0123456789abcdef0"
USER = "arn:aws:iam::123456789012:user/alice"


def policy(*statements: dict[str, Any], kind: Any = "resource") -> Policy:
    return compile_policy(json.dumps({"Version": "2012-10-17", "Statement": list(statements)}), kind)


def statement(effect: str = "Allow", resource: str = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": effect, "Principal": "*", "Action": INVOKE, "Resource": resource, **extra}


ALLOW = policy(statement())
DENY = policy(statement("Deny"))
SILENT = policy(statement(resource="arn:aws:vpc-lattice:us-west-2:123456789012:service/svc-0fedcba9876543210/*"))
MISSING = None  # AWS_IAM with no auth policy
BY_NAME = {"allow": ALLOW, "deny": DENY, "silent": SILENT, "missing": MISSING}


def request(principal: str | None = USER, path: str = "/rates", service: str = SVC) -> RequestContext:
    caller = None if principal is None else parse_principal_arn(principal)
    return RequestContext(INVOKE, f"{service}{path}", caller, {})


def decide(*layers: tuple[LayerName, str]) -> AuthDecision:
    return authorize([Layer(name, BY_NAME[effect]) for name, effect in layers], request())


@pytest.mark.parametrize(
    ("layers", "allowed", "denied_by", "explicit"),
    [
        ((), True, None, False),
        ((("Network", "allow"),), True, None, False),
        ((("Network", "allow"), ("Service", "allow")), True, None, False),
        ((("Network", "allow"), ("Service", "allow"), ("Identity", "allow")), True, None, False),
        # Lattice UG "How authorization works": each enabled policy must explicitly allow.
        ((("Network", "silent"), ("Service", "allow")), False, "Network", False),
        ((("Network", "allow"), ("Service", "silent")), False, "Service", False),
        ((("Network", "allow"), ("Service", "allow"), ("Identity", "silent")), False, "Identity", False),
        ((("Service", "silent"), ("Identity", "silent")), False, "Service", False),
        ((("Identity", "silent"), ("Network", "silent"), ("Service", "silent")), False, "Network", False),
        # "If you do not add an auth policy, all traffic will get an access denied error."
        ((("Network", "missing"),), False, "Network", False),
        ((("Service", "missing"), ("Network", "allow")), False, "Service", False),
        # "An explicit deny in any policy overrides any allows" - and outranks a mere missing allow.
        ((("Network", "silent"), ("Service", "deny")), False, "Service", True),
        ((("Network", "missing"), ("Identity", "deny")), False, "Identity", True),
        ((("Network", "allow"), ("Service", "allow"), ("Identity", "deny")), False, "Identity", True),
        ((("Network", "deny"), ("Service", "deny")), False, "Network", True),
        ((("Identity", "deny"), ("Service", "deny")), False, "Service", True),
    ],
)
def test_layers(
    layers: tuple[tuple[LayerName, str], ...], allowed: bool, denied_by: str | None, explicit: bool
) -> None:
    """Every passed layer must ALLOW; the refusal names the explicit denier first, then Network, Service, Identity."""
    decision = decide(*layers)
    assert (decision.allowed, decision.denied_by, decision.explicit_deny) == (allowed, denied_by, explicit)


def test_every_layer_is_evaluated_for_the_explainer() -> None:
    """Even after a deny, each layer's evaluation is kept (None for a layer without a policy)."""
    decision = decide(("Network", "deny"), ("Service", "missing"), ("Identity", "allow"))
    names = [name for name, _ in decision.layers]
    effects = [evaluation.effect if evaluation else None for _, evaluation in decision.layers]
    assert names == ["Network", "Service", "Identity"]
    assert effects == ["DENY", None, "ALLOW"]


def test_identity_policy_layer_is_an_iam_identity_policy() -> None:
    """The identity layer takes the caller's IAM policy (no Principal) and denies what it does not allow."""
    identity = policy(
        {"Effect": "Allow", "Action": "vpc-lattice-svcs:*", "Resource": f"{SVC}/public/*"}, kind="identity"
    )
    layers = [Layer("Service", ALLOW), Layer("Identity", identity)]
    assert authorize(layers, request(path="/public/a")).allowed
    refused = authorize(layers, request(path="/private"))
    assert (refused.allowed, refused.denied_by, refused.explicit_deny) == (False, "Identity", False)


# -- AccessDeniedException text, checked against refusals AWS printed ------------------------------------------


@pytest.mark.parametrize(
    ("principal", "resource", "layers", "message"),
    [
        pytest.param(
            None,
            "arn:aws:vpc-lattice:us-west-2:097381749469:service/svc-061f66f60654b5c6f/",
            [Layer("Network", SILENT), Layer("Service", ALLOW)],
            "User: anonymous is not authorized to perform: vpc-lattice-svcs:Invoke on resource: "
            "arn:aws:vpc-lattice:us-west-2:097381749469:service/svc-061f66f60654b5c6f/ "
            "because no network-based policy allows the vpc-lattice-svcs:Invoke action",
            id="EKS workshop: anonymous, network layer",
        ),
        pytest.param(
            "arn:aws:sts::798082067117:assumed-role/aws-sigv4-client/"
            "eks-eksworksho-app2-v1-bd-95eec466-e227-49b0-8048-bac5db382a4a",
            "arn:aws:vpc-lattice:eu-west-1:798082067117:service/svc-0172f5b22a68d46bc/",
            [Layer("Network", ALLOW), Layer("Service", SILENT)],
            "User: arn:aws:sts::798082067117:assumed-role/aws-sigv4-client/"
            "eks-eksworksho-app2-v1-bd-95eec466-e227-49b0-8048-bac5db382a4a is not authorized to perform: "
            "vpc-lattice-svcs:Invoke on resource: arn:aws:vpc-lattice:eu-west-1:798082067117:service/"
            "svc-0172f5b22a68d46bc/ because no service-based policy allows the vpc-lattice-svcs:Invoke action",
            id="EKS workshop: assumed role, service layer",
        ),
        pytest.param(
            "arn:aws:sts::111122223333:assumed-role/eksctl-Role1-yz1hNJittmXj/1726632845600682009",
            "arn:aws:vpc-lattice:us-west-2:111122223333:service/svc-0b13d4b53748cbdc7/catalogdetail",
            [Layer("Service", ALLOW), Layer("Identity", MISSING)],
            "User: arn:aws:sts::111122223333:assumed-role/eksctl-Role1-yz1hNJittmXj/1726632845600682009 is not "
            "authorized to perform: vpc-lattice-svcs:Invoke on resource: arn:aws:vpc-lattice:us-west-2:"
            "111122223333:service/svc-0b13d4b53748cbdc7/catalogdetail because no identity-based policy allows the "
            "vpc-lattice-svcs:Invoke action",
            id="App Mesh migration sample: identity layer",
        ),
        pytest.param(
            "arn:aws:sts::111122223333:assumed-role/client/s",
            "arn:aws:vpc-lattice:us-east-1:111122223333:service/svc-0b99930a48161a203/",
            [Layer("Service", DENY)],
            "User: arn:aws:sts::111122223333:assumed-role/client/s is not authorized to perform: "
            "vpc-lattice-svcs:Invoke on resource: arn:aws:vpc-lattice:us-east-1:111122223333:service/"
            "svc-0b99930a48161a203/ with an explicit deny in a service-based policy",
            id="modern-web-authzn-lattice: explicit deny, service layer",
        ),
    ],
)
def test_access_denied_messages_match_aws(
    principal: str | None, resource: str, layers: list[Layer], message: str
) -> None:
    """The refusal text is AWS's, word for word, for each layer AWS has been seen to name."""
    caller = None if principal is None else parse_principal_arn(principal)
    decision = authorize(layers, RequestContext(INVOKE, resource, caller, {}))
    assert decision.message() == message


def test_unauthenticated_hello_but_not_goodbye() -> None:
    """A service policy letting anyone reach /hello refuses /goodbye with AWS's words (VPC Lattice demo stack)."""
    service = "arn:aws:vpc-lattice:us-west-2:428594345836:service/svc-0b17e5b0e8a993adf"
    layers = [Layer("Service", policy(statement(resource=f"{service}/hello")))]
    assert authorize(layers, request(None, "/hello", service)).allowed
    refused = authorize(layers, request(None, "/goodbye", service))
    assert refused.message() == (
        "User: anonymous is not authorized to perform: vpc-lattice-svcs:Invoke on resource: "
        f"{service}/goodbye because no service-based policy allows the vpc-lattice-svcs:Invoke action"
    )


@pytest.mark.parametrize(
    ("layer", "words"),
    [
        ("Network", "with an explicit deny in a network-based policy"),
        ("Identity", "with an explicit deny in an identity-based policy"),  # IAM's article for "identity-based"
    ],
)
def test_explicit_deny_messages_for_the_other_layers(layer: LayerName, words: str) -> None:
    decision = authorize([Layer(layer, DENY)], request())
    assert decision.message() == (
        f"User: {USER} is not authorized to perform: vpc-lattice-svcs:Invoke on resource: {SVC}/rates {words}"
    )


# -- properties ----------------------------------------------------------------------------------------------------

NAMES: list[LayerName] = ["Network", "Service", "Identity"]
STATEMENTS = st.sampled_from(
    [
        statement(),
        statement("Deny"),
        statement(resource=f"{SVC}/rates"),
        statement("Deny", resource="*/admin"),
        statement(Condition={"StringNotEquals": {"aws:PrincipalType": "Anonymous"}}),
        statement("Deny", Condition={"StringEquals": {"aws:PrincipalType": "Anonymous"}}),
        statement(Condition={"StringEquals": {"vpc-lattice-svcs:RequestMethod": "GET"}}),
        {**statement(), "Principal": {"AWS": "123456789012"}},
        {**statement("Deny"), "Principal": {"AWS": "444455556666"}},
    ]
)
LAYER_STATEMENTS = st.lists(STATEMENTS, max_size=3)
REQUESTS = st.builds(
    lambda principal, path, method: RequestContext(
        INVOKE,
        f"{SVC}{path}",
        None if principal is None else parse_principal_arn(principal),
        {"vpc-lattice-svcs:RequestMethod": (method,)},
    ),
    st.sampled_from([None, USER, "arn:aws:iam::444455556666:user/bob"]),
    st.sampled_from(["/rates", "/admin", "/"]),
    st.sampled_from(["GET", "POST"]),
)


def layers_of(chosen: list[tuple[LayerName, list[dict[str, Any]]]]) -> list[Layer]:
    return [Layer(name, policy(*statements) if statements else None) for name, statements in chosen]


@st.composite
def layer_sets(draw: st.DrawFn) -> list[tuple[LayerName, list[dict[str, Any]]]]:
    names = draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=3, unique=True))
    return [(name, draw(LAYER_STATEMENTS)) for name in names]


@settings(max_examples=200, deadline=None)
@given(layer_sets(), st.data(), REQUESTS)
def test_adding_a_deny_to_any_layer_never_turns_a_refusal_into_an_allow(
    chosen: list[tuple[LayerName, list[dict[str, Any]]]], data: st.DataObject, request: RequestContext
) -> None:
    before = authorize(layers_of(chosen), request)
    target = data.draw(st.integers(0, len(chosen) - 1))
    extra = data.draw(STATEMENTS.filter(lambda s: s["Effect"] == "Deny"))
    changed = [
        (name, [*statements, extra] if i == target else statements) for i, (name, statements) in enumerate(chosen)
    ]
    after = authorize(layers_of(changed), request)
    assert before.allowed or not after.allowed
    assert not before.explicit_deny or after.explicit_deny


@settings(max_examples=200, deadline=None)
@given(layer_sets(), st.data(), REQUESTS)
def test_removing_an_allow_from_any_layer_never_turns_a_refusal_into_an_allow(
    chosen: list[tuple[LayerName, list[dict[str, Any]]]], data: st.DataObject, request: RequestContext
) -> None:
    before = authorize(layers_of(chosen), request)
    target = data.draw(st.integers(0, len(chosen) - 1))
    name, statements = chosen[target]
    allows = [i for i, s in enumerate(statements) if s["Effect"] == "Allow"]
    if not allows:
        return
    drop = data.draw(st.sampled_from(allows))
    kept = [s for i, s in enumerate(statements) if i != drop]
    after = authorize(layers_of([*chosen[:target], (name, kept), *chosen[target + 1 :]]), request)
    assert before.allowed or not after.allowed


@settings(max_examples=200, deadline=None)
@given(layer_sets(), REQUESTS)
def test_decision_agrees_with_the_layers_it_reports(
    chosen: list[tuple[LayerName, list[dict[str, Any]]]], request: RequestContext
) -> None:
    """Allowed exactly when every layer ALLOWs; explicit exactly when some layer DENYs; the named layer refused."""
    decision = authorize(layers_of(chosen), request)
    effects = {name: (evaluation.effect if evaluation else "NO_MATCH") for name, evaluation in decision.layers}
    assert decision.allowed == all(effect == "ALLOW" for effect in effects.values())
    assert decision.explicit_deny == any(effect == "DENY" for effect in effects.values())
    if not decision.allowed:
        assert decision.denied_by is not None and effects[decision.denied_by] != "ALLOW"
        assert decision.message().startswith("User: ")
