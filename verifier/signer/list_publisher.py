"""The signer's half of the signed lists: sign the trust list, the status list, the registry
snapshot and their changes with the root key, and store them where every role reads them
(:mod:`verifier.lists.signed_lists`). :class:`ListPublisher` decides when: whenever the registry
changed, its keys differ from the trust list's, or a document is past half its validity."""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from signing import (
    SNAPSHOT_TYPE,
    DocumentError,
    Ed25519Signer,
    StatusList,
    TrustList,
    sign_document,
)
from signing.dates import format_time, parse_time
from verifier.lists.compressed import CompressedDocument
from verifier.lists.registry_index import LotSummary, RegistryIndex
from verifier.lists.signed_lists import (
    CHANGES_KINDS,
    SNAPSHOT_VALIDITY,
    TRUST_LIST_VALIDITY,
    Snapshot,
    changes_key,
    changes_starts,
    fresh,
    renew_at,
    status_changes_of,
    status_list_now,
    stored_digest,
    stored_document,
    trusted_key,
)
from verifier.store.models import CompressedForms, Meta, SigningKey

__all__ = [
    "ListPublisher",
    "publish_status_list",
    "publish_trust_list",
    "registry_snapshot",
    "store_snapshot",
]

_log = logging.getLogger(__name__)


def _next_version(session: Session, name: str) -> int:
    row = session.get(Meta, f"{name}-version", with_for_update=True)
    version = 1 if row is None else int(row.value) + 1
    session.merge(Meta(key=f"{name}-version", value=str(version)))
    return version


def _store(session: Session, name: str, document: bytes) -> None:
    """Store ``document`` as ``name`` with its digest, and its compressed forms (made here,
    once, rather than in every public worker)."""
    digest = hashlib.sha256(document).hexdigest()
    session.merge(Meta(key=name, value=document.decode()))
    session.merge(Meta(key=f"{name}-digest", value=digest))
    compressed = CompressedDocument.of(document, 0)
    session.merge(CompressedForms(name=name, digest=digest, gzip=compressed.gzip,
                                  brotli=compressed.brotli))  # fmt: skip


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


def store_snapshot(session: Session, snapshot: Snapshot) -> None:
    """Store the signed registry snapshot, with its version and when to sign a fresh one, for
    every process that serves it (the signer makes it, the public role only reads it)."""
    _store(session, "registry-snapshot", snapshot.document)
    session.merge(Meta(key="registry-snapshot-version", value=str(snapshot.version)))
    session.merge(Meta(key="registry-snapshot-renew-at", value=format_time(snapshot.renew_at)))


def registry_snapshot(
    index: RegistryIndex, root: Ed25519Signer, now: datetime, since: int | None = None
) -> Snapshot:
    """Return the signed registry snapshot offline scanners keep: for every certificate, what
    the verdict page shows (product, producer, province, stars, validity, status), and every
    lot a batch labels in short (:func:`_lot_entry`). With ``since``, only the certificates and
    lots changed after that registry version (a scanner that holds version ``since`` merges
    them into what it holds)."""
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
        "lots": [
            _lot_entry(lot)
            for lot in sorted(index.lots.values(), key=lambda lot: lot.id)
            if lot.batches and (since is None or lot.changed_version > since)
        ],
    }
    return Snapshot(
        sign_document(claims, SNAPSHOT_TYPE, root), index.version, now + SNAPSHOT_VALIDITY / 2
    )


def _lot_entry(lot: LotSummary) -> dict[str, Any]:
    """Return a lot as the snapshot's ``lots`` carry it (docs/stamp-format.md section 7.6):
    ``best_before`` and ``expires_on`` only when declared."""
    entry: dict[str, Any] = {
        "lot_id": lot.id,
        "lot_number": lot.lot_number,
        "produced_on": lot.produced_on.isoformat(),
        "origins": list(lot.origins),
        "stages": lot.stages,
        "standards": list(lot.standards),
        "batches": [list(batch) for batch in lot.batches],
    }
    for name, day in (("best_before", lot.best_before), ("expires_on", lot.expires_on)):
        if day is not None:
            entry[name] = day.isoformat()
    return entry


def _store_changes(session: Session, kind: str, version: int, documents: dict[int, bytes]) -> None:
    """Store the signed changes of ``kind`` to ``version`` by their start, and drop those to
    earlier versions (no holder is sent them again)."""
    session.execute(
        delete(Meta).where(
            Meta.key.startswith(changes_key(kind), autoescape=True),
            ~Meta.key.startswith(changes_key(kind, version), autoescape=True),
        )
    )
    for start, document in documents.items():
        session.merge(Meta(key=changes_key(kind, version, start), value=document.decode()))


@dataclass(frozen=True, slots=True)
class _Stored:
    """What the publisher knows of a document stored: its digest, version and when to sign it
    again."""

    digest: str | None
    version: int
    renew_at: datetime


