"""Signed codes made printable: a chunk of consecutive stamps' 193-digit codes QR-encoded at
once (and drawn as PNGs when asked), as :class:`stamps.sheet.StampChunk` for the writers.
Whoever holds signed codes can use this; it signs nothing."""

from __future__ import annotations

import numpy as np

from signing import STAMP_DIGITS
from signing.gs1_link import GS1_LINK_BODY_CHARS, gs1_link_body, gs1_link_prefix
from signing.stamp import STAMP_SIZE
from stamps.fastqr import BatchQrEncoder
from stamps.qr import ErrorCorrection, png_bytes
from stamps.sheet import PNG_MODULE_PX, StampChunk

__all__ = ["ChunkEncoder"]


class ChunkEncoder:
    """Encodes chunks of stamps as URLs on ``host``: ``https://HOST/s/DIGITS``, or, given the
    product's 14-digit ``gtin``, the GS1 Digital Link form ``https://HOST/01/GTIN/21/…?8030=…``
    (docs/stamp-format.md section 4.1)."""

    def __init__(
        self,
        host: str,
        error_correction: ErrorCorrection = "M",
        *,
        with_pngs: bool = False,
        gtin: str | None = None,
    ) -> None:
        self._gs1 = gtin is not None
        if gtin is None:
            self._encoder = BatchQrEncoder(f"https://{host}/s/", error_correction)
        else:
            self._encoder = BatchQrEncoder(
                f"https://{host}{gs1_link_prefix(gtin)}",
                error_correction,
                body_bytes=GS1_LINK_BODY_CHARS,
            )
        self._with_pngs = with_pngs

    def encode(self, key_index: int, stars: int, serials: range, digits: list[str]) -> StampChunk:
        """Return the stamps of ``serials``, whose codes are ``digits`` in order, as a chunk.
        Raises ``ValueError`` when a code is not :data:`STAMP_DIGITS` digits."""
        if len(digits) != len(serials) or any(len(d) != STAMP_DIGITS for d in digits):
            raise ValueError(f"expected {len(serials)} codes of {STAMP_DIGITS} digits")
        array = np.frombuffer("".join(digits).encode("ascii"), dtype=np.uint8)
        if array.size and (array.min() < ord("0") or array.max() > ord("9")):
            raise ValueError("a code holds something other than digits")
        if self._gs1:
            bodies = [gs1_link_body(int(d).to_bytes(STAMP_SIZE, "big")) for d in digits]
            text = np.frombuffer("".join(bodies).encode("ascii"), dtype=np.uint8)
            qr = self._encoder.encode(text.reshape(len(digits), GS1_LINK_BODY_CHARS))
        else:
            bodies = digits
            qr = self._encoder.encode((array - ord("0")).reshape(len(digits), STAMP_DIGITS))
        return StampChunk(
            key_index=key_index,
            stars=stars,
            serials=serials,
            digits=digits,
            urls=[self._encoder.prefix + body for body in bodies],
            size=self._encoder.size,
            modules=qr.row_bytes(),
            pngs=[png_bytes(m, PNG_MODULE_PX) for m in qr.modules] if self._with_pngs else None,
        )
