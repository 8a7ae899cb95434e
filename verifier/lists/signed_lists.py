"""The signed trust and status lists, the status list's changes and the registry snapshot, built
from the registry; the lists are kept in its ``meta`` table."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from signing import (
    SNAPSHOT_TYPE,
    CertificateRef,
    CertificateState,
    CertificateStatus,
    Ed25519Signer,
    SerialRange,
    StatusChanges,
    StatusList,
    TrustedKey,
    TrustList,
    sign_document,
)
from signing.dates import format_time, parse_time
from verifier.lists.registry_index import PublicCertificate, RegistryIndex
from verifier.store.models import Meta, SigningKey

TRUST_LIST_VALIDITY = timedelta(days=30)
STATUS_LIST_VALIDITY = timedelta(days=7)


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


def _next_version(session: Session, name: str) -> int:
    row = session.get(Meta, f"{name}-version", with_for_update=True)
    version = 1 if row is None else int(row.value) + 1
    session.merge(Meta(key=f"{name}-version", value=str(version)))
    return version


def _store(session: Session, name: str, document: bytes) -> None:
    session.merge(Meta(key=name, value=document.decode()))
    session.merge(Meta(key=f"{name}-digest", value=hashlib.sha256(document).hexdigest()))


def publish_trust_list(
    session: Session, root: Ed25519Signer, now: datetime
) -> tuple[TrustList, bytes]:
    """Sign a new version of the trust list from the registry's keys, store it and return it
    with its signed document."""
    keys = session.scalars(select(SigningKey).order_by(SigningKey.index)).all()
    trust_list = TrustList.of(
        _next_version(session, "trust-list"),
        now,
        now + TRUST_LIST_VALIDITY,
        [trusted_key(k) for k in keys],
    )
    document = trust_list.sign(root)
    _store(session, "trust-list", document)
    return trust_list, document


def publish_status_list(session: Session, status_list: StatusList, root: Ed25519Signer) -> bytes:
    """Sign ``status_list`` (see :func:`status_list_of`), store it and return the document."""
    document = status_list.sign(root)
    _store(session, "status-list", document)
    return document


def stored_digest(session: Session, name: str) -> str | None:
    """Return the SHA-256 (hex) of the stored document ``trust-list``, ``status-list`` or
    ``registry-snapshot``, or ``None`` when none was stored with one (then it is read and
    checked whole): what tells whether it changed without reading it."""
    row = session.get(Meta, f"{name}-digest")
    return None if row is None else row.value


def stored_document(session: Session, name: str) -> bytes | None:
    """Return the stored signed document ``trust-list``, ``status-list`` or
    ``registry-snapshot``, if any."""
    row = session.get(Meta, name)
    return None if row is None else row.value.encode()


def store_snapshot(session: Session, snapshot: Snapshot) -> None:
    """Store the signed registry snapshot, with its version and when to sign a fresh one, for
    every process that serves it (the signer makes it, the public role only reads it)."""
    _store(session, "registry-snapshot", snapshot.document)
    session.merge(Meta(key="registry-snapshot-version", value=str(snapshot.version)))
    session.merge(Meta(key="registry-snapshot-renew-at", value=format_time(snapshot.renew_at)))


def stored_snapshot(session: Session) -> Snapshot | None:
    """Return the stored registry snapshot (see :func:`store_snapshot`), or ``None``."""
    document = stored_document(session, "registry-snapshot")
    version = session.get(Meta, "registry-snapshot-version")
    renew_at = session.get(Meta, "registry-snapshot-renew-at")
    if document is None or version is None or renew_at is None:
        return None
    return Snapshot(document, int(version.value), parse_time(renew_at.value))


SNAPSHOT_VALIDITY = timedelta(days=7)


def registry_snapshot(
    index: RegistryIndex, root: Ed25519Signer, now: datetime, since: int | None = None
) -> Snapshot:
    """Return the signed registry snapshot offline scanners keep: for every certificate, what
    the verdict page shows (product, producer, province, stars, validity, status). With
    ``since``, only the certificates changed after that registry version (a scanner that holds
    version ``since`` merges them into what it holds)."""
    certificates = [
        {
            "issuer": c.issuer,
            "certificate_id": c.id,
            "status": c.status,
            "stars": c.stars,
            "valid_until": c.valid_until.isoformat(),
            "decision_number": c.decision_number,
            "product": c.product.name,
            "pack_description": c.product.pack_description,
            "producer": c.producer.name,
            "province_code": c.producer.province_code,
        }
        for c in sorted(index.certificates.values(), key=lambda c: c.id)
        if since is None or c.changed_version > since
    ]
    claims = {
        "type": "ocop-registry-snapshot",
        "version": index.version,
        "since": since,
        "issued_at": format_time(now),
        "expires_at": format_time(now + SNAPSHOT_VALIDITY),
        "certificates": certificates,
    }
    return Snapshot(
        sign_document(claims, SNAPSHOT_TYPE, root), index.version, now + SNAPSHOT_VALIDITY / 2
    )


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The signed snapshot, the registry version it shows, and when to sign a fresh one."""

    document: bytes
    version: int
    renew_at: datetime
