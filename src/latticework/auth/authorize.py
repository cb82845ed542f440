"""Lattice's layered authorization: the service network's auth policy, the service's auth policy and the
caller's identity policy each must allow, and an explicit Deny in any of them wins (Lattice UG "Auth policies",
"How authorization works"). Also AWS's AccessDeniedException text for a refusal.

The caller passes only the layers that apply (the network layer when the service network's authType is
AWS_IAM, the service layer when the service's is, the identity layer when the caller has an identity policy);
a layer with no policy denies everything (Lattice UG: "If you do not add an auth policy, all traffic will get
an access denied error"). Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from latticework.auth.policy import Evaluation, Policy, RequestContext

__all__ = ["AuthDecision", "Layer", "LayerName", "authorize"]

LayerName = Literal["Network", "Service", "Identity"]

# Which layer a refusal names when several refuse. An explicit deny outranks "no allow" anywhere (IAM UG
# "Policy evaluation logic": an explicit deny in any policy overrides any allow). Among equals the order is
# Network, Service, Identity: a choice, as no published refusal shows two layers refusing at once.
_RANK: dict[LayerName, int] = {"Network": 0, "Service": 1, "Identity": 2}

# The words AWS uses for each layer in AccessDeniedException messages: "no service-based policy allows",
# "no network-based policy allows", "no identity-based policy allows", "an explicit deny in a service-based
# policy" (seen in Lattice workshops and the modern-web-authzn-lattice sample); IAM says "an identity-based".
_POLICY_WORDS: dict[LayerName, str] = {
    "Network": "a network-based",
    "Service": "a service-based",
    "Identity": "an identity-based",
}


@dataclass(slots=True)  # not frozen: built per request, and a frozen __init__ costs ~3x (bench/auth.py)
class Layer:
    """One policy layer. `policy` None with the layer present means AWS_IAM without a policy: deny all."""

    name: LayerName
    policy: Policy | None


@dataclass(slots=True)  # not frozen: built per request, and a frozen __init__ costs ~3x (bench/auth.py)
class AuthDecision:
    """The verdict, the layer that refused (access-log authDeniedReason) and each layer's evaluation."""

    allowed: bool
    denied_by: LayerName | None
    explicit_deny: bool
    layers: tuple[tuple[LayerName, Evaluation | None], ...]
    request: RequestContext

    def message(self) -> str:
        """AWS's AccessDeniedException text (without the "AccessDeniedException: " prefix), e.g. "User:
        anonymous is not authorized to perform: vpc-lattice-svcs:Invoke on resource: arn:...:service/svc-.../
        because no network-based policy allows the vpc-lattice-svcs:Invoke action"."""
        request = self.request
        user = request.principal.arn if request.principal is not None else "anonymous"
        head = f"User: {user} is not authorized to perform: {request.action} on resource: {request.resource}"
        if self.allowed or self.denied_by is None:
            return f"User: {user} is authorized to perform: {request.action} on resource: {request.resource}"
        policy = _POLICY_WORDS[self.denied_by]
        if self.explicit_deny:
            return f"{head} with an explicit deny in {policy} policy"
        return f"{head} because no {policy.split(' ', 1)[1]} policy allows the {request.action} action"


def authorize(layers: Sequence[Layer], request: RequestContext) -> AuthDecision:
    """Every layer must ALLOW; a DENY in any layer wins. Each layer is evaluated so the explainer sees all."""
    results: list[tuple[LayerName, Evaluation | None]] = []
    denying: LayerName | None = None
    refusing: LayerName | None = None
    for layer in layers:
        evaluation = layer.policy.evaluate(request) if layer.policy is not None else None
        results.append((layer.name, evaluation))
        effect = evaluation.effect if evaluation is not None else "NO_MATCH"
        if effect == "DENY":
            denying = _earlier(denying, layer.name)
        elif effect != "ALLOW":
            refusing = _earlier(refusing, layer.name)
    if denying is not None:
        return AuthDecision(False, denying, True, tuple(results), request)
    return AuthDecision(refusing is None, refusing, False, tuple(results), request)


def _earlier(current: LayerName | None, candidate: LayerName) -> LayerName:
    if current is None or _RANK[candidate] < _RANK[current]:
        return candidate
    return current
