"""Whole batches of stamp URLs -> QR matrices at once, bit-identical to the ``qrcode`` package.

Every URL of a batch has the same shape, a fixed prefix and a body of fixed length: in the
decimal form ``https://HOST/s/`` and 193 digits (one numeric segment, as ``qrcode``'s
optimiser makes it), in the GS1 Digital Link form ``https://HOST/01/GTIN/21/`` and the 112
characters after it (one byte segment: the base64url body has runs of digits and capitals in
random places, and one segment keeps the layout the same for every stamp). So everything but
the body is the same for all of them: version, segments, padding, function patterns. Only the
body's segment, the Reed-Solomon codewords, the data modules and the mask differ, and those are
computed for the whole batch with NumPy:

- the digits become 10-bit groups (the bytes of a byte body are taken as they are), the groups
  bytes, the bytes RS codewords (polynomial
  division over GF(256), all blocks at once), interleaved as ``qrcode`` does;
- each matrix row is gathered from the codeword bits in ``qrcode``'s module order and packed
  into a 64-bit integer; the columns come from a bit-matrix transpose;
- the mask is chosen by ``qrcode``'s own penalty rules (``qrcode.util.lost_point`` on the
  matrix it builds with ``test=True``, i.e. with light format modules), evaluated with bit
  operations on the packed rows and columns under all eight masks.

The templates (function patterns, format bits, data order, the constant bits) are taken from
``qrcode`` itself, so the output matches the installed ``qrcode`` exactly; the tests compare
thousands of random stamps.

Over 400 lines because the steps share the templates taken from ``qrcode`` and are only
correct together; apart, each would need the others' layout to be tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import qrcode
import qrcode.base
import qrcode.util

from signing import STAMP_DIGITS
from stamps.qr import ERROR_CORRECTION_LEVELS, ErrorCorrection

__all__ = ["BatchQrEncoder", "QrBatch"]

Matrix = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class QrBatch:
    """QR symbols without quiet zone, ``size`` modules a side: ``rows[i, r]`` holds row ``r``
    of symbol ``i`` with column ``c`` at bit ``c`` (dark = 1), and ``masks[i]`` its mask
    pattern."""

    version: int
    size: int
    rows: npt.NDArray[np.uint64]
    masks: npt.NDArray[np.uint8]

    def _bytes(self) -> npt.NDArray[np.uint8]:
        """The rows' 8 bytes each, column 0 in the lowest bit of the first."""
        return self.rows.view(np.uint8).reshape(len(self.rows), self.size, 8)

    @property
    def modules(self) -> Matrix:
        """Return the symbols as booleans: ``modules[i, row, column]`` is True for dark."""
        bits = np.unpackbits(self._bytes(), axis=2, bitorder="little")[:, :, : self.size]
        modules: Matrix = bits.view(bool)
        return modules

    def row_bytes(self) -> npt.NDArray[np.uint8]:
        """Return each row as bytes, leftmost module in the most significant bit, padded to
        whole bytes: shape ``(count, size, ceil(size / 8))``, as a PDF image mask wants."""
        reversed_bits: npt.NDArray[np.uint8] = _BIT_REVERSED[
            self._bytes()[:, :, : -(-self.size // 8)]
        ]
        return reversed_bits


_BIT_REVERSED = np.array([int(f"{b:08b}"[::-1], 2) for b in range(256)], dtype=np.uint8)


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
    """Encodes stamp URLs ``PREFIX + 193 digits`` (``PREFIX`` like ``https://ocop.vn/s/``), or,
    with ``body_bytes``, ``PREFIX`` and a body of that many bytes in one byte segment.

    Raises ``ValueError`` when the prefix does not give such URLs one numeric segment.
    """

    def __init__(
        self, prefix: str, error_correction: ErrorCorrection = "M", *, body_bytes: int | None = None
    ) -> None:
        self.prefix, self.error_correction = prefix, error_correction
        level = ERROR_CORRECTION_LEVELS[error_correction]
        code, body = self._segments(prefix, level, body_bytes)
        self._numeric = body_bytes is None
        self.body_width = STAMP_DIGITS if body_bytes is None else body_bytes
        self.version = version = code.version
        self.size = n = version * 4 + 17

        # the data bit stream, as qrcode.util.create_data builds it
        buffer = qrcode.util.BitBuffer()
        for chunk in code.data_list:
            buffer.put(chunk.mode, 4)
            buffer.put(len(chunk), qrcode.util.length_in_bits(chunk.mode, version))
            if chunk is body:
                self._body_at = len(buffer)
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
        if len({ec for _, ec in self._blocks}) != 1:
            raise ValueError("expected as many error correction codewords in every block")
        self._rs = {ec: self._rs_table(ec) for _, ec in self._blocks}

        if n > 64:
            raise ValueError(f"{prefix!r} needs a QR code wider than 64 modules")
        blank = self._blank(code)
        test = self._with_format(blank, test=True, mask=0)
        is_data = np.array([[m is None for m in row] for row in test])
        test_template = np.array([[bool(m) for m in row] for row in test])
        masks = np.array([
            [[bool(qrcode.util.mask_func(k)(r, c)) for c in range(n)] for r in range(n)]
            for k in range(8)
        ]) & is_data  # fmt: skip
        final_templates = np.array([
            [[bool(m) for m in row] for row in self._with_format(blank, test=False, mask=k)]
            for k in range(8)
        ]) & ~is_data  # fmt: skip
        self._data_rows = _pack(is_data[None])[0]
        self._mask_rows = _pack(masks)
        self._mask_lines = np.concatenate([self._mask_rows, _pack(masks.transpose(0, 2, 1))], 1)
        self._final_rows = _pack(final_templates)

        # where each module of the unmasked matrix comes from, as an index into one stamp's
        # codeword bits followed by a constant 0 and a constant 1; rows padded to whole bytes
        self._codeword_bits = 8 * sum(d + e for d, e in self._blocks)
        zero, one = self._codeword_bits, self._codeword_bits + 1
        self._row_width = width = -(-n // 8) * 8
        sources = np.full((n, width), zero, dtype=np.intp)
        sources[:, :n] = np.where(test_template, one, zero)
        rows, cols = self._placement_order(is_data)
        sources[rows, cols] = np.where(
            np.arange(len(rows)) < self._codeword_bits, np.arange(len(rows)), zero
        )  # data modules past the codewords are light (remainder bits)
        self._row_sources = sources.ravel()

    @staticmethod
    def _segments(
        prefix: str, level: int, body_bytes: int | None
    ) -> tuple[qrcode.QRCode[Any], qrcode.util.QRData]:
        """Return the code sized for the prefix and a body, and the body's segment. Raises
        ``ValueError`` when 193 digits after the prefix would not be one numeric segment."""
        code = qrcode.QRCode(error_correction=level, border=0)
        if body_bytes is None:
            code.add_data(prefix + "5" * STAMP_DIGITS, optimize=4)
        else:
            code.add_data(prefix, optimize=4)
            code.add_data(qrcode.util.QRData(b"A" * body_bytes, qrcode.util.MODE_8BIT_BYTE))
        code.make(fit=True)
        body = code.data_list[-1]
        numeric = body.mode == qrcode.util.MODE_NUMBER and len(body) == STAMP_DIGITS
        if body_bytes is None and not numeric:
            raise ValueError(f"{prefix!r} does not end where the stamp digits begin")
        return code, body

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
        """``table[e, f]`` = coefficient ``e`` of f times the generator's lower coefficients."""
        generator = _generator(ec)[1:]
        return np.array([[_gf_mul(f, g) for f in range(256)] for g in generator], dtype=np.uint8)

    def encode(self, bodies: npt.NDArray[np.uint8]) -> QrBatch:
        """Encode ``bodies``, the URLs after the prefix: digits of shape ``(count, 193)`` with
        values 0-9, or, for an encoder of a byte body, bytes of shape ``(count, body_bytes)``,
        to a :class:`QrBatch`. Raises ``ValueError`` for any other shape or value."""
        if bodies.ndim != 2 or bodies.shape[1] != self.body_width:
            raise ValueError(f"the bodies must be an array of shape (count, {self.body_width})")
        if self._numeric and bodies.size and bodies.max() > 9:
            raise ValueError("digits must have values 0-9")
        count, n = len(bodies), self.size
        source = np.zeros((count, self._codeword_bits + 2), dtype=np.uint8)
        source[:, -1] = 1
        source[:, : self._codeword_bits] = np.unpackbits(
            self._codewords(bodies.astype(np.uint16)), axis=1
        )
        gathered = source.take(self._row_sources, axis=1).reshape(count, n, self._row_width)
        square = np.zeros((count, 64, 8), dtype=np.uint8)  # rows padded to 64 x 64 bits
        square[:, :n, : self._row_width // 8] = np.packbits(gathered, axis=2, bitorder="little")
        rows = square.view("<u8")[:, :, 0]
        masks = self._choose_masks(np.concatenate([rows[:, :n], _transpose64(rows)[:, :n]], axis=1))
        final = ((rows[:, :n] ^ self._mask_rows[masks]) & self._data_rows) | self._final_rows[masks]
        return QrBatch(self.version, self.size, final, masks.astype(np.uint8))

    def _codewords(self, bodies: npt.NDArray[np.uint16]) -> npt.NDArray[np.uint8]:
        count = len(bodies)
        bits = np.broadcast_to(self._bits, (count, len(self._bits))).copy()
        start = self._body_at
        if self._numeric:  # ISO/IEC 18004 7.4.3: three digits in 10 bits, the last one in 4
            groups = bodies[:, :192].reshape(count, 64, 3)
            values = groups[:, :, 0] * 100 + groups[:, :, 1] * 10 + groups[:, :, 2]
            shifts = np.arange(9, -1, -1, dtype=np.uint16)
            group_bits = ((values[:, :, None] >> shifts) & 1).reshape(count, 640)
            last = (bodies[:, 192:193] >> np.arange(3, -1, -1, dtype=np.uint16)) & 1
            bits[:, start : start + 640] = group_bits
            bits[:, start + 640 : start + 644] = last
        else:  # 7.4.5: each byte in 8 bits
            body = np.unpackbits(bodies.astype(np.uint8), axis=1)
            bits[:, start : start + body.shape[1]] = body
        data = np.packbits(bits, axis=1)

        # every block has the same number of EC codewords; shorter blocks are padded with a
        # leading zero, which leaves their remainder alone, and all are divided at once
        longest, ec_count = max(d for d, _ in self._blocks), self._blocks[0][1]
        blocks = len(self._blocks)
        division = np.zeros((longest + ec_count, blocks, count), dtype=np.uint8)
        data_blocks, offset = [], 0
        for b, (data_count, _) in enumerate(self._blocks):
            block = data[:, offset : offset + data_count]
            offset += data_count
            division[longest - data_count : longest, b] = block.T
            data_blocks.append(block)
        table = self._rs[ec_count]  # table[e, f]: EC term e of f times the generator
        for i in range(longest):
            division[i + 1 : i + 1 + ec_count] ^= table[:, division[i]]
        ec_blocks = [division[longest:, b].T for b in range(blocks)]
        return np.concatenate([_interleave(data_blocks), _interleave(ec_blocks)], axis=1)

    def _choose_masks(self, lines: npt.NDArray[np.uint64]) -> npt.NDArray[np.intp]:
        """The mask ``qrcode.QRCode.best_mask_pattern`` picks for each unmasked matrix, given
        as packed rows then packed columns: the lowest penalty, the first on ties."""
        chosen = np.empty(len(lines), dtype=np.intp)
        penalties: _Penalties | None = None
        for start in range(0, len(lines), _PENALTY_SLICE):
            part = lines[start : start + _PENALTY_SLICE]
            if penalties is None or penalties.count != len(part):
                penalties = _Penalties(len(part), self.size, self._mask_lines)
            chosen[start : start + len(part)] = np.argmin(penalties(part), axis=1)
        return chosen


_PENALTY_SLICE = 64  # matrices per penalty pass: the working arrays stay in the CPU cache
_ONE = np.uint64(1)


def _ones(width: int) -> np.uint64:
    """The bits where a pattern ``width`` modules long can start on a line."""
    return np.uint64((1 << width) - 1)


class _Penalties:
    """``qrcode.util.lost_point`` of ``count`` matrices under each of the eight masks, computed
    on packed lines in arrays allocated once: temporaries of this size would cost more in
    page faults than the arithmetic itself."""

    def __init__(self, count: int, size: int, mask_lines: npt.NDArray[np.uint64]) -> None:
        self.count, self.size, self.mask_lines = count, size, mask_lines
        shape = (count, 8, 2 * size)
        self.shifted = np.empty((7, *shape), dtype=np.uint64)  # the lines >> 0 .. 6
        self.same, self.five, self.work, self.core, self.light = (
            np.empty(shape, dtype=np.uint64) for _ in range(5)
        )
        self.counts = np.empty(shape, dtype=np.uint8)
        self.weighted = np.empty(shape, dtype=np.uint16)
        self.scaled = np.empty(shape, dtype=np.uint16)

    def __call__(self, lines: npt.NDArray[np.uint64]) -> npt.NDArray[np.int64]:
        """Return the penalties, shape ``(count, 8)``, of the matrices given as packed rows then
        packed columns (bit ``c`` of a line is module ``c``), shape ``(count, 2 * size)``."""
        np.bitwise_xor(lines[:, None, :], self.mask_lines, out=self.shifted[0])
        for k in range(1, 7):
            np.right_shift(self.shifted[0], np.uint64(k), out=self.shifted[k])
        self._runs()
        self._finder_patterns()
        total: npt.NDArray[np.int64] = self.weighted.sum(axis=2, dtype=np.int64)
        return total + self._blocks() + self._balance()

    def _add(self, found: npt.NDArray[np.uint64], weight: int) -> None:
        np.bitwise_count(found, out=self.counts)
        np.multiply(self.counts, np.uint16(weight), out=self.scaled)
        self.weighted += self.scaled

    def _runs(self) -> None:
        """Start ``weighted``: a run of L >= 5 equal modules costs L - 2, one for each five in
        a row and two more where a run starts. Leaves ``same`` for :meth:`_blocks`."""
        lines, same, five, work = self.shifted[0], self.same, self.five, self.work
        np.bitwise_xor(lines, self.shifted[1], out=same)
        np.invert(same, out=same)
        same &= _ones(self.size - 1)  # bit c: module c == module c + 1
        np.right_shift(same, _ONE, out=five)
        five &= same
        for k in (2, 3):
            np.right_shift(same, np.uint64(k), out=work)
            five &= work
        np.left_shift(same, _ONE, out=work)
        np.invert(work, out=work)
        work &= five
        np.bitwise_count(five, out=self.counts)
        np.copyto(self.weighted, self.counts)
        self._add(work, 2)

    def _finder_patterns(self) -> None:
        """Add 40 for each 1:1:3:1:1 pattern with four light modules after it (dark first) or
        before it (light first); the two never start on the same module, so one count serves
        both."""
        shifted, work, core, light = self.shifted, self.work, self.core, self.light
        np.bitwise_or(shifted[1], shifted[5], out=core)
        np.invert(core, out=core)
        for k in (0, 2, 3, 4, 6):
            core &= shifted[k]
        np.bitwise_or(shifted[0], shifted[1], out=light)
        light |= shifted[2]
        light |= shifted[3]
        np.invert(light, out=light)
        np.right_shift(light, np.uint64(7), out=work)
        work &= core
        np.right_shift(core, np.uint64(4), out=core)
        core &= light
        work |= core
        work &= _ones(self.size - 10)
        self._add(work, 40)

    def _blocks(self) -> npt.NDArray[np.int64]:
        """3 for each 2 x 2 block of one colour: rows r and r + 1 equal at c and c + 1, and
        row r's c equal to its c + 1."""
        n, rows = self.size, self.shifted[0]
        vertical, blocks = self.light[:, :, : n - 1], self.core[:, :, : n - 1]
        np.bitwise_xor(rows[:, :, : n - 1], rows[:, :, 1:n], out=vertical)
        np.invert(vertical, out=vertical)
        np.right_shift(vertical, _ONE, out=blocks)
        blocks &= vertical
        blocks &= self.same[:, :, : n - 1]
        counts = self.counts[:, :, : n - 1]
        np.bitwise_count(blocks, out=counts)
        found: npt.NDArray[np.int64] = 3 * counts.sum(axis=2, dtype=np.int64)
        return found

    def _balance(self) -> npt.NDArray[np.int64]:
        """10 for each full 5 % that the share of dark modules is away from half."""
        n, counts = self.size, self.counts[:, :, : self.size]
        np.bitwise_count(self.shifted[0][:, :, :n], out=counts)
        percent = counts.sum(axis=2, dtype=np.int64) / (n * n)
        off: npt.NDArray[np.int64] = (np.abs(percent * 100 - 50) / 5).astype(np.int64) * 10
        return off


def _transpose64(rows: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """Transpose each 64 x 64 bit matrix of ``rows`` (shape ``(count, 64)``, bit ``c`` of row
    ``r`` is element ``(r, c)``): returns the columns packed the same way. Hacker's Delight
    7-3, swapping the off-diagonal blocks of halving size."""
    result = rows.copy()
    for j, shift, low in _TRANSPOSE_STEPS:
        blocks = result.reshape(len(result), 64 // (2 * j), 2, j)
        upper, lower = blocks[:, :, 0, :], blocks[:, :, 1, :]
        swap = ((upper >> shift) ^ lower) & low
        lower ^= swap
        upper ^= swap << shift
    return result


_TRANSPOSE_STEPS = [  # block size, as a shift, and the bits of the lower halves of blocks
    (j, np.uint64(j), np.uint64(sum(1 << b for b in range(64) if not b & j)))
    for j in (32, 16, 8, 4, 2, 1)
]


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
