"""The decision core's access step: who is calling (SigV4 / SigV4A against the credential registry) and
whether Lattice's auth layers let them invoke this service (reference 2.6, "How authorization works").

Runs only when the service network or the service has authType AWS_IAM. A signed request is always
authenticated, and fails when its signature does (AWS: "VPC Lattice attempts to authenticate any request that
is signed ... The request fails without authentication"), even where anonymous callers would be allowed.
Then the layers that apply each must allow: the service network's policy, the service's policy, and the
caller's identity policy when the registry keeps one; an explicit Deny anywhere wins. Pure: the time is passed
in; the snapshot carries the compiled policies and the verifier.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from latticework.auth.authorize import AuthDecision, Layer, authorize
from latticework.auth.policy import FoldedKeys, RequestContext
from latticework.auth.principals import Identity, Principal
from latticework.auth.sigv4 import SignatureError, SignedRequest
from latticework.dataplane.snapshot import ServiceView, Snapshot, VpcView

if TYPE_CHECKING:
    from latticework.dataplane.decide import RequestHead

__all__ = [
    "ACTION",
    "OPEN",
    "Access",
    "RequestKeys",
    "auth_required",
    "check_access",
    "identity_headers",
    "judge",
    "request_context",
]

ACTION = "vpc-lattice-svcs:Invoke"  # Service Authorization Reference: HTTP, HTTPS and gRPC services

_SERVICE_KEYS = "vpc-lattice-svcs:"
_HEADER_KEY = "vpc-lattice-svcs:requestheader/"
_QUERY_KEY = "vpc-lattice-svcs:requestquerystring/"
_TAG_KEY = "aws:resourcetag/"


@dataclass(frozen=True, slots=True)
class Access:
    """The outcome of the access step. `checked` is False when no layer uses AWS_IAM (nothing was asked)."""

    allowed: bool
    checked: bool = False
    principal: Principal | None = None
    signature_failed: bool = False
    denied_by: str | None = None  # access-log authDeniedReason: Network, Service or Identity
    status: int = 200
    message: str = ""  # the body of a refusal, AWS's "ErrorType: message"

    @property
    def resolved_user(self) -> str:
        """Access-log resolvedUser: the principal's ARN, "Unknown" for a failed signature, else "Anonymous"."""
        if self.principal is not None:
            return self.principal.arn
        return "Unknown" if self.signature_failed else "Anonymous"


OPEN = Access(allowed=True)


def check_access(
    snapshot: Snapshot,
    service: ServiceView,
    vpc: VpcView,
    head: RequestHead,
    source_ip: str,
    now: float,
) -> Access:
    """Authenticate and authorize one request to `service` arriving from `vpc`."""
    if not auth_required(snapshot, service, vpc):
        return OPEN
    try:
        identity = _authenticate(snapshot, service, head, now)
    except SignatureError as failure:
        return Access(False, True, None, True, None, failure.status, f"{failure.error_type}: {failure.message}")
    return judge(snapshot, service, vpc, head, identity, source_ip)[0]


def auth_required(snapshot: Snapshot, service: ServiceView, vpc: VpcView) -> bool:
    """Whether the service network (as reached from this VPC) or the service has authType AWS_IAM."""
    return service.auth_type == "AWS_IAM" or snapshot.network_auth.get(vpc.network_arn or "") == "AWS_IAM"


def judge(
    snapshot: Snapshot,
    service: ServiceView,
    vpc: VpcView,
    head: RequestHead,
    identity: Identity | None,
    source_ip: str,
) -> tuple[Access, AuthDecision]:
    """The layers' verdict on an authenticated (or anonymous) caller; the explainer shows the decision."""
    network_on = snapshot.network_auth.get(vpc.network_arn or "") == "AWS_IAM"
    principal = identity.principal if identity else None
    layers = _layers(snapshot, service, vpc.network_arn if network_on else None, identity)
    decision = authorize(layers, request_context(service, vpc, head, principal, source_ip))
    if decision.allowed:
        return Access(True, True, principal), decision
    message = f"AccessDeniedException: {decision.message()}"
    return Access(False, True, principal, False, decision.denied_by, 403, message), decision


def _authenticate(snapshot: Snapshot, service: ServiceView, head: RequestHead, now: float) -> Identity | None:
    request = SignedRequest(head.method, head.path, head.query, head.header_list)
    return snapshot.verifier.authenticate(request, service.region, now)


def _layers(
    snapshot: Snapshot, service: ServiceView, network_arn: str | None, identity: Identity | None
) -> list[Layer]:
    layers = []
    if network_arn is not None:
        layers.append(Layer("Network", snapshot.network_policies.get(network_arn)))
    if service.auth_type == "AWS_IAM":
        layers.append(Layer("Service", service.auth_policy))
    if identity is not None and identity.access_key in snapshot.identity_policies:
        layers.append(Layer("Identity", snapshot.identity_policies[identity.access_key]))
    return layers


