"""A signed stamp: payload + Ed25519 signature, and its decimal and URL forms."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime

from signing import _ed25519
from signing.dates import vietnam_date
from signing.errors import InvalidPayload, MalformedStamp, SigningRefused
from signing.gs1_link import GS1_LINK_START, gs1_link_path, split_gs1_link
from signing.keys import Ed25519Signer, KeyStatus, TrustedKey
from signing.payload import PAYLOAD_SIZE, SERIAL_SIZE, Payload

__all__ = [
    "DOMAIN_TAG",
    "MAX_INPUT_LENGTH",
    "STAMP_DIGITS",
    "STAMP_SIZE",
    "Stamp",
    "StampIssuer",
    "parse_stamp",
    "sign_payload",
    "stamp_url",
]

DOMAIN_TAG = b"OCOP-STAMP-v1"
STAMP_SIZE = PAYLOAD_SIZE + _ed25519.SIGNATURE_SIZE  # 80 bytes
STAMP_DIGITS = 193  # len(str(2**640 - 1))
MAX_INPUT_LENGTH = 2048
_WHITESPACE = " \t\r\n"
_URL = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://([^/?#\s]*)(.*)", re.ASCII | re.DOTALL)
_DIGITS = re.compile(r"[0-9]+", re.ASCII)


@dataclass(frozen=True, slots=True)
class Stamp:
    """A payload with its 64-byte signature. Says nothing about whether the signature is valid.

    ``gtin`` is the GTIN the stamp's GS1 Digital Link form named when it was read in that form
    (``None`` for the decimal form): not signed, a verifier checks it against its status list.
    """

    payload: Payload
    signature: bytes
    gtin: str | None = None

    def __post_init__(self) -> None:
        if len(self.signature) != _ed25519.SIGNATURE_SIZE:
            raise InvalidPayload("a signature is 64 bytes", field="signature")

    @property
    def signing_input(self) -> bytes:
        """Return the bytes the signature covers: the domain tag followed by the payload."""
        return DOMAIN_TAG + self.payload.to_bytes()

    def to_bytes(self) -> bytes:
        """Return the 80 bytes: payload then signature."""
        return self.payload.to_bytes() + self.signature

    @property
    def digits(self) -> str:
        """Return the 80 bytes as one big-endian integer in exactly 193 decimal digits."""
        return _stamp_digits(self.to_bytes())

    def url(self, host: str) -> str:
        """Return ``https://HOST/s/DIGITS``, the text a QR stamp carries."""
        return stamp_url(host, self.digits)

    def gs1_url(self, host: str, gtin: str) -> str:
        """Return ``https://HOST/01/{gtin}/21/{serial}?8030={signature}``, the stamp's GS1
        Digital Link form for the product's 14-digit ``gtin``. Raises ``ValueError`` for a GTIN
        that is not 14 digits with its check digit."""
        return f"https://{host}{gs1_link_path(gtin, self.to_bytes())}"

    def signature_valid(self, public_key: bytes) -> bool:
        """Return whether the signature verifies with the raw Ed25519 ``public_key``."""
        return _ed25519.verify(public_key, self.signature, self.signing_input)

    @classmethod
    def from_bytes(cls, data: bytes) -> Stamp:
        """Decode 80 bytes. Raises :class:`InvalidPayload` for a wrong size or a bad field."""
        if len(data) != STAMP_SIZE:
            raise InvalidPayload(f"a stamp is {STAMP_SIZE} bytes, not {len(data)}", field="size")
        return cls(Payload.from_bytes(data[:PAYLOAD_SIZE]), data[PAYLOAD_SIZE:])


def _stamp_digits(stamp: bytes) -> str:
    """Return the 80 bytes of a stamp as one big-endian integer in exactly 193 decimal
    digits."""
    return str(int.from_bytes(stamp, "big")).zfill(STAMP_DIGITS)


def stamp_url(host: str, digits: str) -> str:
    """Return the stamp URL for ``host`` (e.g. ``ocop.vn``) and the 193 ``digits``."""
    return f"https://{host}/s/{digits}"


def _malformed(code: str, detail: str, text: str) -> MalformedStamp:
    return MalformedStamp(detail, code=code, text=text)


