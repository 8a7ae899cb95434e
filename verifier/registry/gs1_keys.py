"""GS1 identifiers as the registry keeps them, checked with ``biip``: a product's GTIN (kept
as its 14 digits), a producer's or a place's GLN (13 digits), a lot number (GS1 application
identifier 10: up to 20 characters of GS1's character set 82). Each check says what is wrong
in words a producer can act on: a wrong check digit names the digit expected."""

from __future__ import annotations

import re
from typing import Literal

from biip import ParseError
from biip.gln import Gln
from biip.gtin import Gtin

from verifier.service_errors import Invalid
from verifier.store.models import Product

#: How a batch's stamps are written in their QR codes (docs/stamp-format.md sections 4, 4.1).
StampForm = Literal["decimal", "gs1"]

__all__ = ["StampForm", "gln_of", "gtin_of", "lot_number_of", "stamp_gtin"]

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


def stamp_gtin(product: Product, form: StampForm) -> str | None:
    """Return the GTIN the stamps of ``product`` carry in ``form``: ``None`` for the decimal
    form, the product's 14 digits for the GS1 Digital Link form. Raises :class:`Invalid` when
    the GS1 form is asked for a product without a GTIN."""
    if form == "decimal":
        return None
    if product.gtin is None:
        raise Invalid(
            f"{product.name} has no GTIN: its stamps can only be printed in the decimal form"
        )
    return product.gtin
