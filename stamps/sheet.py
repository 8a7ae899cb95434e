"""Print-ready stamp sheets: where each stamp goes (:class:`Layout`), and the writers of a
batch (PDF label sheets or rolls, CSV manifest, ZIP of PNGs), fed chunk by chunk so that a
batch of any size streams through in constant memory.

A stamp on paper: the QR code with its quiet zone, and under it the OCOP mark with the
certified stars, the serial in human-readable form and the verification domain. Each QR is a
1-bit image mask with one sample per module, scaled by the PDF without interpolation, so its
modules stay sharp at any printer resolution.
"""

from __future__ import annotations

import io
import math
import zipfile
from dataclasses import dataclass, field
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from stamps.pdf import MM, PdfDocument, pdf_string
from stamps.qr import QUIET_ZONE, png_bytes
from stamps.spreadsheet import text_cell

__all__ = [
    "DEFAULT_GAP_MM",
    "DEFAULT_MARGIN_MM",
    "DEFAULT_PAPER",
    "DEFAULT_STAMP_MM",
    "MAX_STAMP_MM",
    "MIN_GS1_STAMP_MM",
    "MIN_STAMP_MM",
    "PAPERS",
    "PNG_MODULE_PX",
    "CsvManifest",
    "Layout",
    "PdfSheets",
    "PngZip",
    "StampChunk",
    "human_serial",
]

PAPERS: dict[str, tuple[float, float]] = {
    "A4": (210, 297),
    "A5": (148, 210),
    "Letter": (215.9, 279.4),
}
MIN_STAMP_MM = 16.0  # QR with quiet zone: 0.33 mm a module at version 6, 2 px at 150 dpi
MIN_GS1_STAMP_MM = 19.0  # the same module for the GS1 Digital Link form's version 8
MAX_STAMP_MM = 60.0
# The print defaults, in millimetres, that the command and the API share: the stamp's width
# with its quiet zone, the gap between stamps on a sheet, and each layout's page margin.
DEFAULT_PAPER: Final = "A4"
DEFAULT_STAMP_MM = 20.0
DEFAULT_GAP_MM = 3.0
DEFAULT_MARGIN_MM: dict[str, float] = {"sheet": 10.0, "roll": 1.5}
PNG_MODULE_PX = 8
_LABEL_RATIO = 0.32  # the label strip under the QR, as a share of the stamp width
_DESIGN_MM = 20.0  # the label is drawn for a 20 mm stamp and scaled


@dataclass(frozen=True, slots=True)
class StampChunk:
    """Consecutive signed stamps of one batch, ready to print.

    ``modules`` holds each QR (without quiet zone) as rows of bits, most significant first,
    each row padded to whole bytes: shape ``(count, size, ceil(size / 8))``."""

    key_index: int
    stars: int
    serials: range
    digits: list[str]
    urls: list[str]  # the text each QR code holds
    size: int
    modules: npt.NDArray[np.uint8]
    pngs: list[bytes] | None = None  # made with the chunk when the batch asks for them

    def matrix(self, i: int) -> npt.NDArray[np.bool_]:
        """Return stamp ``i``'s module matrix (dark = True)."""
        bits = np.unpackbits(self.modules[i], axis=1)[:, : self.size]
        matrix: npt.NDArray[np.bool_] = bits.astype(bool)
        return matrix


def human_serial(key_index: int, serial: int) -> str:
    """Return the serial as printed under a stamp: key index and serial, e.g. ``01-000001042``."""
    return f"{key_index:02d}-{serial:09d}"


