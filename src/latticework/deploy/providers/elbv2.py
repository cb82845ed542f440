"""AWS::ElasticLoadBalancingV2::LoadBalancer / TargetGroup / Listener / ListenerRule through the server's ELBv2
API (query protocol, botocore's `elbv2` client). Attributes (LoadBalancerAttributes, TargetGroupAttributes) are
applied with the Modify*Attributes operations. No store access here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from latticework.deploy.providers.base import Applied, Context, Provider, to_api
from latticework.deploy.providers.compute import generated_name

__all__ = ["ELBV2_PROVIDERS"]

_PREFIX = "AWS::ElasticLoadBalancingV2::"


def _input(client: Any, operation: str, props: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    shape = client.meta.service_model.operation_model(operation).input_shape
    return dict(to_api(dict(props), shape, f"Resources.{logical_id}.Properties"))


def _gone(client: Any, call: Any, **request: Any) -> None:
    try:
        call(**request)
    except client.exceptions.ClientError as exc:
        if "NotFound" not in str(exc):
            raise


class LoadBalancer(Provider):
    type_name = _PREFIX + "LoadBalancer"
    mutable = frozenset({"LoadBalancerAttributes", "SecurityGroups", "Tags"})

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("elbv2")
        sendable = {k: v for k, v in props.items() if k != "LoadBalancerAttributes"}
        sendable.setdefault("Name", generated_name(ctx, logical_id, 32))
        balancer = client.create_load_balancer(**_input(client, "CreateLoadBalancer", sendable, logical_id))
        found = balancer["LoadBalancers"][0]
        arn = found["LoadBalancerArn"]
        if props.get("LoadBalancerAttributes"):
            client.modify_load_balancer_attributes(LoadBalancerArn=arn, Attributes=_attributes(props))
        full_name = arn.split(":loadbalancer/", 1)[-1]
        attributes = {"DNSName": found["DNSName"], "LoadBalancerName": found["LoadBalancerName"],
                      "LoadBalancerFullName": full_name, "CanonicalHostedZoneID": found.get("CanonicalHostedZoneId"),
                      "LoadBalancerArn": arn, "SecurityGroups": found.get("SecurityGroups", [])}  # fmt: skip
        return Applied(arn, arn, attributes)

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        if new.get("LoadBalancerAttributes"):
            client = ctx.client("elbv2")
            client.modify_load_balancer_attributes(LoadBalancerArn=current.physical_id, Attributes=_attributes(new))
        return current

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("elbv2")
        _gone(client, client.delete_load_balancer, LoadBalancerArn=current.physical_id)


def _attributes(props: Mapping[str, Any], key: str = "LoadBalancerAttributes") -> list[dict[str, str]]:
    return [{"Key": str(a["Key"]), "Value": str(a["Value"])} for a in props.get(key, [])]


class TargetGroup(Provider):
    type_name = _PREFIX + "TargetGroup"
    mutable = frozenset({"Targets", "TargetGroupAttributes", "Tags"})

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("elbv2")
        sendable = {k: v for k, v in props.items() if k not in ("Targets", "TargetGroupAttributes")}
        sendable.setdefault("Name", generated_name(ctx, logical_id, 32))
        group = client.create_target_group(**_input(client, "CreateTargetGroup", sendable, logical_id))
        found = group["TargetGroups"][0]
        arn = found["TargetGroupArn"]
        self.update(ctx, logical_id, Applied(arn, arn), {}, props)
        attributes = {"TargetGroupArn": arn, "TargetGroupName": found["TargetGroupName"],
                      "TargetGroupFullName": arn.split(":", 5)[-1], "LoadBalancerArns": []}  # fmt: skip
        return Applied(arn, arn, attributes)

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        client = ctx.client("elbv2")
        wanted, had = _targets(new), _targets(old)
        if [t for t in had if t not in wanted]:
            client.deregister_targets(TargetGroupArn=current.physical_id, Targets=[t for t in had if t not in wanted])
        if [t for t in wanted if t not in had]:
            client.register_targets(TargetGroupArn=current.physical_id, Targets=[t for t in wanted if t not in had])
        if new.get("TargetGroupAttributes") and new.get("TargetGroupAttributes") != old.get("TargetGroupAttributes"):
            attributes = _attributes(new, "TargetGroupAttributes")
            client.modify_target_group_attributes(TargetGroupArn=current.physical_id, Attributes=attributes)
        return current

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("elbv2")
        _gone(client, client.delete_target_group, TargetGroupArn=current.physical_id)

    def waiting_for(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> str | None:
        client = ctx.client("elbv2")
        health = client.describe_target_health(TargetGroupArn=current.physical_id)["TargetHealthDescriptions"]
        pending = [d["Target"]["Id"] for d in health if d["TargetHealth"]["State"] != "healthy"]
        if not health:
            return "no targets registered yet"
        return f"targets not healthy yet: {', '.join(pending)}" if pending else None


def _targets(props: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [{"Id": str(t["Id"]), **({"Port": int(t["Port"])} if "Port" in t else {})} for t in props.get("Targets", [])]


class Listener(Provider):
    type_name = _PREFIX + "Listener"
    mutable = frozenset({"DefaultActions", "Certificates", "SslPolicy", "Port", "Protocol", "AlpnPolicy"})

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("elbv2")
        listener = client.create_listener(**_input(client, "CreateListener", props, logical_id))["Listeners"][0]
        arn = listener["ListenerArn"]
        return Applied(arn, arn, {"ListenerArn": arn})

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        client = ctx.client("elbv2")
        changed = {k: v for k, v in new.items() if k in self.mutable and v != old.get(k)}
        client.modify_listener(ListenerArn=current.physical_id, **_input(client, "ModifyListener", changed, logical_id))
        return current

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("elbv2")
        _gone(client, client.delete_listener, ListenerArn=current.physical_id)


class ListenerRule(Provider):
    type_name = _PREFIX + "ListenerRule"
    mutable = frozenset({"Actions", "Conditions"})

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("elbv2")
        rule = client.create_rule(**_input(client, "CreateRule", props, logical_id))["Rules"][0]
        arn = rule["RuleArn"]
        return Applied(arn, arn, {"RuleArn": arn, "IsDefault": rule.get("IsDefault", False)})

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        client = ctx.client("elbv2")
        changed = {k: v for k, v in new.items() if k in self.mutable}
        client.modify_rule(RuleArn=current.physical_id, **_input(client, "ModifyRule", changed, logical_id))
        return current

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("elbv2")
        _gone(client, client.delete_rule, RuleArn=current.physical_id)


ELBV2_PROVIDERS: tuple[Provider, ...] = (LoadBalancer(), TargetGroup(), Listener(), ListenerRule())
