"""GS1 identifiers as the registry keeps them, checked with ``biip``: a product's GTIN (kept
as its 14 digits), a producer's or a place's GLN (13 digits), a lot number (GS1 application
identifier 10: up to 20 characters of GS1's character set 82). Each check says what is wrong
in words a producer can act on: a wrong check digit names the digit expected."""

from __future__ import annotations

import re

from biip import ParseError
from biip.gln import Gln
from biip.gtin import Gtin

from verifier.service_errors import Invalid

__all__ = ["gln_of", "gtin_of", "lot_number_of"]

# GS1 General Specifications, figure 7.11-1: the characters of "CSET 82"
_CSET_82 = re.compile(r"[!\"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}")


def gtin_of(text: str) -> str:
    """Return the GTIN ``text`` names (8, 12, 13 or 14 digits) as its 14 digits. Raises
    :class:`Invalid` for anything else, or a wrong check digit."""
    digits = text.strip()
    if not digits.isdigit():
        raise Invalid(f"a GTIN is 8, 12, 13 or 14 digits, not {text!r}")
    try:
        return Gtin.parse(digits).as_gtin_14()
    except ParseError as exc:
        raise Invalid(f"not a valid GTIN: {exc}") from None


def gln_of(text: str) -> str:
    """Return the GLN ``text`` names (13 digits). Raises :class:`Invalid` for anything else,
    or a wrong check digit."""
    digits = text.strip()
    if not digits.isdigit() or len(digits) != 13:
        raise Invalid(f"a GLN is 13 digits, not {text!r}")
    try:
        return Gln.parse(digits).value
    except ParseError as exc:
        raise Invalid(f"not a valid GLN: {exc}") from None


def lot_number_of(text: str) -> str:
    """Return ``text`` as a lot number (GS1 AI 10). Raises :class:`Invalid` when it is not 1 to
    20 characters of GS1's set 82 (letters without diacritics, digits, ``-./_`` and a few
    more)."""
    number = text.strip()
    if not _CSET_82.fullmatch(number):
        raise Invalid(
            f"a lot number is 1 to 20 letters without diacritics, digits or -./_ (GS1), not "
            f"{text!r}"
        )
    return number
