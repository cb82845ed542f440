"""Resource ordering: the dependency graph from DependsOn and references (Ref, Fn::GetAtt, Fn::Sub), a
creation order (template order among equals, so runs are reproducible) and cycle reports.

Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping

from latticework.deploy.errors import CycleError, TemplateError
from latticework.deploy.intrinsics import references
from latticework.deploy.template import Resource

__all__ = ["creation_order", "dependencies"]


def dependencies(resources: Mapping[str, Resource]) -> dict[str, tuple[str, ...]]:
    """Logical ID -> the logical IDs it needs first (unknown DependsOn targets are errors)."""
    graph: dict[str, tuple[str, ...]] = {}
    for logical_id, resource in resources.items():
        for needed in resource.depends_on:
            if needed not in resources:
                raise TemplateError(f"DependsOn names {needed!r}, which is not a resource", f"Resources.{logical_id}")
        referenced = references(dict(resource.properties)) & set(resources)
        graph[logical_id] = tuple(
            sorted(set(resource.depends_on) | referenced - {logical_id}, key=list(resources).index)
        )
        if logical_id in references(dict(resource.properties)):
            raise CycleError([logical_id])
    return graph


def creation_order(graph: Mapping[str, tuple[str, ...]]) -> list[str]:
    """A topological order (dependencies first); a cycle raises CycleError naming it."""
    order: list[str] = []
    state: dict[str, str] = {}
    for logical_id in graph:
        _visit(logical_id, graph, state, order, [])
    return order


def _visit(
    node: str, graph: Mapping[str, tuple[str, ...]], state: dict[str, str], order: list[str], path: list[str]
) -> None:
    if state.get(node) == "done":
        return
    if state.get(node) == "visiting":
        raise CycleError(path[path.index(node) :])
    state[node] = "visiting"
    path.append(node)
    for needed in graph.get(node, ()):
        _visit(needed, graph, state, order, path)
    path.pop()
    state[node] = "done"
    order.append(node)
