"""Keys: the private signing key, and the public description of a key in the trust list."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Protocol

from signing._ed25519 import PrivateKey, check_public_key
from signing.payload import ALLOWED_STARS, Payload

__all__ = [
    "Ed25519Signer",
    "KeyStatus",
    "PrivateKey",
    "TrustedKey",
    "b64url_decode",
    "b64url_encode",
    "key_id",
]


class Ed25519Signer(Protocol):
    """What signs stamps and lists: an Ed25519 private key, whether in memory
    (:class:`PrivateKey`) or held in a hardware token that signs without letting it out."""

    @property
    def public_key(self) -> bytes:
        """The raw 32-byte public key."""
        ...

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 (RFC 8032, pure) signature of ``message``."""
        ...


def b64url_encode(data: bytes) -> str:
    """Return base64url without padding (RFC 7515 section 2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Decode base64url without padding. Raises ``ValueError`` on any other alphabet or padding."""
    if not isinstance(text, str) or "=" in text or len(text) % 4 == 1:
        raise ValueError("not unpadded base64url")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise ValueError("not unpadded base64url") from exc
    if b64url_encode(raw) != text:  # rejects characters outside the alphabet and stray bits
        raise ValueError("not canonical base64url")
    return raw


def key_id(public_key: bytes) -> str:
    """Return a key's short id: base64url of the first 12 bytes of SHA-256 of the raw key."""
    return b64url_encode(hashlib.sha256(public_key).digest()[:12])


class KeyStatus(StrEnum):
    """The life of a signing key in the trust list."""

    ACTIVE = "active"
    RETIRED = "retired"
    COMPROMISED = "compromised"


@dataclass(frozen=True, slots=True)
class TrustedKey:
    """A stamp-signing key as published in the trust list, with its scope.

    ``issuer`` is the authority's code (e.g. ``"VN-01"`` or ``"VN-TW"``), ``province_code`` the
    province it serves (``None`` for the central council), ``stars`` the star levels it may sign,
    ``not_before``/``not_after`` the days on which it may sign, and ``last_serial`` the highest
    serial it issued before it was retired or compromised (required when compromised).

    Raises ``ValueError`` when the fields contradict each other.
    """

    index: int
    public_key: bytes
    issuer: str
    issuer_name: str
    province_code: str | None
    stars: frozenset[int]
    not_before: date
    not_after: date
    status: KeyStatus = KeyStatus.ACTIVE
    last_serial: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.index, int) or not 0 <= self.index <= 0xFFFF:
            raise ValueError(f"key index {self.index!r} is outside 0..65535")
        check_public_key(self.public_key)
        if not self.issuer or not self.issuer_name:
            raise ValueError("a key needs an issuer code and name")
        if not self.stars or not self.stars <= ALLOWED_STARS:
            raise ValueError(
                f"key stars {sorted(self.stars)} must be a non-empty subset of 3, 4, 5"
            )
        if self.not_after < self.not_before:
            raise ValueError("not_after lies before not_before")
        if self.status is KeyStatus.COMPROMISED and self.last_serial is None:
            raise ValueError("a compromised key must publish last_serial, its watermark")
        if self.last_serial is not None and not 0 <= self.last_serial < 1 << 48:
            raise ValueError("last_serial is outside the 48-bit serial range")

    @property
    def key_id(self) -> str:
        """Return the key's short id (see :func:`key_id`)."""
        return key_id(self.public_key)

    def scope_violations(self, payload: Payload) -> list[str]:
        """Return the reason codes for which this key could not rightfully have signed
        ``payload`` (empty when it could)."""
        problems: list[str] = []
        if payload.stars not in self.stars:
            problems.append("stars_out_of_key_scope")
        first_day, last_day = payload.signing_window
        if last_day < self.not_before or first_day > self.not_after:
            problems.append("outside_key_period")
        if self.last_serial is not None and payload.serial > self.last_serial:
            problems.append(
                "key_compromised" if self.status is KeyStatus.COMPROMISED else "key_retired"
            )
        return problems
