"""``ocop signer``'s batch work: take the public role's requests for signed codes from the
queue (:mod:`verifier.registry.signing_queue`), check each against the registry as the token
that asked (:func:`verifier.signer.batch_files.signing_grant`: audited, granted or refused),
sign its serials with the batch's key and store the codes chunk by chunk, so the public role
streams the first pages while the rest are signed."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from signing import Ed25519Signer, KeyLoadError, Payload, SigningRefused, StampIssuer
from verifier import registry
from verifier.lists.signed_lists import trusted_key
from verifier.registry import Actor, SigningGrant, signing_queue
from verifier.registry.actors import SYSTEM
from verifier.registry.tokens import actor_of
from verifier.service_errors import Conflict, ServiceError
from verifier.settings import Settings
from verifier.signer.batch_files import signing_grant
from verifier.signer.key_access import holds_key, open_private_key
from verifier.store.models import ApiToken, SigningState

__all__ = ["CODES_PER_ROW", "REQUEST_WAIT", "BatchSigner"]

CODES_PER_ROW = 2000  # signed codes stored per row: the public role streams row by row
REQUEST_WAIT = timedelta(seconds=60)  # a request queued longer has been given up
POLL_SECONDS = 0.1  # how often an idle signer looks at the queue
PURGE_EVERY = timedelta(seconds=30)  # how often an idle signer deletes codes past their time
_log = logging.getLogger(__name__)


@dataclass
class BatchSigner:
    """Answers the queue's requests, one at a time, in the order they came."""

    settings: Settings
    sessions: sessionmaker[Session]
    writer: sessionmaker[Session]
    _purged_at: datetime | None = None  # when signed codes past their time were last deleted
    _keys: dict[str, Ed25519Signer] = field(default_factory=dict)  # opened, by reference
    _stopping: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def answer_next(self, now: datetime) -> bool:
        """Answer the oldest queued request: refused with the registry's reason, failed when
        its key cannot be used, or signed and stored. Returns whether there was one (when
        there was none, signed codes past their time are deleted, at most every
        :data:`PURGE_EVERY`)."""
        with self.sessions() as session:
            waiting = signing_queue.any_queued(session)
        if not waiting:
            if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
                with self.writer.begin() as session:
                    signing_queue.purge_signed_codes(session, now=now)
                self._purged_at = now
            return False
        with self.writer.begin() as session:
            request = signing_queue.take_request(session, now=now, wait=REQUEST_WAIT)
            if request is None:  # another signer took it, or it was given up
                return False
            token = session.get(ApiToken, request.token_id)
            actor = None if token is None else actor_of(token)
            asked = (request.id, request.batch_id, request.first_serial, request.last_serial)
        request_id, batch_id, first, last = asked
        if actor is None:  # its token was revoked since it asked
            self._refuse(_token_actor(token), batch_id, first, last, now)
            self._answer(request_id, SigningState.REFUSED, now, reason="signing_not_allowed")
            return True
        try:
            grant = signing_grant(self.writer, actor=actor, batch_id=batch_id,
                                  first_serial=first, last_serial=last, now=now)  # fmt: skip
        except Conflict as refusal:
            reason = refusal.reason or "signing_not_allowed"
            figures = {k: v for k, v in refusal.extra.items() if isinstance(v, int)}
            self._answer(request_id, SigningState.REFUSED, now, reason=reason, figures=figures)
            return True
        except ServiceError:  # the token may no longer see the batch
            self._refuse(actor, batch_id, first, last, now)
            self._answer(request_id, SigningState.REFUSED, now, reason="signing_not_allowed")
            return True
        try:
            self._sign(request_id, grant, now)
        except (KeyLoadError, SigningRefused, OSError) as exc:
            _log.warning("signing request %d failed: %s", request_id, exc)
            self._keys.pop(grant.key.key_file or "", None)  # a token's session is opened anew
            self._answer(request_id, SigningState.FAILED, now, reason="signing_key_unusable",
                         figures={"key": grant.key.index})  # fmt: skip
            return True
        self._answer(request_id, SigningState.SIGNED, now)
        return True

    def answer_in_background(self, clock: Callable[[], datetime]) -> None:
        """Answer requests from a thread of its own until :meth:`stop`."""

        def run() -> None:
            while not self._stopping.is_set():
                try:
                    answered = self.answer_next(clock())
                except Exception:  # the request stays for the next round, or is given up
                    _log.exception("could not answer the signing queue")
                    answered = False
                if not answered:
                    self._stopping.wait(POLL_SECONDS)

        self._thread = threading.Thread(target=run, name="ocop-batch-signer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread of :meth:`answer_in_background`, if there is one."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _sign(self, request_id: int, grant: SigningGrant, now: datetime) -> None:
        """Sign the granted serials and store them, :data:`CODES_PER_ROW` a row, each row in a
        transaction of its own. Raises ``KeyLoadError``/``OSError`` for a key that cannot be
        opened, :class:`SigningRefused` when it may not sign these stamps."""
        key = grant.key
        if not key.key_file or not holds_key(self.settings, key.key_file):
            raise KeyLoadError(f"this signer does not hold the private key {key.index}")
        private = self._keys.get(key.key_file)
        if private is None:
            private = self._keys[key.key_file] = open_private_key(self.settings, key.key_file)
        issuer = StampIssuer(private, trusted_key(key))
        batch = grant.batch
        for start in range(grant.first_serial, grant.last_serial + 1, CODES_PER_ROW):
            count = min(CODES_PER_ROW, grant.last_serial + 1 - start)
            first = Payload(key.index, grant.certificate.id, batch.stars, batch.valid_until, start)
            digits = issuer.sign_serials(first, count, now)
            with self.writer.begin() as session:
                signing_queue.store_signed_codes(
                    session, request_id=request_id, first_serial=start, digits=digits
                )

    def _refuse(self, actor: Actor, batch_id: int, first: int, last: int, now: datetime) -> None:
        """Audit a refusal, ``signing_not_allowed``, that the registry's grant did not audit
        (the token is revoked, or no longer sees the batch)."""
        with self.writer.begin() as session:
            registry.refuse_signing(session, actor=actor, batch_id=batch_id,
                                    refusal=Conflict.refusal("signing_not_allowed"),
                                    first_serial=first, last_serial=last, now=now)  # fmt: skip

    def _answer(
        self,
        request_id: int,
        state: SigningState,
        now: datetime,
        *,
        reason: str | None = None,
        figures: dict[str, int] | None = None,
    ) -> None:
        with self.writer.begin() as session:
            signing_queue.answer_request(session, request_id=request_id, state=state, now=now,
                                         reason=reason, figures=figures)  # fmt: skip


def _token_actor(token: ApiToken | None) -> Actor:
    """Return who a revoked (or deleted) token was, for the audit log."""
    if token is None:
        return SYSTEM
    return Actor(token.role, token.label, token.id, token.authority_id, token.producer_id)
