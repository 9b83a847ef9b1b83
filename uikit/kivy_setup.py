"""Kivy's window and font, set before Kivy draws anything.

Kivy reads its configuration when first imported, so `configure_kivy` sets
the environment and imports Kivy's config only when called; call it before
any other Kivy import. `register_cjk_font` makes a Chinese font the default
of every Label, Button and TextInput.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

# WenQuanYi Micro Hei first: its .ttc opens on the Chinese face. Noto CJK
# .ttc files open on the Japanese face (wrong glyph shapes), so they are not listed.
CJK_FONTS: Final = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
SIZES: Final = {"portrait": (1080, 1920), "landscape": (1920, 1080)}


def find_cjk_font(candidates: tuple[str, ...] = CJK_FONTS) -> str | None:
    return next((p for p in candidates if Path(p).is_file()), None)


def configure_kivy(
    *,
    orientation: str = "portrait",
    size: tuple[int, int] | None = None,
    fullscreen: bool = False,
    kivy_home: str | None = None,
) -> tuple[int, int]:
    """Set Kivy's environment and window before Kivy is imported; returns the size."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    if kivy_home:
        os.environ["KIVY_HOME"] = kivy_home
    width, height = size or SIZES.get(orientation, SIZES["portrait"])
    from kivy.config import Config

    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "resizable", "0" if fullscreen else "1")
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    # No multisample anti-aliasing (Kivy asks for 2×): our screens are text
    # (anti-aliased in its glyph textures) on flat panels, so MSAA only softens
    # a few rounded corners; on a box without a GPU (Mesa's llvmpipe) it doubled
    # the cost of a 1920×1080 frame (46 → 21 ms) and its resolve at buffer swap
    # held Python's lock, stalling the device agent's thread for the whole frame.
    Config.set("graphics", "multisamples", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")
    Config.set("kivy", "exit_on_escape", "0")
    return width, height


def register_cjk_font() -> str:
    """Make the CJK font Kivy's default (every Label, Button, TextInput)."""
    from kivy.core.text import DEFAULT_FONT, LabelBase

    path = find_cjk_font()
    if path is None:
        raise RuntimeError("没有找到中文字体：请安装 fonts-wqy-microhei")
    LabelBase.register(DEFAULT_FONT, fn_regular=path, fn_bold=path)
    return path
