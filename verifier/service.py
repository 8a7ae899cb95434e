"""The running service: keys loaded at start, the signed lists kept fresh, online verdicts."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from signing import (
    DocumentError,
    PrivateKey,
    StatusList,
    TrustList,
    Verdict,
    VerdictCode,
    verify,
)
from verifier.lists.registry_index import (
    PublicCertificate,
    RegistryIndex,
    bump_version,
    current_version,
)
from verifier.lists.signed_lists import (
    Snapshot,
    publish_status_list,
    publish_trust_list,
    registry_snapshot,
    stored_document,
)
from verifier.scans.recorder import ScanEvent, ScanRecorder, ScanSummary
from verifier.settings import Settings
from verifier.signer import keyfiles
from verifier.store.database import make_engine, migrate, session_factory
from verifier.store.models import Certificate

ROOT_KEY_FILE = "keys/root.pem"
# The roles whose checks are evidence of copying: each names a token the authority issued and
# can revoke. Anyone can make up device ids and places by the thousand, for free.
WITNESS_ROLES = frozenset({"inspector", "authority"})


@dataclass(frozen=True, slots=True)
class Lists:
    """The current signed documents and what they say, with the registry snapshot."""

    trust_list: TrustList
    status_list: StatusList
    trust_document: bytes
    status_document: bytes
    index: RegistryIndex
    snapshot: Snapshot


class OnlineVerdict(NamedTuple):
    """An online verdict: the offline one completed by the registry, with what the public sees
    (a tuple: one is made per request)."""

    verdict: Verdict
    certificate: PublicCertificate | None
    scans: ScanSummary


def _issued(verdict: Verdict) -> bool:
    """Return whether a verdict's stamp is one the registry issued: signed by a key in good
    standing, for a serial of one of its batches (voided ones included)."""
    return (
        verdict.verdict is not VerdictCode.COUNTERFEIT
        and "serial_not_issued" not in verdict.reasons
    )


@dataclass
class Service:
    """Everything a request needs, built once at start by :meth:`start`."""

    settings: Settings
    sessions: sessionmaker[Session]
    writer: sessionmaker[Session]
    root: PrivateKey
    recorder: ScanRecorder
    _lists: Lists | None = None
    _checked_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, settings: Settings, now: datetime) -> Service:
        """Migrate the database, load the root key from its encrypted file (the list signer's;
        stamp keys are read only where a batch is signed), and make sure signed lists exist.
        Raises ``OSError``/``KeyLoadError`` on the key file."""
        engine = make_engine(settings.database_url)
        write_engine = make_engine(settings.database_url, writer=True)
        migrate(write_engine)
        sessions, writer = session_factory(engine), session_factory(write_engine)
        root = keyfiles.read_key(settings.data_dir / ROOT_KEY_FILE, settings.passphrase)
        service = cls(
            settings, sessions, writer, root, ScanRecorder(writer, rules=settings.clone_rules)
        )
        service.lists(now)
        return service

    def close(self) -> None:
        """Flush pending scan events and close the pooled database connections (a later use
        opens new ones)."""
        self.recorder.close()
        for maker in (self.sessions, self.writer):
            engine = maker.kw.get("bind")
            if isinstance(engine, Engine):
                engine.dispose()

    @contextmanager
    def write(self, now: datetime, *, keys_changed: bool = False) -> Iterator[Session]:
        """A transaction for a registry write; the signed lists are republished in it."""
        with self.writer.begin() as session:
            changed: set[Certificate] = set()

            def note_certificates(session: Session, *_: object) -> None:
                changed.update(
                    o for o in (*session.new, *session.dirty) if isinstance(o, Certificate)
                )

            event.listen(session, "before_flush", note_certificates)
            yield session
            session.flush()
            version = bump_version(session)
            for certificate in changed:
                certificate.changed_version = version
            session.flush()
            if keys_changed:
                publish_trust_list(session, self.root, now)
            publish_status_list(session, self.root, now)
        self.refresh()

    def refresh(self) -> None:
        """Make the next request re-read the lists and the registry version (changes made by
        another process are otherwise seen within ``list_refresh_seconds``)."""
        self._checked_at = 0.0

    def lists(self, now: datetime) -> Lists:
        """Return the current signed lists, re-reading them from the database at most every
        ``list_refresh_seconds`` and re-signing any that is past half its validity."""
        lists = self._lists
        if lists is not None and time.monotonic() - self._checked_at < (
            self.settings.list_refresh_seconds
        ):
            return lists
        with self._lock:
            with self.sessions() as session:
                version = current_version(session)
                same = lists is not None and lists.index.version == version
                index = lists.index if lists is not None and same else RegistryIndex.load(session)
            trust_list, trust = self._current(TrustList, "trust-list", now)
            status_list, status = self._current(StatusList, "status-list", now)
            snapshot = (
                lists.snapshot
                if lists is not None and same and now < lists.snapshot.renew_at
                else registry_snapshot(index, self.root, now)
            )
            lists = Lists(trust_list, status_list, trust, status, index, snapshot)  # type: ignore[arg-type]
            self._lists, self._checked_at = lists, time.monotonic()
        return lists

    def _current(
        self, kind: type[TrustList | StatusList], name: str, now: datetime
    ) -> tuple[TrustList | StatusList, bytes]:
        """Return the stored document, or publish a new one when it is missing, no longer
        verifies, or is past half its validity (only then is a write transaction taken)."""
        with self.sessions() as session:
            document = stored_document(session, name)
        if document is not None:
            try:
                current = kind.verify(document, [self.root.public_key], now)
            except DocumentError:
                pass
            else:
                if now < current.issued_at + (current.expires_at - current.issued_at) / 2:
                    return current, document
        publish = publish_trust_list if kind is TrustList else publish_status_list
        with self.writer.begin() as session:
            return publish(session, self.root, now)

    def verify(
        self,
        code: str,
        now: datetime,
        *,
        stars_seen: int | None = None,
        role: str = "public",
        location: str | None = None,
        token_id: int | None = None,
    ) -> OnlineVerdict:
        """Return the online verdict on ``code`` and record the check against its serial, with
        the signed-in caller's ``role`` and ``token_id``. Never raises for any text.

        Only a stamp whose signature verifies and whose serial was issued is recorded and
        answered with its serial's scans: a forged code names a serial it has no right to, so
        it neither counts against that serial nor learns its history. Only a witness's check
        (see :data:`WITNESS_ROLES`) brings a phone (its token: one per token, whatever phone
        ids it sends) and a place (``location``) to the clone rules; anyone else's place is
        ignored. A serial whose witnessed checks broke a clone rule adds the reason
        ``scan_pattern`` (``suspected_clone`` unless something is worse)."""
        verdict, certificate = self._judge(code, now, stars_seen)
        stamp = verdict.stamp
        if stamp is None or not _issued(verdict):
            return OnlineVerdict(verdict, certificate, ScanSummary())
        witness = role in WITNESS_ROLES and token_id is not None
        device_id = f"token-{token_id}" if witness else None
        location = location if witness else None
        key = (stamp.payload.key_index, stamp.payload.serial)
        event = ScanEvent(now, key, str(verdict.verdict), role, device_id, location, token_id)
        scans = self.recorder.record(event)
        if scans.flag is not None:
            verdict = verdict.completed_online(["scan_pattern"])
        return OnlineVerdict(verdict, certificate, scans)

    def _judge(
        self, code: str, now: datetime, stars_seen: int | None
    ) -> tuple[Verdict, PublicCertificate | None]:
        """Return the verdict on ``code`` from its signature, the signed lists and the
        registry, and the certificate the public sees (``None`` when there is none)."""
        lists = self.lists(now)
        index = lists.index
        verdict = verify(
            code,
            lists.trust_list,
            lists.status_list,
            now,
            stars_seen=stars_seen,
            registry=index.reasons,
        )
        stamp, key = verdict.stamp, verdict.key
        if stamp is None or key is None or verdict.verdict is VerdictCode.COUNTERFEIT:
            return verdict, None
        return verdict, index.current(stamp.payload.certificate_id, key.issuer)
