"""The text the service takes from callers: printable, of bounded length (the bound is each
field's own). Control characters are refused at the edge with a 422, before they can reach a
database that refuses them later (PostgreSQL rejects NUL in text, and a refused row fails the
whole batch it travels in), a log line, a CSV cell or a page."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

__all__ = ["Line", "Text", "is_line"]

# C0 and C1 controls, DEL, and the bidirectional overrides and isolates that make a name read
# differently from what it is (a product or shop name is shown to buyers and inspectors).
_BIDI = "\u202a-\u202e\u2066-\u2069"
_NOT_IN_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI}]")
_NOT_IN_TEXT = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")  # keeps \t \n \r


def is_line(value: str) -> bool:
    """Return whether ``value`` is one line of printable text."""
    return _NOT_IN_LINE.search(value) is None


def _line(value: str) -> str:
    if not is_line(value):
        raise ValueError("control characters are not allowed here (one line of text)")
    return value


def _text(value: str) -> str:
    if _NOT_IN_TEXT.search(value) is not None:
        raise ValueError("control characters are not allowed here")
    return value


Line = Annotated[str, AfterValidator(_line)]
"""One line of printable text: a name, a code, a place, a reason."""

Text = Annotated[str, AfterValidator(_text)]
"""Printable text that may span lines (tabs and line breaks allowed): a note."""
