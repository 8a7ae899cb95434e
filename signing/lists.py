"""The trust list, the status list and its changes: signed JSON documents that offline
verifiers hold.

Build a :class:`TrustList` or :class:`StatusList`, sign it with the national root key
(:meth:`TrustList.sign`), publish the bytes; verifiers load them with :meth:`TrustList.verify`,
which checks the signature, the type, every field, the expiry and the version.

Over 400 lines because the status list and its changes (section 7.5) share how their
certificate entries and serial ranges are written and read, kept private here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, ClassVar, NamedTuple, Protocol, Self, TypeVar

from signing import _jws
from signing._claims import Fields, check_fresh, check_header
from signing.dates import format_time
from signing.errors import DocumentGap, DocumentInvalid
from signing.gs1_link import is_gtin
from signing.keys import (
    Ed25519Signer,
    KeyStatus,
    TrustedKey,
    b64url_decode,
    b64url_encode,
)

__all__ = [
    "MAX_SUPERSEDE_CHAIN",
    "SNAPSHOT_TYPE",
    "STATUS_CHANGES_TYPE",
    "STATUS_LIST_TYPE",
    "TRUST_LIST_TYPE",
    "CertificateRef",
    "CertificateState",
    "CertificateStatus",
    "SerialRange",
    "StatusChanges",
    "StatusList",
    "TrustList",
    "follow_supersedes",
    "sign_document",
]

TRUST_LIST_TYPE = "ocop-trust-list+json"
SNAPSHOT_TYPE = "ocop-registry-snapshot+json"
STATUS_LIST_TYPE = "ocop-status-list+json"
STATUS_CHANGES_TYPE = "ocop-status-list-changes+json"
MAX_SUPERSEDE_CHAIN = 16  # steps followed from a certificate to the one that replaced it

_T = TypeVar("_T")
_K = TypeVar("_K")
_K_co = TypeVar("_K_co", covariant=True)
_E = TypeVar("_E", bound="_Superseded[Any]")


class CertificateState(StrEnum):
    """The registry status of a certificate (an OCOP recognition)."""

    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"
    SUPERSEDED = "superseded"


class CertificateRef(NamedTuple):
    """Names a certificate nationwide: the issuing authority's code and its certificate id (a
    tuple, so that the lookup every check makes hashes and compares it in C)."""

    issuer: str
    certificate_id: int


@dataclass(frozen=True, slots=True)
class CertificateStatus:
    """One certificate's current state as the status list publishes it.

    ``superseded_by`` names the certificate that replaced it after re-evaluation or renewal;
    ``gtin`` is its product's GTIN (14 digits), what a stamp's Digital Link form must name.
    Raises ``ValueError`` when a superseded entry does not name its successor, or for a GTIN
    that is not 14 digits with its check digit.
    """

    ref: CertificateRef
    status: CertificateState
    stars: int
    valid_until: date
    reason: str | None = None
    decision: str | None = None
    superseded_by: CertificateRef | None = None
    gtin: str | None = None

    def __post_init__(self) -> None:
        if self.stars not in (3, 4, 5):
            raise ValueError(f"certificate stars must be 3, 4 or 5, not {self.stars}")
        if self.gtin is not None and not is_gtin(self.gtin):
            raise ValueError(f"a GTIN is 14 digits with its check digit, not {self.gtin!r}")
        if (self.status is CertificateState.SUPERSEDED) != (self.superseded_by is not None):
            raise ValueError("superseded_by is given exactly when the status is superseded")


@dataclass(frozen=True, slots=True)
class SerialRange:
    """Serials ``first`` to ``last`` (inclusive) of one key, with the reason they are listed."""

    key_index: int
    first: int
    last: int
    reason: str | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.first <= self.last < 1 << 48 or not 0 <= self.key_index <= 0xFFFF:
            raise ValueError("a serial range needs 0 <= first <= last < 2**48 and a key index")


class _Superseded(Protocol[_K_co]):
    """An entry naming the entry that replaced it, by its key, or ``None``."""

    @property
    def superseded_by(self) -> _K_co | None: ...


def follow_supersedes(start: _E, entries: Mapping[_K, _E]) -> _E:
    """Return the certificate ``start`` resolves to after re-evaluations and renewals, each
    entry naming its successor's key in ``entries`` (``superseded_by``). An unknown successor
    ends the walk; a chain longer than :data:`MAX_SUPERSEDE_CHAIN`, or a cycle, resolves to
    the last certificate reached. The one walk for the status list and the registry."""
    current = start
    for _ in range(MAX_SUPERSEDE_CHAIN):
        key = current.superseded_by
        following = None if key is None else entries.get(key)
        if following is None:
            break
        current = following
    return current


def _holding(ranges: tuple[SerialRange, ...], key_index: int, serial: int) -> SerialRange | None:
    # every verification asks twice: a plain loop, no method call per range
    for r in ranges:
        if r.key_index == key_index and r.first <= serial <= r.last:
            return r
    return None


class _Signed:
    """What the three documents share: signing with the root key, and checking a signed one
    (docs/stamp-format.md section 7.1). A subclass names its ``KIND`` and ``TYP`` and reads
    and writes its claims."""

    __slots__ = ()
    KIND: ClassVar[str]
    TYP: ClassVar[str]
    version: int
    expires_at: datetime

    def to_claims(self) -> dict[str, Any]:
        raise NotImplementedError

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> Self:
        raise NotImplementedError

    def sign(self, root_key: Ed25519Signer) -> bytes:
        """Return the signed document (flattened JWS JSON, UTF-8 bytes)."""
        return _jws.sign(self.to_claims(), self.TYP, root_key)

    @classmethod
    def verify(
        cls,
        document: bytes,
        root_keys: Iterable[bytes],
        now: datetime,
        *,
        held_version: int | None = None,
    ) -> Self:
        """Check a signed document of this kind and return it.

        Raises :class:`DocumentInvalid` (not of this kind, or a bad field),
        :class:`DocumentSignatureInvalid` (not signed by one of ``root_keys``),
        :class:`DocumentRollback` (version below ``held_version``) or
        :class:`DocumentExpired` (``now`` after ``expires_at``). Whether changes apply to the
        list held is :meth:`StatusList.apply`'s to say.
        """
        document_read = cls.from_claims(_jws.verify(document, cls.TYP, root_keys, cls.KIND))
        check_fresh(cls.KIND, document_read.version, document_read.expires_at, now, held_version)
        return document_read


@dataclass(frozen=True, slots=True)
class TrustList(_Signed):
    """The keys that may sign stamps, with their scopes; signed by the national root key.

    Raises ``ValueError`` when two entries share an index or ``expires_at`` is not after
    ``issued_at``.
    """

    version: int
    issued_at: datetime
    expires_at: datetime
    keys: Mapping[int, TrustedKey] = field(default_factory=dict)

    KIND: ClassVar[str] = "trust list"
    TYP: ClassVar[str] = TRUST_LIST_TYPE

    def __post_init__(self) -> None:
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be later than issued_at")
        if any(index != key.index for index, key in self.keys.items()):
            raise ValueError("keys must be mapped by their own index")

    @classmethod
    def of(
        cls, version: int, issued_at: datetime, expires_at: datetime, keys: Iterable[TrustedKey]
    ) -> TrustList:
        """Return a trust list of ``keys``. Raises ``ValueError`` on a repeated key index."""
        by_index: dict[int, TrustedKey] = {}
        for key in keys:
            if key.index in by_index:
                raise ValueError(f"key index {key.index} appears twice")
            by_index[key.index] = key
        return cls(version, issued_at, expires_at, by_index)

    def to_claims(self) -> dict[str, Any]:
        """Return the document's JSON content (see docs/stamp-format.md)."""
        return {
            "type": "ocop-trust-list",
            "version": self.version,
            "issued_at": format_time(self.issued_at),
            "expires_at": format_time(self.expires_at),
            "keys": [
                {
                    "index": k.index,
                    "public_key": b64url_encode(k.public_key),
                    "issuer": k.issuer,
                    "issuer_name": k.issuer_name,
                    "province_code": k.province_code,
                    "stars": sorted(k.stars),
                    "not_before": k.not_before.isoformat(),
                    "not_after": k.not_after.isoformat(),
                    "status": k.status.value,
                    "last_serial": k.last_serial,
                }
                for k in sorted(self.keys.values(), key=lambda k: k.index)
            ],
        }

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> TrustList:
        """Decode the JSON content. Raises :class:`DocumentInvalid` on any bad field."""
        document = Fields(claims, cls.KIND, "trust_list")
        version, issued_at, expires_at = check_header(document, "ocop-trust-list")
        keys = []
        for entry in document.items("keys"):
            stars = entry.get("stars", list, "a list of star levels")
            try:
                public_key = b64url_decode(entry.text("public_key"))
                keys.append(
                    TrustedKey(
                        index=entry.integer("index", 16),
                        public_key=public_key,
                        issuer=entry.text("issuer"),
                        issuer_name=entry.text("issuer_name"),
                        province_code=entry.text("province_code", optional=True),
                        stars=frozenset(stars),
                        not_before=entry.day("not_before"),
                        not_after=entry.day("not_after"),
                        status=entry.choice("status", KeyStatus),
                        last_serial=entry.get("last_serial", int, "an integer", optional=True),
                    )
                )
            except (ValueError, TypeError) as exc:
                raise DocumentInvalid(f"{entry.where}: {exc}", kind=cls.KIND) from None
        try:
            return cls.of(version, issued_at, expires_at, keys)
        except ValueError as exc:
            raise DocumentInvalid(str(exc), kind=cls.KIND) from None


