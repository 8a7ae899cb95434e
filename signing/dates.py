"""The calendar of the stamp format, public because the service shares it: the day epoch,
Vietnam's time zone and date, the 36-month recognition, month arithmetic, RFC 3339 times."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache

__all__ = [
    "EPOCH",
    "RECOGNITION_MONTHS",
    "VIETNAM",
    "add_months",
    "format_time",
    "parse_time",
    "vietnam_date",
]

EPOCH = date(2000, 1, 1)
VIETNAM = timezone(timedelta(hours=7), "ICT")
RECOGNITION_MONTHS = 36


@lru_cache(maxsize=4096)  # every check computes its stamp's signing window: few distinct days
def add_months(day: date, months: int) -> date:
    """Return ``day`` moved by ``months`` calendar months, clamped to the month's last day."""
    index = day.year * 12 + (day.month - 1) + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def vietnam_date(now: datetime) -> date:
    """Return the calendar date in Vietnam (UTC+07:00) at the instant ``now``.

    Raises ``ValueError`` when ``now`` is naive: time must always carry its zone.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(VIETNAM).date()


def format_time(moment: datetime) -> str:
    """Return ``moment`` as RFC 3339 in UTC with second precision, e.g. ``2026-11-24T07:00:00Z``."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Parse an RFC 3339 time with an explicit zone. Raises ``ValueError`` otherwise."""
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"time {text!r} has no zone")
    return moment
