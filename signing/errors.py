"""The exception hierarchy of the stamp format: one root, subclasses that carry data.

Every error raised on purpose by :mod:`signing` is an :class:`OcopError`, so callers that only
want to tell "our typed error" from "a bug" catch that one class.
"""

from __future__ import annotations

from datetime import datetime

__all__ = [
    "DocumentError",
    "DocumentExpired",
    "DocumentInvalid",
    "DocumentRollback",
    "DocumentSignatureInvalid",
    "InvalidPayload",
    "KeyLoadError",
    "MalformedStamp",
    "OcopError",
    "SigningRefused",
]


class OcopError(Exception):
    """Root of every error this package raises on purpose.

    ``code`` is a stable machine-readable code (for JSON answers and exit messages);
    ``detail`` is a human-readable explanation in English.
    """

    code: str = "error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class InvalidPayload(OcopError, ValueError):
    """A payload field is out of its range (raised when constructing or decoding a payload)."""

    code = "invalid_field"

    def __init__(self, detail: str, *, field: str) -> None:
        super().__init__(detail)
        self.field = field


class MalformedStamp(OcopError, ValueError):
    """The text is not a stamp of format v1 at all.

    ``code`` says why (``empty``, ``too_long``, ``not_a_stamp``, ``wrong_path``,
    ``non_digit``, ``wrong_length``, ``out_of_range``, ``unknown_version``, ``invalid_field``);
    ``text`` is the (possibly truncated) input that was rejected.
    """

    code = "malformed"

    def __init__(self, detail: str, *, code: str, text: str) -> None:
        super().__init__(detail, code=code)
        self.text = text[:300]


class KeyLoadError(OcopError):
    """A key could not be loaded: wrong passphrase, not encrypted, not Ed25519, or not a key."""

    code = "key_load_failed"


class SigningRefused(OcopError):
    """The issuer refused to sign: the payload lies outside the signing key's scope."""

    code = "signing_refused"


class DocumentError(OcopError):
    """A trust list or status list document was rejected. ``kind`` names which document."""

    code = "document_invalid"

    def __init__(self, detail: str, *, kind: str, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.kind = kind


class DocumentInvalid(DocumentError):
    """The document is not well-formed JSON/JWS, or a field is missing or out of range."""

    code = "document_invalid"


class DocumentSignatureInvalid(DocumentError):
    """The document's signature does not verify with any trusted root key."""

    code = "document_signature_invalid"


class DocumentExpired(DocumentError):
    """The document's ``expires_at`` lies before the time of checking."""

    code = "document_expired"

    def __init__(self, detail: str, *, kind: str, expires_at: datetime, now: datetime) -> None:
        super().__init__(detail, kind=kind)
        self.expires_at = expires_at
        self.now = now


class DocumentRollback(DocumentError):
    """The document's version is lower than the version the verifier already holds."""

    code = "document_rollback"

    def __init__(self, detail: str, *, kind: str, held_version: int, offered_version: int) -> None:
        super().__init__(detail, kind=kind)
        self.held_version = held_version
        self.offered_version = offered_version


class DocumentGap(DocumentError):
    """Changes to a document apply to another version than the one held (section 7.5): the
    holder fetches the whole document instead."""

    code = "document_gap"

    def __init__(self, detail: str, *, kind: str, held_version: int, since: int) -> None:
        super().__init__(detail, kind=kind)
        self.held_version = held_version
        self.since = since
