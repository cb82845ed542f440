"""The data plane's view of the ELBv2 resources at one config version: load balancers by ARN and by DNS name,
listeners by port with their rules compiled and sorted, target groups as the relay's `TargetGroupView` (keyed by
ARN) with ELBv2's health-check defaults filled in, and a Lattice-shaped `Snapshot` of those groups for the health
checker (which the ALB shares with Lattice). Pure: records in, views out.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from latticework.control.store import Record
from latticework.dataplane.alb import names
from latticework.dataplane.alb.actions import RuleAction, compile_actions, forwarded_groups
from latticework.dataplane.alb.conditions import Condition, RuleError, compile_conditions
from latticework.dataplane.snapshot import Snapshot, TargetGroupView, TargetView

__all__ = [
    "DEFAULT_PRIORITY",
    "EMPTY",
    "AccessLogBucket",
    "AlbListener",
    "AlbRule",
    "AlbSnapshot",
    "AlbView",
    "compile_albs",
    "elb_health_check",
]

log = logging.getLogger(__name__)

DEFAULT_PRIORITY = 50001  # the default rule sorts after every numbered one (priorities are 1-50000)


@dataclass(frozen=True, slots=True)
class AlbRule:
    arn: str
    priority: int
    conditions: tuple[Condition, ...]
    action: RuleAction


@dataclass(frozen=True, slots=True)
class AlbListener:
    arn: str
    port: int
    protocol: str  # HTTP | HTTPS
    certificate_arn: str | None
    rules: tuple[AlbRule, ...]  # ascending priority, the default rule last


@dataclass(frozen=True, slots=True)
class AccessLogBucket:
    """Where an ALB's access log goes (attributes access_logs.s3.bucket and .prefix)."""

    bucket: str
    prefix: str


@dataclass(frozen=True, slots=True)
class AlbView:
    arn: str
    name: str
    dns_name: str
    scheme: str  # internet-facing | internal
    vpc_id: str | None
    account: str
    region: str
    listeners: Mapping[int, AlbListener]
    access_log: AccessLogBucket | None = None  # None: access_logs.s3.enabled is false


@dataclass(frozen=True, slots=True)
class AlbSnapshot:
    version: int
    albs: Mapping[str, AlbView] = field(default_factory=dict)  # by ARN
    by_host: Mapping[str, AlbView] = field(default_factory=dict)  # by DNS name (lower case)
    target_groups: Mapping[str, TargetGroupView] = field(default_factory=dict)  # by ARN
    health: Snapshot = field(default_factory=lambda: _health_snapshot(0, {}, frozenset()))


def compile_albs(version: int, records: Iterable[Record], now: float) -> AlbSnapshot:
    """The ALB view of these records (kinds in `names.KINDS`) at `now`."""
    by_kind: dict[str, list[Record]] = defaultdict(list)
    for record in records:
        by_kind[record.kind].append(record)
    rules: dict[str, list[AlbRule]] = defaultdict(list)
    protocols = {r.id: r.doc["Protocol"] for r in by_kind[names.LISTENER_KIND]}
    for record in by_kind[names.RULE_KIND]:
        rule = _rule(record, protocols.get(record.parent or "", "HTTP"))
        if rule is not None:
            rules[record.parent or ""].append(rule)
    listeners: dict[str, dict[int, AlbListener]] = defaultdict(dict)
    for record in by_kind[names.LISTENER_KIND]:
        listener = _listener(record, rules[record.id])
        listeners[record.parent or ""][listener.port] = listener
    albs = {r.arn: _alb(r, listeners[r.id]) for r in by_kind[names.LB_KIND]}
    groups = _target_groups(by_kind, now)
    used = frozenset(
        arn
        for alb in albs.values()
        for listener in alb.listeners.values()
        for rule in listener.rules
        for arn in forwarded_groups(rule.action)
        if arn in groups
    )
    return AlbSnapshot(
        version=version,
        albs=MappingProxyType(albs),
        by_host=MappingProxyType({alb.dns_name: alb for alb in albs.values()}),
        target_groups=MappingProxyType(groups),
        health=_health_snapshot(version, groups, used),
    )