def _ref_claims(ref: CertificateRef | None) -> dict[str, Any] | None:
    return None if ref is None else {"issuer": ref.issuer, "certificate_id": ref.certificate_id}


def _certificate_claims(entry: CertificateStatus) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "issuer": entry.ref.issuer,
        "certificate_id": entry.ref.certificate_id,
        "status": entry.status.value,
        "stars": entry.stars,
        "valid_until": entry.valid_until.isoformat(),
        "reason": entry.reason,
        "decision": entry.decision,
        "superseded_by": _ref_claims(entry.superseded_by),
    }
    if entry.gtin is not None:  # most products have none: the member is left out
        claims["gtin"] = entry.gtin
    return claims


def _ranges_claims(ranges: Iterable[SerialRange]) -> list[dict[str, Any]]:
    return [
        {"key_index": r.key_index, "first": r.first, "last": r.last, "reason": r.reason}
        for r in ranges
    ]


def _read_ref(entry: Fields, name: str) -> CertificateRef | None:
    value = entry.data.get(name)
    if value is None:
        return None
    inner = Fields(value, entry.kind, f"{entry.where}.{name}")
    return CertificateRef(inner.text("issuer"), inner.integer("certificate_id", 32))


def _read_certificates(document: Fields) -> list[CertificateStatus]:
    """Return the ``certificates`` entries; raises ``ValueError`` (or DocumentInvalid) on a bad
    one."""
    return [
        CertificateStatus(
            ref=CertificateRef(c.text("issuer"), c.integer("certificate_id", 32)),
            status=c.choice("status", CertificateState),
            stars=c.integer("stars", 8),
            valid_until=c.day("valid_until"),
            reason=c.text("reason", optional=True),
            decision=c.text("decision", optional=True),
            superseded_by=_read_ref(c, "superseded_by"),
            gtin=c.text("gtin", optional=True),
        )
        for c in document.items("certificates")
    ]


