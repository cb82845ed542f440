"""Providers for what has no local counterpart: EC2 VPCs are real (CreateVpc), their subnets, route tables,
gateways, NAT gateways, EIPs and security groups are accepted and recorded as simulated (networking here is a
VPC's ingress, not packets); IAM roles and policies, CloudWatch log groups and Route 53 record sets are recorded
(Lattice custom domains already resolve by Host/SNI through each VPC's ingress). ACM certificates are issued by
the local CA (pki/ca.py).

Simulated IDs are derived from the stack and logical ID, so a re-run names things the same way.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from latticework.deploy.providers.base import Applied, Context, Provider

__all__ = ["RECORDED_PROVIDERS"]


def _fake_id(prefix: str, ctx: Context, logical_id: str) -> str:
    digest = hashlib.sha256(f"{ctx.account}/{ctx.region}/{ctx.stack_name}/{logical_id}".encode()).hexdigest()
    return f"{prefix}-0{digest[:16]}"


class Vpc(Provider):
    """AWS::EC2::VPC through the EC2 API's CreateVpc (its Name tag is what `latticework vpc env` takes)."""

    type_name = "AWS::EC2::VPC"
    mutable = frozenset({"Tags", "EnableDnsHostnames", "EnableDnsSupport"})

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        tags = [{"Key": t["Key"], "Value": str(t.get("Value", ""))} for t in props.get("Tags", [])]
        request: dict[str, Any] = {"CidrBlock": str(props["CidrBlock"])}
        if tags:
            request["TagSpecifications"] = [{"ResourceType": "vpc", "Tags": tags}]
        vpc = ctx.client("ec2").create_vpc(**request)["Vpc"]
        attributes = {"VpcId": vpc["VpcId"], "CidrBlock": vpc["CidrBlock"], "CidrBlockAssociations": [],
                      "DefaultSecurityGroup": _fake_id("sg", ctx, logical_id), "DefaultNetworkAcl":
                      _fake_id("acl", ctx, logical_id), "Ipv6CidrBlocks": []}  # fmt: skip
        return Applied(vpc["VpcId"], vpc["VpcId"], attributes)

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        ec2 = ctx.client("ec2")
        if old.get("Tags"):
            ec2.delete_tags(Resources=[current.physical_id], Tags=[{"Key": t["Key"]} for t in old["Tags"]])
        if new.get("Tags"):
            tags = [{"Key": t["Key"], "Value": str(t.get("Value", ""))} for t in new["Tags"]]
            ec2.create_tags(Resources=[current.physical_id], Tags=tags)
        return current

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        ec2 = ctx.client("ec2")
        try:
            ec2.delete_vpc(VpcId=current.physical_id)
        except ec2.exceptions.ClientError as exc:
            if "NotFound" not in str(exc):
                raise


class Recorded(Provider):
    """A type kept only in the stack record; Ref is a simulated ID (or a name), attributes are derived."""

    simulated = True

    def __init__(self, type_name: str, prefix: str, ref_from: str | None = None, arn: str | None = None) -> None:
        self.type_name = type_name  # type: ignore[misc]
        self._prefix, self._ref_from, self._arn = prefix, ref_from, arn

    def needs_replacement(self, old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
        key = self._ref_from
        return key is not None and old.get(key) != new.get(key)

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        ref = str(props.get(self._ref_from) or "") if self._ref_from is not None else ""
        ref = ref or (f"{ctx.stack_name}-{logical_id}" if self._ref_from else _fake_id(self._prefix, ctx, logical_id))
        attributes: dict[str, Any] = {key: value for key, value in props.items() if isinstance(value, str | int)}
        for name in ("Id", "GroupId", "SubnetId", "AllocationId", "RouteTableId", "RoleId", "PolicyId"):
            attributes.setdefault(name, _fake_id(self._prefix, ctx, logical_id))
        attributes.update({"PublicIp": "127.0.0.1", "AvailabilityZone": props.get("AvailabilityZone", "")})
        if self._arn:
            attributes["Arn"] = self._arn.format(account=ctx.account, region=ctx.region, name=ref)
        return Applied(ref, ref, attributes)

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        return self.create(ctx, logical_id, new)

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        return None


class Certificate(Provider):
    """AWS::CertificateManager::Certificate issued at once by the local CA (no DNS validation to wait for)."""

    type_name = "AWS::CertificateManager::Certificate"

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        from latticework.pki.ca import LocalCA

        names = [str(props["DomainName"]), *[str(n) for n in props.get("SubjectAlternativeNames", [])]]
        names = list(dict.fromkeys(names))
        cert = LocalCA(ctx.state_dir / "pki").issue(names, ctx.account, ctx.region)
        return Applied(cert.arn, cert.arn, {"Arn": cert.arn})

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        return None  # the CA keeps what it issued (`latticework certs list`); nothing serves it once unused


_SIMULATED_EC2 = {
    "Subnet": "subnet", "RouteTable": "rtb", "SubnetRouteTableAssociation": "rtbassoc", "Route": "route",
    "InternetGateway": "igw", "VPCGatewayAttachment": "igwattach", "EIP": "eipalloc", "NatGateway": "nat",
    "SecurityGroup": "sg", "SecurityGroupIngress": "sgr", "SecurityGroupEgress": "sgr", "NetworkAcl": "acl",
    "VPCEndpoint": "vpce", "EgressOnlyInternetGateway": "eigw",
}  # fmt: skip

RECORDED_PROVIDERS: tuple[Provider, ...] = (
    Vpc(),
    Certificate(),
    *(Recorded(f"AWS::EC2::{kind}", prefix) for kind, prefix in _SIMULATED_EC2.items()),
    Recorded("AWS::IAM::Role", "role", "RoleName", "arn:aws:iam::{account}:role/{name}"),
    Recorded("AWS::IAM::Policy", "policy", "PolicyName"),
    Recorded("AWS::IAM::ManagedPolicy", "policy", "ManagedPolicyName", "arn:aws:iam::{account}:policy/{name}"),
    Recorded("AWS::Logs::LogGroup", "log", "LogGroupName", "arn:aws:logs:{region}:{account}:log-group:{name}:*"),
    Recorded("AWS::Route53::RecordSet", "record", "Name"),
    Recorded("AWS::ECS::ClusterCapacityProviderAssociations", "ccpa"),
)
