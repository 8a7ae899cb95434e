"""What a stamp shows besides its QR code, drawn with PDF operators for a stamp of
:data:`DESIGN_MM` (the sheet scales it to the stamp's size): the OCOP mark over the certified
stars in the label strip, and, for a batch with claims, the PIN panel under the label.

The PIN panel is a band of :data:`PIN_BAND_MM` under the label, behind a dashed line to tear
along. In it, a caption on the left (``PIN``, ``Cào``, ``Scratch``: the base-14 fonts in
WinAnsi encoding have ``à`` but not the other Vietnamese letters, so the caption stays short)
and, on the right, a framed field of :data:`PIN_FIELD_MM` meant for the scratch-off foil, with
the PIN's two groups of four digits one under the other, digits 3.6 mm tall on a 20 mm stamp.
The field is apart from the QR code and its label: no photograph of the QR shows the PIN.
"""

from __future__ import annotations

import math

from stamps.pdf import MM, pdf_string

__all__ = [
    "DESIGN_MM",
    "LABEL_RATIO",
    "PIN_BAND_MM",
    "PIN_FIELD_MM",
    "mark",
    "pin_caption",
    "pin_digits",
]

DESIGN_MM = 20.0  # the stamp's parts are drawn for a 20 mm stamp and scaled
LABEL_RATIO = 0.32  # the label strip under the QR, as a share of the stamp width
PIN_BAND_MM = 11.0  # the PIN panel's band under the label, on a 20 mm stamp
# the foil field of the PIN panel, on a 20 mm stamp: left, bottom, width, height from the
# lower-left corner of the stamp's cell
PIN_FIELD_MM = (6.4, 0.5, 13.1, 10.0)
_PIN_FONT_PT = 14.5  # Helvetica-Bold digits 0.71 em tall: 3.6 mm
_PIN_LEADING_MM = 5.0  # from one group's baseline to the next
_DIGIT_EM = 0.556  # the width of every Helvetica digit, in em


def _star(cx: float, cy: float, radius: float) -> str:
    """Return the path of a filled five-pointed star centred on (``cx``, ``cy``)."""
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.4
        angle = math.pi / 2 + i * math.pi / 5
        points.append(f"{cx + r * math.cos(angle):.2f} {cy + r * math.sin(angle):.2f}")
    return f"{points[0]} m " + " ".join(f"{p} l" for p in points[1:]) + " h f"


def mark(stars: int) -> bytes:
    """Return the OCOP mark for a 20 mm stamp: the word OCOP over the certified stars, to be
    drawn in a form of 7.2 mm by the label's height (fonts F2 Helvetica-Bold)."""
    width, height = 7.2 * MM, DESIGN_MM * LABEL_RATIO * MM
    radius = 0.62 * MM
    spacing = 1.32 * MM
    first = width / 2 - spacing * (stars - 1) / 2
    drawn = " ".join(_star(first + i * spacing, height * 0.3, radius) for i in range(stars))
    return (
        f"0.78 0.08 0.12 RG 0.5 w 0.6 0.6 {width - 1.2:.2f} {height - 1.2:.2f} re S "
        f"BT 0.78 0.08 0.12 rg /F2 6 Tf {width / 2 - 8.85:.2f} {height * 0.56:.2f} Td (OCOP) Tj ET "
        f"0.93 0.68 0.05 rg {drawn}"
    ).encode()


def pin_caption() -> bytes:
    """Return what every PIN panel shows alike, to be drawn in a form of 20 mm by
    :data:`PIN_BAND_MM` (fonts F1 Helvetica, F2 Helvetica-Bold): the dashed line to tear
    along at its top, the caption, and the frame of the foil field."""
    left, bottom, width, height = (v * MM for v in PIN_FIELD_MM)
    band = PIN_BAND_MM * MM
    return (
        b"q 0.45 G 0.3 w [1.2 1.2] 0 d 0 %.2f m %.2f %.2f l S Q "
        % (band - 0.3, DESIGN_MM * MM, band - 0.3)
        + b"0 G 0.6 w %.2f %.2f %.2f %.2f re S " % (left, bottom, width, height)
        + b"BT 0 g /F2 7 Tf 1.4 %.2f Td (PIN) Tj /F1 4.6 Tf 0 -7 Td " % (6.2 * MM)
        + pdf_string("Cào")
        + b" Tj 0 -6 Td (Scratch) Tj ET"
    )


def pin_digits(printed: str) -> bytes:
    """Return the text operators that draw a printed PIN (``1234 5678``) in the foil field of
    a 20 mm stamp's cell, its groups one under the other, centred (font F2 Helvetica-Bold).
    Raises ``ValueError`` unless it is two groups of four digits."""
    groups = printed.split(" ")
    if len(groups) != 2 or not all(len(g) == 4 and g.isdigit() and g.isascii() for g in groups):
        raise ValueError("a printed PIN is two groups of four digits")
    left, bottom, width, height = PIN_FIELD_MM
    font_mm = _PIN_FONT_PT / MM
    block_height = 0.71 * font_mm + _PIN_LEADING_MM
    x = left + (width - 4 * _DIGIT_EM * font_mm) / 2
    y = bottom + (height - block_height) / 2 + _PIN_LEADING_MM
    return (
        b"BT 0 g /F2 %.1f Tf %.2f %.2f Td (%s) Tj 0 %.2f Td (%s) Tj ET "
        % (_PIN_FONT_PT, x * MM, y * MM, groups[0].encode(), -_PIN_LEADING_MM * MM,
           groups[1].encode())
    )  # fmt: skip