def _read_ranges(document: Fields, name: str) -> list[SerialRange]:
    return [
        SerialRange(
            r.integer("key_index", 16),
            r.integer("first", 48),
            r.integer("last", 48),
            r.text("reason", optional=True),
        )
        for r in document.items(name)
    ]


@dataclass(frozen=True, slots=True)
class StatusList(_Signed):
    """Live facts that stamps cannot carry: each certificate's status and current stars,
    blocked serials and voided batches; signed by the national root key."""

    version: int
    issued_at: datetime
    expires_at: datetime
    certificates: Mapping[CertificateRef, CertificateStatus] = field(default_factory=dict)
    blocked: tuple[SerialRange, ...] = ()
    voided: tuple[SerialRange, ...] = ()

    KIND: ClassVar[str] = "status list"
    TYP: ClassVar[str] = STATUS_LIST_TYPE

    def __post_init__(self) -> None:
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be later than issued_at")

    @classmethod
    def of(
        cls,
        version: int,
        issued_at: datetime,
        expires_at: datetime,
        certificates: Iterable[CertificateStatus] = (),
        blocked: Iterable[SerialRange] = (),
        voided: Iterable[SerialRange] = (),
    ) -> StatusList:
        """Return a status list. Raises ``ValueError`` on a certificate listed twice."""
        by_ref: dict[CertificateRef, CertificateStatus] = {}
        for entry in certificates:
            if entry.ref in by_ref:
                raise ValueError(f"certificate {entry.ref} appears twice")
            by_ref[entry.ref] = entry
        return cls(version, issued_at, expires_at, by_ref, tuple(blocked), tuple(voided))

    def current(
        self, ref: CertificateRef
    ) -> tuple[CertificateStatus | None, CertificateStatus | None]:
        """Return the entry for ``ref`` and the entry it resolves to after following
        ``superseded_by`` (the same entry when not superseded); ``(None, None)`` when unlisted.
        A broken or cyclic chain resolves to the last entry reached."""
        listed = self.certificates.get(ref)
        if listed is None:
            return None, None
        return listed, follow_supersedes(listed, self.certificates)

    def is_blocked(self, key_index: int, serial: int) -> SerialRange | None:
        """Return the blocked range holding this serial, or ``None``."""
        return _holding(self.blocked, key_index, serial)

    def is_voided(self, key_index: int, serial: int) -> SerialRange | None:
        """Return the voided batch holding this serial, or ``None``."""
        return _holding(self.voided, key_index, serial)

    def to_claims(self) -> dict[str, Any]:
        """Return the document's JSON content (see docs/stamp-format.md)."""
        return {
            "type": "ocop-status-list",
            "version": self.version,
            "issued_at": format_time(self.issued_at),
            "expires_at": format_time(self.expires_at),
            "certificates": [
                _certificate_claims(c)
                for c in sorted(self.certificates.values(), key=lambda c: c.ref)
            ],
            "blocked_serials": _ranges_claims(self.blocked),
            "voided_batches": _ranges_claims(self.voided),
        }

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> StatusList:
        """Decode the JSON content. Raises :class:`DocumentInvalid` on any bad field."""
        document = Fields(claims, cls.KIND, "status_list")
        version, issued_at, expires_at = check_header(document, "ocop-status-list")
        try:
            return cls.of(
                version,
                issued_at,
                expires_at,
                _read_certificates(document),
                _read_ranges(document, "blocked_serials"),
                _read_ranges(document, "voided_batches"),
            )
        except DocumentInvalid:
            raise
        except ValueError as exc:
            raise DocumentInvalid(str(exc), kind=cls.KIND) from None

    def apply(self, changes: StatusChanges) -> StatusList:
        """Return this list brought to ``changes.version`` (docs/stamp-format.md section 7.5):
        changes since this version or an older one (they hold whole entries, so what this list
        has of them already is set again to the same).

        Raises :class:`DocumentGap` when this version is not from ``changes.since`` to
        ``changes.version``.
        """
        if not changes.since <= self.version <= changes.version:
            raise DocumentGap(
                f"the changes from version {changes.since} to {changes.version} do not apply "
                f"to version {self.version}",
                kind=StatusChanges.KIND,
                held_version=self.version,
                since=changes.since,
            )
        certificates = dict(self.certificates)
        certificates.update((c.ref, c) for c in changes.certificates)
        lifted = {(r.key_index, r.first, r.last) for r in changes.lifted}
        blocked = [r for r in self.blocked if (r.key_index, r.first, r.last) not in lifted]
        return StatusList(
            changes.version,
            changes.issued_at,
            changes.expires_at,
            certificates,
            _with_new(blocked, changes.blocked),
            _with_new(self.voided, changes.voided),
        )


