"""Text for one SMS: Vietnamese without diacritics, in the GSM 7-bit alphabet (3GPP TS 23.038),
whose single message holds :data:`SMS_LENGTH` septets. A message with any character outside it
is sent as UCS-2, which holds only 70 characters: every reply must stay inside."""

from __future__ import annotations

import unicodedata

__all__ = ["SMS_LENGTH", "NotGsm7", "gsm7_length", "sms_text", "without_diacritics"]

SMS_LENGTH = 160  # septets in one GSM-7 message

# The default alphabet (ESC, 0x1B, only announces an extension character: not one itself).
_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# The extension table: each is sent as ESC and one more septet.
_EXTENSION = frozenset("\f^{}\\[~]|€")
# Letters whose diacritic is not a combining mark in Unicode's decomposition.
_LETTERS = str.maketrans({"đ": "d", "Đ": "D", "Ð": "D", "ð": "d"})
# Typography a product name may carry, as its nearest GSM characters.
_TYPOGRAPHY = str.maketrans({"–": "-", "—": "-", "‘": "'", "’": "'", "“": '"', "”": '"',
                             "…": "...", "·": "-", "•": "-", "×": "x"})  # fmt: skip


class NotGsm7(ValueError):
    """A character the GSM 7-bit alphabet does not have."""


def gsm7_length(text: str) -> int:
    """Return how many septets ``text`` takes in a GSM-7 message: 1 for each character of the
    default alphabet, 2 for each of the extension table. Raises :class:`NotGsm7` naming the
    first character that is in neither."""
    length = 0
    for character in text:
        if character in _BASIC:
            length += 1
        elif character in _EXTENSION:
            length += 2
        else:
            raise NotGsm7(f"{character!r} (U+{ord(character):04X}) is not a GSM-7 character")
    return length


def without_diacritics(text: str) -> str:
    """Return ``text`` without its diacritics: every combining mark dropped, đ written d
    (``"Mật ong Đà Lạt"`` -> ``"Mat ong Da Lat"``)."""
    decomposed = unicodedata.normalize("NFD", text.translate(_LETTERS))
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFC", kept)


def sms_text(text: str) -> str:
    """Return ``text`` (a name from the registry: any Unicode) as GSM-7 text for one line of a
    reply: without diacritics, typographic dashes and quotes made plain, every run of white
    space one space, and any other character outside the alphabet (or a line break) dropped."""
    plain = without_diacritics(text).translate(_TYPOGRAPHY)
    kept = "".join(
        c if (c in _BASIC or c in _EXTENSION) and c not in "\n\r\f" else " " if c.isspace() else ""
        for c in plain
    )
    return " ".join(kept.split())
