"""The check by SMS: a buyer without a camera or mobile data texts ``OCOP <serial> [PIN]``, the
serial as printed under the QR code (``01-000001042``), and gets one SMS back.

An SMS carries no signature: the reply says what the registry holds for that printed serial
(issued or not, its batch voided or its serial blocked, its certificate's product, stars and
validity), never "genuine" on a signature's authority. The PIN under the scratch-off foil is
the proof: with it the reply adds the claim's outcome (:mod:`verifier.claims.claiming`).
Every reply is Vietnamese without diacritics in the GSM-7 alphabet, at most 160 characters
(one message): the product's name is shortened to fit."""

from __future__ import annotations

import math
import re
from contextlib import suppress
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from signing import VerdictCode
from signing.dates import VIETNAM, vietnam_date
from signing.lists import CertificateState, follow_supersedes
from signing.verdict import Verdict
from stamps.sheet import human_serial
from verifier import provinces
from verifier.claims.claiming import (
    ClaimAnswer,
    ClaimOutcome,
    PinRefused,
    claim_stamp,
)
from verifier.claims.gsm7 import SMS_LENGTH, gsm7_length, sms_text, without_diacritics
from verifier.claims.pins import PIN_DIGITS
from verifier.lists.registry_index import PublicCertificate, RegistryIndex
from verifier.service_errors import NotFound

__all__ = [
    "KEYWORD",
    "MAX_TEXT",
    "RegistryAnswer",
    "SmsQuery",
    "busy_reply",
    "check_by_sms",
    "claim_line",
    "help_reply",
    "parse_sms",
    "registry_answer",
    "sms_reply",
]

KEYWORD = "OCOP"
MAX_TEXT = 480  # longer is no check (three messages' worth): answered with the help
_KEY_DIGITS = range(1, 6)  # a key index: printed with 2 digits at least, 5 at most (0xFFFF)
_SERIAL_DIGITS = range(9, 16)  # a serial: printed with 9 digits at least, 15 at most (2**48)
_PRINTED_DIGITS = 11  # the printed serial's digits, as the stamps print them now
_TAIL = re.compile(r"[ .-]?[0-9][0-9 .-]*")  # what follows the keyword: digits and separators


@dataclass(frozen=True, slots=True)
class SmsQuery:
    """What an SMS asks: the stamp by its printed serial, and the PIN if one was typed."""

    key_index: int
    serial: int
    pin: str | None = None

    @property
    def printed(self) -> str:
        """Return the serial as printed under the stamp."""
        return human_serial(self.key_index, self.serial)


def parse_sms(text: str) -> SmsQuery | None:
    """Return what ``text`` asks, or ``None`` when it is no check: the keyword ``OCOP`` (any
    case), then the serial as printed, then an optional PIN of :data:`PIN_DIGITS` digits
    (spaces, dots or dashes between its digits ignored).

    The serial is its key index (1 to 5 digits), a dash or a space, and its number (9 to 15
    digits); or, with the dash left out, the printed width's 11 digits (``01000001042`` is
    ``01-000001042``), the PIN's digits possibly right after them."""
    if len(text) > MAX_TEXT:
        return None
    words = " ".join(without_diacritics(text).upper().split())
    rest = words.removeprefix(KEYWORD)
    if rest == words or _TAIL.fullmatch(rest) is None:
        return None
    parts = re.findall(r"[0-9]+", rest)
    key_digits, serial_digits = _KEY_DIGITS, _SERIAL_DIGITS
    if len(parts) > 1 and len(parts[0]) in key_digits and len(parts[1]) in serial_digits:
        key, serial, pin = parts[0], parts[1], "".join(parts[2:])
    elif len(parts[0]) in (_PRINTED_DIGITS, _PRINTED_DIGITS + PIN_DIGITS):
        key, serial = parts[0][:2], parts[0][2:_PRINTED_DIGITS]
        pin = parts[0][_PRINTED_DIGITS:] + "".join(parts[1:])
    else:
        return None
    if pin and len(pin) != PIN_DIGITS:
        return None
    return SmsQuery(int(key), int(serial), pin or None)


@dataclass(frozen=True, slots=True)
class RegistryAnswer:
    """What the registry holds for a printed serial: the verdict its reasons come to
    (``genuine`` only means that nothing is held against it), the reasons, the certificate in
    force for its batch (``None`` for a serial no batch holds), the stars its stamps were
    printed with, and whether they were printed with PINs."""

    verdict: VerdictCode
    reasons: tuple[str, ...]
    certificate: PublicCertificate | None = None
    printed_stars: int | None = None
    pins: bool = False


