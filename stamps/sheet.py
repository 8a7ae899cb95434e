"""Print-ready stamp sheets: where each stamp goes (:class:`Layout`), and the writer of a
batch's PDF label sheets or rolls (:class:`PdfSheets`; the CSV manifest and the ZIP of PNGs
are in :mod:`stamps.data_files`), fed chunk by chunk so that a batch of any size streams
through in constant memory.

A stamp on paper: the QR code with its quiet zone, and under it the OCOP mark with the
certified stars, the serial in human-readable form and the verification domain; for a batch
with claims, under that, the PIN panel (:mod:`stamps.stamp_art`). Each QR is a
1-bit image mask with one sample per module, scaled by the PDF without interpolation, so its
modules stay sharp at any printer resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

from stamps.pdf import MM, PdfDocument, pdf_string
from stamps.qr import QUIET_ZONE
from stamps.stamp_art import (
    DESIGN_MM,
    LABEL_RATIO,
    PIN_BAND_MM,
    PIN_FIELD_MM,
    mark,
    pin_caption,
    pin_digits,
)

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
    "Layout",
    "PdfSheets",
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


@dataclass(frozen=True, slots=True)
class StampChunk:
    """Consecutive signed stamps of one batch, ready to print.

    ``modules`` holds each QR (without quiet zone) as rows of bits, most significant first,
    each row padded to whole bytes: shape ``(count, size, ceil(size / 8))``. ``pins``, for a
    batch with claims, holds each stamp's PIN as printed (``1234 5678``)."""

    key_index: int
    stars: int
    serials: range
    digits: list[str]
    urls: list[str]  # the text each QR code holds
    size: int
    modules: npt.NDArray[np.uint8]
    pngs: list[bytes] | None = None  # made with the chunk when the batch asks for them
    pins: list[str] | None = None

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
    zone; the label strip under it adds about a third, and with ``pin_panels`` (a batch with
    claims) the PIN panel under the label adds 55 % more (:meth:`pin_field`). Build with
    :meth:`sheet` or :meth:`roll`, then :meth:`with_pin_panels` for a batch with claims.

    Raises ``ValueError`` for sizes out of range or a page that holds no stamp."""

    kind: Literal["sheet", "roll"]
    page_width: float
    page_height: float
    stamp_mm: float = DEFAULT_STAMP_MM
    margin: float = DEFAULT_MARGIN_MM["sheet"]
    gap: float = DEFAULT_GAP_MM
    cut_marks: bool = False
    pin_panels: bool = False
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
        return cls._roll(stamp_mm, margin, pin_panels=False)

    @classmethod
    def _roll(cls, stamp_mm: float, margin: float, *, pin_panels: bool) -> Layout:
        """Return a roll layout, its pages the size of a label with or without a PIN panel."""
        label = _cell_height(stamp_mm, pin_panels=pin_panels)
        return cls("roll", stamp_mm + 2 * margin, label + 2 * margin, stamp_mm, margin, 0.0,
                   pin_panels=pin_panels)  # fmt: skip

    def with_pin_panels(self) -> Layout:
        """Return this layout with a PIN panel under every stamp's label: the cells grow
        taller, so fewer fit on a sheet, and a roll's labels grow. Raises ``ValueError`` when
        no stamp fits on the page any more."""
        if self.kind == "roll":
            return Layout._roll(self.stamp_mm, self.margin, pin_panels=True)
        return replace(self, pin_panels=True)

    @property
    def cell(self) -> tuple[float, float]:
        """Return one stamp's width and height in millimetres."""
        return self.stamp_mm, _cell_height(self.stamp_mm, pin_panels=self.pin_panels)

    def pin_field(self, row: int, column: int) -> tuple[float, float, float, float]:
        """Return the foil field of the PIN panel of the cell at ``row`` and ``column`` (from
        1), where the PIN is printed: left, bottom, width and height in mm from the page's
        lower-left. Raises ``ValueError`` for a layout without PIN panels."""
        if not self.pin_panels:
            raise ValueError("this layout has no PIN panels")
        x, y = self.origin(row, column)
        scale = self.stamp_mm / DESIGN_MM
        left, bottom, width, height = PIN_FIELD_MM
        return x + left * scale, y + bottom * scale, width * scale, height * scale

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


def _cell_height(stamp_mm: float, *, pin_panels: bool) -> float:
    """Return the height in mm of a stamp of ``stamp_mm``: the QR, its label, its PIN panel."""
    panel = PIN_BAND_MM / DESIGN_MM if pin_panels else 0.0
    return stamp_mm * (1 + LABEL_RATIO + panel)


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
            self._pdf.add_form(f"M{stars}", width, DESIGN_MM * LABEL_RATIO * MM, mark(stars))
        if layout.pin_panels:
            self._pdf.add_form("P", DESIGN_MM * MM, PIN_BAND_MM * MM, pin_caption())
        self._page: list[bytes] = []
        self._count = 0
        self._label_end = b") Tj /F1 4.6 Tf 0 -6.2 Td " + pdf_string(host) + b" Tj ET Q\n"
        scale = layout.stamp_mm / DESIGN_MM
        self._places = [  # where each stamp of a page goes, as a transformation
            b"q %.4f 0 0 %.4f %.3f %.3f cm " % (scale, scale, x * MM, y * MM)
            for x, y in (layout.origin(*layout.position(i)[1:]) for i in range(layout.per_page))
        ]

    def add(self, chunk: StampChunk) -> None:
        """Lay out the stamps of ``chunk`` after those already added. Raises ``ValueError``
        for a chunk with PINs on a layout without PIN panels, or the other way round."""
        if (chunk.pins is not None) != self.layout.pin_panels:
            raise ValueError("stamps with PINs need a layout with PIN panels, and only they")
        panels = [_pin_panel(pin) for pin in chunk.pins] if chunk.pins is not None else None
        module = DESIGN_MM * MM / (chunk.size + 2 * QUIET_ZONE)
        qr_side = module * chunk.size
        label = DESIGN_MM * LABEL_RATIO * MM
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
                    self._places[slot], panels[i] if panels else b"", image,
                    bitmaps[i * length : (i + 1) * length],
                    label_start, human_serial(chunk.key_index, serial).encode(), self._label_end,
                ))
            )  # fmt: skip
            self._count += 1
            if slot == per_page - 1:
                self._flush_page()

    def _flush_page(self) -> None:
        """Write the page laid out so far, if any, with its cut marks."""
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


def _pin_panel(printed_pin: str) -> bytes:
    """Return the operators that draw a stamp's PIN panel at the bottom of its cell and move
    the stamp's origin above it, where the QR and label go. Raises ``ValueError`` as
    :func:`pin_digits`."""
    return b"/P Do " + pin_digits(printed_pin) + b"1 0 0 1 0 %.3f cm " % (PIN_BAND_MM * MM)
