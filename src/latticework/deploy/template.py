"""Template parsing: CloudFormation YAML (with the short-form tags `!Ref`, `!Sub`, `!GetAtt`, ...) and JSON into
plain values, and the `Template` value the engine works on.

Owns the text -> dict step and the section checks. Never touches files or the network: callers hand it text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from latticework.deploy.errors import TemplateError

__all__ = ["Resource", "Template", "parse_template"]

# CFN UG "Intrinsic function reference": every function has a short YAML form, `!Name` for `Fn::Name`
# (`!Ref` and `!Condition` keep their names).
_SHORT_TAGS = (
    "Base64", "Cidr", "FindInMap", "GetAtt", "GetAZs", "ImportValue", "Join", "Select", "Split", "Sub",
    "If", "Equals", "Not", "And", "Or", "Length", "ToJsonString",
)  # fmt: skip
_SECTIONS = frozenset(
    {"AWSTemplateFormatVersion", "Description", "Metadata", "Parameters", "Rules", "Mappings", "Conditions",
     "Transform", "Resources", "Outputs"}
)  # fmt: skip
_RESOURCE_KEYS = frozenset(
    {"Type", "Properties", "DependsOn", "Condition", "Metadata", "DeletionPolicy", "UpdateReplacePolicy",
     "CreationPolicy", "UpdatePolicy"}
)  # fmt: skip


class _Loader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader without YAML 1.1 timestamps: `Version: 2012-10-17` must stay a string, as CloudFormation
    reads it."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    if isinstance(node, yaml.ScalarNode):
        return loader.construct_scalar(node)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_mapping(node, deep=True)


def _function(name: str) -> Any:
    def construct(loader: yaml.SafeLoader, node: yaml.Node) -> dict[str, Any]:
        value = _construct(loader, node)
        # CFN UG "Fn::GetAtt": the short form takes "Resource.Attribute" as one string.
        if name == "Fn::GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
        return {name: value}

    return construct


for _short in _SHORT_TAGS:
    _Loader.add_constructor(f"!{_short}", _function(f"Fn::{_short}"))
_Loader.add_constructor("!Ref", _function("Ref"))
_Loader.add_constructor("!Condition", _function("Condition"))


@dataclass(frozen=True, slots=True)
class Resource:
    """One entry of `Resources`."""

    logical_id: str
    type: str
    properties: Mapping[str, Any] = field(default_factory=dict)
    depends_on: tuple[str, ...] = ()
    condition: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    deletion_policy: str = "Delete"


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: its sections as plain values, resources in template order."""

    description: str
    parameters: Mapping[str, Mapping[str, Any]]
    mappings: Mapping[str, Any]
    conditions: Mapping[str, Any]
    resources: Mapping[str, Resource]
    outputs: Mapping[str, Mapping[str, Any]]
    metadata: Mapping[str, Any] = field(default_factory=dict)


def parse_template(text: str) -> Template:
    """JSON when the text starts with `{`, YAML otherwise (CFN accepts both)."""
    body = _load(text)
    if not isinstance(body, dict):
        raise TemplateError("a template must be a mapping of sections (Resources, Parameters, ...)")
    unknown = sorted(set(body) - _SECTIONS)
    if unknown:
        raise TemplateError(f"unknown top-level section(s) {', '.join(unknown)}; known: {', '.join(sorted(_SECTIONS))}")
    if body.get("Transform"):
        raise TemplateError("transforms (macros, AWS::Serverless) are not supported", "Transform")
    return Template(
        description=str(body.get("Description", "")),
        parameters=_section(body, "Parameters"),
        mappings=_section(body, "Mappings"),
        conditions=_section(body, "Conditions"),
        resources=_resources(_section(body, "Resources")),
        outputs=_section(body, "Outputs"),
        metadata=_section(body, "Metadata"),
    )


def _load(text: str) -> Any:
    try:
        if text.lstrip().startswith("{"):
            return json.loads(text)
        return yaml.load(text, Loader=_Loader)  # _Loader is a SafeLoader: no arbitrary objects
    except json.JSONDecodeError as exc:
        raise TemplateError(f"not valid JSON: {exc}") from None
    except yaml.YAMLError as exc:
        raise TemplateError(f"not valid YAML: {exc}") from None


def _section(body: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = body.get(name) or {}
    if not isinstance(value, dict):
        raise TemplateError("must be a mapping", name)
    return value


def _resources(section: Mapping[str, Any]) -> dict[str, Resource]:
    if not section:
        raise TemplateError("a template needs at least one resource", "Resources")
    return {logical_id: _resource(logical_id, spec) for logical_id, spec in section.items()}


def _resource(logical_id: str, spec: Any) -> Resource:
    where = f"Resources.{logical_id}"
    if not logical_id.isalnum():
        raise TemplateError("logical IDs must be alphanumeric (A-Za-z0-9)", where)
    if not isinstance(spec, dict) or not isinstance(spec.get("Type"), str):
        raise TemplateError("every resource needs a Type", where)
    unknown = sorted(set(spec) - _RESOURCE_KEYS)
    if unknown:
        raise TemplateError(f"unknown resource attribute(s) {', '.join(unknown)}", where)
    properties = spec.get("Properties") or {}
    if not isinstance(properties, dict):
        raise TemplateError("Properties must be a mapping", where)
    return Resource(
        logical_id=logical_id,
        type=spec["Type"],
        properties=properties,
        depends_on=_depends_on(spec.get("DependsOn"), where),
        condition=spec.get("Condition"),
        metadata=spec.get("Metadata") or {},
        deletion_policy=str(spec.get("DeletionPolicy", "Delete")),
    )


def _depends_on(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise TemplateError("DependsOn must be a logical ID or a list of them", where)
