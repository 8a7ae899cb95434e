"""Clone detection: when the scans of one serial are impossible for one physical stamp.

A signature cannot stop a photocopy; the pattern of scans can. Each serial's aggregate keeps
how many distinct phones and distinct places (cells of about 100 km) have checked it, and its
last located scan; these rules, checked as scans are recorded, flag a serial:

- ``many_devices``: more phones than one package plausibly meets (a family of five, a shop
  and its customers, an inspector: well under ten);
- ``many_places``: checked in more regions than one package travels to;
- ``impossible_travel``: two located scans farther apart than any vehicle covers in the time
  between them.

Two findings are for the authority's desk only, never a verdict (a buyer may carry a jar of
honey from Hà Nội to Cần Thơ): a serial scanned far from every province its batch is declared
sold in is marked *away*; a batch with several such serials, or several flagged ones, is shown
for a decision (block its range, void it).

A flagged serial is ``suspected_clone`` online; an authority can block it, which puts it in the
status list so that offline scanners catch it too.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime

from verifier.provinces import distance_km

__all__ = [
    "RULES", "CloneRules", "Point", "device_mark", "far_from_markets", "place_of",
]  # fmt: skip

_COORDINATES = re.compile(r"(-?\d{1,2}(?:\.\d+)?),(-?\d{1,3}(?:\.\d+)?)")
_PROVINCE = re.compile(r"\d{2}")


@dataclass(frozen=True, slots=True)
class CloneRules:
    """The thresholds; the defaults leave a family, a shop and an inspector well inside."""

    max_devices: int = 10
    max_places: int = 3
    max_speed_kmh: float = 250.0
    min_distance_km: float = 150.0  # closer scans are never "impossible travel" (GPS, cells)
    market_km: float = 250.0  # farther than this from every market province's centre: away
    batch_serials: int = 5  # away or flagged serials before a batch is shown on the desk

    def __post_init__(self) -> None:
        numbers = (self.max_devices, self.max_places, self.max_speed_kmh, self.min_distance_km,
                   self.market_km, self.batch_serials)  # fmt: skip
        if any(n <= 0 for n in numbers):
            raise ValueError("clone rule thresholds must be positive")


RULES = CloneRules()


@dataclass(frozen=True, slots=True)
class Point:
    latitude: float
    longitude: float
    at: datetime


def device_mark(device_id: str) -> str:
    """Return what is stored of a device id: a short hash, never the id itself."""
    return hashlib.sha256(device_id.encode()).hexdigest()[:16]


def place_of(location: str | None) -> tuple[str, tuple[float, float] | None] | None:
    """Return the place a coarse location names, and its coordinates when it has them:
    ``"21.03,105.85"`` (latitude, longitude) is the 1-degree cell ``"c21,105"``; a two-digit
    province code ``"01"`` is ``"p01"``. Anything else is no place (``None``)."""
    if not location:
        return None
    match = _COORDINATES.fullmatch(location.strip())
    if match:
        latitude, longitude = float(match.group(1)), float(match.group(2))
        if -90 <= latitude <= 90 and -180 <= longitude <= 180:
            cell = f"c{math.floor(latitude)},{math.floor(longitude)}"
            return cell, (latitude, longitude)
        return None
    if _PROVINCE.fullmatch(location.strip()):
        return f"p{location.strip()}", None
    return None


def impossible(previous: Point, point: Point, rules: CloneRules = RULES) -> bool:
    """Return whether one stamp could not have been at both points in the time between."""
    distance = distance_km(
        (previous.latitude, previous.longitude), (point.latitude, point.longitude)
    )
    if distance < rules.min_distance_km:
        return False
    hours = abs((point.at - previous.at).total_seconds()) / 3600
    return hours == 0 or distance / hours > rules.max_speed_kmh


def flag_for(devices: int, places: int, travelled: bool, rules: CloneRules = RULES) -> str | None:
    """Return the rule a serial's pattern breaks, or ``None``."""
    if travelled:
        return "impossible_travel"
    if devices > rules.max_devices:
        return "many_devices"
    if places > rules.max_places:
        return "many_places"
    return None


def far_from_markets(
    point: tuple[float, float], markets: list[tuple[float, float]], rules: CloneRules = RULES
) -> bool:
    """Return whether a scan at ``point`` is farther than ``rules.market_km`` from the centre
    of every province the batch is sold in (``False`` when no market is declared)."""
    return bool(markets) and all(distance_km(point, m) > rules.market_km for m in markets)
