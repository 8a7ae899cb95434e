"""The running public service: online verdicts from the signed lists the signer stored and the
registry, registry writes, scans. It holds no private key: it reads the root's public half."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Engine, event, update
from sqlalchemy.orm import Session, sessionmaker

from signing import Verdict, VerdictCode, verify
from signing.keys import b64url_decode
from verifier.claims.claiming import ClaimRecord, claim_of
from verifier.list_keeper import ListKeeper, Lists
from verifier.lists.registry_index import PublicCertificate, bump_version
from verifier.scans.recorder import ScanEvent, ScanRecorder, ScanSummary
from verifier.settings import ROOT_PUBLIC_KEY_FILE, Settings
from verifier.store.database import make_engine, migrate, probe, session_factory
from verifier.store.models import Batch, BatchLot, BlockedSerials, Certificate, Lot

PROBE_SECONDS = 1.0  # how long the database's answer to a probe stands for every health check
# The roles whose checks are evidence of copying: each names a token the authority issued and
# can revoke. Anyone can make up device ids and places by the thousand, for free.
WITNESS_ROLES = frozenset({"inspector", "authority"})


class OnlineVerdict(NamedTuple):
    """An online verdict: the offline one completed by the registry, with what the public sees
    (a tuple: one is made per request)."""

    verdict: Verdict
    certificate: PublicCertificate | None
    scans: ScanSummary
    pin: bool = False  # the stamp was printed with a PIN under scratch-off foil
    claim: ClaimRecord | None = None  # the PIN was confirmed: when first, how many times


def _root_public_key(data_dir: Path) -> bytes:
    """Return the root's public key from :data:`ROOT_PUBLIC_KEY_FILE` in ``data_dir`` (32 bytes,
    in base64url or hex). Raises ``OSError`` when it cannot be read, ``ValueError`` when it
    is not a key."""
    text = (data_dir / ROOT_PUBLIC_KEY_FILE).read_text("ascii").strip()
    raw = bytes.fromhex(text) if len(text) == 64 else b64url_decode(text)
    if len(raw) != 32:
        raise ValueError(f"{ROOT_PUBLIC_KEY_FILE} holds no Ed25519 public key")
    return raw


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
    root_public: bytes  # the root's public key, from ROOT_PUBLIC_KEY_FILE
    recorder: ScanRecorder
    keeper: ListKeeper
    # the database's last answer to a probe: when (time.monotonic()) and the error, if any
    _probed: tuple[float, str | None] = (-PROBE_SECONDS, None)
    _probing: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def start(cls, settings: Settings, now: datetime) -> Service:
        """Migrate the database, read the root's public key and the signed lists the signer
        stored. Raises ``OSError``/``ValueError`` when the root's public key cannot be read,
        :class:`ListsUnavailable` when the database holds no signed lists yet."""
        engine = make_engine(settings.database_url)
        write_engine = make_engine(settings.database_url, writer=True)
        migrate(write_engine)
        sessions, writer = session_factory(engine), session_factory(write_engine)
        public = _root_public_key(settings.data_dir)
        recorder = ScanRecorder(
            writer, flush_seconds=settings.scan_flush_seconds, rules=settings.clone_rules
        )
        keeper = ListKeeper(settings, sessions, public)
        service = cls(settings, sessions, writer, public, recorder, keeper)
        service.lists(now)
        return service

    def close(self) -> None:
        """Stop the lists' thread, flush pending scan events and close the pooled database
        connections (a later use opens new ones)."""
        self.keeper.stop()
        self.recorder.close()
        for maker in (self.sessions, self.writer):
            engine = maker.kw.get("bind")
            if isinstance(engine, Engine):
                engine.dispose()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction for a registry write. Each certificate, batch, blocked range and lot
        it changes is marked with the new registry version (what the status list's and the
        snapshot's changes are made of), a lot also when a batch is linked to it. After the
        commit what verdicts read is brought up to date, and the write returns once it shows
        it (or after ``list_publish_wait_seconds``); the signer follows with the signed
        documents."""
        with self.writer.begin() as session:
            changed: set[Certificate | Batch | BlockedSerials | Lot] = set()
            linked: set[int] = set()  # the lots a batch was linked to

            def note_changes(session: Session, *_: object) -> None:
                for row in (*session.new, *session.dirty):
                    if isinstance(row, (Certificate, Batch, BlockedSerials, Lot)):
                        changed.add(row)
                    elif isinstance(row, BatchLot):
                        linked.add(row.lot_id)

            event.listen(session, "before_flush", note_changes)
            yield session
            session.flush()
            version = bump_version(session)
            for row in changed:
                row.changed_version = version
            if linked:
                session.execute(
                    update(Lot).where(Lot.id.in_(linked)).values(changed_version=version)
                )
            session.flush()
        self.keeper.written(version)

    def database_trouble(self) -> str | None:
        """Return why the database did not answer its last probe (the error's type), or
        ``None`` when it did. Probes at most once every :data:`PROBE_SECONDS`, one at a time:
        meanwhile (a probe of an unreachable database may take the connection timeout) the
        last answer stands, so health checks never pile up on the database."""
        at, trouble = self._probed
        if time.monotonic() - at < PROBE_SECONDS or not self._probing.acquire(blocking=False):
            return trouble
        try:
            bind = self.sessions.kw["bind"]
            self._probed = (time.monotonic(), probe(bind))
        finally:
            self._probing.release()
        return self._probed[1]

    def lists(self, now: datetime) -> Lists:
        """Return the current signed lists (see :class:`ListKeeper`)."""
        return self.keeper.lists(now)

    def refresh(self) -> None:
        """Make the next request re-read the lists and the registry version."""
        self.keeper.refresh()

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
        ``scan_pattern`` (``suspected_clone`` unless something is worse), from the check that
        broke it on."""
        index = (lists := self.lists(now)).index  # one set of lists for the whole check
        verdict, certificate = self._judge(code, lists, now, stars_seen)
        stamp = verdict.stamp
        if stamp is None or not _issued(verdict):
            return OnlineVerdict(verdict, certificate, ScanSummary())
        witness = role in WITNESS_ROLES and token_id is not None
        device_id = f"token-{token_id}" if witness else None
        location = location if witness else None
        key = (stamp.payload.key_index, stamp.payload.serial)
        event = ScanEvent(now, key, str(verdict.verdict), role, device_id, location, token_id)
        # only a witness's check can break a clone rule: it is written at once, so that its
        # own answer says so (when another node's check is not written yet, the later says)
        scans = (self.recorder.record_written if witness else self.recorder.record)(event)
        if scans.flag is not None:
            verdict = verdict.completed_online(["scan_pattern"])
        issued = index.batch_of(*key)
        if issued is None or not issued.pins:
            return OnlineVerdict(verdict, certificate, scans)
        with self.sessions() as session:  # only for stamps printed with PINs: a few
            claim = claim_of(session, key_index=key[0], serial=key[1])
        return OnlineVerdict(verdict, certificate, scans, pin=True, claim=claim)

    @staticmethod
    def _judge(
        code: str, lists: Lists, now: datetime, stars_seen: int | None
    ) -> tuple[Verdict, PublicCertificate | None]:
        """Return the verdict on ``code`` from its signature, the signed ``lists`` and the
        registry, and the certificate the public sees (``None`` when there is none)."""
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
