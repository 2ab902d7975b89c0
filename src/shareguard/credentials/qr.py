"""QR codes for credentials (segno): the QR code holds the compact JWS itself, nothing else.

A ~1,200-character token fits a version 27-29 symbol at error level M (15 % recovery), which a
phone camera reads printed at 7 cm or more. A scanner hands the checker the same text the
download holds, so `shareguard credential verify` takes either.
"""

from __future__ import annotations

import io

import segno


def qr_code(token: str) -> segno.QRCode:
    # Byte mode: base64url has lower-case letters, which QR's alphanumeric mode lacks.
    return segno.make(token, error="m", mode="byte", boost_error=False)


def qr_svg(token: str, *, scale: int = 3) -> str:
    """An inline ``<svg>`` element (no XML declaration), dark modules black for printing."""
    return str(qr_code(token).svg_inline(scale=scale, dark="#0b0c0c", border=4))


def qr_png(token: str, *, scale: int = 4) -> bytes:

    buf = io.BytesIO()
    qr_code(token).save(buf, kind="png", scale=scale, border=4)
    return buf.getvalue()
