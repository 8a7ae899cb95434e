"""What the public role serves of the signed lists, kept up to the registry: made in one place,
:meth:`ListKeeper._refresh`, either by the requests that find them stale (tests and one-shot
commands) or by a thread of its own (``ocop serve``), so that no request rebuilds anything.
What verdicts read follows each registry write at once; the signed documents phones download
are those the signer (``ocop signer``) stored, checked with the root's public key: this
process holds no private key and signs nothing."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload, sessionmaker

from signing import DocumentError, StatusList, TrustedKey, TrustList
from verifier.lists.compressed import CompressedDocument
from verifier.lists.registry_index import RegistryIndex
from verifier.lists.signed_lists import (
    CHANGES_WINDOW,
    Snapshot,
    changes_start,
    renew_at,
    status_list_now,
    stored_changes,
    stored_digest,
    stored_document,
    stored_forms,
    stored_snapshot,
    trusted_key,
)
from verifier.settings import Settings
from verifier.store.models import SigningKey

_log = logging.getLogger(__name__)
_L = TypeVar("_L", TrustList, StatusList)


@dataclass(frozen=True, slots=True)
class Lists:
    """What verdicts read, at the registry's version (the index, the trust list, the status
    list), and the signed documents phones download, compressed as they are served (these
    follow as the signer stores them), with the changes since a version read so far."""

    trust_list: TrustList  # the signed one's, with the registry's keys as they are now
    status_list: StatusList
    index: RegistryIndex
    snapshot: Snapshot
    trust: CompressedDocument
    status: CompressedDocument
    snapshot_body: CompressedDocument
    signed_trust: TrustList  # the trust list ``trust`` holds
    changes: dict[tuple[str, int], CompressedDocument] = field(default_factory=dict)


class ListsUnavailable(Exception):
    """No valid signed document to serve: the signer has not published one yet (start ``ocop
    signer``), or the one stored expired."""


@dataclass
class ListKeeper:
    """Holds the current :class:`Lists` and brings them up to the registry's version."""

    settings: Settings
    sessions: sessionmaker[Session]
    root_public: bytes  # the root's public key, which every stored document must verify with
    _lists: Lists | None = None
    _checked_at: float = 0.0
    _stale: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _published: threading.Condition = field(default_factory=threading.Condition)
    _wake: threading.Event = field(default_factory=threading.Event)
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    # time.monotonic() since which the signed status list has been behind the registry (the
    # signer has not signed the last writes yet), or None while it shows them
    behind_since: float | None = None

    def keep_in_background(self, clock: Callable[[], datetime]) -> None:
        """Keep the lists up to the registry from a thread of their own from now on: woken by
        every write here, and every ``list_refresh_seconds`` for writes elsewhere and the
        documents the signer stores."""

        def run() -> None:
            failing_since: float | None = None  # time.monotonic() of a spell's first failure
            while not self._stopping.is_set():
                self._wake.wait(self.settings.list_refresh_seconds)
                if self._stopping.is_set():
                    return
                self._wake.clear()
                try:
                    self._refresh(clock())
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

        self._thread = threading.Thread(target=run, name="ocop-lists", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the lists' thread, if there is one."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def written(self, version: int) -> None:
        """Note a committed registry write of ``version``; with a thread of their own, return
        once verdicts show it (or after ``list_publish_wait_seconds``)."""
        self._stale = True
        if self._thread is None:
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
        """Return the current lists. Without a thread of their own, they are re-read from the
        database when a write here made them stale or ``list_refresh_seconds`` have passed.
        Raises :class:`ListsUnavailable` when there are none yet to serve."""
        lists = self._lists
        if lists is not None and (
            self._thread is not None
            or (
                not self._stale
                and time.monotonic() - self._checked_at < self.settings.list_refresh_seconds
            )
        ):
            return lists
        return self._refresh(now)

    def _refresh(self, now: datetime) -> Lists:
        """Bring the lists up to the registry's version, reading only the rows writes changed,
        and take the documents the signer stored since (told by their digests, so an unchanged
        one is not read again). Raises :class:`ListsUnavailable` when a document is missing or
        fails its check and none is held."""
        with self._lock:
            self._stale = False  # a write committed from here on marks them stale again
            held = self._lists
            with self.sessions() as session:
                index = RegistryIndex.load(session) if held is None else held.index.updated(session)
                keys = [trusted_key(k) for k in session.scalars(
                    select(SigningKey).options(joinedload(SigningKey.authority))
                )]  # fmt: skip
                digests = {
                    name: stored_digest(session, name)
                    for name in ("trust-list", "status-list", "registry-snapshot")
                }
            status_list = status_list_now(
                index, now, None if held is None else (held.index, held.status_list)
            )
            if held is not None:  # what verdicts read, first: a write waits for this alone
                self._publish(replace(held, trust_list=_with_keys(held.signed_trust, keys),
                                      status_list=status_list, index=index))  # fmt: skip
            signed_trust, trust = self._trust(now, held, digests["trust-list"])
            status = self._status(now, held, digests["status-list"])
            snapshot, snapshot_body = self._snapshot(held, digests["registry-snapshot"])
            unchanged = (
                held is not None and status is held.status and snapshot_body is held.snapshot_body
            )
            lists = Lists(_with_keys(signed_trust, keys), status_list, index, snapshot, trust,
                          status, snapshot_body, signed_trust,
                          held.changes if unchanged and held is not None else {})  # fmt: skip
            if status.version >= index.version:
                self.behind_since = None
            elif self.behind_since is None:
                self.behind_since = time.monotonic()
            self._publish(lists)
            self._checked_at = time.monotonic()
        return lists

    def _publish(self, lists: Lists) -> None:
        """Make ``lists`` the current ones and wake the writes waiting for them."""
        with self._published:
            self._lists = lists
            self._published.notify_all()

    def _trust(
        self, now: datetime, held: Lists | None, digest: str | None
    ) -> tuple[TrustList, CompressedDocument]:
        """Return the signed trust list held while it is the one stored, else the one stored,
        with its document."""
        if held is not None and digest == held.trust.digest:
            return held.signed_trust, held.trust
        document, forms = self._read("trust-list")
        trust_list = _verified(TrustList, document, self.root_public, now)
        if trust_list is None or document is None:
            raise ListsUnavailable("the database holds no valid signed trust list")
        return trust_list, CompressedDocument.stored(document, forms, trust_list.version)

    def _status(self, now: datetime, held: Lists | None, digest: str | None) -> CompressedDocument:
        """Return the signed status list held while it is the one stored, else the one
        stored."""
        if held is not None and digest == held.status.digest:
            return held.status
        document, forms = self._read("status-list")
        status_list = _verified(StatusList, document, self.root_public, now)
        if status_list is None or document is None:
            raise ListsUnavailable("the database holds no valid signed status list")
        return CompressedDocument.stored(
            document, forms, status_list.version, renew_at(status_list)
        )

    def _snapshot(
        self, held: Lists | None, digest: str | None
    ) -> tuple[Snapshot, CompressedDocument]:
        """Return the registry snapshot held while it is the one stored, else the one stored,
        compressed."""
        if held is not None and digest == held.snapshot_body.digest:
            return held.snapshot, held.snapshot_body
        with self.sessions() as session:
            stored = stored_snapshot(session)
            forms = None if stored is None else stored_forms(
                session, "registry-snapshot", hashlib.sha256(stored.document).hexdigest()
            )  # fmt: skip
        if stored is None:
            if held is not None:
                return held.snapshot, held.snapshot_body
            raise ListsUnavailable("the database holds no signed registry snapshot")
        return stored, CompressedDocument.stored(stored.document, forms, stored.version)

    def _read(self, name: str) -> tuple[bytes | None, tuple[bytes, bytes] | None]:
        """Return the stored document ``name`` and the compressed forms the signer stored of
        it, if any."""
        with self.sessions() as session:
            document = stored_document(session, name)
            if document is None:
                return None, None
            return document, stored_forms(session, name, hashlib.sha256(document).hexdigest())

    def status_changes(self, since: int, now: datetime) -> CompressedDocument:
        """Return the signed changes of the status list for a holder of version ``since``
        (from :func:`changes_start`), or the whole list when ``since`` is ahead of it, further
        back than :data:`CHANGES_WINDOW` versions, or the signer stored no such changes."""
        lists = self.lists(now)
        return self._changes(lists, "status-list", lists.status, since)

    def snapshot_changes(self, since: int, now: datetime) -> CompressedDocument:
        """Return the signed snapshot of the certificates changed for a holder of version
        ``since``, or the whole snapshot, as :meth:`status_changes` does."""
        lists = self.lists(now)
        return self._changes(lists, "registry-snapshot", lists.snapshot_body, since)

    def _changes(
        self, lists: Lists, kind: str, whole: CompressedDocument, since: int
    ) -> CompressedDocument:
        version = whole.version
        if not version - CHANGES_WINDOW <= since <= version:
            return whole
        start = changes_start(since, version)
        found = lists.changes.get((kind, start))
        if found is None:  # read once per version; a dozen of each kind serve every holder
            with self.sessions() as session:
                document = stored_changes(session, kind, version, start)
            if document is None:
                return whole
            found = CompressedDocument.of(document, version)
            lists.changes[(kind, start)] = found
        return found


def _with_keys(signed: TrustList, keys: list[TrustedKey]) -> TrustList:
    """Return the trust list online verdicts read: the signed one's, with the registry's keys
    as they are now (a key compromised through the API counts from the write on; phones see
    it once the signer has signed it)."""
    return TrustList.of(signed.version, signed.issued_at, signed.expires_at, keys)


def _verified(kind: type[_L], document: bytes | None, root: bytes, now: datetime) -> _L | None:
    """Return the stored ``document`` checked as a ``kind``, or ``None`` when there is none or
    it fails."""
    if document is None:
        return None
    try:
        return kind.verify(document, [root], now)
    except DocumentError:
        return None
