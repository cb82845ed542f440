"""What the console and `latticework status` show: the application network of one account and region, read through
the backend's own operations (the same answers the API gives: `list_services`, `get_rule`, `list_targets`, ...)
and, for functions and container-style services, the store's documents.

Plain values out (`Picture`), so pages, the topology SVG, the JSON status and the terminal tables all render the
same facts. Reads only: changes go through `console.actions`. No I/O of its own beyond the store.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from latticework.control.backend import Backend, Caller
from latticework.control.errors import ApiError
from latticework.control.store import Store

__all__ = [
    "EcsService",
    "Function",
    "Listener",
    "Network",
    "Picture",
    "Rule",
    "Service",
    "Target",
    "TargetGroup",
    "Weighted",
    "read_picture",
]

_PAGE = {"maxResults": 100}  # one page per list: the console is a local view, not a paging client


@dataclass(frozen=True, slots=True)
class Network:
    id: str
    arn: str
    name: str
    auth_type: str
    vpcs: tuple[tuple[str, str], ...]  # (VPC ID, association status)
    services: tuple[tuple[str, str], ...]  # (service ID, association status)
    auth_policy: str | None = None
    auth_state: str | None = None


@dataclass(frozen=True, slots=True)
class Weighted:
    target_group: str  # ID
    weight: int


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    name: str
    priority: int | None  # None: the listener's default rule
    match: str  # one-line summary of the match
    action: str  # forward | fixed-response
    forward: tuple[Weighted, ...] = ()
    fixed_status: int | None = None

    @property
    def is_default(self) -> bool:
        return self.priority is None


@dataclass(frozen=True, slots=True)
class Listener:
    id: str
    name: str
    protocol: str
    port: int
    rules: tuple[Rule, ...]  # priority order, the default rule last (ListRules' order)


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    arn: str
    name: str
    dns_name: str
    custom_domain: str | None
    auth_type: str
    status: str
    listeners: tuple[Listener, ...]
    auth_policy: str | None = None
    auth_state: str | None = None


@dataclass(frozen=True, slots=True)
class Target:
    id: str
    port: int | None
    status: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TargetGroup:
    id: str
    arn: str
    name: str
    type: str
    vpc: str | None
    port: int | None
    targets: tuple[Target, ...]


@dataclass(frozen=True, slots=True)
class Function:
    name: str
    arn: str
    runtime: str
    handler: str
    state: str
    invocations: int = 0
    errors: int = 0
    throttles: int = 0
    warm: int = 0


@dataclass(frozen=True, slots=True)
class EcsService:
    name: str
    arn: str
    cluster: str
    desired: int
    running: int
    restarts: int
    tasks: tuple[tuple[str, str, str], ...]  # (task ID, lastStatus, healthStatus)


@dataclass(frozen=True, slots=True)
class Picture:
    account: str
    region: str
    networks: tuple[Network, ...] = ()
    services: tuple[Service, ...] = ()
    target_groups: tuple[TargetGroup, ...] = ()
    vpcs: tuple[tuple[str, str], ...] = ()  # (VPC ID, name)
    functions: tuple[Function, ...] = ()
    ecs_services: tuple[EcsService, ...] = ()
    notes: tuple[str, ...] = field(default=())

    def target_group(self, group_id: str) -> TargetGroup | None:
        return next((g for g in self.target_groups if group_id in (g.id, g.arn)), None)

    def service(self, service_id: str) -> Service | None:
        return next((s for s in self.services if service_id in (s.id, s.arn)), None)


Call = Callable[[str, dict[str, Any]], dict[str, Any]]


def read_picture(backend: Backend, store: Store, caller: Caller) -> Picture:
    """Everything in the account and region of `caller`, as the API answers it now."""

    def call(operation: str, params: dict[str, Any]) -> dict[str, Any]:
        return backend.invoke(operation, params, caller) or {}

    return Picture(
        caller.account,
        caller.region,
        tuple(_network(call, item) for item in call("ListServiceNetworks", _PAGE)["items"]),
        tuple(_service(call, item["id"]) for item in call("ListServices", _PAGE)["items"]),
        tuple(_target_group(call, item) for item in call("ListTargetGroups", _PAGE)["items"]),
        _vpcs(store, caller),
        _functions(store, caller),
        _ecs_services(store, caller),
    )


def _policy(call: Call, resource: str) -> tuple[str | None, str | None]:
    try:
        answer = call("GetAuthPolicy", {"resourceIdentifier": resource})
    except ApiError:
        return None, None
    return answer.get("policy"), answer.get("state")


def _network(call: Call, item: dict[str, Any]) -> Network:
    network = call("GetServiceNetwork", {"serviceNetworkIdentifier": item["id"]})
    by_network = {"serviceNetworkIdentifier": item["id"], **_PAGE}
    vpcs = call("ListServiceNetworkVpcAssociations", by_network)["items"]
    services = call("ListServiceNetworkServiceAssociations", by_network)["items"]
    policy, state = _policy(call, item["id"])
    return Network(
        item["id"],
        item["arn"],
        item["name"],
        network.get("authType", "NONE"),
        tuple((a["vpcId"], a["status"]) for a in vpcs),
        tuple((a["serviceId"], a["status"]) for a in services),
        policy,
        state,
    )


def _service(call: Call, service_id: str) -> Service:
    service = call("GetService", {"serviceIdentifier": service_id})
    listeners = call("ListListeners", {"serviceIdentifier": service_id, **_PAGE})["items"]
    policy, state = _policy(call, service_id)
    return Service(
        service["id"],
        service["arn"],
        service["name"],
        (service.get("dnsEntry") or {}).get("domainName", ""),
        service.get("customDomainName"),
        service.get("authType", "NONE"),
        service.get("status", ""),
        tuple(_listener(call, service_id, item) for item in listeners),
        policy,
        state,
    )


def _listener(call: Call, service_id: str, item: dict[str, Any]) -> Listener:
    owner = {"serviceIdentifier": service_id, "listenerIdentifier": item["id"]}
    rules = call("ListRules", {**owner, **_PAGE})["items"]
    details = [call("GetRule", {**owner, "ruleIdentifier": rule["id"]}) for rule in rules]
    return Listener(item["id"], item["name"], item["protocol"], item["port"], tuple(_rule(r) for r in details))


def _rule(rule: dict[str, Any]) -> Rule:
    action = rule.get("action") or {}
    priority = None if rule.get("isDefault") else rule.get("priority")
    if "forward" in action:
        weighted = tuple(
            Weighted(g["targetGroupIdentifier"], int(g.get("weight", 100))) for g in action["forward"]["targetGroups"]
        )
        return Rule(rule["id"], rule.get("name", ""), priority, match_summary(rule.get("match")), "forward", weighted)
    status = (action.get("fixedResponse") or {}).get("statusCode")
    return Rule(rule["id"], rule.get("name", ""), priority, match_summary(rule.get("match")), "fixed-response",
                fixed_status=status)  # fmt: skip


def match_summary(match: dict[str, Any] | None) -> str:
    """`GET /api/* header x-env=beta`: the rule's HTTP match on one line (`*` for the default rule)."""
    http = (match or {}).get("httpMatch") or {}
    parts = [http["method"]] if http.get("method") else []
    path = (http.get("pathMatch") or {}).get("match") or {}
    if path:
        parts.append(path.get("exact") or f"{path.get('prefix', '')}*")
    for header in http.get("headerMatches") or []:
        value = next(iter((header.get("match") or {}).values()), "")
        parts.append(f"header {header.get('name')}={value}")
    return " ".join(parts) or "*"


