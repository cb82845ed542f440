"""CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer: application load balancers only.

Deviations (documented in docs/albs.md): Latticework has no subnets, so an ALB's VPC comes from its `Subnets`
(or `SubnetMappings`) when one of them is a VPC's ID or Name tag, else from the account's only VPC in the Region,
else it has none (an internal ALB in no VPC is reachable only through Lattice). Security groups are kept, not
enforced. No I/O of its own.
"""

from __future__ import annotations

import re
from typing import Any

from latticework.control.elbv2._context import ElbCtx, tags_of
from latticework.control.elbv2.attributes import deletion_protected
from latticework.control.elbv2.errors import ElbError, not_found, validation
from latticework.control.store import Record
from latticework.dataplane.alb import names

__all__ = ["create_load_balancer", "delete_load_balancer", "describe_load_balancers"]

# API reference, CreateLoadBalancer Name: up to 32 alphanumeric characters or hyphens, not beginning or ending
# with a hyphen, and not beginning with "internal-".
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,30}[A-Za-z0-9])?")
# ELB's canonical hosted zone for ALBs in us-west-2 (ELB endpoints table); one value serves every Region here.
_HOSTED_ZONE = "Z1H1FL5HABSF5"


def create_load_balancer(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    """Idempotent as AWS documents: the same name with the same settings returns the existing ALB."""
    name = params["Name"]
    if not _NAME.fullmatch(name) or name.startswith("internal-"):
        raise validation(f"Load balancer name '{name}' must be 1-32 letters, digits or hyphens, not start or end "
                         "with a hyphen, and not start with 'internal-'.")  # fmt: skip
    if (params.get("Type") or "application") != "application":
        raise validation(f"Load balancer type '{params['Type']}' is not supported by Latticework; use application.")
    scheme = params.get("Scheme") or "internet-facing"
    subnets = list(params.get("Subnets") or []) + [m["SubnetId"] for m in params.get("SubnetMappings") or []]
    if not subnets:
        raise validation("Give at least one subnet in Subnets or SubnetMappings (a VPC ID names the ALB's VPC).")
    existing = ctx.find(names.LB_KIND, name=name)
    if existing:
        if existing[0].doc["Scheme"] != scheme:
            raise ElbError("DuplicateLoadBalancerName", f"A load balancer with the name '{name}' already exists.")
        return {"LoadBalancers": [_public(existing[0].doc)]}
    lb_id = names.new_id()
    arn = ctx.arn(f"loadbalancer/app/{name}/{lb_id}")
    doc = {
        "LoadBalancerArn": arn,
        "DNSName": names.dns_name(name, lb_id, ctx.caller.region, scheme),
        "CanonicalHostedZoneId": _HOSTED_ZONE,
        "CreatedTime": ctx.now,
        "LoadBalancerName": name,
        "Scheme": scheme,
        "VpcId": _vpc_of(ctx, subnets),
        "State": {"Code": "active"},
        "Type": "application",
        "AvailabilityZones": [
            {"ZoneName": f"{ctx.caller.region}{'abcdef'[i % 6]}", "SubnetId": s} for i, s in enumerate(subnets)
        ],
        "SecurityGroups": list(params.get("SecurityGroups") or []),
        "IpAddressType": params.get("IpAddressType") or "ipv4",
        "_tags": tags_of(params),
    }
    ctx.tx.put(Record(names.LB_KIND, ctx.caller.account, ctx.caller.region, lb_id, arn, doc, name=name))
    return {"LoadBalancers": [_public(doc)]}


def _vpc_of(ctx: ElbCtx, subnets: list[str]) -> str | None:
    vpcs = ctx.find("vpc")
    for subnet in subnets:
        for vpc in vpcs:
            if subnet in (vpc.id, (vpc.doc.get("tags") or {}).get("Name")):
                return vpc.id
    return vpcs[0].id if len(vpcs) == 1 else None


def describe_load_balancers(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    arns, wanted = params.get("LoadBalancerArns"), params.get("Names")
    if arns and wanted:
        raise validation("Give LoadBalancerArns or Names, not both.")
    if arns:
        found = [ctx.get(names.LB_KIND, arn) for arn in arns]
    elif wanted:
        found = []
        for name in wanted:
            records = ctx.find(names.LB_KIND, name=name)
            if not records:
                raise not_found("loadbalancer", name)
            found.extend(records)
    else:
        found = ctx.find(names.LB_KIND)
    return {"LoadBalancers": [_public(r.doc) for r in found]}


def delete_load_balancer(ctx: ElbCtx, params: dict[str, Any]) -> dict[str, Any]:
    """Deletes its listeners and their rules too. API reference: deleting a load balancer that does not exist
    (or is already deleted) succeeds; one with deletion protection enabled is refused."""
    record = ctx.tx.get_by_arn(params["LoadBalancerArn"])
    if record is None or record.kind != names.LB_KIND:
        return {}
    if deletion_protected(record.doc):
        raise ElbError("OperationNotPermitted", f"Load balancer '{record.arn}' cannot be deleted because deletion "
                       "protection is enabled; set deletion_protection.enabled to false first.")  # fmt: skip
    for listener in ctx.find(names.LISTENER_KIND, parent=record.id):
        for rule in ctx.find(names.RULE_KIND, parent=listener.id):
            ctx.tx.delete(rule)
        ctx.tx.delete(listener)
    ctx.tx.delete(record)
    return {}


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if not k.startswith("_") and v is not None}