def request_context(
    service: ServiceView, vpc: VpcView, head: RequestHead, principal: Principal | None, source_ip: str
) -> RequestContext:
    """The policy engine's view of a request: action, resource `<serviceArn><path>` (AWS's denial messages show
    `.../svc-.../` for path `/`), principal, and the condition keys Lattice documents."""
    return RequestContext(ACTION, f"{service.arn}{head.path}", principal, RequestKeys(service, vpc, head, source_ip))


class RequestKeys(FoldedKeys):
    """The request's condition keys (Lattice UG "Auth policies", condition keys table; aws:SourceIp and
    aws:ResourceTag/*), by lower-case name. Every key is read on demand, so a policy pays only for the keys it
    names (this is on the per-request path)."""

    __slots__ = ("_head", "_query_values", "_service", "_source_ip", "_vpc")

    def __init__(self, service: ServiceView, vpc: VpcView, head: RequestHead, source_ip: str) -> None:
        self._service, self._vpc, self._head, self._source_ip = service, vpc, head, source_ip
        self._query_values: dict[str, tuple[str, ...]] | None = None

    def get(self, key: str, default: Any = None) -> Any:
        # The engine's lookup path: no KeyError per absent key (Mapping.get would raise and catch one).
        name = key.lower()
        reader = _FIXED_KEYS.get(name)
        values = reader(self) if reader is not None else self._dynamic(name)
        return values or default

    def __getitem__(self, key: str) -> tuple[str, ...]:
        values = self.get(key)
        if values is None:
            raise KeyError(key)
        return values  # type: ignore[no-any-return]

    def _dynamic(self, name: str) -> tuple[str, ...]:
        if name.startswith(_HEADER_KEY):
            value = self._head.headers.get(name[len(_HEADER_KEY) :])
            return (value,) if value is not None else ()
        if name.startswith(_QUERY_KEY):
            return self._query().get(name[len(_QUERY_KEY) :], ())
        if name.startswith(_TAG_KEY):
            tags = {k.lower(): v for k, v in self._service.tags.items()}
            value = tags.get(name[len(_TAG_KEY) :])
            return (value,) if value is not None else ()
        return ()

    def _query(self) -> dict[str, tuple[str, ...]]:
        # RequestQueryString/<key> is ArrayOfString: every value of a repeated key (UG condition keys table).
        if self._query_values is None:
            found: dict[str, list[str]] = {}
            for key, value in parse_qsl(self._head.query, keep_blank_values=True):
                found.setdefault(key.lower(), []).append(value)
            self._query_values = {key: tuple(values) for key, values in found.items()}
        return self._query_values

    def _all(self) -> dict[str, tuple[str, ...]]:
        keys = {name: values for name, read in _FIXED_KEYS.items() if (values := read(self))}
        keys.update({f"{_HEADER_KEY}{name}": (value,) for name, value in self._head.headers.items()})
        keys.update({f"{_QUERY_KEY}{name}": values for name, values in self._query().items()})
        keys.update({f"{_TAG_KEY}{name.lower()}": (value,) for name, value in self._service.tags.items()})
        return keys

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def _optional(value: str | None) -> tuple[str, ...]:
    return (value,) if value else ()


_FIXED_KEYS: dict[str, Callable[[RequestKeys], tuple[str, ...]]] = {
    "vpc-lattice-svcs:port": lambda keys: (str(keys._head.port),),
    "vpc-lattice-svcs:requestmethod": lambda keys: (keys._head.method,),
    "vpc-lattice-svcs:requestpath": lambda keys: (keys._head.path,),
    "vpc-lattice-svcs:servicenetworkarn": lambda keys: _optional(keys._vpc.network_arn),
    "vpc-lattice-svcs:servicearn": lambda keys: (keys._service.arn,),
    "vpc-lattice-svcs:sourcevpc": lambda keys: (keys._vpc.id,),
    "vpc-lattice-svcs:sourcevpcowneraccount": lambda keys: (keys._vpc.account,),
    "aws:sourceip": lambda keys: _optional(keys._source_ip),
}


def identity_headers(access: Access) -> list[tuple[str, str]]:
    """x-amzn-lattice-identity and x-amzn-lattice-identity-tags for an authenticated caller (Lattice UG "HTTP
    targets": the fields "are present if AWS authentication is successful"); none for anyone else."""
    principal = access.principal
    if principal is None:
        return []
    fields = [f"Principal={principal.arn}"]
    if principal.org_id:
        fields.append(f"PrincipalOrgID={principal.org_id}")
    if principal.session_name:
        fields.append(f"SessionName={principal.session_name}")
    fields.append("Type=AWS_IAM")
    return [("x-amzn-lattice-identity", "; ".join(fields)), ("x-amzn-lattice-identity-tags", identity_tags(principal))]


def identity_tags(principal: Principal) -> str:
    """`principal=ARN;principalorgid=ORG;tag=value;...`, semicolons in values escaped with a backslash (Lattice
    UG "HTTP targets", x-amzn-lattice-identity-tags); also the access log's callerPrincipalTags."""
    pairs = [("principal", principal.arn)]
    if principal.org_id:
        pairs.append(("principalorgid", principal.org_id))
    pairs.extend(principal.tags.items())
    return ";".join(f"{key}={_escaped(value)}" for key, value in pairs)


def _escaped(value: str) -> str:
    return value.replace(";", "\\;")