def _with_new(held: Iterable[SerialRange], added: Iterable[SerialRange]) -> tuple[SerialRange, ...]:
    """Return ``held`` and the ranges of ``added`` not held yet (by key, first and last)."""
    ranges = list(held)
    seen = {(r.key_index, r.first, r.last) for r in ranges}
    for r in added:
        if (r.key_index, r.first, r.last) not in seen:
            seen.add((r.key_index, r.first, r.last))
            ranges.append(r)
    return tuple(ranges)


@dataclass(frozen=True, slots=True)
class StatusChanges(_Signed):
    """What changed in the status list from version ``since`` to ``version``: whole entries of
    the certificates that changed, ranges blocked, lifted and voided (section 7.5)."""

    since: int
    version: int
    issued_at: datetime
    expires_at: datetime
    certificates: tuple[CertificateStatus, ...] = ()
    blocked: tuple[SerialRange, ...] = ()
    lifted: tuple[SerialRange, ...] = ()
    voided: tuple[SerialRange, ...] = ()

    KIND: ClassVar[str] = "status list changes"
    TYP: ClassVar[str] = STATUS_CHANGES_TYPE

    def __post_init__(self) -> None:
        if self.expires_at <= self.issued_at:
            raise ValueError("expires_at must be later than issued_at")
        if self.version < self.since:
            raise ValueError("changes cannot lead to a version below the one they apply to")

    def to_claims(self) -> dict[str, Any]:
        """Return the document's JSON content (section 7.5)."""
        return {
            "type": "ocop-status-list-changes",
            "since": self.since,
            "version": self.version,
            "issued_at": format_time(self.issued_at),
            "expires_at": format_time(self.expires_at),
            "certificates": [
                _certificate_claims(c) for c in sorted(self.certificates, key=lambda c: c.ref)
            ],
            "blocked_serials": _ranges_claims(self.blocked),
            "lifted_serials": _ranges_claims(self.lifted),
            "voided_batches": _ranges_claims(self.voided),
        }

    @classmethod
    def from_claims(cls, claims: Mapping[str, Any]) -> StatusChanges:
        """Decode the JSON content. Raises :class:`DocumentInvalid` on any bad field."""
        document = Fields(claims, cls.KIND, "status_list_changes")
        version, issued_at, expires_at = check_header(document, "ocop-status-list-changes")
        since = document.integer("since")
        if since > version:
            raise document.fail("since", "at most the version")
        try:
            return cls(
                since,
                version,
                issued_at,
                expires_at,
                tuple(_read_certificates(document)),
                tuple(_read_ranges(document, "blocked_serials")),
                tuple(_read_ranges(document, "lifted_serials")),
                tuple(_read_ranges(document, "voided_batches")),
            )
        except DocumentInvalid:
            raise
        except ValueError as exc:
            raise DocumentInvalid(str(exc), kind=cls.KIND) from None


def sign_document(claims: Mapping[str, Any], typ: str, root_key: Ed25519Signer) -> bytes:
    """Return other root-signed JSON, such as the registry snapshot offline scanners keep, as a
    flattened JWS of type ``typ`` (the same envelope as the lists)."""
    return _jws.sign(dict(claims), typ, root_key)
