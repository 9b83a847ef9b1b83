"""Colours and solid backgrounds for Kivy widgets."""

from __future__ import annotations

from typing import Any

RGBA = tuple[float, float, float, float]


def hex_color(value: str, alpha: float = 1.0) -> RGBA:
    value = value.lstrip("#")
    r, g, b = (int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return (r, g, b, alpha)


def paint(widget: Any, color: RGBA, radius: float = 0) -> Any:
    """A solid (rounded) background that follows the widget; returns its
    `kivy.graphics.Color`, so a caller can recolour it later (``.rgba = …``)."""
    from kivy.graphics import Color, Rectangle, RoundedRectangle

    with widget.canvas.before:
        colour = Color(*color)
        shape = (
            RoundedRectangle(pos=widget.pos, size=widget.size, radius=[radius])
            if radius
            else Rectangle(pos=widget.pos, size=widget.size)
        )

    def follow(*_: Any) -> None:
        shape.pos = widget.pos
        shape.size = widget.size

    widget.bind(pos=follow, size=follow)
    return colour