def _rule(record: Record, protocol: str) -> AlbRule | None:
    doc = record.doc
    try:
        default = doc.get("IsDefault", False)
        conditions = () if default else compile_conditions(doc.get("Conditions") or [])
        action = compile_actions(doc.get("Actions") or [], protocol)
    except (RuleError, KeyError, ValueError) as exc:  # stored before a check existed: the rule is skipped
        log.warning("ALB rule %s does not compile and is skipped: %s", record.arn, exc)
        return None
    priority = DEFAULT_PRIORITY if default else int(doc["Priority"])
    return AlbRule(record.arn, priority, conditions, action)


def _listener(record: Record, rules: list[AlbRule]) -> AlbListener:
    doc = record.doc
    certificates = doc.get("Certificates") or []
    certificate = certificates[0].get("CertificateArn") if certificates else None
    ordered = tuple(sorted(rules, key=lambda r: r.priority))
    return AlbListener(record.arn, int(doc["Port"]), doc["Protocol"], certificate, ordered)


def _alb(record: Record, listeners: dict[int, AlbListener]) -> AlbView:
    doc = record.doc
    return AlbView(
        arn=record.arn,
        name=doc["LoadBalancerName"],
        dns_name=doc["DNSName"].lower(),
        scheme=doc["Scheme"],
        vpc_id=doc.get("VpcId") or None,
        account=record.account,
        region=record.region,
        listeners=MappingProxyType(dict(listeners)),
        access_log=_access_log(doc.get("_attributes") or {}),
    )


def _access_log(attributes: Mapping[str, str]) -> AccessLogBucket | None:
    """The record keeps only attributes set away from their defaults (false, "", ""): control/elbv2/attributes."""
    if attributes.get("access_logs.s3.enabled") != "true":
        return None
    return AccessLogBucket(attributes.get("access_logs.s3.bucket", ""), attributes.get("access_logs.s3.prefix", ""))


def _target_groups(by_kind: Mapping[str, list[Record]], now: float) -> dict[str, TargetGroupView]:
    targets: dict[str, list[TargetView]] = defaultdict(list)
    for record in by_kind[names.TARGET_KIND]:
        doc = record.doc
        if doc.get("status") == "DRAINING" and now >= doc.get("_drainingUntil", 0):
            continue
        targets[record.parent or ""].append(TargetView(doc["Id"], doc.get("Port"), doc.get("status", "INITIAL")))
    groups = {}
    for record in by_kind[names.TARGET_GROUP_KIND]:
        doc = record.doc
        groups[record.arn] = TargetGroupView(
            id=record.arn,
            arn=record.arn,
            type=doc["TargetType"].upper(),
            protocol=doc.get("Protocol"),
            protocol_version="HTTP1",
            port=doc.get("Port"),
            health_check=MappingProxyType(elb_health_check(doc)),
            lambda_event_version="V1",
            targets=tuple(targets[record.id]),
        )
    return groups


def elb_health_check(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An ELBv2 target group's check in the shape the shared health checker reads (Lattice's member names).
    The API stores every ELBv2 default already (`control/elbv2/target_groups`), so nothing is guessed here."""
    port = doc.get("HealthCheckPort") or "traffic-port"
    return {
        "enabled": bool(doc.get("HealthCheckEnabled", True)),
        "protocol": doc.get("HealthCheckProtocol") or doc.get("Protocol") or "HTTP",
        "protocolVersion": "HTTP1",
        "port": None if port == "traffic-port" else int(port),
        "path": doc.get("HealthCheckPath") or "/",
        "healthCheckIntervalSeconds": int(doc.get("HealthCheckIntervalSeconds") or 30),
        "healthCheckTimeoutSeconds": int(doc.get("HealthCheckTimeoutSeconds") or 5),
        "healthyThresholdCount": int(doc.get("HealthyThresholdCount") or 5),
        "unhealthyThresholdCount": int(doc.get("UnhealthyThresholdCount") or 2),
        "matcher": {"httpCode": (doc.get("Matcher") or {}).get("HttpCode") or "200"},
    }


def _health_snapshot(version: int, groups: Mapping[str, TargetGroupView], used: frozenset[str]) -> Snapshot:
    """A Lattice-shaped snapshot holding only the ELBv2 groups, for a second instance of the health checker."""
    return Snapshot(version, MappingProxyType({}), MappingProxyType(dict(groups)), MappingProxyType({}),
                    MappingProxyType({}), used_target_groups=used)  # fmt: skip


EMPTY = AlbSnapshot(0)