@dataclass(frozen=True, slots=True)
class Layout:
    """Where stamps go, in millimetres. ``stamp_mm`` is the width of the QR code with its quiet
    zone; the label strip under it adds about a third. Build with :meth:`sheet` or :meth:`roll`.

    Raises ``ValueError`` for sizes out of range or a page that holds no stamp."""

    kind: Literal["sheet", "roll"]
    page_width: float
    page_height: float
    stamp_mm: float = DEFAULT_STAMP_MM
    margin: float = DEFAULT_MARGIN_MM["sheet"]
    gap: float = DEFAULT_GAP_MM
    cut_marks: bool = False
    columns: int = field(init=False)
    rows: int = field(init=False)

    def __post_init__(self) -> None:
        if not MIN_STAMP_MM <= self.stamp_mm <= MAX_STAMP_MM:
            raise ValueError(
                f"stamp size must be {MIN_STAMP_MM:g}-{MAX_STAMP_MM:g} mm, not {self.stamp_mm:g}"
            )
        if self.margin < 0 or self.gap < 0:
            raise ValueError("margins and gaps cannot be negative")
        width, height = self.cell
        columns = math.floor((self.page_width - 2 * self.margin + self.gap) / (width + self.gap))
        rows = math.floor((self.page_height - 2 * self.margin + self.gap) / (height + self.gap))
        if columns < 1 or rows < 1:
            raise ValueError("no stamp fits on the page with these margins")
        object.__setattr__(self, "columns", columns)
        object.__setattr__(self, "rows", rows)

    def check_form(self, form: str) -> None:
        """Raise ``ValueError`` when this layout's stamps are too small for the QR codes of
        ``form`` (``decimal`` or ``gs1``: the GS1 Digital Link form needs a larger code)."""
        if form == "gs1" and self.stamp_mm < MIN_GS1_STAMP_MM:
            raise ValueError(
                f"the GS1 Digital Link form needs stamps of {MIN_GS1_STAMP_MM:g} mm at least, "
                f"not {self.stamp_mm:g}"
            )

    @classmethod
    def of_kind(
        cls,
        kind: Literal["sheet", "roll"],
        paper: str = DEFAULT_PAPER,
        stamp_mm: float = DEFAULT_STAMP_MM,
        margin: float | None = None,
        gap: float = DEFAULT_GAP_MM,
        cut_marks: bool = False,
    ) -> Layout:
        """Return a :meth:`sheet` or a :meth:`roll` layout (a roll has no paper, gap or cut
        marks); ``margin`` ``None`` is the kind's default. Raises ``ValueError``."""
        margin = DEFAULT_MARGIN_MM[kind] if margin is None else margin
        if kind == "roll":
            return cls.roll(stamp_mm, margin)
        return cls.sheet(paper, stamp_mm, margin, gap, cut_marks)

    @classmethod
    def sheet(
        cls,
        paper: str = DEFAULT_PAPER,
        stamp_mm: float = DEFAULT_STAMP_MM,
        margin: float = DEFAULT_MARGIN_MM["sheet"],
        gap: float = DEFAULT_GAP_MM,
        cut_marks: bool = False,
    ) -> Layout:
        """Label sheets: a grid on ``paper`` (A4, A5 or Letter). Raises ``ValueError``."""
        if paper not in PAPERS:
            raise ValueError(f"paper must be one of {', '.join(PAPERS)}, not {paper!r}")
        width, height = PAPERS[paper]
        return cls("sheet", width, height, stamp_mm, margin, gap, cut_marks)

    @classmethod
    def roll(
        cls, stamp_mm: float = DEFAULT_STAMP_MM, margin: float = DEFAULT_MARGIN_MM["roll"]
    ) -> Layout:
        """Label rolls: one stamp per page of the label's size plus ``margin``."""
        label = stamp_mm * (1 + _LABEL_RATIO)
        return cls("roll", stamp_mm + 2 * margin, label + 2 * margin, stamp_mm, margin, 0.0)

    @property
    def cell(self) -> tuple[float, float]:
        """Return one stamp's width and height in millimetres."""
        return self.stamp_mm, self.stamp_mm * (1 + _LABEL_RATIO)

    @property
    def per_page(self) -> int:
        """Return how many stamps a page holds."""
        return self.columns * self.rows

    def position(self, index: int) -> tuple[int, int, int]:
        """Return the page, row and column (all from 1) of stamp ``index`` (from 0)."""
        page, slot = divmod(index, self.per_page)
        row, column = divmod(slot, self.columns)
        return page + 1, row + 1, column + 1

    def origin(self, row: int, column: int) -> tuple[float, float]:
        """Return the lower-left corner, in mm from the page's lower-left, of the cell at
        ``row`` and ``column`` (from 1); the grid is centred on the page."""
        width, height = self.cell
        grid_width = self.columns * width + (self.columns - 1) * self.gap
        grid_height = self.rows * height + (self.rows - 1) * self.gap
        left = (self.page_width - grid_width) / 2
        top = (self.page_height + grid_height) / 2
        return (
            left + (column - 1) * (width + self.gap),
            top - row * height - (row - 1) * self.gap,
        )