def registry_answer(
    index: RegistryIndex, key_index: int, serial: int, today: date
) -> RegistryAnswer:
    """Return what ``index`` holds for stamp (``key_index``, ``serial``) on ``today`` (a
    Vietnamese date), with the reasons of :data:`signing.verdict.REASON_VERDICTS`:
    ``serial_not_issued``, ``batch_voided``, ``serial_blocked``, ``certificate_revoked``,
    ``certificate_expired``, ``stars_lowered`` / ``stars_raised``."""
    issued = index.batch_of(key_index, serial)
    issued_for = None if issued is None else index.certificates.get(issued.certificate_id)
    if issued is None or issued_for is None:
        return RegistryAnswer(VerdictCode.UNREGISTERED, ("serial_not_issued",))
    certificate = follow_supersedes(issued_for, index.certificates)
    reasons = ["batch_voided"] if issued.voided else []
    if any(
        not listed.lifted
        and listed.serials.key_index == key_index
        and listed.serials.first <= serial <= listed.serials.last
        for listed in index.blocked.values()
    ):
        reasons.append("serial_blocked")
    if certificate.status == CertificateState.REVOKED:
        reasons.append("certificate_revoked")
    elif certificate.status == CertificateState.EXPIRED or certificate.valid_until < today:
        reasons.append("certificate_expired")
    if issued_for.stars > certificate.stars:
        reasons.append("stars_lowered")
    elif issued_for.stars < certificate.stars:
        reasons.append("stars_raised")
    verdict = Verdict.from_reasons(reasons)
    return RegistryAnswer(
        verdict.verdict, verdict.reasons, certificate, issued_for.stars, issued.pins
    )


# What the registry holds, first in the reply; {product} is shortened to fit the rest.
_HEADS: dict[str, str] = {
    "serial_not_issued": "OCOP {serial}: KHONG CO trong so dang ky. Kiem tra lai so in duoi ma "
    "QR; neu dung so, tem co the la gia: dung mua.",
    "batch_voided": "OCOP {serial}: lo tem nay DA BI HUY, tem khong con gia tri. Dung mua, bao "
    "co quan quan ly thi truong.",
    VerdictCode.SUSPECTED_CLONE: "OCOP {serial}: {product}, {stars} sao. NGHI TEM SAO CHEP: so "
    "da bi khoa.",
    VerdictCode.REVOKED: "OCOP {serial}: {product}, {stars} sao. Chung nhan OCOP DA BI THU HOI.",
    VerdictCode.EXPIRED: "OCOP {serial}: {product}, {stars} sao. Chung nhan HET HAN ngay "
    "{valid_until}.",
    VerdictCode.STAR_MISMATCH: "OCOP {serial}: {product}, {stars} sao (tem in {printed}), hieu "
    "luc den {valid_until}.",
    VerdictCode.GENUINE: "OCOP {serial} co dang ky: {product}, {stars} sao, hieu luc den "
    "{valid_until}.",
}
# What the PIN came to, or what to do without one, after the registry's answer.
_CLAIM_LINES: dict[str, str] = {
    ClaimOutcome.FIRST: "PIN DUNG: ban xac nhan dau tien, {time} {date}.",
    ClaimOutcome.ALREADY_CLAIMED: "PIN DA DUNG {date}{place}: nghi chiet lai/tem dung lai. Bao "
    "nguoi ban.",
    ClaimOutcome.WRONG_PIN: "PIN SAI, con {tries_left} lan thu.",
    ClaimOutcome.LOCKED: "Sai PIN qua nhieu: thu lai sau {minutes} phut.",
    "no_pin": "Tem nay khong co PIN.",
    "ask_pin": "Cao lop bac, nhan kem PIN de xac nhan.",
    "compare": "Doi chieu ten, so sao voi bao bi.",
}
_HELP = (
    "OCOP: nhan OCOP <so in duoi ma QR> [PIN], vd OCOP 01-000001042 12345678. So gom 2 chu so, "
    "dau -, 9 chu so."
)
_BUSY = "OCOP: so may nay da nhan qua nhieu tin. Vui long thu lai sau {minutes} phut."
_ELLIPSIS = "..."


