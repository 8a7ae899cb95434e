"""The queue between the public role and the signer, in the database they share: the public
role asks for a batch's signed codes (:func:`queue_signing`) and streams them as they come
(:func:`signed_codes_from`); the signer takes each request (:func:`take_request`), checks it
against the registry itself (:func:`verifier.registry.grant_signing`) and answers it, storing
the codes chunk by chunk. Signed codes are as good as printed stamps: they are deleted as soon
as they are streamed, and at the latest :data:`SIGNED_CODES_KEPT` after the answer.

The signer listens on no port: whoever can reach it can only write a request here, which names
the token that asked, and it signs nothing the registry would not allow that token."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from verifier.registry.actors import Actor, get
from verifier.registry.batches import batch_for
from verifier.service_errors import Busy
from verifier.store.models import SignedCodes, SigningRequest, SigningState

__all__ = [
    "OPEN_REQUESTS",
    "SIGNED_CODES_KEPT",
    "STAMPS_PER_HOUR",
    "abandon_request",
    "answer_request",
    "any_queued",
    "forget_signed_codes",
    "purge_signed_codes",
    "queue_signing",
    "signed_codes_from",
    "store_signed_codes",
    "take_request",
]

OPEN_REQUESTS = 2  # requests one token may have queued or being signed at once
# stamps one token may have signed in an hour: five of the largest batches, far more than a
# producer prints; a stolen token cannot keep the signer busy for everyone else
STAMPS_PER_HOUR = 500_000
SIGNED_CODES_KEPT = timedelta(minutes=10)  # the longest signed codes stay after the answer
_OPEN = (SigningState.QUEUED, SigningState.SIGNING)


def queue_signing(
    session: Session, *, actor: Actor, batch_id: int, now: datetime
) -> SigningRequest:
    """Queue a request to sign every serial of batch ``batch_id`` for ``actor`` (a token's)
    and return it. Raises as :func:`batch_for` when the actor may not see the batch, and
    :class:`Busy` when its token already has :data:`OPEN_REQUESTS` open, or would pass
    :data:`STAMPS_PER_HOUR`."""
    batch, _ = batch_for(session, actor=actor, batch_id=batch_id)
    if actor.token_id is None:
        raise ValueError("only a token's request goes through the queue")
    open_requests = session.scalar(
        select(func.count())
        .select_from(SigningRequest)
        .where(SigningRequest.token_id == actor.token_id, SigningRequest.state.in_(_OPEN))
    )
    if (open_requests or 0) >= OPEN_REQUESTS:
        error = Busy.refusal("signing_requests_open", open=OPEN_REQUESTS)
        error.retry_after = 30
        raise error
    signed = session.scalar(
        select(func.sum(SigningRequest.last_serial - SigningRequest.first_serial + 1)).where(
            SigningRequest.token_id == actor.token_id,
            SigningRequest.requested_at > now - timedelta(hours=1),
            SigningRequest.state.in_((*_OPEN, SigningState.SIGNED)),
        )
    )
    if (signed or 0) + batch.count > STAMPS_PER_HOUR:
        error = Busy.refusal("signing_hourly_quota", stamps=STAMPS_PER_HOUR)
        error.retry_after = 600
        raise error
    request = SigningRequest(
        batch_id=batch.id,
        first_serial=batch.first_serial,
        last_serial=batch.last_serial,
        token_id=actor.token_id,
        requested_at=now,
        state=SigningState.QUEUED,
    )
    session.add(request)
    session.flush()
    return request


def abandon_request(session: Session, *, request_id: int, now: datetime) -> bool:
    """Mark the request abandoned if the signer has not taken it yet (the public role stopped
    waiting: nothing will read its codes). Returns whether it was still queued."""
    abandoned = session.execute(
        update(SigningRequest)
        .where(SigningRequest.id == request_id, SigningRequest.state == SigningState.QUEUED)
        .values(state=SigningState.ABANDONED, answered_at=now)
    )
    return bool(getattr(abandoned, "rowcount", 0))


def signed_codes_from(session: Session, *, request_id: int, first_serial: int) -> str | None:
    """Return the stored chunk of signed codes that starts at ``first_serial``, or ``None``
    while the signer has not stored it."""
    return session.scalar(
        select(SignedCodes.digits).where(
            SignedCodes.request_id == request_id, SignedCodes.first_serial == first_serial
        )
    )


def forget_signed_codes(session: Session, *, request_id: int) -> None:
    """Delete the request's signed codes (they have been streamed, or never will be)."""
    session.execute(delete(SignedCodes).where(SignedCodes.request_id == request_id))


def any_queued(session: Session) -> bool:
    """Return whether a request waits for the signer (a read: an idle signer asks this, not
    for a write lock, several times a second)."""
    queued = select(SigningRequest.id).where(SigningRequest.state == SigningState.QUEUED)
    return session.scalar(queued.limit(1)) is not None


def take_request(session: Session, *, now: datetime, wait: timedelta) -> SigningRequest | None:
    """Return the oldest queued request, marked as being signed, or ``None``. Requests queued
    longer than ``wait`` ago are abandoned instead (whoever asked has stopped waiting). On
    PostgreSQL a request another signer holds is skipped (a standby may share the queue)."""
    session.execute(
        update(SigningRequest)
        .where(
            SigningRequest.state == SigningState.QUEUED, SigningRequest.requested_at < now - wait
        )
        .values(state=SigningState.ABANDONED, answered_at=now)
    )
    request = session.scalars(
        select(SigningRequest)
        .where(SigningRequest.state == SigningState.QUEUED)
        .order_by(SigningRequest.id)
        .limit(1)
        .with_for_update(skip_locked=True)
    ).first()
    if request is not None:
        request.state = SigningState.SIGNING
        session.flush()
    return request


def store_signed_codes(
    session: Session, *, request_id: int, first_serial: int, digits: list[str]
) -> None:
    """Store one chunk of a request's signed codes, from ``first_serial`` on."""
    session.add(SignedCodes(request_id=request_id, first_serial=first_serial,
                            digits="".join(digits)))  # fmt: skip


def answer_request(
    session: Session,
    *,
    request_id: int,
    state: SigningState,
    now: datetime,
    reason: str | None = None,
    figures: dict[str, int] | None = None,
) -> None:
    """Record the signer's answer to a request: signed, refused (with the refusal's reason and
    figures), or failed."""
    request = get(session, SigningRequest, request_id)
    request.state, request.answered_at = state, now
    request.reason, request.figures = reason, figures


def purge_signed_codes(session: Session, *, now: datetime) -> None:
    """Delete the signed codes of requests answered more than :data:`SIGNED_CODES_KEPT` ago,
    or that will never be streamed (failed, abandoned)."""
    done = select(SigningRequest.id).where(
        or_(
            SigningRequest.answered_at < now - SIGNED_CODES_KEPT,
            SigningRequest.state.in_((SigningState.FAILED, SigningState.ABANDONED)),
        )
    )
    session.execute(delete(SignedCodes).where(SignedCodes.request_id.in_(done)))
