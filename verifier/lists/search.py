"""The public registry, as provinces must publish it: search of certified products, the
recognitions that expired or were revoked, and figures per province. Pure functions over the
in-memory registry snapshot (:class:`RegistryIndex`), so they cost no database query."""

from __future__ import annotations

import unicodedata
from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from verifier.lists.registry_index import PublicCertificate, RegistryIndex

EXPIRING_DAYS = 90
STATES = ("active", "expired", "revoked", "superseded")


def fold(text: str) -> str:
    """Return ``text`` lower-cased without Vietnamese diacritics ("Mật ong" -> "mat ong"), so
    that a search typed on any keyboard finds it."""
    decomposed = unicodedata.normalize("NFD", text.lower().replace("đ", "d"))
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def effective_status(certificate: PublicCertificate, today: date) -> str:
    """Return the status the public should read: an active certificate past its last valid
    day is expired even before the registry marks it so."""
    if certificate.status == "active" and certificate.valid_until < today:
        return "expired"
    return certificate.status


@dataclass(frozen=True, slots=True)
class Filters:
    """A search of the registry; every field is optional."""

    q: str = ""
    province: str | None = None
    group: str | None = None
    stars: int | None = None
    status: str | None = None


def search(index: RegistryIndex, filters: Filters, today: date) -> list[PublicCertificate]:
    """Return the certificates matching ``filters``, product names in order."""
    words = fold(filters.q).split()
    found = []
    for c in index.certificates.values():
        if filters.province and c.producer.province_code != filters.province:
            continue
        if filters.group and c.product.group != filters.group:
            continue
        if filters.stars and c.stars != filters.stars:
            continue
        if filters.status and effective_status(c, today) != filters.status:
            continue
        if words:
            haystack = fold(f"{c.product.name} {c.producer.name} {c.decision_number}")
            if not all(word in haystack for word in words):
                continue
        found.append(c)
    return sorted(found, key=lambda c: (fold(c.product.name), c.id))


def ended(index: RegistryIndex, today: date) -> list[PublicCertificate]:
    """Return the recognitions that expired (and were not renewed) or were revoked, latest
    end first: the list provinces must publish."""
    renewed = {c.renews for c in index.certificates.values() if c.renews is not None}
    out = [
        c
        for c in index.certificates.values()
        if effective_status(c, today) in ("expired", "revoked") and c.id not in renewed
    ]
    return sorted(out, key=lambda c: (_ended_on(c), c.id), reverse=True)


def _ended_on(c: PublicCertificate) -> date:
    return c.revocation_date if c.status == "revoked" and c.revocation_date else c.valid_until


def province_figures(index: RegistryIndex, today: date) -> list[dict[str, Any]]:
    """Return, per province, the active certified products by star level and how many of
    them expire in the next 90 days."""
    soon = today + timedelta(days=EXPIRING_DAYS)
    rows: dict[str, dict[str, Any]] = {}
    for c in index.certificates.values():
        if effective_status(c, today) != "active":
            continue
        row = rows.setdefault(
            c.producer.province_code,
            {"province_code": c.producer.province_code, "stars": Counter(), "expiring_90_days": 0},
        )
        row["stars"][c.stars] += 1
        if c.valid_until <= soon:
            row["expiring_90_days"] += 1
    return [
        {
            "province_code": code,
            "active": sum(row["stars"].values()),
            "stars_3": row["stars"][3],
            "stars_4": row["stars"][4],
            "stars_5": row["stars"][5],
            "expiring_90_days": row["expiring_90_days"],
        }
        for code, row in sorted(rows.items())
    ]


def certificate_row(c: PublicCertificate, today: date) -> dict[str, Any]:
    """Return one certificate as a flat row (JSON and CSV)."""
    return {
        "certificate_id": c.id,
        "issuer": c.issuer,
        "issuer_name": c.issuer_name,
        "product": c.product.name,
        "product_group": c.product.group,
        "producer": c.producer.name,
        "province_code": c.producer.province_code,
        "stars": c.stars,
        "status": effective_status(c, today),
        "decision_number": c.decision_number,
        "decision_date": c.decision_date.isoformat(),
        "valid_until": c.valid_until.isoformat(),
        "revocation_decision": c.revocation_decision,
        "revocation_date": c.revocation_date.isoformat() if c.revocation_date else None,
        "revocation_reason": c.revocation_reason,
    }
