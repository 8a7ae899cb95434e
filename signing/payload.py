"""The 16-byte stamp payload of format v1 (docs/stamp-format.md, section "Payload")."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from datetime import date, timedelta

from signing.dates import EPOCH, RECOGNITION_MONTHS, add_months
from signing.errors import InvalidPayload

__all__ = ["ALLOWED_STARS", "PAYLOAD_SIZE", "SERIAL_SIZE", "VERSION", "Payload"]

VERSION = 1
PAYLOAD_SIZE = 16
SERIAL_SIZE = 6  # the serial is the payload's last 6 bytes
ALLOWED_STARS = frozenset({3, 4, 5})
_MAX_DAY = EPOCH + timedelta(days=0xFFFF)
_HEAD = struct.Struct(">BHIBH")  # version, key index, certificate id, stars, valid-until day


def _check_int(name: str, value: object, bits: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidPayload(f"{name} must be an integer", field=name)
    if not 0 <= value < 1 << bits:
        raise InvalidPayload(f"{name} {value} is outside 0..{(1 << bits) - 1}", field=name)


@dataclass(frozen=True, slots=True)
class Payload:
    """What a stamp asserts: which key signed it, for which certificate, how many stars,
    until when, and the stamp's serial number. Validates itself when constructed.

    Raises :class:`InvalidPayload` for any field out of range.
    """

    key_index: int
    certificate_id: int
    stars: int
    valid_until: date
    serial: int

    def __post_init__(self) -> None:
        _check_int("key_index", self.key_index, 16)
        _check_int("certificate_id", self.certificate_id, 32)
        _check_int("serial", self.serial, 48)
        if self.stars not in ALLOWED_STARS or isinstance(self.stars, bool):
            raise InvalidPayload(f"stars must be 3, 4 or 5, not {self.stars!r}", field="stars")
        if type(self.valid_until) is not date or not EPOCH <= self.valid_until <= _MAX_DAY:
            raise InvalidPayload(
                f"valid_until must be a date from {EPOCH} to {_MAX_DAY}", field="valid_until"
            )

    @property
    def signing_window(self) -> tuple[date, date]:
        """Return the first and last day on which this payload can rightfully have been signed:
        the 36 months of recognition that end on ``valid_until``."""
        return add_months(self.valid_until, -RECOGNITION_MONTHS), self.valid_until

    def to_bytes(self) -> bytes:
        """Return the 16-byte big-endian encoding."""
        day = (self.valid_until - EPOCH).days
        head = _HEAD.pack(VERSION, self.key_index, self.certificate_id, self.stars, day)
        return head + self.serial.to_bytes(SERIAL_SIZE, "big")

    @classmethod
    def from_bytes(cls, data: bytes) -> Payload:
        """Decode 16 bytes. Raises :class:`InvalidPayload` on a wrong size, an unknown version
        (``field == "version"``) or a field out of range."""
        if len(data) != PAYLOAD_SIZE:
            raise InvalidPayload(
                f"a payload is {PAYLOAD_SIZE} bytes, not {len(data)}", field="size"
            )
        version, key_index, certificate_id, stars, day = _HEAD.unpack_from(data)
        if version != VERSION:
            raise InvalidPayload(f"unknown stamp version {version}", field="version")
        return cls(
            key_index=key_index,
            certificate_id=certificate_id,
            stars=stars,
            valid_until=EPOCH + timedelta(days=day),
            serial=int.from_bytes(data[PAYLOAD_SIZE - SERIAL_SIZE :], "big"),
        )
