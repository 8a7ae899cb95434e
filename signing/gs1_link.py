"""The stamp's GS1 Digital Link form (docs/stamp-format.md, section 4.1): the same payload and
signature written as ``/01/{GTIN}/21/{serial}?8030={signature}``, which a retail scanner reads as
a GTIN and a serial and a phone opens as the stamp's page.

- AI 01, the GTIN: the certified product's 14 digits. It is **not signed**: a verifier compares
  it with the GTIN its status list gives the certificate.
- AI 21, the serial: the payload's last 15 bytes (the version byte, always 1, is left out) in
  base64url, exactly 20 characters of GS1's character set 82.
- AI 8030, DIGSIG: the 64-byte signature in base64url, 86 characters (at most 90 are allowed).
"""

from __future__ import annotations

import re

from signing._ed25519 import SIGNATURE_SIZE
from signing.errors import MalformedStamp
from signing.keys import b64url_decode, b64url_encode
from signing.payload import PAYLOAD_SIZE, VERSION

__all__ = [
    "GS1_LINK_BODY_CHARS",
    "GS1_LINK_START",
    "GTIN_DIGITS",
    "gs1_link_body",
    "gs1_link_path",
    "gs1_link_prefix",
    "is_gtin",
    "split_gs1_link",
]

GTIN_DIGITS = 14
GS1_LINK_START = "/01/"  # what the path of a stamp URL in this form starts with
_SERIAL_AI = "/21/"
_SIGNATURE_AI = "?8030="
_SERIAL_CHARS = 20  # 15 bytes of base64url
_SIGNATURE_CHARS = 86  # 64 bytes of base64url
GS1_LINK_BODY_CHARS = _SERIAL_CHARS + len(_SIGNATURE_AI) + _SIGNATURE_CHARS
_VERSION_BYTE = bytes([VERSION])
_SHAPE = re.compile(
    f"{re.escape(GS1_LINK_START)}([^/?#]*){re.escape(_SERIAL_AI)}([^/?#]*){re.escape(_SIGNATURE_AI)}(.*)",
    re.DOTALL,
)


def _check_digit_holds(gtin: str) -> bool:
    """Return whether the last of ``gtin``'s ASCII digits is its GS1 check digit (GS1 General
    Specifications 7.9.1: weights 3 and 1 alternating from the right, modulo 10)."""
    body, check = gtin[:-1], gtin[-1]
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(body)))
    return (10 - total % 10) % 10 == int(check)


def gs1_link_path(gtin: str, stamp: bytes) -> str:
    """Return ``/01/{gtin}/21/{serial}?8030={signature}`` for the 80 bytes of ``stamp`` and the
    product's 14-digit ``gtin``. Raises ``ValueError`` as :func:`gs1_link_prefix` and
    :func:`gs1_link_body` do."""
    return gs1_link_prefix(gtin) + gs1_link_body(stamp)


def gs1_link_prefix(gtin: str) -> str:
    """Return ``/01/{gtin}/21/``, what every stamp of one product has in common. Raises
    ``ValueError`` for a GTIN that is not 14 digits with its check digit."""
    if not is_gtin(gtin):
        raise ValueError(f"a GTIN is 14 digits with its check digit, not {gtin!r}")
    return f"{GS1_LINK_START}{gtin}{_SERIAL_AI}"


def gs1_link_body(stamp: bytes) -> str:
    """Return ``{serial}?8030={signature}`` for the 80 bytes of ``stamp``: always
    :data:`GS1_LINK_BODY_CHARS` characters. Raises ``ValueError`` for a stamp not of version 1
    or not of 80 bytes."""
    if len(stamp) != PAYLOAD_SIZE + SIGNATURE_SIZE or stamp[:1] != _VERSION_BYTE:
        raise ValueError("only a stamp of version 1 has a Digital Link form")
    serial, signature = b64url_encode(stamp[1:PAYLOAD_SIZE]), b64url_encode(stamp[PAYLOAD_SIZE:])
    return f"{serial}{_SIGNATURE_AI}{signature}"


def split_gs1_link(rest: str, text: str) -> tuple[str, bytes]:
    """Return the GTIN and the 80 stamp bytes (version byte restored) of ``rest``, the part of
    the stamp URL ``text`` after its host, when it starts with ``/01/``. Raises
    :class:`MalformedStamp` with the code ``bad_gtin`` or ``bad_link``."""
    shape = _SHAPE.fullmatch(rest)
    if shape is None:
        detail = "a stamp's Digital Link is /01/GTIN/21/SERIAL?8030=SIGNATURE"
        raise MalformedStamp(detail, code="bad_link", text=text)
    gtin, serial, signature = shape.groups()
    if not is_gtin(gtin):
        raise MalformedStamp(
            "AI 01 must hold a GTIN of 14 digits with its check digit", code="bad_gtin", text=text
        )
    if len(serial) != _SERIAL_CHARS or len(signature) != _SIGNATURE_CHARS:
        raise MalformedStamp(
            f"AI 21 holds {_SERIAL_CHARS} characters and AI 8030 {_SIGNATURE_CHARS}",
            code="bad_link",
            text=text,
        )
    try:
        return gtin, _VERSION_BYTE + b64url_decode(serial) + b64url_decode(signature)
    except ValueError:
        detail = "AI 21 and AI 8030 must be canonical base64url"
        raise MalformedStamp(detail, code="bad_link", text=text) from None


def is_gtin(text: str) -> bool:
    """Return whether ``text`` is a GTIN of 14 ASCII digits whose last is its check digit."""
    return (
        len(text) == GTIN_DIGITS and text.isascii() and text.isdigit() and _check_digit_holds(text)
    )
