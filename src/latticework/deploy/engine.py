"""The deployer: a template and a stack's last record in, resources created, updated (by diff), replaced or
deleted through the providers, and a new record out; rollback when a resource fails.

Order: dependencies first (graph.py). Each resource's properties are resolved just before it is applied, when
everything it references exists, then compared with the record: equal -> kept; only mutable properties differ
-> updated in place; otherwise replaced (the new one is created, the old one deleted after the rest succeeded,
as CFN does). Resources gone from the template are deleted last, in reverse order. A failure undoes this run's
steps in reverse (created -> deleted, updated -> updated back) and leaves the last good record; so does a
cancel (`cancelled()` true), which is looked at between steps, never inside one.

No sockets or clocks here: providers hold the clients, `on_event` the printing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from latticework.deploy.errors import (
    DeployCancelled,
    DeployError,
    ResourceFailedError,
    TemplateError,
    UnsupportedTypeError,
)
from latticework.deploy.graph import creation_order, dependencies
from latticework.deploy.intrinsics import Scope, evaluate_conditions, references, resolve
from latticework.deploy.parameters import pseudo_parameters, resolve_parameters
from latticework.deploy.providers import Applied, Context, Provider
from latticework.deploy.stacks import StackStore, new_stack_id
from latticework.deploy.template import Resource, Template, parse_template

__all__ = ["DeployRequest", "ResourceEvent", "deploy", "destroy", "not_ready", "plan_scope"]


@dataclass(frozen=True, slots=True)
class ResourceEvent:
    """A step of a deploy, as CFN's stack events name them (CREATE_COMPLETE, ...)."""

    logical_id: str
    type: str
    status: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class DeployRequest:
    template_text: str
    stack_name: str
    parameters: Mapping[str, str] = field(default_factory=dict)
    skip_unsupported: bool = False
    template_path: str = ""


Events = Callable[[ResourceEvent], None]


@dataclass(slots=True)
class _Run:
    """One deploy in progress: the record being built and the journal to undo."""

    doc: dict[str, Any]
    scope: Scope
    previous: dict[str, Any]
    journal: list[tuple[str, str, Any]] = field(default_factory=list)
    retired: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


def plan_scope(
    template: Template, given: Mapping[str, str], ctx: Context, stack_id: str, exports: Mapping[str, Any]
) -> Scope:
    """The scope before any resource exists: parameters, pseudo parameters, mappings, conditions, exports."""
    parameters = {
        **resolve_parameters(template.parameters, given),
        **pseudo_parameters(ctx.account, ctx.region, ctx.stack_name, stack_id),
        # Latticework's own pseudo parameter: where a template's apps may keep data, so deploys into different
        # state dirs never share files (the retail store's DATA_DIR).
        "Latticework::StateDir": str(ctx.state_dir),
    }
    scope = Scope(parameters, template.mappings, exports=exports, resource_ids=frozenset(template.resources))
    return scope.with_conditions(evaluate_conditions(template.conditions, scope))


def deploy(
    request: DeployRequest,
    stacks: StackStore,
    ctx: Context,
    providers: Mapping[str, Provider],
    on_event: Events,
    cancelled: Callable[[], bool] = lambda: False,
) -> dict[str, Any]:
    """Create or update the stack; returns its new record. Raises DeployError after rolling back (DeployCancelled
    when `cancelled()` turned true before a step)."""
    template = parse_template(request.template_text)
    previous = stacks.get(request.stack_name) or {}
    stack_id = previous.get("StackId") or new_stack_id(ctx.account, ctx.region, request.stack_name)
    scope = plan_scope(template, request.parameters, ctx, stack_id, stacks.exports(excluding=request.stack_name))
    active = _active(template, scope)
    skipped = _unsupported(active, providers, request.skip_unsupported)
    for logical_id, kind in skipped.items():
        on_event(ResourceEvent(logical_id, kind, "SKIPPED", "unsupported type (--skip-unsupported)"))
    order = [lid for lid in creation_order(dependencies(template.resources)) if lid in active and lid not in skipped]
    _check_skipped_refs(active, skipped)
    doc = _new_doc(request, stack_id, previous, skipped, template)
    run = _Run(doc, scope, previous.get("Resources", {}))
    try:
        for logical_id in order:
            if cancelled():
                raise DeployCancelled(logical_id)
            _apply(run, active[logical_id], providers[active[logical_id].type], ctx, on_event)
        doc["Outputs"], doc["Exports"] = _outputs(template, run.scope)
    except DeployError as exc:
        _rollback(run, providers, ctx, on_event)
        if previous:  # every step was undone, so the last record is true again
            stacks.put({**previous, "StackStatus": "UPDATE_ROLLBACK_COMPLETE"})
        raise exc from None
    _cleanup(run, order, providers, ctx, on_event)
    doc["Order"] = order
    doc["StackStatus"] = "UPDATE_COMPLETE" if previous else "CREATE_COMPLETE"
    stacks.put(doc)
    return doc