def parse_stamp(text: str) -> Stamp:
    """Parse a stamp from its URL (``http(s)://ANY-HOST/s/DIGITS``, path ``/s/`` or ``/S/``),
    from its GS1 Digital Link form (``http(s)://ANY-HOST/01/GTIN/21/SERIAL?8030=SIGNATURE``) or
    from the bare 193 digits. Surrounding spaces, tabs and line breaks are ignored; the host is
    never looked at beyond being present.

    Returns the :class:`Stamp` (its signature unchecked). Raises :class:`MalformedStamp` for
    anything else, with a ``code`` that says why.
    """
    if not isinstance(text, str):
        raise _malformed("not_a_stamp", "a stamp is text", repr(text))
    if len(text) > MAX_INPUT_LENGTH:
        raise _malformed("too_long", f"input of {len(text)} characters is far too long", text)
    body = text.strip(_WHITESPACE)
    if not body:
        raise _malformed("empty", "the input is empty", text)
    url = _URL.fullmatch(body)
    if url is not None:
        scheme, host, path = url.groups()
        if scheme.lower() not in ("http", "https"):
            raise _malformed("not_a_stamp", f"scheme {scheme!r} is not http or https", text)
        if not host:
            raise _malformed("not_a_stamp", "the URL has no host", text)
        if path.startswith(GS1_LINK_START):
            gtin, stamp = split_gs1_link(path, text)
            return _stamp_of(stamp, text, gtin)
        if not path.startswith(("/s/", "/S/")):
            raise _malformed("wrong_path", "a stamp URL's path starts with /s/ or /01/", text)
        body = path[3:]
    elif not "0" <= body[0] <= "9":
        raise _malformed("not_a_stamp", "neither a stamp URL nor stamp digits", text)
    if _DIGITS.fullmatch(body) is None:
        raise _malformed("non_digit", "the stamp number contains characters other than 0-9", text)
    if len(body) != STAMP_DIGITS:
        raise _malformed(
            "wrong_length", f"a stamp number has {STAMP_DIGITS} digits, not {len(body)}", text
        )
    number = int(body)
    if number >= 1 << (8 * STAMP_SIZE):
        raise _malformed("out_of_range", "the number is larger than 80 bytes", text)
    return _stamp_of(number.to_bytes(STAMP_SIZE, "big"), text)


def _stamp_of(data: bytes, text: str, gtin: str | None = None) -> Stamp:
    """Return the stamp of the 80 bytes ``data`` read from ``text``. Raises
    :class:`MalformedStamp` for an unknown version or a field out of range."""
    try:
        stamp = Stamp.from_bytes(data)
    except InvalidPayload as exc:
        code = "unknown_version" if exc.field == "version" else "invalid_field"
        raise _malformed(code, exc.detail, text) from exc
    return stamp if gtin is None else replace(stamp, gtin=gtin)


def sign_payload(payload: Payload, private_key: Ed25519Signer) -> Stamp:
    """Sign ``payload`` with no scope check at all. Returns the :class:`Stamp`.

    This is the raw primitive, used for test vectors; issuers use :class:`StampIssuer`.
    """
    return Stamp(payload, private_key.sign(DOMAIN_TAG + payload.to_bytes()))


@dataclass(frozen=True, slots=True)
class StampIssuer:
    """The safe way to sign stamps: a private key (in memory or in a token) bound to its
    trust-list entry, refusing any payload that a verifier would reject as outside the key's
    scope.

    Raises :class:`SigningRefused` when the private key does not match the entry.
    """

    private_key: Ed25519Signer
    key: TrustedKey

    def __post_init__(self) -> None:
        if self.private_key.public_key != self.key.public_key:
            raise SigningRefused(f"the private key does not belong to key index {self.key.index}")

    def sign(self, payload: Payload, now: datetime) -> Stamp:
        """Return ``payload`` signed at the instant ``now``.

        Raises :class:`SigningRefused` when the key is not active, ``now`` lies outside the
        key's signing period or outside the certificate's validity, or the payload names another
        key index, stars the key may not sign, or a serial above the key's watermark.
        """
        self._check(payload, now)
        return sign_payload(payload, self.private_key)

    def sign_serials(self, first: Payload, count: int, now: datetime) -> list[str]:
        """Return the 193-digit forms of ``count`` stamps signed at ``now``: ``first`` and the
        payloads after it that differ only by their serials, ``first.serial + 1`` onwards.

        Raises :class:`SigningRefused` as :meth:`sign` does for any of them (the first and the
        last serial bound the rest), and :class:`InvalidPayload` when the serials run past 48
        bits.
        """
        if count < 1:
            return []
        self._check(first, now)
        self._check(replace(first, serial=first.serial + count - 1), now)
        head = first.to_bytes()[:-SERIAL_SIZE]
        message, sign = DOMAIN_TAG + head, self.private_key.sign
        signed = []
        for serial in range(first.serial, first.serial + count):
            tail = serial.to_bytes(SERIAL_SIZE, "big")
            signed.append(_stamp_digits(head + tail + sign(message + tail)))
        return signed

    def _check(self, payload: Payload, now: datetime) -> None:
        today = vietnam_date(now)
        key = self.key
        if payload.key_index != key.index:
            raise SigningRefused(f"payload names key {payload.key_index}, not {key.index}")
        if key.status is not KeyStatus.ACTIVE:
            raise SigningRefused(f"key {key.index} is {key.status}, it signs no more stamps")
        if not key.not_before <= today <= key.not_after:
            raise SigningRefused(
                f"key {key.index} may sign from {key.not_before} to {key.not_after}"
            )
        first_day, last_day = payload.signing_window
        if not first_day <= today <= last_day:
            raise SigningRefused(f"the certificate is not valid on {today}")
        problems = key.scope_violations(payload)
        if problems:
            raise SigningRefused(f"outside key {key.index}'s scope: {', '.join(problems)}")
