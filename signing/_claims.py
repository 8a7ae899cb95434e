"""Reading the claims of a signed document: typed fields whose every failure is a
:class:`DocumentInvalid`, and the header and freshness rules all documents share
(docs/stamp-format.md section 7.1, steps 5 to 7)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any, TypeVar

from signing.dates import format_time, parse_time
from signing.errors import DocumentExpired, DocumentInvalid, DocumentRollback

_T = TypeVar("_T")


class Fields:
    """Reads typed fields out of a decoded JSON object; every failure becomes DocumentInvalid."""

    def __init__(self, data: Any, kind: str, where: str) -> None:
        if not isinstance(data, dict):
            raise DocumentInvalid(f"{where} must be a JSON object", kind=kind)
        self.data, self.kind, self.where = data, kind, where

    def fail(self, name: str, expected: str) -> DocumentInvalid:
        return DocumentInvalid(f"{self.where}.{name} must be {expected}", kind=self.kind)

    def get(self, name: str, kind: type[_T], expected: str, *, optional: bool = False) -> _T:
        value = self.data.get(name)
        if value is None and optional:
            return value  # type: ignore[return-value]
        if not isinstance(value, kind) or isinstance(value, bool):
            raise self.fail(name, expected)
        return value

    def integer(self, name: str, bits: int = 53) -> int:
        value = self.get(name, int, "an integer")
        if not 0 <= value < 1 << bits:
            raise self.fail(name, f"an integer in 0..2**{bits}-1")
        return value

    def text(self, name: str, *, optional: bool = False) -> str:
        return self.get(name, str, "a string", optional=optional)

    def day(self, name: str) -> date:
        try:
            return date.fromisoformat(self.text(name))
        except ValueError:
            raise self.fail(name, "a date YYYY-MM-DD") from None

    def time(self, name: str) -> datetime:
        try:
            return parse_time(self.text(name))
        except ValueError:
            raise self.fail(name, "an RFC 3339 time with zone") from None

    def items(self, name: str) -> list[Fields]:
        values = self.get(name, list, "a list")
        return [Fields(v, self.kind, f"{self.where}.{name}[{i}]") for i, v in enumerate(values)]

    def choice(self, name: str, enum: type[StrEnum]) -> Any:
        try:
            return enum(self.text(name))
        except ValueError:
            raise self.fail(name, " or ".join(m.value for m in enum)) from None


def check_header(document: Fields, doc_type: str) -> tuple[int, datetime, datetime]:
    if document.text("type") != doc_type:
        raise document.fail("type", doc_type)
    version = document.integer("version")
    issued_at, expires_at = document.time("issued_at"), document.time("expires_at")
    if expires_at <= issued_at:
        raise document.fail("expires_at", "later than issued_at")
    return version, issued_at, expires_at


def check_fresh(
    kind: str, version: int, expires_at: datetime, now: datetime, held_version: int | None
) -> None:
    if held_version is not None and version < held_version:
        raise DocumentRollback(
            f"the {kind} has version {version}, older than version {held_version} already held",
            kind=kind,
            held_version=held_version,
            offered_version=version,
        )
    if now > expires_at:
        raise DocumentExpired(
            f"the {kind} expired at {format_time(expires_at)}",
            kind=kind,
            expires_at=expires_at,
            now=now,
        )
