"""The signed trust and status lists, the status list's changes and the registry snapshot: what
each holds, built from the registry, and where they are kept (its ``meta`` table). Only the
signer (:mod:`verifier.signer.list_publisher`) signs and stores them; every role reads them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from signing import (
    CertificateRef,
    CertificateState,
    CertificateStatus,
    SerialRange,
    StatusChanges,
    StatusList,
    TrustedKey,
    TrustList,
)
from signing.dates import parse_time
from verifier.lists.registry_index import PublicCertificate, RegistryIndex
from verifier.store.models import CompressedForms, Meta, SigningKey

TRUST_LIST_VALIDITY = timedelta(days=30)
STATUS_LIST_VALIDITY = timedelta(days=7)
SNAPSHOT_VALIDITY = timedelta(days=7)
CHANGES_WINDOW = 500  # versions back for which changes are signed; older holders get it whole
CHANGES_KINDS = ("status-list", "registry-snapshot")


def trusted_key(key: SigningKey) -> TrustedKey:
    """Return a registry key as its trust-list entry."""
    return TrustedKey(
        index=key.index,
        public_key=key.public_key,
        issuer=key.authority.code,
        issuer_name=key.authority.name,
        province_code=key.authority.province_code,
        stars=key.star_set,
        not_before=key.not_before,
        not_after=key.not_after,
        status=key.status,
        last_serial=key.last_serial,
    )


def certificate_status(
    certificate: PublicCertificate, certificates: Mapping[int, PublicCertificate]
) -> CertificateStatus:
    """Return a certificate as its status-list entry. The successor that ``superseded_by``
    names is looked up in ``certificates``: it may be another authority's (the central
    council's 5 stars after a province's 4)."""
    successor = None
    if certificate.superseded_by is not None:
        successor_id = certificate.superseded_by
        successor = CertificateRef(certificates[successor_id].issuer, successor_id)
    return CertificateStatus(
        ref=CertificateRef(certificate.issuer, certificate.id),
        status=CertificateState(certificate.status),
        stars=certificate.stars,
        valid_until=certificate.valid_until,
        reason=certificate.revocation_reason,
        decision=certificate.revocation_decision,
        superseded_by=successor,
        gtin=certificate.product.gtin,
    )


def status_list_of(index: RegistryIndex, now: datetime) -> StatusList:
    """Return the status list of the registry at ``index.version``, valid from ``now``."""
    certificates = index.certificates
    return StatusList.of(
        index.version,
        now,
        now + STATUS_LIST_VALIDITY,
        [certificate_status(c, certificates) for c in certificates.values()],
        blocked=[b.serials for b in index.blocked.values() if not b.lifted],
        voided=[v.serials for v in index.voided.values()],
    )


def status_changes_of(index: RegistryIndex, since: int, now: datetime) -> StatusChanges:
    """Return what changed in the status list after version ``since`` (at most
    ``index.version``), valid from ``now`` (docs/stamp-format.md section 7.5)."""
    certificates = index.certificates
    changed = [b for b in index.blocked.values() if b.changed_version > since]
    still_blocked = {_span(b.serials) for b in index.blocked.values() if not b.lifted}
    return StatusChanges(
        since=since,
        version=index.version,
        issued_at=now,
        expires_at=now + STATUS_LIST_VALIDITY,
        certificates=tuple(
            certificate_status(c, certificates)
            for c in certificates.values()
            if c.changed_version > since
        ),
        blocked=tuple(b.serials for b in changed if not b.lifted),
        # a lifted range that another block still holds stays blocked
        lifted=tuple(
            replace(b.serials, reason=None)
            for b in changed
            if b.lifted and _span(b.serials) not in still_blocked
        ),
        voided=tuple(v.serials for v in index.voided.values() if v.changed_version > since),
    )


def _span(serials: SerialRange) -> tuple[int, int, int]:
    return serials.key_index, serials.first, serials.last


def stored_digest(session: Session, name: str) -> str | None:
    """Return the SHA-256 (hex) of the stored document ``trust-list``, ``status-list`` or
    ``registry-snapshot``, or ``None`` when none was stored with one (then it is read and
    checked whole): what tells whether it changed without reading it."""
    row = session.get(Meta, f"{name}-digest")
    return None if row is None else row.value


def stored_forms(session: Session, name: str, digest: str) -> tuple[bytes, bytes] | None:
    """Return the gzip and brotli forms the signer stored of document ``name`` whose SHA-256
    is ``digest``, or ``None`` when it stored none of that document."""
    row = session.get(CompressedForms, name)
    return None if row is None or row.digest != digest else (row.gzip, row.brotli)


def stored_document(session: Session, name: str) -> bytes | None:
    """Return the stored signed document ``trust-list``, ``status-list`` or
    ``registry-snapshot``, if any."""
    row = session.get(Meta, name)
    return None if row is None else row.value.encode()


def stored_snapshot(session: Session) -> Snapshot | None:
    """Return the stored registry snapshot (see :func:`store_snapshot`), or ``None``."""
    document = stored_document(session, "registry-snapshot")
    version = session.get(Meta, "registry-snapshot-version")
    renew_at = session.get(Meta, "registry-snapshot-renew-at")
    if document is None or version is None or renew_at is None:
        return None
    return Snapshot(document, int(version.value), parse_time(renew_at.value))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The signed snapshot, the registry version it shows, and when to sign a fresh one."""

    document: bytes
    version: int
    renew_at: datetime


