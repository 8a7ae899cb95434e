"""The public view of a verdict: the JSON of the API and the context of the consumer page."""

from __future__ import annotations

from typing import Any

import orjson

from signing.dates import vietnam_date
from verifier.i18n.catalogs import CATALOGS
from verifier.i18n.messages import (
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
from verifier.service import OnlineVerdict


def reason_text(code: str, result: OnlineVerdict, language: Language) -> str:
    """Return the wording of a reason; a clone pattern is told with its figures."""
    scans = result.scans
    if code == "scan_pattern" and scans.flag in SCAN_PATTERNS and scans.first_at is not None:
        return text(SCAN_PATTERNS, scans.flag, language).format(
            count=scans.count,
            devices=scans.devices,
            places=scans.places,
            first=f"{vietnam_date(scans.first_at):%d/%m/%Y}",
        )
    return text(REASONS, code, language)


def verdict_json(result: OnlineVerdict, official_host: str) -> dict[str, Any]:
    """Return the public JSON answer for an online verdict. Its time and date stay
    ``datetime`` and ``date`` objects (faster than formatting them here for every check):
    write it with :func:`verdict_body`."""
    verdict = result.verdict
    stamp, key, certificate = verdict.stamp, verdict.key, result.certificate
    answer: dict[str, Any] = {
        "verdict": str(verdict.verdict),  # the value, without the enum's slow property
        "reasons": list(verdict.reasons),
        "reason_messages": [
            {"code": r, **{lang: reason_text(r, result, lang) for lang in CATALOGS.languages}}
            for r in verdict.reasons
        ],
        "notes": list(verdict.notes),
        "stamp": None,
        "certificate": None,
        "scans": {
            "count": result.scans.count,
            "first_at": result.scans.first_at,
            "devices": result.scans.devices,
            "places": result.scans.places,
            "pattern": result.scans.flag,
        },
        "message": every_language(VERDICTS[verdict.verdict]),
        "official_domain": official_host,
    }
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
    if certificate is not None:
        answer["certificate"] = certificate.to_json()
    return answer


def verdict_body(result: OnlineVerdict, official_host: str, *, indent: bool = False) -> bytes:
    """Return the public JSON answer as UTF-8 bytes, as every route and the CLI write it
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
        "reasons": [reason_text(r, result, language) for r in verdict.reasons],
        "notes": [text(NOTES, n, language) for n in verdict.notes if n in NOTES],
        "stamp": verdict.stamp.payload if verdict.stamp else None,
        "key": verdict.key,
        "certificate": certificate,
        "product_group": text(PRODUCT_GROUPS, certificate.product.group, language)
        if certificate and certificate.product.group in PRODUCT_GROUPS
        else None,
        "scans": result.scans,
        "first_checked": vietnam_date(result.scans.first_at) if result.scans.first_at else None,
    }
