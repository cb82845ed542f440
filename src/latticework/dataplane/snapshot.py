"""The data plane's view of the config at one version: an immutable snapshot compiled from store records.

Everything a request needs is a dict lookup away: services by host name, listeners by port (rules pre-sorted
and compiled), target groups by ID, VPCs by ID with the service network they reach, access log destinations by
the resource they log. Compiled once per config version and swapped atomically; requests in flight keep the
snapshot they started with. Pure: records in, snapshot out.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from latticework.auth.policy import Policy, PolicyError, compile_policy
from latticework.auth.principals import Identity
from latticework.auth.registry import identities_from_records
from latticework.auth.sigv4 import Verifier
from latticework.control.backend._context import effective_status
from latticework.control.store import Record
from latticework.dataplane.routing import Forward, Rule, compile_rule, sort_rules

__all__ = [
    "ListenerView",
    "ServiceView",
    "Snapshot",
    "TargetGroupView",
    "TargetView",
    "VpcView",
    "compile_snapshot",
]

# The record kinds a snapshot is built from.
KINDS = (
    "servicenetwork",
    "service",
    "listener",
    "rule",
    "targetgroup",
    "target",
    "snsa",
    "snva",
    "vpc",
    "accesslogsubscription",
    "authpolicy",
    "principal",
)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TargetView:
    id: str  # IP address, instance ID, function ARN or ALB ARN, as registered
    port: int | None
    status: str  # as stored by the control plane / health checker (INITIAL, HEALTHY, DRAINING, ...)
    key: str = field(init=False, compare=False, repr=False)  # "id:port", the health checker's and decide's name

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.id}:{self.port}")  # once here, not per request


@dataclass(frozen=True, slots=True)
class TargetGroupView:
    id: str
    arn: str
    type: str  # IP | INSTANCE | LAMBDA | ALB
    protocol: str | None  # HTTP | HTTPS | TCP
    protocol_version: str
    port: int | None
    health_check: Mapping[str, Any]
    lambda_event_version: str
    targets: tuple[TargetView, ...]


@dataclass(frozen=True, slots=True)
class ListenerView:
    id: str
    arn: str
    protocol: str  # HTTP | HTTPS | TLS_PASSTHROUGH
    port: int
    rules: tuple[Rule, ...]  # ascending priority, default last
    rule_headers: tuple[str, ...] = ()  # the header names its rules match on (decide's rule memo keys on them)


@dataclass(frozen=True, slots=True)
class ServiceView:
    id: str
    arn: str
    name: str
    account: str
    region: str
    dns_name: str
    custom_domain: str | None
    certificate_arn: str | None
    auth_type: str
    idle_timeout: int
    listeners: Mapping[int, ListenerView]
    network_arns: frozenset[str]  # the service networks it is ACTIVE-associated with
    tags: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # aws:ResourceTag/*
    auth_policy: Policy | None = None  # compiled; None with authType AWS_IAM denies every request

    @property
    def hosts(self) -> tuple[str, ...]:
        return (self.dns_name, self.custom_domain) if self.custom_domain else (self.dns_name,)


@dataclass(frozen=True, slots=True)
class VpcView:
    id: str
    arn: str
    account: str
    network_arn: str | None  # the service network this VPC is associated with (at most one)


@dataclass(frozen=True, slots=True)
class Snapshot:
    version: int
    services_by_host: Mapping[str, tuple[ServiceView, ...]]
    target_groups: Mapping[str, TargetGroupView]
    vpcs: Mapping[str, VpcView]
    network_auth: Mapping[str, str]  # service network ARN -> authType
    log_destinations: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # sn/svc id -> destination ARNs
    used_target_groups: frozenset[str] = frozenset()  # groups some listener rule of an active service forwards to
    settles_at: float | None = None  # when the next CREATE_IN_PROGRESS resource becomes ACTIVE (recompile then)
    network_policies: Mapping[str, Policy | None] = field(default_factory=dict)  # SN ARN -> compiled auth policy
    identity_policies: Mapping[str, Policy | None] = field(default_factory=dict)  # access key -> identity policy
    identities: Mapping[str, Identity] = field(default_factory=dict)  # access key -> registry entry
    verifier: Verifier = field(default_factory=lambda: Verifier(lambda key: None))  # over the registry's keys
    # decide()'s memo of rule choices and routes for this version: pure results, dropped with the snapshot.
    memo: dict[object, object] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def service_for(self, host: str, network_arn: str | None) -> ServiceView | None:
        """The service a host name names, if it is reachable through `network_arn` (reference 2.1)."""
        if network_arn is None:
            return None
        for service in self.services_by_host.get(host.lower(), ()):
            if network_arn in service.network_arns:
                return service
        return None


def compile_snapshot(version: int, records: Iterable[Record], now: float) -> Snapshot:
    """The snapshot of these records (every kind in KINDS, all accounts and regions) at `now`."""
    by_kind: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)
    networks = {r.id: r for r in by_kind["servicenetwork"]}
    rules_by_listener: dict[str, list[Rule]] = defaultdict(list)
    for rule in by_kind["rule"]:
        rules_by_listener[rule.parent or ""].append(compile_rule(rule.doc))
    listeners_by_service: dict[str, dict[int, ListenerView]] = defaultdict(dict)
    for listener in by_kind["listener"]:
        view = _listener(listener, rules_by_listener[listener.id])
        listeners_by_service[listener.parent or ""][view.port] = view
    networks_by_service: dict[str, set[str]] = defaultdict(set)
    for association in _active(by_kind["snsa"], now):
        network = networks.get(association.parent or "")
        if network is not None:
            networks_by_service[association.ref or ""].add(network.arn)
    policies = _auth_policies(by_kind["authpolicy"])
    identities = identities_from_records(by_kind["principal"])
    hosts: dict[str, list[ServiceView]] = defaultdict(list)
    used: set[str] = set()
    for record in _active(by_kind["service"], now):
        service = _service(record, listeners_by_service[record.id], networks_by_service[record.id], policies)
        for host in service.hosts:
            hosts[host.lower()].append(service)
        used.update(_forwarded_groups(service))
    return Snapshot(
        version=version,
        services_by_host=MappingProxyType({h: tuple(s) for h, s in hosts.items()}),
        target_groups=MappingProxyType(_target_groups(by_kind, now)),
        vpcs=MappingProxyType(_vpcs(by_kind, networks, now)),
        network_auth=MappingProxyType({n.arn: n.doc.get("authType", "NONE") for n in networks.values()}),
        network_policies=MappingProxyType({n.arn: policies.get(n.id) for n in networks.values()}),
        identity_policies=MappingProxyType(_identity_policies(identities)),
        identities=MappingProxyType(identities),
        verifier=Verifier(identities.get),
        log_destinations=MappingProxyType(_log_destinations(by_kind["accesslogsubscription"])),
        used_target_groups=frozenset(used),
        settles_at=min(
            (r.doc["_settlesAt"] for r in _all_records(by_kind) if r.doc.get("_settlesAt", 0) > now), default=None
        ),
    )


def _all_records(by_kind: Mapping[str, list[Record]]) -> Iterable[Record]:
    return (record for records in by_kind.values() for record in records)


def _forwarded_groups(service: ServiceView) -> set[str]:
    return {
        group.target_group_id
        for listener in service.listeners.values()
        for rule in listener.rules
        if isinstance(rule.action, Forward)
        for group in rule.action.groups
    }


def _active(records: Iterable[Record], now: float) -> list[Record]:
    return [r for r in records if effective_status(r.doc, now) in (None, "ACTIVE", "UPDATE_IN_PROGRESS")]


def _listener(record: Record, rules: list[Rule]) -> ListenerView:
    doc = record.doc
    ordered = sort_rules(rules)
    names = {h.name for rule in ordered if rule.match is not None for h in rule.match.headers}
    return ListenerView(record.id, record.arn, doc["protocol"], int(doc["port"]), ordered, tuple(sorted(names)))


def _auth_policies(records: Iterable[Record]) -> dict[str, Policy | None]:
    """Owner ID -> compiled auth policy. A stored policy that no longer compiles (stored before PutAuthPolicy
    checked it this strictly) counts as no policy: with AWS_IAM that denies everything, never allows."""
    return {record.id: _compiled(record.doc["policy"], "resource", f"auth policy of {record.id}") for record in records}


def _identity_policies(identities: Mapping[str, Identity]) -> dict[str, Policy | None]:
    """Access key -> compiled identity policy, for keys whose principal has one. One that does not compile is
    kept as None, which denies (it must never widen access)."""
    return {
        key: _compiled(document, "identity", f"identity policy of {key}")
        for key, identity in identities.items()
        if (document := identity.principal.identity_policy)
    }


def _compiled(document: str, kind: str, what: str) -> Policy | None:
    try:
        return compile_policy(document, kind)  # type: ignore[arg-type]
    except PolicyError as exc:
        log.warning("%s does not compile and denies every request: %s", what, exc)
        return None


def _service(
    record: Record, listeners: dict[int, ListenerView], networks: set[str], policies: Mapping[str, Policy | None]
) -> ServiceView:
    doc = record.doc
    return ServiceView(
        id=record.id,
        arn=record.arn,
        name=doc["name"],
        account=record.account,
        region=record.region,
        dns_name=doc["dnsEntry"]["domainName"],
        custom_domain=doc.get("customDomainName"),
        certificate_arn=doc.get("certificateArn"),
        auth_type=doc.get("authType", "NONE"),
        idle_timeout=int(doc.get("idleTimeoutSeconds") or 60),
        listeners=MappingProxyType(dict(listeners)),
        network_arns=frozenset(networks),
        tags=MappingProxyType(dict(doc.get("tags") or {})),
        auth_policy=policies.get(record.id),
    )


def _target_groups(by_kind: Mapping[str, list[Record]], now: float) -> dict[str, TargetGroupView]:
    targets: dict[str, list[TargetView]] = defaultdict(list)
    for record in by_kind["target"]:
        doc = record.doc
        if doc.get("status") == "DRAINING" and now >= doc.get("_drainingUntil", 0):
            continue
        targets[record.parent or ""].append(TargetView(doc["id"], doc.get("port"), doc.get("status", "INITIAL")))
    groups = {}
    for record in by_kind["targetgroup"]:
        config = record.doc.get("config") or {}
        groups[record.id] = TargetGroupView(
            id=record.id,
            arn=record.arn,
            type=record.doc["type"],
            protocol=config.get("protocol"),
            protocol_version=config.get("protocolVersion", "HTTP1"),
            port=config.get("port"),
            health_check=MappingProxyType(dict(config.get("healthCheck") or {})),
            lambda_event_version=config.get("lambdaEventStructureVersion", "V1"),
            targets=tuple(targets[record.id]),
        )
    return groups


def _vpcs(by_kind: Mapping[str, list[Record]], networks: Mapping[str, Record], now: float) -> dict[str, VpcView]:
    reached = {}
    for association in _active(by_kind["snva"], now):
        network = networks.get(association.parent or "")
        if network is not None:
            reached[association.ref or ""] = network.arn
    return {r.id: VpcView(r.id, r.arn, r.account, reached.get(r.id)) for r in by_kind["vpc"]}


def _log_destinations(subscriptions: Iterable[Record]) -> dict[str, tuple[str, ...]]:
    found: dict[str, list[str]] = defaultdict(list)
    for record in subscriptions:
        if (record.doc.get("serviceNetworkLogType") or "SERVICE") == "SERVICE":
            found[record.parent or ""].append(record.doc["destinationArn"])
    return {owner: tuple(arns) for owner, arns in found.items()}
