"""The public view of a verdict: the JSON of the API and the context of the consumer page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from signing import Verdict
from signing.dates import VIETNAM, parse_time, vietnam_date
from verifier.claims.claiming import ClaimRecord
from verifier.i18n.catalogs import CATALOGS
from verifier.i18n.messages import (
    CLAIM_ANSWERS,
    NOTES,
    PRODUCT_GROUPS,
    REASONS,
    SCAN_PATTERNS,
    TONE,
    VERDICTS,
    Language,
    consumer,
    every_language,
    text,
)
from verifier.provinces import province
from verifier.scans.recorder import ScanSummary
from verifier.service import OnlineVerdict
from verifier.store.models import Lot


def reason_text(code: str, scans: ScanSummary | None, language: Language) -> str:
    """Return the wording of a reason; a clone pattern is told with the figures of the serial's
    ``scans``."""
    if (
        code == "scan_pattern"
        and scans is not None
        and scans.flag in SCAN_PATTERNS
        and scans.first_at is not None
    ):
        return text(SCAN_PATTERNS, scans.flag, language).format(
            count=scans.count,
            devices=scans.devices,
            places=scans.places,
            first=f"{vietnam_date(scans.first_at):%d/%m/%Y}",
        )
    return text(REASONS, code, language)


def verdict_json(result: OnlineVerdict | Verdict, official_host: str | None) -> dict[str, Any]:
    """Return the public JSON answer on a check: the one shape the API and ``ocop verify
    --json`` write, online and offline.

    ``result`` is an online verdict (with the registry's certificate and the serial's scans)
    or an offline one, decided from the signed lists alone: then ``certificate`` is the status
    list's entry, null where only the registry knows, and ``scans`` is null. ``official_host``
    is the domain the service answers on (``None`` offline). Times and dates stay ``datetime``
    and ``date`` objects (faster than formatting them here for every check): write the answer
    with :func:`verdict_body`."""
    if isinstance(result, Verdict):
        verdict, scans, certificate = result, None, _listed_certificate(result)
    else:
        verdict, scans = result.verdict, result.scans
        certificate = None if result.certificate is None else result.certificate.to_json()
    stamp, key = verdict.stamp, verdict.key
    answer: dict[str, Any] = {
        "verdict": str(verdict.verdict),  # the value, without the enum's slow property
        "reasons": list(verdict.reasons),
        "reason_messages": [
            {"code": r, **{lang: reason_text(r, scans, lang) for lang in CATALOGS.languages}}
            for r in verdict.reasons
        ],
        "notes": list(verdict.notes),
        "stamp": None,
        "certificate": certificate,
        "scans": None
        if scans is None
        else {
            "count": scans.count,
            "first_at": scans.first_at,
            "devices": scans.devices,
            "places": scans.places,
            "pattern": scans.flag,
            "complete": scans.complete,
        },
        "message": every_language(VERDICTS[verdict.verdict]),
        "official_domain": official_host,
        "claim": None,
    }
    if not isinstance(result, Verdict) and result.pin:  # printed with a PIN under its foil
        answer["claim"] = {"claimed": False} if result.claim is None else {
            "claimed": True, **claim_json(result.claim),
            "messages": claim_words(result.claim, "claimed"),
        }  # fmt: skip
    if stamp is not None:
        p = stamp.payload
        answer["stamp"] = {
            "key_index": p.key_index,
            "certificate_id": p.certificate_id,
            "stars": p.stars,
            "valid_until": p.valid_until,
            "serial": p.serial,
            "issuer": key.issuer if key else None,
            "issuer_name": key.issuer_name if key else None,
        }
    return answer


def claim_words(claim: ClaimRecord, outcome: str) -> Mapping[str, str]:
    """Return what ``outcome`` (``first``, ``already_claimed`` or ``claimed``) says of the
    stamp's ``claim``, in each language: dates dd/mm/yyyy and times in Vietnam."""
    first = claim.first_at.astimezone(VIETNAM)
    place = province(claim.first_province) if claim.first_province else None
    if outcome == "already_claimed" and place is not None:
        outcome = "already_claimed_in"
    return every_language(
        CLAIM_ANSWERS[outcome],
        date=first.strftime("%d/%m/%Y"),
        time=first.strftime("%H:%M"),
        province=place.name if place else "",
        count=claim.count,
    )


