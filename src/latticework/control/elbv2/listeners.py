"""CreateListener, DescribeListeners, ModifyListener, DeleteListener. A listener owns its default rule (a rule
record with IsDefault, no conditions, the listener's DefaultActions), which DescribeRules lists last.

Deviation (docs/albs.md): two internet-facing ALBs cannot both listen on a port that binds the same 127.0.0.1
port (`names.bind_port`); the second CreateListener fails with InvalidConfigurationRequest. No I/O of its own.
"""

from __future__ import annotations

from typing import Any

from latticework.control.elbv2._context import ElbCtx
from latticework.control.elbv2.errors import ElbError, validation
from latticework.control.store import Record
from latticework.dataplane.alb import names

__all__ = ["create_listener", "delete_listener", "describe_listeners", "modify_listener", "normalised_actions"]

_DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08"  # API reference, CreateListener SslPolicy default


def create_listener(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    lb = ctx.get(names.LB_KIND, params["LoadBalancerArn"])
    protocol = params.get("Protocol") or "HTTP"
    port = params.get("Port") or (443 if protocol == "HTTPS" else 80)
    doc = {"LoadBalancerArn": lb.arn, "Port": port, "Protocol": protocol}
    _check(ctx, lb, doc, params, None)
    listener_id = names.new_id()
    arn = ctx.arn(f"listener/app/{lb.name}/{lb.id}/{listener_id}")
    doc["ListenerArn"] = arn
    record = Record(names.LISTENER_KIND, lb.account, lb.region, listener_id, arn, doc, parent=lb.id)
    ctx.tx.put(record)
    rule_id = names.new_id()
    rule_arn = ctx.arn(f"listener-rule/app/{lb.name}/{lb.id}/{listener_id}/{rule_id}")
    rule_doc: dict[str, Any] = {"RuleArn": rule_arn, "Priority": "default", "Conditions": [], "IsDefault": True}
    rule_doc["Actions"] = doc["DefaultActions"]
    ctx.tx.put(Record(names.RULE_KIND, lb.account, lb.region, rule_id, rule_arn, rule_doc, parent=listener_id))
    return {"Listeners": [doc]}


def _check(ctx: ElbCtx, lb: Record, doc: dict[str, Any], params: dict[str, Any], listener_id: str | None) -> None:
    """Protocol, port, certificates and default actions of a new or modified listener (fills them into doc)."""
    if doc["Protocol"] not in ("HTTP", "HTTPS"):
        raise ElbError("UnsupportedProtocol", f"Protocol '{doc['Protocol']}' is not supported by an ALB.")
    if not 1 <= doc["Port"] <= 65535:
        raise validation("Port must be between 1 and 65535.")
    for other in ctx.find(names.LISTENER_KIND, parent=lb.id):
        if other.id != listener_id and other.doc["Port"] == doc["Port"]:
            raise ElbError("DuplicateListener", f"A listener already exists on port {doc['Port']} of {lb.arn}.")
    if lb.doc["Scheme"] == "internet-facing":
        _check_bind_port(ctx, lb, doc["Port"])
    if "Certificates" in params:
        doc["Certificates"] = [{"CertificateArn": c["CertificateArn"]} for c in params["Certificates"] or []]
    if doc["Protocol"] == "HTTPS":
        _check_certificates(ctx, doc.get("Certificates") or [])
        doc["SslPolicy"] = params.get("SslPolicy") or doc.get("SslPolicy") or _DEFAULT_SSL_POLICY
    else:
        doc.pop("SslPolicy", None)
        doc.pop("Certificates", None)
    if "DefaultActions" in params or "DefaultActions" not in doc:
        given = params.get("DefaultActions") or []
        ctx.actions(given, doc["Protocol"])
        doc["DefaultActions"] = normalised_actions(given)
    else:
        ctx.actions(doc["DefaultActions"], doc["Protocol"])


def _check_bind_port(ctx: ElbCtx, lb: Record, port: int) -> None:
    bound = names.bind_port(port)
    balancers = {r.id: r for r in ctx.find(names.LB_KIND) if r.doc["Scheme"] == "internet-facing"}
    for other in ctx.find(names.LISTENER_KIND):
        owner = balancers.get(other.parent or "")
        if owner is not None and owner.id != lb.id and names.bind_port(other.doc["Port"]) == bound:
            raise ElbError(
                "InvalidConfigurationRequest",
                f"Port {port} binds 127.0.0.1:{bound}, already used by internet-facing load balancer {owner.arn}.",
            )


def _check_certificates(ctx: ElbCtx, certificates: list[dict[str, Any]]) -> None:
    if not certificates:
        raise validation("An HTTPS listener needs a certificate in Certificates.")
    for certificate in certificates:
        if not ctx.certificate_exists(certificate["CertificateArn"]):
            raise ElbError("CertificateNotFound", f"Certificate '{certificate['CertificateArn']}' not found")


def normalised_actions(given: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Actions as DescribeRules shows them: Order filled in, a forward's ForwardConfig filled in."""
    out = []
    for index, action in enumerate(given, 1):
        action = {**action, "Order": action.get("Order", index)}
        if action["Type"] == "forward" and "ForwardConfig" not in action:
            action["ForwardConfig"] = {"TargetGroups": [{"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}],
                                       "TargetGroupStickinessConfig": {"Enabled": False}}  # fmt: skip
        out.append(action)
    return out


def describe_listeners(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    arns, lb_arn = params.get("ListenerArns"), params.get("LoadBalancerArn")
    if bool(arns) == bool(lb_arn):
        raise validation("Give exactly one of LoadBalancerArn and ListenerArns.")
    if arns:
        found = [ctx.get(names.LISTENER_KIND, arn) for arn in arns]
    else:
        found = ctx.find(names.LISTENER_KIND, parent=ctx.get(names.LB_KIND, lb_arn or "").id)
    return {"Listeners": [r.doc for r in found]}


def modify_listener(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.get(names.LISTENER_KIND, params["ListenerArn"])
    lb = ctx.get(names.LB_KIND, record.doc["LoadBalancerArn"])
    doc = dict(record.doc)
    for member in ("Port", "Protocol"):
        if params.get(member) is not None:
            doc[member] = params[member]
    _check(ctx, lb, doc, params, record.id)
    record.doc = doc
    ctx.tx.put(record)
    for rule in ctx.find(names.RULE_KIND, parent=record.id):
        if rule.doc.get("IsDefault"):
            rule.doc["Actions"] = doc["DefaultActions"]
            ctx.tx.put(rule)
    return {"Listeners": [doc]}


def delete_listener(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    record = ctx.get(names.LISTENER_KIND, params["ListenerArn"])
    for rule in ctx.find(names.RULE_KIND, parent=record.id):
        ctx.tx.delete(rule)
    ctx.tx.delete(record)
    return {}