def status_list_now(
    index: RegistryIndex, now: datetime, held: tuple[RegistryIndex, StatusList] | None
) -> StatusList:
    """Return the status list at ``index``'s version: the one ``held`` (with the index it was
    made from) brought up by the changes since, or made whole (at start, or when the one held
    is past half its validity)."""
    if held is None or not fresh(held[1], now):
        return status_list_of(index, now)
    held_index, held_list = held
    if index is held_index:
        return held_list
    return held_list.apply(status_changes_of(index, held_index.version, now))


def renew_at(document: TrustList | StatusList) -> datetime:
    """Return when a list is half through its validity: it is signed again from then on."""
    return document.issued_at + (document.expires_at - document.issued_at) / 2


def fresh(document: TrustList | StatusList, now: datetime) -> bool:
    """Return whether a list is within the first half of its validity."""
    return now < renew_at(document)


def changes_start(since: int, version: int) -> int:
    """Return the version the changes served to a holder of version ``since`` start from, at
    ``version``: ``since`` itself when it is one of the last two versions, else the version a
    power of two back from ``version`` at or below ``since`` (docs/stamp-format.md 7.5: changes
    since an older version apply too). So a dozen documents per version serve every holder,
    each at most twice the changes it needs."""
    behind = version - since
    if behind <= 2:
        return since
    return max(0, version - (1 << (behind - 1).bit_length()))


def changes_starts(version: int) -> list[int]:
    """Return every start :func:`changes_start` gives the holders within
    :data:`CHANGES_WINDOW` versions of ``version``: the changes documents signed for it."""
    since = range(max(0, version - CHANGES_WINDOW), version + 1)
    return sorted({changes_start(s, version) for s in since})


def changes_key(kind: str, version: int | None = None, start: int | None = None) -> str:
    """Return the ``meta`` key of the signed changes of ``kind`` (one of
    :data:`CHANGES_KINDS`) from version ``start`` to ``version``; without ``start``, what the
    keys of all changes to ``version`` begin with; without either, of all changes of ``kind``."""
    key = f"{kind}-changes-"
    if version is not None:
        key += f"{version}-"
        if start is not None:
            key += str(start)
    return key


def stored_changes(session: Session, kind: str, version: int, start: int) -> bytes | None:
    """Return the stored changes document of ``kind`` from ``start`` to ``version``, if the
    signer stored one."""
    row = session.get(Meta, changes_key(kind, version, start))
    return None if row is None else row.value.encode()