@dataclass
class ListPublisher:
    """Keeps the stored documents up to the registry: :meth:`publish` signs what is missing,
    behind, or past half its validity, and nothing else."""

    sessions: sessionmaker[Session]
    writer: sessionmaker[Session]
    root: Ed25519Signer
    status_signings: int = 0  # how many times this process signed the status list
    _held: tuple[RegistryIndex, StatusList] | None = None
    _status: _Stored | None = None
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def publish(self, now: datetime) -> bool:
        """Bring every stored document up to the registry at ``now``: the trust list when it
        is missing, no longer verifies, is past half its validity or names other keys than the
        registry's; the status list and the snapshot, each with its changes for the holders of
        the last :data:`CHANGES_WINDOW` versions, when behind the registry or past half their
        validity. Returns whether anything was signed."""
        with self.sessions() as session:
            held = self._held
            index = RegistryIndex.load(session) if held is None else held[0].updated(session)
            status_digest = stored_digest(session, "status-list")
            snapshot_version = _meta(session, "registry-snapshot-version")
            snapshot_renew = _meta(session, "registry-snapshot-renew-at")
        signed = self._trust_list(now)
        status_list = status_list_now(index, now, held)
        self._held = (index, status_list)
        stored = self._stored_status(status_digest, now)
        if stored is None or stored.version < index.version or now >= stored.renew_at:
            self._sign_status(index, status_list, now)
            signed = True
        if (
            snapshot_version is None
            or snapshot_renew is None
            or int(snapshot_version) < index.version
            or now >= parse_time(snapshot_renew)
        ):
            self._sign_snapshot(index, now)
            signed = True
        return signed

    def publish_in_background(self, clock: Callable[[], datetime], every: float) -> None:
        """Call :meth:`publish` every ``every`` seconds from a thread of its own until
        :meth:`stop`: the documents follow the registry within that, and are signed at most
        that often however many writes arrive."""

        def run() -> None:
            failing_since: datetime | None = None
            while not self._stopping.is_set():
                try:
                    self.publish(clock())
                except Exception:  # the stored documents keep serving; the next round retries
                    if failing_since is None:  # the traceback once a spell, not every round
                        _log.exception("could not publish the signed lists")
                        failing_since = clock()
                else:
                    if failing_since is not None:
                        _log.warning("the signed lists are published again, after a failure "
                                     "since %s", format_time(failing_since))  # fmt: skip
                        failing_since = None
                self._stopping.wait(every)

        self._thread = threading.Thread(target=run, name="ocop-list-publisher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread of :meth:`publish_in_background`, if there is one."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _trust_list(self, now: datetime) -> bool:
        """Sign the trust list again unless the one stored verifies, is fresh and names the
        registry's keys. Returns whether it was signed."""
        with self.sessions() as session:
            document = stored_document(session, "trust-list")
            keys = session.scalars(select(SigningKey).order_by(SigningKey.index)).all()
            registry_keys = {trusted_key(k) for k in keys}
        if document is not None:
            try:
                current = TrustList.verify(document, [self.root.public_key], now)
            except DocumentError:
                pass
            else:
                if fresh(current, now) and set(current.keys.values()) == registry_keys:
                    return False
        with self.writer.begin() as session:
            publish_trust_list(session, self.root, now)
        return True

    def _stored_status(self, digest: str | None, now: datetime) -> _Stored | None:
        """Return what is known of the stored status list: what this publisher stored while
        the digest is its own, else read and checked (another signer, a standby, stored it)."""
        if self._status is not None and digest == self._status.digest:
            return self._status
        with self.sessions() as session:
            document = stored_document(session, "status-list")
        if document is None:
            return None
        try:
            stored = StatusList.verify(document, [self.root.public_key], now)
        except DocumentError:
            return None
        self._status = _Stored(digest, stored.version, renew_at(stored))
        return self._status

    def _sign_status(self, index: RegistryIndex, status_list: StatusList, now: datetime) -> None:
        """Sign and store ``status_list`` with its changes for every holder within the
        window."""
        changes = {
            start: status_changes_of(index, start, now).sign(self.root)
            for start in changes_starts(index.version)
        }
        with self.writer.begin() as session:
            document = publish_status_list(session, status_list, self.root)
            _store_changes(session, CHANGES_KINDS[0], index.version, changes)
        self.status_signings += 1
        digest = hashlib.sha256(document).hexdigest()
        self._status = _Stored(digest, status_list.version, renew_at(status_list))

    def _sign_snapshot(self, index: RegistryIndex, now: datetime) -> None:
        """Sign and store the registry snapshot with its changes for every holder within the
        window."""
        snapshot = registry_snapshot(index, self.root, now)
        changes = {
            start: registry_snapshot(index, self.root, now, start).document
            for start in changes_starts(index.version)
        }
        with self.writer.begin() as session:
            store_snapshot(session, snapshot)
            _store_changes(session, CHANGES_KINDS[1], index.version, changes)


def _meta(session: Session, key: str) -> str | None:
    row = session.get(Meta, key)
    return None if row is None else row.value