def destroy(
    stack_name: str, stacks: StackStore, ctx: Context, providers: Mapping[str, Provider], on_event: Events
) -> bool:
    """Delete every resource of the stack in reverse order, then its record; False when there is no such stack."""
    doc = stacks.get(stack_name)
    if doc is None:
        return False
    users = stacks.importers(set(doc.get("Exports", {})))
    if users:
        raise DeployError(
            f"stack {stack_name} exports values that stacks {', '.join(users)} import; delete those first"
        )
    resources: dict[str, Any] = doc.get("Resources", {})
    for logical_id in reversed([lid for lid in doc.get("Order", list(resources)) if lid in resources]):
        _delete(logical_id, resources[logical_id], providers, ctx, on_event)
        del resources[logical_id]
        stacks.put(doc)
    stacks.remove(stack_name)
    return True


# -- steps ---------------------------------------------------------------------------------------------------


def _active(template: Template, scope: Scope) -> dict[str, Resource]:
    active: dict[str, Resource] = {}
    for logical_id, resource in template.resources.items():
        if resource.condition is not None and resource.condition not in scope.conditions:
            raise TemplateError(f"no condition named {resource.condition!r}", f"Resources.{logical_id}.Condition")
        if resource.condition is None or scope.conditions[resource.condition]:
            active[logical_id] = resource
    return active


def _unsupported(active: Mapping[str, Resource], providers: Mapping[str, Provider], skip: bool) -> dict[str, str]:
    unsupported = {lid: r.type for lid, r in active.items() if r.type not in providers}
    if unsupported and not skip:
        raise UnsupportedTypeError(unsupported)
    return unsupported


def _check_skipped_refs(active: Mapping[str, Resource], skipped: Mapping[str, str]) -> None:
    for logical_id, resource in active.items():
        used = (references(dict(resource.properties)) | set(resource.depends_on)) & set(skipped)
        if logical_id not in skipped and used:
            raise TemplateError(f"uses skipped resource(s) {', '.join(sorted(used))}", f"Resources.{logical_id}")


def _new_doc(
    request: DeployRequest, stack_id: str, previous: Mapping[str, Any], skipped: Mapping[str, str], template: Template
) -> dict[str, Any]:
    return {
        "StackName": request.stack_name,
        "StackId": stack_id,
        "StackStatus": "UPDATE_IN_PROGRESS" if previous else "CREATE_IN_PROGRESS",
        "TemplateBody": request.template_text,
        "TemplatePath": request.template_path,
        "Description": template.description,
        "Parameters": dict(request.parameters),
        "Resources": {},
        "Skipped": dict(skipped),
        "Imports": sorted(_imports(template)),
    }


