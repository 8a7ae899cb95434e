"""The offline verdict: everything a verifier can decide from a stamp, the trust list and the
status list, with no database (docs/stamp-format.md, section "Verdicts")."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from signing.dates import vietnam_date
from signing.errors import MalformedStamp
from signing.keys import KeyStatus, TrustedKey
from signing.lists import CertificateRef, CertificateState, CertificateStatus, StatusList, TrustList
from signing.payload import Payload
from signing.stamp import Stamp, parse_stamp

__all__ = ["REASON_VERDICTS", "Verdict", "VerdictCode", "verify"]


class VerdictCode(StrEnum):
    """The public verdicts, most severe first."""

    MALFORMED = "malformed"
    COUNTERFEIT = "counterfeit"
    UNREGISTERED = "unregistered"
    REVOKED = "revoked"
    EXPIRED = "expired"
    STAR_MISMATCH = "star_mismatch"
    SUSPECTED_CLONE = "suspected_clone"
    GENUINE = "genuine"

    @property
    def severity(self) -> int:
        """Return 0 for the most severe verdict, 7 for genuine."""
        return list(VerdictCode).index(self)


_MALFORMED_REASONS = [
    "empty",
    "too_long",
    "not_a_stamp",
    "wrong_path",
    "non_digit",
    "wrong_length",
    "out_of_range",
    "unknown_version",
    "invalid_field",
    "bad_gtin",
    "bad_link",
]

#: Every reason code this module can give, and the verdict it leads to.
REASON_VERDICTS: dict[str, VerdictCode] = {
    **dict.fromkeys(_MALFORMED_REASONS, VerdictCode.MALFORMED),
    "unknown_key": VerdictCode.COUNTERFEIT,
    "bad_signature": VerdictCode.COUNTERFEIT,
    "stars_out_of_key_scope": VerdictCode.COUNTERFEIT,
    "outside_key_period": VerdictCode.COUNTERFEIT,
    "key_compromised": VerdictCode.COUNTERFEIT,
    "key_retired": VerdictCode.COUNTERFEIT,
    "gtin_mismatch": VerdictCode.COUNTERFEIT,
    "serial_not_issued": VerdictCode.UNREGISTERED,  # decided online, by the registry
    "batch_voided": VerdictCode.UNREGISTERED,
    "certificate_revoked": VerdictCode.REVOKED,
    "certificate_expired": VerdictCode.EXPIRED,
    "stars_lowered": VerdictCode.STAR_MISMATCH,
    "stars_raised": VerdictCode.STAR_MISMATCH,
    "stars_seen_higher": VerdictCode.STAR_MISMATCH,
    "serial_blocked": VerdictCode.SUSPECTED_CLONE,
    "scan_pattern": VerdictCode.SUSPECTED_CLONE,  # decided online, from the scans
}


_SEVERITY = {reason: verdict.severity for reason, verdict in REASON_VERDICTS.items()}


def _decide(reasons: Collection[str]) -> tuple[VerdictCode, tuple[str, ...]]:
    """Return the verdict of the most severe of ``reasons`` (genuine when there is none) and
    the distinct reasons, most severe first: the one rule every verdict is made by. Raises
    ``KeyError`` for a reason not in :data:`REASON_VERDICTS`."""
    if not reasons:  # most checks: nothing to sort
        return VerdictCode.GENUINE, ()
    ordered = tuple(sorted(dict.fromkeys(reasons), key=_SEVERITY.__getitem__))
    return REASON_VERDICTS[ordered[0]], ordered


class Verdict(NamedTuple):
    """The answer to one check (a tuple: the service makes one per request, and a frozen
    dataclass of ten fields is slower to build).

    ``reasons`` lists every problem found, most severe first (empty when genuine); ``notes``
    are facts worth showing that change nothing (``offline``, ``renewed``,
    ``key_compromised_below_watermark``, ``not_in_status_list``, ``gtin_unchecked``,
    ``trust_list_expired``, ``status_list_expired``). ``certificate`` is the status-list entry
    the stamp resolves to (after renewals), ``key`` the trust-list entry of the signing key,
    and the two ages say how old the lists were at the time of checking.
    """

    verdict: VerdictCode
    reasons: tuple[str, ...]
    stamp: Stamp | None = None
    key: TrustedKey | None = None
    certificate: CertificateStatus | None = None
    notes: tuple[str, ...] = ()
    trust_list_version: int | None = None
    trust_list_age: timedelta | None = None
    status_list_version: int | None = None
    status_list_age: timedelta | None = None

    @classmethod
    def from_reasons(cls, reasons: list[str], **fields: object) -> Verdict:
        """Return the verdict of the most severe reason (genuine when there is none), with the
        reasons ordered by severity."""
        verdict, ordered = _decide(reasons)
        return cls(verdict, ordered, **fields)  # type: ignore[arg-type]

    def completed_online(self, reasons: list[str]) -> Verdict:
        """Return this verdict as a registry completes it: ``reasons`` added (re-ordered by
        severity) and the ``offline`` note dropped."""
        verdict, ordered = _decide((*self.reasons, *reasons))
        notes = tuple(n for n in self.notes if n != "offline")
        return self._replace(verdict=verdict, reasons=ordered, notes=notes)

    @property
    def genuine(self) -> bool:
        """Return whether the verdict is ``genuine``."""
        return self.verdict is VerdictCode.GENUINE


def verify(
    stamp_text: str,
    trust_list: TrustList,
    status_list: StatusList,
    now: datetime,
    *,
    stars_seen: int | None = None,
    registry: Callable[[Payload], Iterable[str]] | None = None,
) -> Verdict:
    """Return the verdict on ``stamp_text`` (a stamp URL in either form, or its 193 digits) at
    ``now``.

    ``trust_list`` and ``status_list`` are documents already checked with their ``verify``
    methods; if they have expired since, the verdict notes it. ``stars_seen`` is the number of
    stars an inspector sees printed on the pack. Without ``registry`` the verdict is offline
    (noted ``offline``); an online verifier passes its registry's judgement, called with the
    payload of a stamp whose signature holds and returning its reasons (``serial_not_issued``,
    ``batch_voided``). Never raises for any stamp text.
    """
    lists = (
        trust_list.version,
        now - trust_list.issued_at,
        status_list.version,
        now - status_list.issued_at,
    )
    notes = ["offline"] if registry is None else []
    if now > trust_list.expires_at:
        notes.append("trust_list_expired")
    if now > status_list.expires_at:
        notes.append("status_list_expired")
    try:
        stamp = parse_stamp(stamp_text)
    except MalformedStamp as exc:
        return _verdict([exc.code], notes, lists)
    payload = stamp.payload

    key = trust_list.keys.get(payload.key_index)
    if key is None:
        return _verdict(["unknown_key"], notes, lists, stamp)
    if not stamp.signature_valid(key.public_key):
        return _verdict(["bad_signature"], notes, lists, stamp, key)
    reasons = key.scope_violations(payload)
    if reasons:
        return _verdict(reasons, notes, lists, stamp, key)
    if key.status is KeyStatus.COMPROMISED:
        notes.append("key_compromised_below_watermark")

    if status_list.is_voided(payload.key_index, payload.serial):
        reasons.append("batch_voided")
    listed, certificate = status_list.current(CertificateRef(key.issuer, payload.certificate_id))
    if certificate is None:
        notes.append("not_in_status_list")
        certified_stars, valid_until = payload.stars, payload.valid_until
    else:
        if listed is not certificate:
            notes.append("renewed")
        certified_stars, valid_until = certificate.stars, certificate.valid_until
        if certificate.status is CertificateState.REVOKED:
            reasons.append("certificate_revoked")
        elif certificate.status is CertificateState.EXPIRED:
            reasons.append("certificate_expired")
    if stamp.gtin is not None:  # the Digital Link form: its GTIN is not signed
        if listed is None:
            notes.append("gtin_unchecked")
        elif stamp.gtin != listed.gtin:
            reasons.append("gtin_mismatch")
    if valid_until < vietnam_date(now):
        reasons.append("certificate_expired")
    if payload.stars < certified_stars:
        reasons.append("stars_raised")
    elif payload.stars > certified_stars:
        reasons.append("stars_lowered")
    if stars_seen is not None and stars_seen > certified_stars:
        reasons.append("stars_seen_higher")
    if status_list.is_blocked(payload.key_index, payload.serial):
        reasons.append("serial_blocked")
    if registry is not None:
        reasons.extend(registry(payload))
    return _verdict(reasons, notes, lists, stamp, key, certificate)


def _verdict(
    reasons: list[str],
    notes: list[str],
    lists: tuple[int, timedelta, int, timedelta],
    stamp: Stamp | None = None,
    key: TrustedKey | None = None,
    certificate: CertificateStatus | None = None,
) -> Verdict:
    """Return the verdict ``reasons`` lead to, with what the check found."""
    verdict, ordered = _decide(reasons)
    return Verdict(verdict, ordered, stamp, key, certificate, tuple(notes), *lists)
