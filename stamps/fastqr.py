"""Whole batches of stamp URLs -> QR matrices at once, bit-identical to the ``qrcode`` package.

Every URL of a batch has the same shape (``https://HOST/s/`` and 193 digits), so everything but
the digits is the same for all of them: version, segments, padding, function patterns. Only
the numeric segment, the Reed-Solomon codewords, the data modules and the mask differ, and
those are computed for the whole batch with NumPy:

- the digits become 10-bit groups, the groups bytes, the bytes RS codewords (a vectorised LFSR
  over GF(256)), interleaved as ``qrcode`` does, and placed in ``qrcode``'s module order;
- the mask is chosen by ``qrcode``'s own penalty rules (``qrcode.util.lost_point`` on the
  matrix it builds with ``test=True``, i.e. with light format modules), evaluated on rows and
  columns packed into 64-bit integers.

The templates (function patterns, format bits, data order, the constant bits) are taken from
``qrcode`` itself, so the output matches the installed ``qrcode`` exactly; the tests compare
thousands of random stamps.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import qrcode
import qrcode.base
import qrcode.util

from stamps.qr import ERROR_CORRECTION_LEVELS, ErrorCorrection

__all__ = ["STAMP_DIGITS", "BatchQrEncoder", "QrBatch"]

STAMP_DIGITS = 193
Matrix = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class QrBatch:
    """QR symbols without quiet zone: ``modules[i, row, column]`` is True for dark, and
    ``masks[i]`` the mask pattern of symbol ``i``."""

    version: int
    modules: Matrix
    masks: npt.NDArray[np.uint8]


def _gf_tables() -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    exp = np.zeros(512, dtype=np.int64)
    log = np.zeros(256, dtype=np.int64)
    value = 1
    for i in range(255):
        exp[i], log[value] = value, i
        value <<= 1
        if value & 0x100:
            value ^= 0x11D
    exp[255:510] = exp[:255]
    return exp, log


_EXP, _LOG = _gf_tables()


def _gf_mul(a: int, b: int) -> int:
    return 0 if a == 0 or b == 0 else int(_EXP[_LOG[a] + _LOG[b]])


def _generator(degree: int) -> list[int]:
    """Return the RS generator polynomial prod(x - a^i), highest power first, monic."""
    poly = [1]
    for i in range(degree):
        root = int(_EXP[i])
        poly = [
            (poly[j] if j < len(poly) else 0) ^ (_gf_mul(poly[j - 1], root) if j else 0)
            for j in range(len(poly) + 1)
        ]
    return poly


class BatchQrEncoder:
    """Encodes stamp URLs ``PREFIX + 193 digits`` (``PREFIX`` like ``https://ocop.vn/s/``).

    Raises ``ValueError`` when the prefix does not give such URLs one numeric segment.
    """

    def __init__(self, prefix: str, error_correction: ErrorCorrection = "M") -> None:
        self.prefix, self.error_correction = prefix, error_correction
        level = ERROR_CORRECTION_LEVELS[error_correction]
        code = qrcode.QRCode(error_correction=level, border=0)
        code.add_data(prefix + "5" * STAMP_DIGITS, optimize=4)
        code.make(fit=True)
        digits = code.data_list[-1]
        if digits.mode != qrcode.util.MODE_NUMBER or len(digits) != STAMP_DIGITS:
            raise ValueError(f"{prefix!r} does not end where the stamp digits begin")
        self.version = version = code.version
        self.size = n = version * 4 + 17

        # the data bit stream, as qrcode.util.create_data builds it
        buffer = qrcode.util.BitBuffer()
        for chunk in code.data_list:
            buffer.put(chunk.mode, 4)
            buffer.put(len(chunk), qrcode.util.length_in_bits(chunk.mode, version))
            if chunk is digits:
                self._digits_at = len(buffer)
            chunk.write(buffer)
        self._blocks = [(b.data_count, b.total_count - b.data_count)
                        for b in qrcode.base.rs_blocks(version, level)]  # fmt: skip
        bit_limit = sum(d * 8 for d, _ in self._blocks)
        for _ in range(min(bit_limit - len(buffer), 4)):
            buffer.put_bit(False)
        while len(buffer) % 8:
            buffer.put_bit(False)
        for i in range((bit_limit - len(buffer)) // 8):
            buffer.put(qrcode.util.PAD0 if i % 2 == 0 else qrcode.util.PAD1, 8)
        self._bits = np.array([buffer.get(i) for i in range(bit_limit)], dtype=np.uint8)
        self._rs = {ec: self._rs_table(ec) for _, ec in self._blocks}

        blank = self._blank(code)
        test = self._with_format(blank, test=True, mask=0)
        self._is_data = np.array([[m is None for m in row] for row in test])
        rows, cols = self._placement_order(self._is_data)
        self._rows, self._cols = rows, cols
        self._test_template = np.array([[bool(m) for m in row] for row in test])
        masks = np.array([
            [[bool(qrcode.util.mask_func(k)(r, c)) for c in range(n)] for r in range(n)]
            for k in range(8)
        ]) & self._is_data  # fmt: skip
        self._masks = masks
        self._final_templates = np.array([
            [[bool(m) for m in row] for row in self._with_format(blank, test=False, mask=k)]
            for k in range(8)
        ])  # fmt: skip
        self._mask_rows = np.stack([_pack(m[None])[0] for m in masks])
        self._mask_cols = np.stack([_pack(m.T[None])[0] for m in masks])
        self._valid = {w: np.uint64((1 << (n - w + 1)) - 1) for w in (2, 5, 11)}

    @staticmethod
    def _blank(code: qrcode.QRCode[Any]) -> list[list[bool | None]]:
        n = code.version * 4 + 17
        code.modules_count = n
        code.modules = [[None] * n for _ in range(n)]
        code.setup_position_probe_pattern(0, 0)
        code.setup_position_probe_pattern(n - 7, 0)
        code.setup_position_probe_pattern(0, n - 7)
        code.setup_position_adjust_pattern()
        code.setup_timing_pattern()
        blank: list[list[bool | None]] = [list(row) for row in code.modules]
        code.modules = [list(row) for row in blank]
        return blank

    def _with_format(self, blank: list[list[bool | None]], *, test: bool, mask: int) -> Any:
        code = qrcode.QRCode(
            version=self.version, error_correction=ERROR_CORRECTION_LEVELS[self.error_correction]
        )
        code.modules_count = self.size
        code.modules = [list(row) for row in blank]
        code.setup_type_info(test, mask)
        if self.version >= 7:
            code.setup_type_number(test)
        return code.modules

    @staticmethod
    def _placement_order(is_data: Matrix) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp]]:
        """The data modules in the order ``qrcode``'s ``map_data`` fills them."""
        n = len(is_data)
        rows, cols = [], []
        row, step = n - 1, -1
        for right in range(n - 1, 0, -2):
            col = right - 1 if right <= 6 else right
            while True:
                for c in (col, col - 1):
                    if is_data[row][c]:
                        rows.append(row)
                        cols.append(c)
                row += step
                if row < 0 or row >= n:
                    row -= step
                    step = -step
                    break
        return np.array(rows, dtype=np.intp), np.array(cols, dtype=np.intp)

    @staticmethod
    def _rs_table(ec: int) -> npt.NDArray[np.uint8]:
        """``table[f]`` = f times the generator's lower coefficients, for the LFSR."""
        generator = _generator(ec)[1:]
        return np.array([[_gf_mul(f, g) for g in generator] for f in range(256)], dtype=np.uint8)

    def encode(self, digits: npt.NDArray[np.uint8]) -> QrBatch:
        """Encode ``digits`` (shape ``(count, 193)``, values 0-9) to a :class:`QrBatch`.
        Raises ``ValueError`` for any other shape or value."""
        if (
            digits.ndim != 2
            or digits.shape[1] != STAMP_DIGITS
            or (digits.size and digits.max() > 9)
        ):
            raise ValueError("digits must be an array of shape (count, 193) with values 0-9")
        count = len(digits)
        codewords = self._codewords(digits.astype(np.uint16))
        bits = np.unpackbits(codewords, axis=1)
        base = np.broadcast_to(self._test_template, (count, self.size, self.size)).copy()
        placed = min(bits.shape[1], len(self._rows))
        base[:, self._rows[:placed], self._cols[:placed]] = bits[:, :placed]
        base[:, self._rows[placed:], self._cols[placed:]] = False
        masks = self._choose_masks(base)
        chosen = self._masks[masks]
        modules = np.where(self._is_data, base ^ chosen, self._final_templates[masks])
        return QrBatch(self.version, modules, masks.astype(np.uint8))

    def _codewords(self, digits: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint8]:
        count = len(digits)
        groups = digits[:, :192].reshape(count, 64, 3)
        values = groups[:, :, 0] * 100 + groups[:, :, 1] * 10 + groups[:, :, 2]
        shifts = np.arange(9, -1, -1, dtype=np.uint16)
        group_bits = ((values[:, :, None] >> shifts) & 1).reshape(count, 640)
        last = (digits[:, 192:193] >> np.arange(3, -1, -1, dtype=np.uint16)) & 1
        bits = np.broadcast_to(self._bits, (count, len(self._bits))).copy()
        start = self._digits_at
        bits[:, start : start + 640] = group_bits
        bits[:, start + 640 : start + 644] = last
        data = np.packbits(bits, axis=1)

        data_blocks, ec_blocks, offset = [], [], 0
        for data_count, ec_count in self._blocks:
            block = data[:, offset : offset + data_count]
            offset += data_count
            table = self._rs[ec_count]
            remainder = np.zeros((count, ec_count), dtype=np.uint8)
            for i in range(data_count):
                factor = block[:, i] ^ remainder[:, 0]
                remainder[:, :-1] = remainder[:, 1:]
                remainder[:, -1] = 0
                remainder ^= table[factor]
            data_blocks.append(block)
            ec_blocks.append(remainder)
        return np.concatenate([_interleave(data_blocks), _interleave(ec_blocks)], axis=1)

    def _choose_masks(self, base: Matrix) -> npt.NDArray[np.intp]:
        """The mask ``qrcode.QRCode.best_mask_pattern`` picks: the lowest penalty, the first
        on ties."""
        rows, cols = _pack(base), _pack(base.transpose(0, 2, 1))
        penalties = np.stack(
            [self._penalty(rows ^ self._mask_rows[k], cols ^ self._mask_cols[k]) for k in range(8)],
            axis=1,
        )
        chosen: npt.NDArray[np.intp] = np.argmin(penalties, axis=1)
        return chosen

    def _penalty(
        self, rows: npt.NDArray[np.uint64], cols: npt.NDArray[np.uint64]
    ) -> npt.NDArray[np.int64]:
        """``qrcode.util.lost_point`` of each matrix, given as packed rows and columns (bit
        ``c`` of a row is column ``c``)."""
        n = self.size
        one = np.uint64(1)
        total = np.zeros(len(rows), dtype=np.int64)
        for lines in (rows, cols):
            same = ~(lines ^ (lines >> one)) & self._valid[2]  # bit c: module c == c + 1
            five = same & (same >> one) & (same >> np.uint64(2)) & (same >> np.uint64(3))
            starts = five & ~(same << one)
            total += _count(five) + 2 * _count(starts)  # a run of L >= 5 costs L - 2
            for pattern in _FINDER_LIKE:
                found = np.broadcast_to(self._valid[11], lines.shape)
                for k, dark in enumerate(pattern):
                    shifted = lines >> np.uint64(k)
                    found = found & (shifted if dark else ~shifted)
                total += 40 * _count(found)
        upper, lower = rows[:, :-1], rows[:, 1:]
        vertical = ~(upper ^ lower)
        block = vertical & (vertical >> one) & ~(upper ^ (upper >> one)) & self._valid[2]
        total += 3 * _count(block)
        percent = _count(rows) / (n * n)
        total += (np.abs(percent * 100 - 50) / 5).astype(np.int64) * 10
        return total


# 1:1:3:1:1 with four light modules after or before it, as qrcode.util tests them
_FINDER_LIKE = (
    (1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0),
    (0, 0, 0, 0, 1, 0, 1, 1, 1, 0, 1),
)


def _count(lines: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
    counted: npt.NDArray[np.int64] = np.bitwise_count(lines).sum(axis=1, dtype=np.int64)
    return counted


def _pack(matrices: Matrix) -> npt.NDArray[np.uint64]:
    """Pack each row of ``matrices`` (count, n, n) into one uint64, column c at bit c."""
    count, n, _ = matrices.shape
    packed = np.packbits(matrices, axis=2, bitorder="little")
    wide = np.zeros((count, n, 8), dtype=np.uint8)
    wide[:, :, : packed.shape[2]] = packed
    return wide.view("<u8")[:, :, 0]


def _interleave(blocks: list[npt.NDArray[np.uint8]]) -> npt.NDArray[np.uint8]:
    """Codeword i of every block in turn, as ``qrcode.util.create_bytes`` orders them."""
    longest = max(b.shape[1] for b in blocks)
    columns = [b[:, i] for i in range(longest) for b in blocks if i < b.shape[1]]
    return np.stack(columns, axis=1)
