"""A stamp claimed under its PIN: the first correct PIN confirms the pack, a later one says the
pack may have been refilled or its stamp re-used, and wrong PINs lock the stamp for a while.

What guessing costs: a stamp takes :data:`WRONG_PINS` wrong PINs in :data:`WRONG_PIN_WINDOW`,
then none for :data:`LOCK`, whoever sends them; each client is limited besides, by the web
layer (``OCOP_RATE_LIMIT_CLAIM``). ``bench/claims.py`` prints the chances."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from verifier import provinces
from verifier.claims.pins import pin_matches
from verifier.service_errors import Invalid, NotFound
from verifier.store.models import Batch, BatchState, ClaimLock, StampClaim

__all__ = [
    "CHANNELS",
    "LOCK",
    "WRONG_PINS",
    "WRONG_PIN_WINDOW",
    "ClaimAnswer",
    "ClaimOutcome",
    "ClaimRecord",
    "Claimed",
    "PinRefused",
    "claim_of",
    "claim_stamp",
]

WRONG_PINS = 5  # wrong PINs a stamp takes in WRONG_PIN_WINDOW before it locks
WRONG_PIN_WINDOW = timedelta(hours=1)
LOCK = timedelta(hours=1)
CHANNELS = ("web", "api", "sms")  # the stamp page, the API, a text


class ClaimOutcome(StrEnum):
    """What one PIN typed for a stamp came to."""

    FIRST = "first"
    ALREADY_CLAIMED = "already_claimed"
    WRONG_PIN = "wrong_pin"
    LOCKED = "locked"


@dataclass(frozen=True, slots=True)
class ClaimRecord:
    """What is known of a stamp's claim: its first confirmation (when, in which province if
    the buyer named one) and how many there were."""

    first_at: datetime
    first_province: str | None
    count: int

    @classmethod
    def of(cls, row: StampClaim) -> ClaimRecord:
        return cls(row.first_at, row.first_province, row.count)


@dataclass(frozen=True, slots=True)
class Claimed:
    """A correct PIN: the outcome, with the stamp's claim, this confirmation included."""

    outcome: ClaimOutcome
    claim: ClaimRecord


@dataclass(frozen=True, slots=True)
class PinRefused:
    """A wrong PIN, with how many more the stamp takes before it locks; or a PIN not checked
    because the stamp is locked (``tries_left`` 0), until ``locked_until``."""

    outcome: ClaimOutcome
    tries_left: int
    locked_until: datetime | None = None


ClaimAnswer = Claimed | PinRefused


def _pin_secret(session: Session, *, key_index: int, serial: int) -> bytes:
    """Return the PIN secret of the issued batch holding stamp (``key_index``, ``serial``).
    Raises :class:`NotFound` for a serial no issued batch holds, or whose batch has no PINs
    (the same answer: a guesser learns nothing of which serials exist)."""
    batch = session.scalars(
        select(Batch).where(
            Batch.key_index == key_index,
            Batch.first_serial <= serial,
            Batch.last_serial >= serial,
        )
    ).first()
    if batch is None or batch.state != BatchState.ISSUED or batch.claim_secret is None:
        raise NotFound("stamp with a PIN", f"{key_index}-{serial}")
    return batch.claim_secret


def claim_of(session: Session, *, key_index: int, serial: int) -> ClaimRecord | None:
    """Return the stamp's claim, or ``None`` when no correct PIN was typed for it yet."""
    row = session.get(StampClaim, (key_index, serial))
    return None if row is None else ClaimRecord.of(row)


def claim_stamp(
    session: Session,
    *,
    key_index: int,
    serial: int,
    pin: str,
    province_code: str | None,
    channel: str,
    now: datetime,
) -> ClaimAnswer:
    """Check ``pin`` for stamp (``key_index``, ``serial``) and record what it came to, in
    ``session`` (a wrong PIN is recorded too: commit whatever the outcome). Returns
    :class:`Claimed` or :class:`PinRefused`. Raises :class:`NotFound` as
    :func:`_pin_secret` does, and :class:`Invalid` for a province or channel that is not
    one."""
    if province_code is not None and provinces.province(province_code) is None:
        raise Invalid(f"{province_code!r} is not a province code")
    if channel not in CHANNELS:
        raise Invalid(f"{channel!r} is not a claim channel")
    secret = _pin_secret(session, key_index=key_index, serial=serial)
    lock = session.get(ClaimLock, (key_index, serial), with_for_update=True)
    if lock is not None and lock.locked_until is not None and lock.locked_until > now:
        return PinRefused(ClaimOutcome.LOCKED, 0, lock.locked_until)
    if not pin_matches(secret, key_index, serial, pin):
        return _wrong_pin(session, lock, key_index=key_index, serial=serial, now=now)
    if lock is not None:
        session.delete(lock)
    claim = _confirmed(session, key_index=key_index, serial=serial,
                       province_code=province_code, channel=channel, now=now)  # fmt: skip
    first = claim.count == 1
    outcome = ClaimOutcome.FIRST if first else ClaimOutcome.ALREADY_CLAIMED
    return Claimed(outcome, ClaimRecord.of(claim))


def _wrong_pin(
    session: Session, lock: ClaimLock | None, *, key_index: int, serial: int, now: datetime
) -> ClaimAnswer:
    """Count a wrong PIN against the stamp; lock it at the last one the window allows."""
    if lock is None:
        lock = _inserted(session, ClaimLock(key_index=key_index, serial=serial, failures=0,
                                            window_start=now))  # fmt: skip
    if lock.window_start + WRONG_PIN_WINDOW <= now or lock.locked_until is not None:
        lock.failures, lock.window_start, lock.locked_until = 0, now, None
    lock.failures += 1
    if lock.failures >= WRONG_PINS:
        lock.locked_until = now + LOCK
        return PinRefused(ClaimOutcome.LOCKED, 0, lock.locked_until)
    return PinRefused(ClaimOutcome.WRONG_PIN, WRONG_PINS - lock.failures)


def _confirmed(
    session: Session,
    *,
    key_index: int,
    serial: int,
    province_code: str | None,
    channel: str,
    now: datetime,
) -> StampClaim:
    """Record a correct PIN: the stamp's first claim, or one more confirmation of it."""
    claim = session.get(StampClaim, (key_index, serial), with_for_update=True)
    if claim is None:
        fresh = StampClaim(key_index=key_index, serial=serial, first_at=now,
                           first_province=province_code, first_channel=channel, count=0,
                           last_at=now, last_province=province_code)  # fmt: skip
        claim = _inserted(session, fresh)
    claim.count += 1
    claim.last_at, claim.last_province = now, province_code
    session.flush()
    return claim


_Row = TypeVar("_Row", ClaimLock, StampClaim)


def _inserted(session: Session, row: _Row) -> _Row:
    """Insert ``row``, or when another request inserted its stamp's row meanwhile, return that
    one, locked for this transaction."""
    try:
        with session.begin_nested():
            session.add(row)
        return row
    except IntegrityError:
        found = session.get(type(row), (row.key_index, row.serial), with_for_update=True,
                            populate_existing=True)  # fmt: skip
        return found if found is not None else _inserted(session, row)  # deleted meanwhile
