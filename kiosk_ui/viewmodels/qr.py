"""The QR code of a URL as a module matrix (True = dark), quiet zone included.

`qrcode` is pure Python; the kiosk draws the matrix itself (a Kivy texture),
so neither Pillow nor an image file is needed. It is imported here only, so
the rest of the kiosk works without it (the e-ticket then shows the URL)."""

from __future__ import annotations


def qr_matrix(data: str, *, border: int = 2) -> list[list[bool]] | None:
    try:
        import qrcode
        from qrcode.constants import ERROR_CORRECT_M
    except ImportError:  # pragma: no cover - the kiosk extra lists qrcode
        return None
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_M, border=border)
    code.add_data(data)
    code.make(fit=True)
    matrix: list[list[bool]] = [[bool(v) for v in row] for row in code.get_matrix()]
    return matrix