def _star(cx: float, cy: float, radius: float) -> str:
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.4
        angle = math.pi / 2 + i * math.pi / 5
        points.append(f"{cx + r * math.cos(angle):.2f} {cy + r * math.sin(angle):.2f}")
    return f"{points[0]} m " + " ".join(f"{p} l" for p in points[1:]) + " h f"


def _mark(stars: int) -> bytes:
    """The OCOP mark for a 20 mm stamp: the word OCOP over the certified stars."""
    width, height = 7.2 * MM, _DESIGN_MM * _LABEL_RATIO * MM
    radius = 0.62 * MM
    spacing = 1.32 * MM
    first = width / 2 - spacing * (stars - 1) / 2
    drawn = " ".join(_star(first + i * spacing, height * 0.3, radius) for i in range(stars))
    return (
        f"0.78 0.08 0.12 RG 0.5 w 0.6 0.6 {width - 1.2:.2f} {height - 1.2:.2f} re S "
        f"BT 0.78 0.08 0.12 rg /F2 6 Tf {width / 2 - 8.85:.2f} {height * 0.56:.2f} Td (OCOP) Tj ET "
        f"0.93 0.68 0.05 rg {drawn}"
    ).encode()


class PdfSheets:
    """Writes stamps to PDF pages as chunks arrive: :meth:`add` each chunk, then
    :meth:`finish`; :meth:`take` returns the bytes made so far."""

    def __init__(self, layout: Layout, host: str, title: str = "OCOP stamps") -> None:
        self.layout, self.host, self.title = layout, host, title
        # the QR bitmaps hardly compress: level 3 is faster than 6 for files hardly larger
        self._pdf = PdfDocument(compress_level=3)
        self._pdf.header()
        for name, font in (("F1", b"Helvetica"), ("F2", b"Helvetica-Bold")):
            self._pdf.add_object(
                "Font",
                name,
                b"<< /Type /Font /Subtype /Type1 /BaseFont /%s /Encoding /WinAnsiEncoding >>"
                % font,
            )
        width = 7.2 * MM
        for stars in (3, 4, 5):
            self._pdf.add_form(f"M{stars}", width, _DESIGN_MM * _LABEL_RATIO * MM, _mark(stars))
        self._page: list[bytes] = []
        self._count = 0
        self._label_end = b") Tj /F1 4.6 Tf 0 -6.2 Td " + pdf_string(host) + b" Tj ET Q\n"
        scale = layout.stamp_mm / _DESIGN_MM
        self._places = [  # where each stamp of a page goes, as a transformation
            b"q %.4f 0 0 %.4f %.3f %.3f cm " % (scale, scale, x * MM, y * MM)
            for x, y in (layout.origin(*layout.position(i)[1:]) for i in range(layout.per_page))
        ]

    def add(self, chunk: StampChunk) -> None:
        """Lay out the stamps of ``chunk`` after those already added."""
        module = _DESIGN_MM * MM / (chunk.size + 2 * QUIET_ZONE)
        qr_side = module * chunk.size
        label = _DESIGN_MM * _LABEL_RATIO * MM
        image = (
            b"q %.4f 0 0 %.4f %.4f %.4f cm BI /W %d /H %d /IM true /D [1 0] ID "
            % (qr_side, qr_side, module * QUIET_ZONE, label + module * QUIET_ZONE, chunk.size,
               chunk.size)
        )  # fmt: skip
        label_start = b" EI Q /M%d Do BT /F1 5 Tf 22 10.5 Td (" % chunk.stars
        bitmaps = chunk.modules.tobytes()
        length = chunk.modules[0].nbytes if len(chunk.modules) else 0
        per_page = self.layout.per_page
        for i, serial in enumerate(chunk.serials):
            slot = self._count % per_page
            self._page.append(
                b"".join((
                    self._places[slot], image, bitmaps[i * length : (i + 1) * length],
                    label_start, human_serial(chunk.key_index, serial).encode(), self._label_end,
                ))
            )  # fmt: skip
            self._count += 1
            if slot == per_page - 1:
                self._flush_page()

    def _flush_page(self) -> None:
        if not self._page:
            return
        content = b"".join(self._page)
        if self.layout.cut_marks:
            content += self._cut_marks()
        self._pdf.page(self.layout.page_width * MM, self.layout.page_height * MM, content)
        self._page = []

    def _cut_marks(self) -> bytes:
        """Short trim lines in the margins at every cell edge."""
        layout = self.layout
        width, height = layout.cell
        length = min(4.0, layout.margin * 0.6)
        lines = []
        for column in range(1, layout.columns + 1):
            x0, _ = layout.origin(1, column)
            for x in (x0, x0 + width):
                _, top = layout.origin(1, column)
                _, bottom = layout.origin(layout.rows, column)
                top += height
                lines.append((x, top + 1, x, top + 1 + length))
                lines.append((x, bottom - 1, x, bottom - 1 - length))
        for row in range(1, layout.rows + 1):
            left, y0 = layout.origin(row, 1)
            right, _ = layout.origin(row, layout.columns)
            right += width
            for y in (y0, y0 + height):
                lines.append((left - 1, y, left - 1 - length, y))
                lines.append((right + 1, y, right + 1 + length, y))
        path = " ".join(
            f"{a * MM:.2f} {b * MM:.2f} m {c * MM:.2f} {d * MM:.2f} l" for a, b, c, d in lines
        )
        return f"q 0 G 0.25 w {path} S Q\n".encode()

    def finish(self) -> None:
        """Write the last page and the document's end."""
        self._flush_page()
        self._pdf.trailer(self.title)

    def take(self) -> bytes:
        """Return the PDF bytes made since the last call."""
        return self._pdf.take()


