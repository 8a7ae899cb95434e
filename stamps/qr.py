"""Stamp URL -> QR matrix (the reference encoder, the ``qrcode`` package) -> PNG.

The matrix is kept apart from the writers (as in segno): :func:`encode_qr` is pure,
:func:`write_png` renders a matrix to a path or a binary file object.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal

import numpy as np
import qrcode
import qrcode.constants
import qrcode.exceptions

__all__ = [
    "ERROR_CORRECTION_LEVELS",
    "QUIET_ZONE",
    "QrMatrix",
    "encode_qr",
    "png_bytes",
    "write_png",
]

ErrorCorrection = Literal["L", "M", "Q", "H"]
ERROR_CORRECTION_LEVELS: dict[str, int] = {
    "L": qrcode.constants.ERROR_CORRECT_L,
    "M": qrcode.constants.ERROR_CORRECT_M,
    "Q": qrcode.constants.ERROR_CORRECT_Q,
    "H": qrcode.constants.ERROR_CORRECT_H,
}
QUIET_ZONE = 4  # modules of white around the symbol, as ISO/IEC 18004 requires


@dataclass(frozen=True, slots=True)
class QrMatrix:
    """A QR symbol without its quiet zone: ``modules[row][column]`` is True for dark."""

    version: int
    error_correction: ErrorCorrection
    mask: int
    modules: tuple[tuple[bool, ...], ...]

    @property
    def size(self) -> int:
        """Return the number of modules on a side (17 + 4 * version)."""
        return len(self.modules)


def encode_qr(
    text: str, error_correction: ErrorCorrection = "M", *, mask: int | None = None
) -> QrMatrix:
    """Encode ``text`` in the smallest QR version that holds it, with mode-optimised segments
    (byte mode for the URL prefix, numeric mode for the stamp digits).

    ``mask`` forces a mask pattern 0-7; by default the standard penalty rules choose one.
    Returns the :class:`QrMatrix`. Raises ``ValueError`` for an unknown level or mask, or text
    too long for any QR version.
    """
    if error_correction not in ERROR_CORRECTION_LEVELS:
        raise ValueError(f"error correction must be one of L, M, Q, H, not {error_correction!r}")
    if mask is not None and mask not in range(8):
        raise ValueError(f"mask must be 0-7, not {mask!r}")
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION_LEVELS[error_correction], border=0)
    code.add_data(text, optimize=4)
    try:
        code.make(fit=True)
    except (qrcode.exceptions.DataOverflowError, ValueError) as exc:  # past version 40
        raise ValueError("the text is too long for a QR code") from exc
    chosen = code.best_mask_pattern() if mask is None else mask
    code.makeImpl(False, chosen)
    modules = tuple(tuple(bool(m) for m in row) for row in code.modules)
    return QrMatrix(code.version, error_correction, chosen, modules)


def png_bytes(
    modules: Sequence[Sequence[bool]] | Any, module_px: int = 4, quiet_zone: int = QUIET_ZONE
) -> bytes:
    """Return a black-on-white 1-bit PNG of a square module matrix (dark = True), with
    ``module_px`` pixels a module and a quiet zone of ``quiet_zone`` modules.

    Raises ``ValueError`` when ``module_px`` < 1 or ``quiet_zone`` < 0.
    """
    if module_px < 1 or quiet_zone < 0:
        raise ValueError("module_px must be >= 1 and quiet_zone >= 0")
    dark = np.pad(np.asarray(modules, dtype=bool), quiet_zone)
    one_row_each = np.packbits(np.repeat(~dark, module_px, axis=1), axis=1)  # 1 = white
    rows = np.repeat(one_row_each, module_px, axis=0)
    side = rows.shape[0]
    raw = np.concatenate([np.zeros((side, 1), dtype=np.uint8), rows], axis=1)  # filter: none
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)  # 1-bit grayscale
    return b"".join(
        (
            b"\x89PNG\r\n\x1a\n",
            _png_chunk(b"IHDR", header),
            _png_chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)),
            _png_chunk(b"IEND", b""),
        )
    )


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def write_png(
    matrix: QrMatrix,
    target: str | Path | BinaryIO,
    *,
    module_px: int = 4,
    quiet_zone: int = QUIET_ZONE,
) -> None:
    """Write ``matrix`` as a black-on-white 1-bit PNG (see :func:`png_bytes`) to a path or a
    binary file object. Raises ``ValueError`` when ``module_px`` < 1 or ``quiet_zone`` < 0."""
    data = png_bytes(matrix.modules, module_px, quiet_zone)
    if isinstance(target, str | Path):
        Path(target).write_bytes(data)
    else:
        target.write(data)
