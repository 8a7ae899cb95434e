"""The clone rules (scans/clones.py) applied as scans are recorded: in each flush's
transaction, count the distinct phones and places of the serials its scans touched, follow
their located scans, flag the serials that break a rule and mark those scanned far from where
their batch is sold."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from verifier import provinces
from verifier.scans import clones
from verifier.scans.scan_sql import ScanSql, stored_time

__all__ = ["Check", "update_patterns"]

SERIALS_PER_QUERY = 200


class Check(Protocol):
    """What the rules read of one scan (the recorder's ``ScanEvent``)."""

    @property
    def at(self) -> datetime: ...
    @property
    def serial(self) -> tuple[int, int]: ...
    @property
    def device_id(self) -> str | None: ...
    @property
    def location(self) -> str | None: ...


class _LastPoint(NamedTuple):
    """A serial's last located scan as stored (all ``None`` when it has none), and its flag."""

    latitude: float | None = None
    longitude: float | None = None
    located_at: datetime | str | None = None
    flag: str | None = None


def update_patterns(
    connection: Any, sql: ScanSql, checks: Sequence[Check], rules: clones.CloneRules
) -> None:
    """Count the distinct phones and places of the serials ``checks`` touched, follow their
    located scans, and flag those that break one of ``rules`` (a flag stays), on
    ``connection``, in the caller's transaction."""
    marks: set[tuple[int, int, str, str]] = set()  # key index, serial, kind ("d" or "p"), mark
    located: dict[tuple[int, int], list[clones.Point]] = {}
    for check in checks:
        if check.device_id is None and check.location is None:
            continue  # most scans: nothing to count
        if check.device_id:
            marks.add((*check.serial, "d", clones.device_mark(check.device_id)))
        place = clones.place_of(check.location)
        if place is not None:
            cell, coordinates = place
            marks.add((*check.serial, "p", cell))
            if coordinates is not None:
                point = clones.Point(*coordinates, check.at)
                located.setdefault(check.serial, []).append(point)
    if not marks:
        return
    connection.exec_driver_sql(sql.mark, sorted(marks))
    touched = sorted({(key_index, serial) for key_index, serial, _, _ in marks})
    counts: dict[tuple[int, int, str], int] = {}
    last_points: dict[tuple[int, int], _LastPoint] = {}
    for start in range(0, len(touched), SERIALS_PER_QUERY):
        chunk = touched[start : start + SERIALS_PER_QUERY]
        params = tuple(n for key in chunk for n in key)
        for key_index, serial, kind, n in connection.exec_driver_sql(
            sql.mark_counts[len(chunk)], params
        ):
            counts[(key_index, serial, kind)] = int(n)
        for key_index, serial, *last in connection.exec_driver_sql(
            sql.last_points[len(chunk)], params
        ):
            last_points[(key_index, serial)] = _LastPoint(*last)
    updates = []
    for key in touched:
        last = last_points.get(key, _LastPoint())
        previous = None
        if last.located_at is not None:  # stored with its latitude and longitude
            at = stored_time(last.located_at)
            previous = clones.Point(last.latitude, last.longitude, at)  # type: ignore[arg-type]
        travelled = False
        for point in sorted(located.get(key, []), key=lambda p: p.at):
            if previous is not None and clones.impossible(previous, point, rules):
                travelled = True
            previous = point
        devices, places = counts.get((*key, "d"), 0), counts.get((*key, "p"), 0)
        flag = last.flag or clones.flag_for(devices, places, travelled, rules)
        updates.append((
            devices, places,
            previous.latitude if previous else None, previous.longitude if previous else None,
            sql.bind_time(previous.at) if previous else None, flag, *key,
        ))  # fmt: skip
    connection.exec_driver_sql(sql.pattern, updates)
    _mark_away(connection, sql, located, rules)


def _mark_away(
    connection: Any,
    sql: ScanSql,
    located: dict[tuple[int, int], list[clones.Point]],
    rules: clones.CloneRules,
) -> None:
    """Mark the serials scanned far from every province their batch is sold in."""
    away = []
    for (key_index, serial), points in located.items():
        row = connection.exec_driver_sql(sql.markets, (key_index, serial, serial)).first()
        if row is None:
            continue
        found = (provinces.province(code) for code in row.markets.split(","))
        markets = [market.centre for market in found if market is not None]
        if any(
            clones.far_from_markets((point.latitude, point.longitude), markets, rules)
            for point in points
        ):
            away.append((True, key_index, serial))
    if away:
        connection.exec_driver_sql(sql.away, away)
