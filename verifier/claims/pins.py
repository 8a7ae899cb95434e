"""A stamp's PIN, printed under scratch-off foil apart from its QR code: derived from the stamp's
key index and serial under its batch's secret, so the registry stores nothing per stamp, and
neither the QR code nor other stamps' PINs tell anything of it (HMAC-SHA256 is a pseudorandom
function: without the secret each PIN is as good as a uniform draw)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import struct
from dataclasses import replace

from stamps.sheet import StampChunk

__all__ = [
    "PIN_DIGITS",
    "new_batch_secret",
    "pin_matches",
    "pin_of",
    "printed_pin",
    "with_printed_pins",
]

PIN_DIGITS = 8  # 10^8 PINs: see docs/security.md for what guessing one costs
_DOMAIN = b"OCOP-PIN-v1"
_SECRET_BYTES = 32
_SERIAL = struct.Struct(">HQ")


def new_batch_secret() -> bytes:
    """Return a fresh random secret for one batch's PINs."""
    return secrets.token_bytes(_SECRET_BYTES)


def pin_of(secret: bytes, key_index: int, serial: int) -> str:
    """Return the :data:`PIN_DIGITS`-digit PIN of stamp (``key_index``, ``serial``) of the
    batch whose secret is ``secret``. Raises ``ValueError`` for a secret of another size."""
    if len(secret) != _SECRET_BYTES:
        raise ValueError(f"a batch's PIN secret is {_SECRET_BYTES} bytes")
    mac = hmac.digest(secret, _DOMAIN + _SERIAL.pack(key_index, serial), hashlib.sha256)
    # 64 bits reduced modulo 10^8: the bias is below 10^8 / 2^64, about 5e-12
    return str(int.from_bytes(mac[:8], "big") % 10**PIN_DIGITS).zfill(PIN_DIGITS)


def pin_matches(secret: bytes, key_index: int, serial: int, typed: str) -> bool:
    """Return whether ``typed`` (spaces, dots and dashes between its digits ignored) is the PIN
    of the stamp, compared in constant time."""
    digits = "".join(c for c in typed if c not in " .-")
    return hmac.compare_digest(digits.encode(), pin_of(secret, key_index, serial).encode())


def printed_pin(pin: str) -> str:
    """Return the PIN as printed: two groups of four digits (``1234 5678``), easier to copy."""
    return f"{pin[:4]} {pin[4:]}"


def with_printed_pins(chunk: StampChunk, secret: bytes | None) -> StampChunk:
    """Return ``chunk`` with each stamp's PIN as printed, for a batch whose PIN secret is
    ``secret``; ``chunk`` itself for a batch without claims (``None``). The PINs live in the
    chunk only while it is laid out: never logged, never stored."""
    if secret is None:
        return chunk
    pins = [printed_pin(pin_of(secret, chunk.key_index, serial)) for serial in chunk.serials]
    return replace(chunk, pins=pins)
