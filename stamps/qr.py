"""Stamp URL -> QR matrix (the reference encoder, the ``qrcode`` package) -> PNG.

The matrix is kept apart from the writers (as in segno): :func:`encode_qr` is pure,
:func:`write_png` renders a matrix to a path or a binary file object.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import qrcode
import qrcode.constants
import qrcode.exceptions
from PIL import Image

__all__ = ["ERROR_CORRECTION_LEVELS", "QUIET_ZONE", "QrMatrix", "encode_qr", "write_png"]

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


def write_png(
    matrix: QrMatrix,
    target: str | Path | BinaryIO,
    *,
    module_px: int = 4,
    quiet_zone: int = QUIET_ZONE,
) -> None:
    """Write ``matrix`` as a black-on-white 1-bit PNG with ``module_px`` pixels a module and a
    quiet zone of ``quiet_zone`` modules, to a path or a binary file object.

    Raises ``ValueError`` when ``module_px`` < 1 or ``quiet_zone`` < 0.
    """
    if module_px < 1 or quiet_zone < 0:
        raise ValueError("module_px must be >= 1 and quiet_zone >= 0")
    side = matrix.size + 2 * quiet_zone
    image = Image.new("1", (side, side), 1)
    image.putdata(
        [
            0
            if 0 <= (r := i // side - quiet_zone) < matrix.size
            and 0 <= (c := i % side - quiet_zone) < matrix.size
            and matrix.modules[r][c]
            else 1
            for i in range(side * side)
        ]
    )
    if module_px > 1:
        image = image.resize((side * module_px, side * module_px), Image.Resampling.NEAREST)
    image.save(target, format="PNG", optimize=True)
