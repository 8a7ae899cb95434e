"""Signed codes made printable: a chunk of consecutive stamps' 193-digit codes QR-encoded at
once (and drawn as PNGs when asked), as :class:`stamps.sheet.StampChunk` for the writers.
Whoever holds signed codes can use this; it signs nothing."""

from __future__ import annotations

import numpy as np

from signing import STAMP_DIGITS
from stamps.fastqr import BatchQrEncoder
from stamps.qr import ErrorCorrection, png_bytes
from stamps.sheet import PNG_MODULE_PX, StampChunk

__all__ = ["ChunkEncoder"]


class ChunkEncoder:
    """Encodes chunks of stamps as URLs on ``host`` (``https://HOST/s/DIGITS``)."""

    def __init__(
        self, host: str, error_correction: ErrorCorrection = "M", *, with_pngs: bool = False
    ) -> None:
        self._encoder = BatchQrEncoder(f"https://{host}/s/", error_correction)
        self._with_pngs = with_pngs

    def encode(self, key_index: int, stars: int, serials: range, digits: list[str]) -> StampChunk:
        """Return the stamps of ``serials``, whose codes are ``digits`` in order, as a chunk.
        Raises ``ValueError`` when a code is not :data:`STAMP_DIGITS` digits."""
        if len(digits) != len(serials) or any(len(d) != STAMP_DIGITS for d in digits):
            raise ValueError(f"expected {len(serials)} codes of {STAMP_DIGITS} digits")
        array = np.frombuffer("".join(digits).encode("ascii"), dtype=np.uint8)
        if array.size and (array.min() < ord("0") or array.max() > ord("9")):
            raise ValueError("a code holds something other than digits")
        qr = self._encoder.encode((array - ord("0")).reshape(len(digits), STAMP_DIGITS))
        return StampChunk(
            key_index=key_index,
            stars=stars,
            serials=serials,
            digits=digits,
            size=self._encoder.size,
            modules=qr.row_bytes(),
            pngs=[png_bytes(m, PNG_MODULE_PX) for m in qr.modules] if self._with_pngs else None,
        )
