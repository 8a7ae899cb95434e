"""CSV that spreadsheet programs open as the text it holds, never as formulas (OWASP's CSV
injection guidance): the one rule for every CSV file the project writes, the registry's exports
and the batch manifests alike."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

__all__ = ["FORMULA_STARTS", "csv_text", "text_cell"]

# A spreadsheet reads a cell starting with one of these as a formula (or, for tab and line
# breaks, strips them and reads what follows): the ASCII operators, their fullwidth forms,
# which spreadsheets in East Asian locales accept alike, and the control characters.
FORMULA_STARTS = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")


def text_cell(text: str) -> str:
    """Return ``text`` as a cell that opens as text: with a single quote in front when it
    starts, or starts after leading white space, with a character of :data:`FORMULA_STARTS`
    (``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3+cmd|...``, ``  +1``); unchanged otherwise."""
    first = text[:1]
    if first in FORMULA_STARTS or (first.isspace() and text.lstrip()[:1] in FORMULA_STARTS):
        return "'" + text
    return text


def csv_text(header: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """Return the ``header`` line (when there is one) and ``rows`` as CSV text, lines ending
    with ``\\n``: text cells through :func:`text_cell` and quoted, so that no spreadsheet splits
    one at a ``;`` (the list separator of many locales) into a cell of its own; numbers bare;
    ``None`` empty."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
    if header:
        writer.writerow(header)
    for row in rows:
        writer.writerow(_cell(row.get(name)) for name in header)
    return buffer.getvalue()


def _cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, int | float):
        return value
    return text_cell(str(value))