def claim_json(claim: ClaimRecord) -> dict[str, Any]:
    """Return what the API shows of a stamp's claim."""
    place = province(claim.first_province) if claim.first_province else None
    return {
        "claimed_at": claim.first_at.isoformat(),
        "province": claim.first_province,
        "province_name": place.name if place else None,
        "count": claim.count,
    }


def _listed_certificate(verdict: Verdict) -> dict[str, Any] | None:
    """Return the status list's entry an offline verdict found, as the ``certificate`` object
    of the public answer (:meth:`PublicCertificate.to_json`'s keys), with null for what only
    the registry knows: the decision, the renewal, the product and the producer."""
    listed, key = verdict.certificate, verdict.key
    if listed is None:
        return None
    ref = listed.ref
    return {
        "certificate_id": ref.certificate_id,
        "issuer": ref.issuer,
        # the trust list names the authorities of keys: the stamp's key names its own
        "issuer_name": key.issuer_name if key is not None and key.issuer == ref.issuer else None,
        "status": listed.status.value,
        "stars": listed.stars,
        "decision_number": None,
        "decision_date": None,
        "valid_until": listed.valid_until,
        "revocation": None
        if listed.decision is None
        else {"decision": listed.decision, "date": None, "reason": listed.reason},
        "renews": None,
        "product": None,
        "producer": None,
    }


def verdict_body(
    result: OnlineVerdict | Verdict, official_host: str | None, *, indent: bool = False
) -> bytes:
    """Return the public JSON answer of :func:`verdict_json` as UTF-8 bytes, as every route and
    the CLI write it
    (orjson: times in ISO 8601 with their offset, dates as YYYY-MM-DD); ``indent`` for a
    person to read."""
    option = orjson.OPT_INDENT_2 if indent else 0
    return orjson.dumps(verdict_json(result, official_host), option=option)


def page_context(result: OnlineVerdict, language: Language) -> dict[str, Any]:
    """Return what the consumer page template needs, already worded in ``language``."""
    verdict = result.verdict
    headline, meaning, action = consumer(verdict.verdict, language)
    certificate = result.certificate
    return {
        "verdict": verdict.verdict.value,
        "tone": TONE[verdict.verdict],
        "headline": headline,
        "meaning": meaning,
        "action": action,
        "reasons": [reason_text(r, result.scans, language) for r in verdict.reasons],
        "notes": [text(NOTES, n, language) for n in verdict.notes if n in NOTES],
        "stamp": verdict.stamp.payload if verdict.stamp else None,
        "key": verdict.key,
        "certificate": certificate,
        "product_group": text(PRODUCT_GROUPS, certificate.product.group, language)
        if certificate and certificate.product.group in PRODUCT_GROUPS
        else None,
        "scans": result.scans,
        "first_checked": vietnam_date(result.scans.first_at) if result.scans.first_at else None,
        "pin": result.pin,  # printed with a PIN under scratch-off foil: the page takes it
        "claimed": None if result.claim is None else claim_words(result.claim, "claimed")[language],
    }


@dataclass(frozen=True, slots=True)
class LotView:
    """A lot as the stamp page's trace section shows it: the producer's declaration, its dates
    read back from the JSON kept, each place with its province's name."""

    lot_number: str
    produced_on: date
    best_before: date | None
    expires_on: date | None
    quantity: int | None
    quantity_unit: str | None
    standards: list[str]
    origins: list[dict[str, Any]]
    stages: list[dict[str, Any]]
    documents: list[dict[str, Any]]
    declared_by: str
    declared_at: datetime

    @classmethod
    def of(cls, lot: Lot) -> LotView:
        """Return the view of ``lot``."""
        return cls(
            lot.lot_number, lot.produced_on, lot.best_before, lot.expires_on, lot.quantity,
            lot.quantity_unit, list(lot.standards),
            [_placed(o, harvested_on=_day(o.get("harvested_on"))) for o in lot.origins],
            [_placed(s, at=parse_time(s["at"])) for s in lot.stages],
            [{**d, "issued_on": _day(d.get("issued_on"))} for d in lot.documents],
            lot.declared_by, lot.declared_at,
        )  # fmt: skip


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _placed(item: dict[str, Any], **parsed: object) -> dict[str, Any]:
    """Return a lot's origin or stage with ``parsed`` values and its province's name."""
    known = province(item.get("province_code") or "")
    return {**item, **parsed, "province": known.name if known else item.get("province_code")}
