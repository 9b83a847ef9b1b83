"""QR codes as inline SVG, drawn server-side (no script, prints sharply).

The `qrcode` package encodes; this module only turns its module matrix into
one SVG path, so the page needs neither Pillow nor a client-side library.
"""

from __future__ import annotations

from html import escape

import qrcode
from qrcode.constants import ERROR_CORRECT_M


def qr_svg(data: str, *, size_px: int = 200, title: str = "") -> str:
    """An ``<svg>`` element of the QR code of `data` (quiet zone included)."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=4)
    code.add_data(data)
    code.make(fit=True)
    matrix: list[list[bool]] = code.get_matrix()
    n = len(matrix)
    path = "".join(
        f"M{x},{y}h1v1h-1z" for y, row in enumerate(matrix) for x, dark in enumerate(row) if dark
    )
    label = f"<title>{escape(title)}</title>" if title else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {n} {n}" width="{size_px}" '
        f'height="{size_px}" shape-rendering="crispEdges" role="img">{label}'
        f'<rect width="{n}" height="{n}" fill="#fff"/><path d="{path}" fill="#000"/></svg>'
    )
