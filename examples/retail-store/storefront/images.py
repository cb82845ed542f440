"""Product pictures, drawn here as SVG: a wristwatch per product (the seed's store sold watches), each with its
own strap colour, case shape and time on the dial, so twenty products look like twenty things.

Owns: the drawing. Pure: a product number in, SVG text out; the app serves it as image/svg+xml.
"""

from __future__ import annotations

import math

__all__ = ["product_svg"]

_SIZE = 400


def _hsl(hue: int, saturation: int, lightness: int) -> str:
    return f"hsl({hue % 360},{saturation}%,{lightness}%)"


def _hand(angle_degrees: float, length: int, width: int, colour: str) -> str:
    radians = math.radians(angle_degrees - 90)
    x, y = 200 + length * math.cos(radians), 200 + length * math.sin(radians)
    return (
        f'<line x1="200" y1="200" x2="{x:.1f}" y2="{y:.1f}" stroke="{colour}" '
        f'stroke-width="{width}" stroke-linecap="round"/>'
    )


def _ticks(colour: str) -> str:
    marks = []
    for hour in range(12):
        radians = math.radians(hour * 30)
        outer, inner = 92, 80 if hour % 3 else 72
        x1, y1 = 200 + inner * math.sin(radians), 200 - inner * math.cos(radians)
        x2, y2 = 200 + outer * math.sin(radians), 200 - outer * math.cos(radians)
        marks.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{colour}" stroke-width="4"/>'
        )
    return "".join(marks)


def _case(number: int, metal: str) -> str:
    if number % 3 == 0:  # every third watch has a square case
        return f'<rect x="88" y="88" width="224" height="224" rx="36" fill="{metal}"/>'
    return f'<circle cx="200" cy="200" r="118" fill="{metal}"/>'


def product_svg(number: int) -> str:
    """The picture of product `number` (1-20; other numbers draw too, just repeating the palette)."""
    hue = number * 47
    strap, dial = _hsl(hue, 55, 38), _hsl(hue + 180, 25, 96 if number % 2 else 18)
    ink = "#212529" if number % 2 else "#f8f9fa"
    metal = "#adb5bd" if number % 4 else "#d4a017"
    hours, minutes = (number * 5) % 12, (number * 13) % 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {_SIZE} {_SIZE}" role="img">',
        f"<title>product{number}</title>",
        f'<rect width="{_SIZE}" height="{_SIZE}" fill="{_hsl(hue, 30, 93)}"/>',
        f'<rect x="150" y="10" width="100" height="380" rx="22" fill="{strap}"/>',
        _case(number, metal),
        f'<circle cx="200" cy="200" r="100" fill="{dial}"/>',
        _ticks(ink),
        _hand(hours * 30 + minutes / 2, 52, 9, ink),
        _hand(minutes * 6, 80, 6, ink),
        f'<circle cx="200" cy="200" r="8" fill="{strap}"/>',
        f'<rect x="314" y="186" width="16" height="28" rx="4" fill="{metal}"/>',  # the crown
        "</svg>",
    ]
    return "".join(parts)
