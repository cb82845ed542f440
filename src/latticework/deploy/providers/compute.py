"""AWS::Lambda::Function / Permission and AWS::ECS::Cluster / TaskDefinition / Service, through the Lambda and
ECS APIs of the server.

Lambda code: a local directory (`Code: ./orders`, the `aws cloudformation package` form, or `S3Bucket: local`
with a relative `S3Key`), resolved against the template's directory and sent as docs/functions.md's local-path
form; or `ZipFile` source text, packed as `index.py` (CFN UG "AWS::Lambda::Function Code": the file is named
index). ECS images map to local commands through the task definition's Metadata `Latticework::Containers`
(container name -> Command, EntryPoint, WorkingDirectory; `python` means the interpreter latticework runs on) or
the state dir's images.json (docs/services.md). No store access here.
"""

from __future__ import annotations

import io
import secrets
import string
import time
import zipfile
from collections.abc import Mapping
from typing import Any

from latticework.deploy.errors import TemplateError
from latticework.deploy.providers.base import Applied, Context, Provider, to_api

__all__ = ["COMPUTE_PROVIDERS"]

_DEFAULT_ROLE = "arn:aws:iam::{account}:role/latticework-deploy"
_METADATA = "Latticework::Containers"


def generated_name(ctx: Context, logical_id: str, limit: int) -> str:
    """CFN's generated physical names: stack-logical-RANDOM, cut to the type's length limit."""
    suffix = "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(12))
    return f"{ctx.stack_name}-{logical_id}"[: limit - 13] + f"-{suffix}"


def _input(client: Any, operation: str, props: Mapping[str, Any], logical_id: str) -> dict[str, Any]:
    shape = client.meta.service_model.operation_model(operation).input_shape
    return dict(to_api(dict(props), shape, f"Resources.{logical_id}.Properties"))