class CsvManifest:
    """The manifest of a batch: one row per stamp with its serial, URL, digits and place."""

    HEADER = ("serial", "key_index", "printed_serial", "url", "digits", "page", "row", "column")

    def __init__(self, layout: Layout, host: str) -> None:
        if any(c in host for c in ',"\r\n'):
            raise ValueError(f"{host!r} is not a host name")
        self.layout = layout
        self._parts = [",".join(self.HEADER) + "\n"]
        self._count = 0

    def add(self, chunk: StampChunk) -> None:
        """Append the rows of ``chunk``. No field needs quoting: numbers, the printed serial,
        and a URL of a host name and digits or base64url (``?``, ``=``, ``-``, ``_``); the text
        ones go through :func:`text_cell` all
        the same, the rule of every CSV the project writes (none of them starts a formula)."""
        key, position = chunk.key_index, self.layout.position
        numbers = range(self._count, self._count + len(chunk.serials))
        rows = zip(numbers, chunk.serials, chunk.urls, chunk.digits, strict=True)
        for n, serial, url, digits in rows:
            page, row, column = position(n)
            self._parts.append(
                f"{serial},{key},{text_cell(human_serial(key, serial))},"
                f"{text_cell(url)},{text_cell(digits)},{page},{row},{column}\n"
            )
        self._count += len(chunk.serials)

    def finish(self) -> None:
        """Nothing to close; for symmetry with the other writers."""

    def take(self) -> bytes:
        """Return the CSV bytes (UTF-8) made since the last call."""
        data, self._parts = "".join(self._parts).encode(), []
        return data


class _Sink(io.RawIOBase):
    """An unseekable byte sink, so that zipfile streams (data descriptors, no seeking)."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: object) -> int:
        chunk = bytes(data)  # type: ignore[call-overload]
        self.parts.append(chunk)
        return len(chunk)


class PngZip:
    """A ZIP of one PNG per stamp, named by its printed serial, for producers who lay out
    their own packaging."""

    def __init__(self, module_px: int = PNG_MODULE_PX) -> None:
        self.module_px = module_px
        self._sink = _Sink()
        self._zip = zipfile.ZipFile(self._sink, "w", zipfile.ZIP_STORED)

    def add(self, chunk: StampChunk) -> None:
        """Add the PNGs of ``chunk``."""
        for i, serial in enumerate(chunk.serials):
            name = f"{human_serial(chunk.key_index, serial)}.png"
            png = chunk.pngs[i] if chunk.pngs else png_bytes(chunk.matrix(i), self.module_px)
            self._zip.writestr(name, png)

    def finish(self) -> None:
        """Write the ZIP's central directory."""
        self._zip.close()

    def take(self) -> bytes:
        """Return the ZIP bytes made since the last call."""
        data, self._sink.parts = b"".join(self._sink.parts), []
        return data
