"""The topology picture: VPCs -> service networks -> services -> target groups -> targets, as one SVG, in the
spirit of the seed post's architecture figure. Pure: a `Picture` in, SVG text out; no I/O, no clock.

Every box is a `<g class="node KIND" data-id="...">` (KIND: vpc, network, service, target-group, target) and
every arrow a `<line class="edge">`, so a browser test (or a person with devtools) can count what is drawn.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from html import escape

from latticework.console.picture import Picture

__all__ = ["Box", "layout", "render_svg"]

_COLUMNS = ("vpc", "network", "service", "target-group", "target")
_BOX_W, _BOX_H, _GAP_X, _GAP_Y, _MARGIN = 190, 38, 40, 14, 20
_HEALTH_COLOURS = {"HEALTHY": "#2e7d32", "UNHEALTHY": "#c62828", "DRAINING": "#ef6c00", "INITIAL": "#757575"}


@dataclass(frozen=True, slots=True)
class Box:
    kind: str
    id: str
    label: str
    detail: str
    column: int
    row: int
    colour: str = "#37474f"

    @property
    def x(self) -> int:
        return _MARGIN + self.column * (_BOX_W + _GAP_X)

    @property
    def y(self) -> int:
        return _MARGIN + 24 + self.row * (_BOX_H + _GAP_Y)


def layout(picture: Picture) -> tuple[list[Box], list[tuple[str, str]]]:
    """The boxes, column by column, and the edges between box IDs."""
    names = dict(picture.vpcs)
    in_network = {vpc for n in picture.networks for vpc, _ in n.vpcs}
    boxes = _column(0, "vpc", ((v, names.get(v, v), v) for v in sorted(in_network | set(names))))
    boxes += _column(1, "network", ((n.id, n.name, f"auth {n.auth_type}") for n in picture.networks))
    boxes += _column(2, "service", ((s.id, s.name, s.custom_domain or s.dns_name) for s in picture.services))
    boxes += _column(3, "target-group", ((g.id, g.name, f"{g.type} {g.port or ''}") for g in picture.target_groups))
    boxes += _targets(picture)
    return boxes, _edges(picture)


def _column(column: int, kind: str, items: Iterable[tuple[str, str, str]]) -> list[Box]:
    return [Box(kind, box_id, label, detail, column, row) for row, (box_id, label, detail) in enumerate(items)]


def _targets(picture: Picture) -> list[Box]:
    boxes: list[Box] = []
    for group in picture.target_groups:
        for target in group.targets:
            label = f"{target.id}:{target.port}" if target.port else target.id
            colour = _HEALTH_COLOURS.get(target.status, "#757575")
            boxes.append(Box("target", _target_key(group.id, target.id, target.port), label, target.status, 4,
                             len(boxes), colour))  # fmt: skip
    return boxes


def _target_key(group: str, target: str, port: int | None) -> str:
    return f"{group}/{target}:{port}"


def _edges(picture: Picture) -> list[tuple[str, str]]:
    edges = [(vpc, n.id) for n in picture.networks for vpc, _ in n.vpcs]
    edges += [(n.id, service) for n in picture.networks for service, _ in n.services]
    groups = {g.arn: g.id for g in picture.target_groups}
    for service in picture.services:
        forwarded = {w.target_group for lst in service.listeners for r in lst.rules for w in r.forward}
        edges += sorted((service.id, groups.get(g, g)) for g in forwarded)
    edges += [(g.id, _target_key(g.id, t.id, t.port)) for g in picture.target_groups for t in g.targets]
    return edges


def render_svg(picture: Picture) -> str:
    """The whole picture as an inline SVG element."""
    boxes, edges = layout(picture)
    rows = max((b.row for b in boxes), default=0) + 1
    width = _MARGIN * 2 + len(_COLUMNS) * _BOX_W + (len(_COLUMNS) - 1) * _GAP_X
    height = _MARGIN * 2 + 24 + rows * (_BOX_H + _GAP_Y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="topology" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="Topology">',
        *_headings(),
        *_lines(boxes, edges),
        *(_box(b) for b in boxes),
        "</svg>",
    ]
    return "\n".join(parts)


def _headings() -> Iterator[str]:
    titles = ("VPCs", "Service networks", "Services", "Target groups", "Targets")
    for column, title in enumerate(titles):
        x = _MARGIN + column * (_BOX_W + _GAP_X)
        yield f'<text class="heading" x="{x}" y="{_MARGIN + 10}">{title}</text>'


def _lines(boxes: list[Box], edges: list[tuple[str, str]]) -> Iterator[str]:
    where = {b.id: b for b in boxes}
    for source, destination in edges:
        a, b = where.get(source), where.get(destination)
        if a is None or b is None:
            continue  # an association to something in another account or region: not drawn
        yield (
            f'<line class="edge" data-from="{escape(source)}" data-to="{escape(destination)}" '
            f'x1="{a.x + _BOX_W}" y1="{a.y + _BOX_H // 2}" x2="{b.x}" y2="{b.y + _BOX_H // 2}" />'
        )


def _box(box: Box) -> str:
    label, detail = escape(_clip(box.label)), escape(_clip(box.detail))
    return (
        f'<g class="node {box.kind}" data-id="{escape(box.id)}"><title>{escape(box.label)}</title>'
        f'<rect x="{box.x}" y="{box.y}" width="{_BOX_W}" height="{_BOX_H}" rx="6" stroke="{box.colour}" />'
        f'<text x="{box.x + 8}" y="{box.y + 15}">{label}</text>'
        f'<text class="detail" x="{box.x + 8}" y="{box.y + 30}">{detail}</text></g>'
    )


def _clip(text: str, limit: int = 28) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