def _imports(template: Template) -> set[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("Fn::ImportValue"), str):
                found.add(value["Fn::ImportValue"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk({lid: dict(r.properties) for lid, r in template.resources.items()})
    walk(dict(template.outputs))
    return found


def _props(resource: Resource, provider: Provider, scope: Scope) -> dict[str, Any]:
    where = f"Resources.{resource.logical_id}.Properties"
    props: dict[str, Any] = resolve(dict(resource.properties), scope, where)
    if getattr(provider, "wants_metadata", False):
        props["Metadata"] = resolve(dict(resource.metadata), scope, f"Resources.{resource.logical_id}.Metadata")
    return props


def _apply(run: _Run, resource: Resource, provider: Provider, ctx: Context, on_event: Events) -> None:
    props = _props(resource, provider, run.scope)
    old = run.previous.get(resource.logical_id)
    if old is not None and old["Type"] == resource.type and old["Properties"] == props:
        _record(run, resource, Applied.from_json(old), props)
        return
    if old is not None and old["Type"] == resource.type and not provider.needs_replacement(old["Properties"], props):
        applied = _step(resource, "UPDATE", on_event, lambda: provider.update(
            ctx, resource.logical_id, Applied.from_json(old), old["Properties"], props))  # fmt: skip
        run.journal.append(("updated", resource.logical_id, (old, props)))
        _record(run, resource, applied, props)
        return
    applied = _step(resource, "CREATE", on_event, lambda: provider.create(ctx, resource.logical_id, props))
    run.journal.append(("created", resource.logical_id, (applied, props)))
    if old is not None:
        run.retired.append((resource.logical_id, old))
    _record(run, resource, applied, props)


def _step(resource: Resource, action: str, on_event: Events, call: Callable[[], Applied]) -> Applied:
    on_event(ResourceEvent(resource.logical_id, resource.type, f"{action}_IN_PROGRESS"))
    try:
        applied = call()
    except DeployError as exc:
        on_event(ResourceEvent(resource.logical_id, resource.type, f"{action}_FAILED", str(exc)))
        raise
    except Exception as exc:  # a provider's API error: say which resource, keep the API's own words
        reason = _reason(exc)
        on_event(ResourceEvent(resource.logical_id, resource.type, f"{action}_FAILED", reason))
        raise ResourceFailedError(resource.logical_id, resource.type, action.lower(), reason) from exc
    on_event(ResourceEvent(resource.logical_id, resource.type, f"{action}_COMPLETE", applied.physical_id))
    return applied


def _reason(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return f"{error.get('Code', type(exc).__name__)}: {error.get('Message', '')}"
    return f"{type(exc).__name__}: {exc}"


def _record(run: _Run, resource: Resource, applied: Applied, props: dict[str, Any]) -> None:
    run.doc["Resources"][resource.logical_id] = {"Type": resource.type, "Properties": props, **applied.to_json()}
    run.scope = Scope(
        run.scope.parameters,
        run.scope.mappings,
        run.scope.conditions,
        {**run.scope.refs, resource.logical_id: applied.ref},
        {**run.scope.attributes, resource.logical_id: applied.attributes},
        run.scope.exports,
        run.scope.resource_ids,
    )


def _outputs(template: Template, scope: Scope) -> tuple[dict[str, Any], dict[str, Any]]:
    outputs: dict[str, Any] = {}
    exports: dict[str, Any] = {}
    for name, spec in template.outputs.items():
        condition = spec.get("Condition")
        if condition is not None and not scope.conditions.get(condition, False):
            continue
        value = resolve(spec.get("Value"), scope, f"Outputs.{name}.Value")
        outputs[name] = {"Value": value, "Description": spec.get("Description", "")}
        if "Export" in spec:
            export_name = resolve(spec["Export"].get("Name"), scope, f"Outputs.{name}.Export.Name")
            outputs[name]["ExportName"] = export_name
            exports[str(export_name)] = value
    return outputs, exports


def _rollback(run: _Run, providers: Mapping[str, Provider], ctx: Context, on_event: Events) -> None:
    for action, logical_id, detail in reversed(run.journal):
        kind = run.doc["Resources"].get(logical_id, {}).get("Type") or run.previous[logical_id]["Type"]
        provider = providers[kind]
        try:
            if action == "created":
                applied, props = detail
                provider.delete(ctx, applied, props)
                on_event(ResourceEvent(logical_id, kind, "DELETE_COMPLETE", "rolled back"))
            else:
                old, new = detail
                provider.update(ctx, logical_id, Applied.from_json(old), new, old["Properties"])
                on_event(ResourceEvent(logical_id, kind, "UPDATE_COMPLETE", "rolled back"))
        except Exception as exc:  # keep undoing the rest; report what could not be undone
            on_event(ResourceEvent(logical_id, kind, "ROLLBACK_FAILED", _reason(exc)))


def _cleanup(run: _Run, order: list[str], providers: Mapping[str, Provider], ctx: Context, on_event: Events) -> None:
    for logical_id, old in reversed(run.retired):
        _delete(logical_id, old, providers, ctx, on_event)
    previous_order = run.previous and [lid for lid in reversed(list(run.previous)) if lid not in run.doc["Resources"]]
    for logical_id in previous_order or []:
        _delete(logical_id, run.previous[logical_id], providers, ctx, on_event)


def _delete(
    logical_id: str, record: Mapping[str, Any], providers: Mapping[str, Provider], ctx: Context, on_event: Events
) -> None:
    provider = providers.get(record["Type"])
    if provider is None:
        return
    on_event(ResourceEvent(logical_id, record["Type"], "DELETE_IN_PROGRESS"))
    try:
        provider.delete(ctx, Applied.from_json(record), record["Properties"])
    except Exception as exc:
        on_event(ResourceEvent(logical_id, record["Type"], "DELETE_FAILED", _reason(exc)))
        raise ResourceFailedError(logical_id, record["Type"], "delete", _reason(exc)) from exc
    on_event(ResourceEvent(logical_id, record["Type"], "DELETE_COMPLETE"))


def not_ready(doc: Mapping[str, Any], ctx: Context, providers: Mapping[str, Provider]) -> dict[str, str]:
    """Logical ID -> why it is not ready yet (tasks starting, targets not healthy); empty when all are."""
    waiting: dict[str, str] = {}
    for logical_id, record in doc.get("Resources", {}).items():
        provider = providers.get(record["Type"])
        reason = provider and provider.waiting_for(ctx, Applied.from_json(record), record["Properties"])
        if reason:
            waiting[logical_id] = reason
    return waiting