def claim_line(answer: ClaimAnswer | str, now: datetime) -> str:
    """Return the reply's sentence for ``answer``: what a PIN came to (:class:`Claimed` or
    :class:`PinRefused`), or one of the keys ``no_pin`` (the stamp has none), ``ask_pin`` (it
    has one, not typed) and ``compare`` (no PIN to type). Dates and times are Vietnam's."""
    if isinstance(answer, str):
        return _CLAIM_LINES[answer]
    if isinstance(answer, PinRefused):
        seconds = ((answer.locked_until or now) - now).total_seconds()
        minutes = max(1, math.ceil(seconds / 60))
        return _CLAIM_LINES[answer.outcome].format(tries_left=answer.tries_left, minutes=minutes)
    first = answer.claim.first_at.astimezone(VIETNAM)
    place = provinces.province(answer.claim.first_province or "")
    return _CLAIM_LINES[answer.outcome].format(
        time=first.strftime("%H:%M"),
        date=first.strftime("%d/%m/%Y"),
        place=f" tai {sms_text(place.name)}" if place else "",
    )


def sms_reply(query: SmsQuery, registry: RegistryAnswer, claim: str) -> str:
    """Return the one-SMS reply to ``query``: what the ``registry`` holds, then ``claim`` (a
    sentence of :func:`claim_line`; none after a serial no issued batch holds), the product's
    name shortened with "..." to fit :data:`SMS_LENGTH`. Raises ``ValueError`` when even an
    empty name leaves no room (no wording allows that)."""
    certificate = registry.certificate
    worst = registry.reasons[0] if registry.reasons else registry.verdict
    head = _HEADS.get(worst) or _HEADS[registry.verdict]
    figures = {"serial": query.printed}
    if certificate is not None:
        figures |= {
            "stars": str(certificate.stars),
            "printed": str(registry.printed_stars),
            "valid_until": certificate.valid_until.strftime("%d/%m/%Y"),
        }
    text = head if registry.verdict is VerdictCode.UNREGISTERED else f"{head} {claim}"
    name = sms_text(certificate.product.name) if certificate is not None else ""
    room = SMS_LENGTH - gsm7_length(text.format(**figures, product=""))
    return _checked(text.format(**figures, product=_shortened(name, room)))


def help_reply() -> str:
    """Return the reply to a message that is no check: how to write one."""
    return _checked(_HELP)


def busy_reply(seconds: int) -> str:
    """Return the reply to a phone that sent more messages than it may: try again in
    ``seconds`` (said in whole minutes)."""
    return _checked(_BUSY.format(minutes=max(1, math.ceil(seconds / 60))))


def check_by_sms(session: Session, index: RegistryIndex, text: str, now: datetime) -> str:
    """Return the reply to the SMS ``text`` received at ``now``: what ``index`` holds for the
    serial it names and, when it carries a PIN, the claim (recorded in ``session`` on the
    channel ``sms``: commit it whatever the reply); the help for a message that is no check."""
    query = parse_sms(text)
    if query is None:
        return help_reply()
    registry = registry_answer(index, query.key_index, query.serial, vietnam_date(now))
    if registry.verdict is VerdictCode.UNREGISTERED:
        return sms_reply(query, registry, "")
    claim: ClaimAnswer | str = "no_pin" if query.pin else "compare"
    if registry.pins and query.pin is None:
        claim = "ask_pin"
    elif registry.pins and query.pin is not None:
        key_index, serial, pin = query.key_index, query.serial, query.pin
        with suppress(NotFound):  # its batch voided since the index was read
            claim = claim_stamp(session, key_index=key_index, serial=serial, pin=pin,
                                province_code=None, channel="sms", now=now)  # fmt: skip
    return sms_reply(query, registry, claim_line(claim, now))


def _shortened(name: str, room: int) -> str:
    """Return ``name``, or as much of it as fits ``room`` septets with "..." after it."""
    if gsm7_length(name) <= room:
        return name
    while name and gsm7_length(name) + len(_ELLIPSIS) > room:
        name = name[:-1]
    return name.rstrip(" ,.-") + _ELLIPSIS if name else _ELLIPSIS[: max(0, room)]


def _checked(reply: str) -> str:
    """Return ``reply``; raises ``ValueError`` when it is not one GSM-7 message."""
    if gsm7_length(reply) > SMS_LENGTH:
        raise ValueError(f"an SMS reply of {gsm7_length(reply)} characters: {reply!r}")
    return reply
