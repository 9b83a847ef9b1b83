"""The CJK font used for raster text and for previews (WenQuanYi Micro Hei)."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

from PIL import ImageFont

from printer.settings import DEFAULT_FONT

log = logging.getLogger(__name__)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.lru_cache(maxsize=64)
def load(size: int, path: Path = DEFAULT_FONT) -> Font:
    """The font at `size` pixels; Pillow's built-in font (no Chinese) if it is missing."""
    try:
        return ImageFont.truetype(str(path), size)
    except OSError:
        log.warning("font %s not found; Chinese will not render (install fonts-wqy-microhei)", path)
        return ImageFont.load_default(size)