class Function(Provider):
    type_name = "AWS::Lambda::Function"
    mutable = frozenset(
        {"Code", "Runtime", "Handler", "Timeout", "MemorySize", "Environment", "Description", "Role", "Tags"}
    )

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("lambda")
        request = _input(client, "CreateFunction", self._sendable(ctx, logical_id, props), logical_id)
        function = client.create_function(**request)
        return Applied(function["FunctionName"], function["FunctionName"], {"Arn": function["FunctionArn"]})

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        client = ctx.client("lambda")
        sendable = self._sendable(ctx, logical_id, new)
        if new.get("Code") != old.get("Code"):
            client.update_function_code(FunctionName=current.physical_id, **sendable["Code"])
        config = {k: v for k, v in sendable.items() if k not in ("Code", "Tags", "FunctionName", "Architectures")}
        request = _input(client, "UpdateFunctionConfiguration", config, logical_id)
        client.update_function_configuration(FunctionName=current.physical_id, **request)
        return current

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("lambda")
        try:
            client.delete_function(FunctionName=current.physical_id)
        except client.exceptions.ResourceNotFoundException:
            return

    def _sendable(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> dict[str, Any]:
        sendable = dict(props)
        sendable.setdefault("FunctionName", generated_name(ctx, logical_id, 64))
        sendable.setdefault("Role", _DEFAULT_ROLE.format(account=ctx.account))
        sendable["Code"] = _code(ctx, props.get("Code"), f"Resources.{logical_id}.Properties.Code")
        return sendable


def _code(ctx: Context, code: Any, where: str) -> dict[str, Any]:
    if isinstance(code, str):
        code = {"S3Bucket": "local", "S3Key": code}
    if not isinstance(code, Mapping):
        raise TemplateError("Code must be a local directory, {ZipFile: source} or {S3Bucket: local, S3Key}", where)
    if "ZipFile" in code:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr(zipfile.ZipInfo("index.py", (1980, 1, 1, 0, 0, 0)), str(code["ZipFile"]))
        return {"ZipFile": buffer.getvalue()}
    if code.get("S3Bucket") != "local":
        raise TemplateError("S3 buckets do not exist here; use a local directory (S3Bucket: local)", where)
    path = (ctx.template_dir / str(code["S3Key"])).resolve()
    if not path.exists():
        raise TemplateError(f"the code path {path} does not exist", where)
    return {"S3Bucket": "local", "S3Key": str(path)}


class Permission(Provider):
    type_name = "AWS::Lambda::Permission"

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("lambda")
        request = _input(client, "AddPermission", {"StatementId": logical_id, **props}, logical_id)
        client.add_permission(**request)
        return Applied(logical_id, logical_id, {})

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("lambda")
        try:
            client.remove_permission(FunctionName=str(props["FunctionName"]), StatementId=current.physical_id)
        except client.exceptions.ResourceNotFoundException:
            return


class Cluster(Provider):
    type_name = "AWS::ECS::Cluster"
    mutable = frozenset({"ClusterSettings", "CapacityProviders", "DefaultCapacityProviderStrategy", "Configuration"})

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("ecs")
        name = props.get("ClusterName") or generated_name(ctx, logical_id, 255)
        request = _input(client, "CreateCluster", {"ClusterName": name, "Tags": props.get("Tags", [])}, logical_id)
        cluster = client.create_cluster(**request)["cluster"]
        return Applied(cluster["clusterName"], cluster["clusterName"], {"Arn": cluster["clusterArn"]})

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        return current  # capacity providers and settings are recorded only (every task is a local process)

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("ecs")
        try:
            client.delete_cluster(cluster=current.physical_id)
        except client.exceptions.ClusterNotFoundException:
            return


class TaskDefinition(Provider):
    """A new revision on any change (CFN: every TaskDefinition property change is a replacement)."""

    type_name = "AWS::ECS::TaskDefinition"
    wants_metadata = True

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("ecs")
        sendable = {key: value for key, value in props.items() if key != "Metadata"}
        sendable.setdefault("Family", f"{ctx.stack_name}{logical_id}")
        local = dict(props.get("Metadata", {}).get(_METADATA, {}))
        sendable["ContainerDefinitions"] = [_local(ctx, c, local) for c in props.get("ContainerDefinitions", [])]
        request = _input(client, "RegisterTaskDefinition", sendable, logical_id)
        definition = client.register_task_definition(**request)["taskDefinition"]
        arn = definition["taskDefinitionArn"]
        return Applied(arn, arn, {"TaskDefinitionArn": arn})

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("ecs")
        try:
            client.deregister_task_definition(taskDefinition=current.physical_id)
        except client.exceptions.ClientException:
            return


def _local(ctx: Context, container: Mapping[str, Any], local: Mapping[str, Any]) -> dict[str, Any]:
    spec = local.get(str(container.get("Name")))
    if not spec:
        return dict(container)
    command = [ctx.python if part in ("python", "python3") and index == 0 else str(part)
               for index, part in enumerate(spec.get("Command", []))]  # fmt: skip
    updated = {**container, "Command": command}
    if "EntryPoint" in spec:
        updated["EntryPoint"] = list(spec["EntryPoint"])
    if "WorkingDirectory" in spec:
        updated["WorkingDirectory"] = str((ctx.template_dir / str(spec["WorkingDirectory"])).resolve())
    return updated


class Service(Provider):
    type_name = "AWS::ECS::Service"
    mutable = frozenset(
        {"TaskDefinition", "DesiredCount", "VpcLatticeConfigurations", "LoadBalancers", "DeploymentConfiguration",
         "HealthCheckGracePeriodSeconds", "NetworkConfiguration", "Tags"}
    )  # fmt: skip
    _ignored = frozenset({"Tags"})

    def create(self, ctx: Context, logical_id: str, props: Mapping[str, Any]) -> Applied:
        client = ctx.client("ecs")
        sendable = dict(props)
        sendable.setdefault("ServiceName", generated_name(ctx, logical_id, 255))
        service = client.create_service(**_input(client, "CreateService", sendable, logical_id))["service"]
        arn = service["serviceArn"]
        return Applied(arn, arn, {"Name": service["serviceName"], "ServiceArn": arn})

    def update(
        self, ctx: Context, logical_id: str, current: Applied, old: Mapping[str, Any], new: Mapping[str, Any]
    ) -> Applied:
        client = ctx.client("ecs")
        changed = {k: new[k] for k in self.mutable - self._ignored if k in new and new.get(k) != old.get(k)}
        request = _input(client, "UpdateService", {**changed, "Cluster": new.get("Cluster", "default")}, logical_id)
        client.update_service(service=current.physical_id, **request)
        return current

    def delete(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> None:
        client = ctx.client("ecs")
        cluster = str(props.get("Cluster", "default"))
        try:
            client.delete_service(cluster=cluster, service=current.physical_id, force=True)
        except (client.exceptions.ServiceNotFoundException, client.exceptions.ClusterNotFoundException):
            return
        # The cluster can go only once the service is INACTIVE (its tasks stopped), as on ECS.
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and self._status(client, cluster, current.physical_id) == "DRAINING":
            time.sleep(0.1)

    def waiting_for(self, ctx: Context, current: Applied, props: Mapping[str, Any]) -> str | None:
        client = ctx.client("ecs")
        cluster = str(props.get("Cluster", "default"))
        service = client.describe_services(cluster=cluster, services=[current.physical_id])["services"][0]
        if service["runningCount"] < service["desiredCount"]:
            return f"{service['runningCount']} of {service['desiredCount']} tasks running"
        return None

    @staticmethod
    def _status(client: Any, cluster: str, service: str) -> str:
        found = client.describe_services(cluster=cluster, services=[service]).get("services", [])
        return str(found[0]["status"]) if found else "INACTIVE"


COMPUTE_PROVIDERS: tuple[Provider, ...] = (Function(), Permission(), Cluster(), TaskDefinition(), Service())