def _target_group(call: Call, item: dict[str, Any]) -> TargetGroup:
    try:
        targets = call("ListTargets", {"targetGroupIdentifier": item["id"], **_PAGE})["items"]
    except ApiError:
        targets = []
    return TargetGroup(
        item["id"],
        item["arn"],
        item["name"],
        item.get("type", ""),
        item.get("vpcIdentifier"),
        item.get("port"),
        tuple(Target(t["id"], t.get("port"), t.get("status", "UNAVAILABLE"), t.get("reasonCode")) for t in targets),
    )


def _vpcs(store: Store, caller: Caller) -> tuple[tuple[str, str], ...]:
    _, records = store.read_all(["vpc"])
    mine = [r for r in records if (r.account, r.region) == (caller.account, caller.region)]
    return tuple((r.id, _tag(r.doc, "Name") or r.name or r.id) for r in mine)


def _tag(doc: dict[str, Any], key: str) -> str | None:
    tags = doc.get("tags") or doc.get("Tags") or []
    if isinstance(tags, dict):
        return tags.get(key)
    return next((t.get("Value") or t.get("value") for t in tags if (t.get("Key") or t.get("key")) == key), None)


def _functions(store: Store, caller: Caller) -> tuple[Function, ...]:
    _, records = store.read_all(["lambda:function"])
    return tuple(
        Function(
            r.doc.get("FunctionName", r.id),
            r.arn,
            r.doc.get("Runtime", ""),
            r.doc.get("Handler", ""),
            r.doc.get("State", "Active"),
        )
        for r in records
        if (r.account, r.region) == (caller.account, caller.region)
    )


def _ecs_services(store: Store, caller: Caller) -> tuple[EcsService, ...]:
    _, records = store.read_all(["ecs:service", "ecs:task"])
    mine = [r for r in records if (r.account, r.region) == (caller.account, caller.region)]
    tasks = [r for r in mine if r.kind == "ecs:task" and r.doc.get("lastStatus") != "STOPPED"]
    return tuple(
        EcsService(
            r.doc.get("serviceName", r.id),
            r.arn,
            str(r.doc.get("clusterArn", "")).rpartition("/")[2],
            int(r.doc.get("desiredCount", 0)),
            int(r.doc.get("runningCount", 0)),
            sum(int(d.get("failedTasks", 0)) for d in r.doc.get("deployments", ())),
            tuple(
                (str(t.doc["taskArn"]).rpartition("/")[2], t.doc.get("lastStatus", ""), t.doc.get("healthStatus", ""))
                for t in tasks
                if t.doc.get("group") == f"service:{r.doc.get('serviceName')}"
            ),
        )
        for r in mine
        if r.kind == "ecs:service"
    )
