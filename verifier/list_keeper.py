"""The signed lists a process serves, kept up to the registry: made in one place,
:meth:`ListKeeper._refresh`, either by the requests that find them stale (tests and one-shot
commands) or by a thread of their own (``ocop serve``, ``ocop signer``), so that no request
signs or rebuilds anything. A keeper with the root key signs and stores the documents; one
without it (the public role) serves those stored, checked with the root's public key."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from signing import DocumentError, Ed25519Signer, StatusList, TrustList
from verifier.lists.compressed import CompressedDocument
from verifier.lists.registry_index import RegistryIndex
from verifier.lists.signed_lists import (
    Snapshot,
    publish_status_list,
    publish_trust_list,
    registry_snapshot,
    status_changes_of,
    status_list_of,
    store_snapshot,
    stored_digest,
    stored_document,
    stored_snapshot,
    trusted_key,
)
from verifier.settings import Settings
from verifier.store.models import SigningKey

CHANGES_WINDOW = 500  # versions back for which changes are made; older holders get it whole
_log = logging.getLogger(__name__)
_L = TypeVar("_L", TrustList, StatusList)


@dataclass(frozen=True, slots=True)
class Lists:
    """What verdicts read, at the registry's version (the index, the trust list, the status
    list), and the signed documents phones download, compressed as they are served (these
    follow within ``list_publish_seconds``), with the changes since a version made so far."""

    trust_list: TrustList
    status_list: StatusList
    index: RegistryIndex
    snapshot: Snapshot
    trust: CompressedDocument
    status: CompressedDocument
    snapshot_body: CompressedDocument
    changes: dict[tuple[str, int], CompressedDocument] = field(default_factory=dict)


class ListsUnavailable(Exception):
    """The public role found no valid signed document to serve: the signer has not published
    one yet (start ``ocop signer``), or the one stored expired."""


@dataclass
class ListKeeper:
    """Holds the current :class:`Lists` and brings them up to the registry's version."""

    settings: Settings
    sessions: sessionmaker[Session]
    writer: sessionmaker[Session]
    # the root key that signs the documents, or None in the public role, which serves what the
    # signer (``ocop signer``) stored, checked with the root's public key
    root: Ed25519Signer | None
    root_public: bytes
    _lists: Lists | None = None
    _checked_at: float = 0.0
    _stale: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _published: threading.Condition = field(default_factory=threading.Condition)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _publisher: threading.Thread | None = None
    status_signings: int = 0  # how many times this process signed the status list

    def publish_in_background(self, clock: Callable[[], datetime]) -> None:
        """Keep the lists fresh from a thread of their own from now on: woken by every write
        here and every ``list_refresh_seconds`` for writes elsewhere. What verdicts read follows
        each write at once; the documents are signed again at most once every
        ``list_publish_seconds`` however many writes arrive."""

        def run() -> None:
            signed_at = -math.inf
            failing_since: float | None = None  # time.monotonic() of a spell's first failure
            while not self._stopping.is_set():
                self._wake.wait(self.settings.list_refresh_seconds)
                if self._stopping.is_set():
                    return
                self._wake.clear()
                may_sign = time.monotonic() - signed_at >= self.settings.list_publish_seconds
                try:
                    signed, lists = self._refresh(clock(), sign=may_sign)
                except Exception:  # the lists held keep serving; the next round tries again
                    if failing_since is None:  # the traceback once a spell, not every round
                        _log.exception("could not refresh the signed lists")
                        failing_since = time.monotonic()
                    continue
                if failing_since is not None:
                    _log.warning(
                        "the signed lists are refreshed again, after %.1f s",
                        time.monotonic() - failing_since,
                    )
                    failing_since = None
                if signed:
                    signed_at = time.monotonic()
                if min(lists.status.version, lists.snapshot.version) < lists.index.version:
                    # behind the registry: sign once the pause between signings is over
                    pause = signed_at + self.settings.list_publish_seconds - time.monotonic()
                    if self._stopping.wait(max(0.0, pause)):
                        return
                    self._wake.set()

        self._publisher = threading.Thread(target=run, name="ocop-lists", daemon=True)
        self._publisher.start()

    def stop(self) -> None:
        """Stop the lists' thread, if there is one."""
        self._stopping.set()
        self._wake.set()
        if self._publisher is not None:
            self._publisher.join(timeout=30)

    def written(self, version: int) -> None:
        """Note a committed registry write of ``version``; with a thread of their own, return
        once the lists show it (or after ``list_publish_wait_seconds``)."""
        self._stale = True
        if self._publisher is None:
            return
        self._wake.set()
        with self._published:
            self._published.wait_for(
                lambda: self._lists is not None and self._lists.index.version >= version,
                timeout=self.settings.list_publish_wait_seconds,
            )

    def refresh(self) -> None:
        """Make the next request re-read the lists and the registry version (changes made by
        another process are otherwise seen within ``list_refresh_seconds``)."""
        self._stale = True
        self._wake.set()

    def lists(self, now: datetime) -> Lists:
        """Return the current signed lists. Without a thread of their own, they are re-read
        from the database when a write here made them stale or ``list_refresh_seconds`` have
        passed."""
        lists = self._lists
        if lists is not None and (
            self._publisher is not None
            or (
                not self._stale
                and time.monotonic() - self._checked_at < self.settings.list_refresh_seconds
            )
        ):
            return lists
        return self._refresh(now)[1]

    def _refresh(self, now: datetime, *, sign: bool = True) -> tuple[bool, Lists]:
        """Bring the lists up to the registry's version. What verdicts read (the index, the
        trust list, the status list as it stands) is brought up at once, reading only the rows
        writes changed. The documents phones download are signed and compressed again only
        when ``sign`` (the thread allows it at most every ``list_publish_seconds``) and they
        are behind or past half their validity. Returns whether a document was signed, and the
        lists."""
        with self._lock:
            self._stale = False  # a write committed from here on marks them stale again
            held = self._lists
            with self.sessions() as session:
                index = RegistryIndex.load(session) if held is None else held.index.updated(session)
                trust_digest = stored_digest(session, "trust-list")
                status_digest = stored_digest(session, "status-list")
            trust_list, trust, signed = self._trust_list(now, held, trust_digest)
            status_list = _status_now(index, now, held)
            changes = held.changes if held is not None and held.index is index else {}
            lists = None
            if held is not None:
                # what verdicts read, first: a write waits for this, not for the signing below
                lists = replace(held, trust_list=trust_list, status_list=status_list,
                                index=index, trust=trust, changes=changes)  # fmt: skip
                self._publish(lists)
            if lists is None or sign:
                status, signed_status = self._status_document(status_list, now, held, status_digest)
                signed = signed or signed_status
                snapshot, snapshot_body, signed_snapshot = self._snapshot(index, now, held)
                signed = signed or signed_snapshot
                lists = Lists(trust_list, status_list, index, snapshot, trust, status,
                              snapshot_body, changes)  # fmt: skip
                self._publish(lists)
            self._checked_at = time.monotonic()
        return signed, lists

    def _publish(self, lists: Lists) -> None:
        """Make ``lists`` the current ones and wake the writes waiting for them."""
        with self._published:
            self._lists = lists
            self._published.notify_all()

    def _trust_list(
        self, now: datetime, held: Lists | None, digest: str | None
    ) -> tuple[TrustList, CompressedDocument, bool]:
        """Return the trust list held while it is the one stored (``digest``) and fresh; else
        the stored one, or a new one published when it is missing, no longer verifies, or is
        past half its validity. The last item says whether one was signed."""
        root = self.root
        if (
            held is not None
            and digest == held.trust.digest
            and _fresh(held.trust_list, now)
            and (root is None or not self._keys_changed(held.trust_list))
        ):
            return held.trust_list, held.trust, False
        with self.sessions() as session:
            document = stored_document(session, "trust-list")
        current = _verified(TrustList, document, self.root_public, now)
        if current is not None and document is not None:
            stored = CompressedDocument.of(document, current.version)
            if root is None:  # the signer's to renew
                return current, stored, False
            if _fresh(current, now) and not self._keys_changed(current):
                return current, stored, False
        if root is None:
            raise ListsUnavailable("the database holds no valid signed trust list")
        with self.writer.begin() as session:
            current, document = publish_trust_list(session, root, now)
        return current, CompressedDocument.of(document, current.version), True

    def _keys_changed(self, trust_list: TrustList) -> bool:
        """Return whether the registry's keys differ from those ``trust_list`` names (a key
        added, retired or compromised by a process that does not sign)."""
        with self.sessions() as session:
            keys = session.scalars(select(SigningKey).order_by(SigningKey.index)).all()
        return {trusted_key(k) for k in keys} != set(trust_list.keys.values())

    def _status_document(
        self, status_list: StatusList, now: datetime, held: Lists | None, digest: str | None
    ) -> tuple[CompressedDocument, bool]:
        """Return the signed status list to serve: the one held or stored while it shows
        ``status_list``'s version (or a later one another process signed) and is within half
        its validity; else ``status_list`` signed and stored. The second item says whether it
        was signed here."""
        signed = held.status if held is not None and digest == held.status.digest else None
        if signed is None:
            with self.sessions() as session:
                document = stored_document(session, "status-list")
            stored = _verified(StatusList, document, self.root_public, now)
            if stored is not None and document is not None:
                signed = CompressedDocument.of(document, stored.version, _renew_at(stored))
        if self.root is None:  # the signer's to bring up to the registry
            if signed is None:
                raise ListsUnavailable("the database holds no valid signed status list")
            return signed, False
        if (
            signed is not None
            and signed.version >= status_list.version
            and signed.renew_at is not None
            and now < signed.renew_at
        ):
            return signed, False
        with self.writer.begin() as session:
            document = publish_status_list(session, status_list, self.root)
        self.status_signings += 1
        return CompressedDocument.of(document, status_list.version, _renew_at(status_list)), True

    def _snapshot(
        self, index: RegistryIndex, now: datetime, held: Lists | None
    ) -> tuple[Snapshot, CompressedDocument, bool]:
        """Return the registry snapshot to serve, compressed: the one held while it shows
        ``index``'s version within half its validity, else signed now and stored; in the public
        role, the one stored (the signer's), read again only when its digest changed. The last
        item says whether it was signed here."""
        if self.root is None:
            with self.sessions() as session:
                digest = stored_digest(session, "registry-snapshot")
                if held is not None and digest == held.snapshot_body.digest:
                    return held.snapshot, held.snapshot_body, False
                stored = stored_snapshot(session)
            if stored is None:
                if held is not None:
                    return held.snapshot, held.snapshot_body, False
                raise ListsUnavailable("the database holds no signed registry snapshot")
            return stored, CompressedDocument.of(stored.document, stored.version), False
        if (
            held is not None
            and held.snapshot.version == index.version
            and now < held.snapshot.renew_at
        ):
            return held.snapshot, held.snapshot_body, False
        snapshot = registry_snapshot(index, self.root, now)
        with self.writer.begin() as session:
            store_snapshot(session, snapshot)
        return snapshot, CompressedDocument.of(snapshot.document, snapshot.version), True

    def status_changes(self, since: int, now: datetime) -> CompressedDocument:
        """Return the signed changes of the status list for a holder of version ``since``
        (from :func:`changes_start`), or the whole list when ``since`` is ahead of the
        registry or further back than :data:`CHANGES_WINDOW` versions."""
        return self._changes(
            "status",
            since,
            now,
            lambda lists, root, start: status_changes_of(lists.index, start, now).sign(root),
        )

    def snapshot_changes(self, since: int, now: datetime) -> CompressedDocument:
        """Return the signed snapshot of the certificates changed for a holder of version
        ``since``, or the whole snapshot, as :meth:`status_changes` does."""
        return self._changes(
            "snapshot",
            since,
            now,
            lambda lists, root, start: registry_snapshot(lists.index, root, now, start).document,
        )

    def _changes(
        self,
        kind: str,
        since: int,
        now: datetime,
        sign: Callable[[Lists, Ed25519Signer, int], bytes],
    ) -> CompressedDocument:
        lists, root = self.lists(now), self.root
        version = lists.index.version
        if root is None or not version - CHANGES_WINDOW <= since <= version:
            return lists.status if kind == "status" else lists.snapshot_body
        start = changes_start(since, version)
        found = lists.changes.get((kind, start))
        if found is None:  # a dozen of each kind per registry version, whatever is asked
            found = CompressedDocument.of(sign(lists, root, start), version)
            lists.changes[(kind, start)] = found
        return found


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


def _renew_at(document: TrustList | StatusList) -> datetime:
    """Return when a list is half through its validity: it is signed again from then on."""
    return document.issued_at + (document.expires_at - document.issued_at) / 2


def _fresh(document: TrustList | StatusList, now: datetime) -> bool:
    """Return whether a list is within the first half of its validity."""
    return now < _renew_at(document)


def _verified(kind: type[_L], document: bytes | None, root: bytes, now: datetime) -> _L | None:
    """Return the stored ``document`` checked as a ``kind``, or ``None`` when there is none or
    it fails (it is then signed again)."""
    if document is None:
        return None
    try:
        return kind.verify(document, [root], now)
    except DocumentError:
        return None


def _status_now(index: RegistryIndex, now: datetime, held: Lists | None) -> StatusList:
    """Return the status list at ``index``'s version, as verdicts read it: the one held brought
    up by the changes since its version, or made whole (at start, or past half its validity)."""
    if held is None or not _fresh(held.status_list, now):
        return status_list_of(index, now)
    if index is held.index:
        return held.status_list
    return held.status_list.apply(status_changes_of(index, held.index.version, now))
