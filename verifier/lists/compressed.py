"""A signed document as it is served: compressed once per version with gzip and brotli, so
that no request compresses it again."""

from __future__ import annotations

import gzip
import hashlib
from dataclasses import dataclass
from datetime import datetime

import brotli


@dataclass(frozen=True, slots=True)
class CompressedDocument:
    """A document's bytes as they are, gzipped and brotli-compressed, with its ETag."""

    raw: bytes
    gzip: bytes
    brotli: bytes
    version: int
    digest: str  # SHA-256 of ``raw``, hex
    etag: str
    renew_at: datetime | None  # when to sign it again (half its validity), if it expires

    @classmethod
    def of(
        cls, document: bytes, version: int, renew_at: datetime | None = None
    ) -> CompressedDocument:
        """Return ``document`` (at ``version``, to be signed again at ``renew_at``) compressed
        both ways, at the levels that pay for a document fetched by many phones: gzip 9,
        brotli quality 9 (11 takes many times longer for a few per cent)."""
        digest = hashlib.sha256(document).hexdigest()
        return cls(
            document,
            gzip.compress(document, compresslevel=9, mtime=0),
            brotli.compress(document, mode=brotli.MODE_TEXT, quality=9),
            version,
            digest,
            f'"{version}-{digest[:16]}"',
            renew_at,
        )

    @classmethod
    def stored(
        cls, document: bytes, forms: tuple[bytes, bytes] | None, version: int,
        renew_at: datetime | None = None,
    ) -> CompressedDocument:  # fmt: skip
        """Return ``document`` with its gzip and brotli ``forms`` as the signer stored them,
        or compressed here when there are none (stored before the signer kept them)."""
        if forms is None:
            return cls.of(document, version, renew_at)
        digest = hashlib.sha256(document).hexdigest()
        return cls(document, *forms, version, digest, f'"{version}-{digest[:16]}"', renew_at)

    def encoded(self, accept_encoding: str) -> tuple[bytes, str | None]:
        """Return the body to send to a client that sent ``accept_encoding``, and its
        ``Content-Encoding`` (``None`` for the bytes as they are)."""
        accepted = {name for name, weight in _codings(accept_encoding) if weight > 0}
        if "br" in accepted:
            return self.brotli, "br"
        if "gzip" in accepted:
            return self.gzip, "gzip"
        return self.raw, None


def _codings(accept_encoding: str) -> list[tuple[str, float]]:
    """Return the codings of an ``Accept-Encoding`` header with their weights (RFC 9110
    section 12.5.3; an unreadable weight counts as 0, "not this")."""
    codings = []
    for part in accept_encoding.lower().split(","):
        name, _, parameter = part.partition(";")
        weight = 1.0
        if parameter.strip():
            key, _, value = parameter.strip().partition("=")
            try:
                weight = float(value) if key.strip() == "q" else 0.0
            except ValueError:
                weight = 0.0
        codings.append((name.strip(), weight))
    return codings
