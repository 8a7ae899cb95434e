"""The clone rules applied as scans are recorded: each flush counts the phones and places of
the serials its scans touched, follows their located scans, and flags or marks them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from verifier import provinces
from verifier.scans import clones
from verifier.scans.scan_sql import stored_time

if TYPE_CHECKING:
    from verifier.scans.recorder import ScanEvent, SerialKey

_CHUNK = 200  # serials per statement in the pattern queries


def update_patterns(
    connection: Any,
    sql: dict[str, Any],
    events: list[ScanEvent],
    rules: clones.CloneRules,
    bind_time: Callable[[datetime], Any],
) -> None:
    """Count the distinct phones and places of the serials these events touched, follow
    their located scans, and flag those that break a clone rule (a flag stays)."""
    marks: set[tuple[int, int, str, str]] = set()
    located: dict[SerialKey, list[clones.Point]] = {}
    for event in events:
        if event.device_id is None and event.location is None:
            continue  # most scans: nothing to count
        if event.device_id:
            marks.add((*event.serial, "d", clones.device_mark(event.device_id)))
        place = clones.place_of(event.location)
        if place is not None:
            marks.add((*event.serial, "p", place[0]))
            if place[1] is not None:
                point = clones.Point(*place[1], event.at)
                located.setdefault(event.serial, []).append(point)
    if not marks:
        return
    connection.exec_driver_sql(sql["mark"], sorted(marks))
    touched = sorted({(k, s) for k, s, _, _ in marks})
    counts: dict[tuple[int, int, str], int] = {}
    state: dict[SerialKey, tuple[Any, ...]] = {}
    for start in range(0, len(touched), _CHUNK):
        chunk = touched[start : start + _CHUNK]
        params = [n for key in chunk for n in key]
        for k, s, kind, n in connection.exec_driver_sql(
            sql["mark_counts"][len(chunk)], tuple(params)
        ):
            counts[(k, s, kind)] = int(n)
        for k, s, *rest in connection.exec_driver_sql(
            sql["last_points"][len(chunk)], tuple(params)
        ):
            state[(k, s)] = tuple(rest)
    updates = []
    for serial in touched:
        latitude, longitude, located_at, flag = state.get(serial, (None, None, None, None))
        previous = (
            clones.Point(latitude, longitude, stored_time(located_at))
            if located_at is not None
            else None
        )
        travelled = False
        for point in sorted(located.get(serial, []), key=lambda p: p.at):
            if previous is not None and clones.impossible(previous, point, rules):
                travelled = True
            previous = point
        devices, places = counts.get((*serial, "d"), 0), counts.get((*serial, "p"), 0)
        flag = flag or clones.flag_for(devices, places, travelled, rules)
        updates.append((
            devices, places,
            previous.latitude if previous else None, previous.longitude if previous else None,
            bind_time(previous.at) if previous else None, flag, *serial,
        ))  # fmt: skip
    connection.exec_driver_sql(sql["pattern"], updates)
    _mark_away(connection, sql, located, rules)


def _mark_away(
    connection: Any,
    sql: dict[str, Any],
    located: dict[SerialKey, list[clones.Point]],
    rules: clones.CloneRules,
) -> None:
    """Mark the serials scanned far from every province their batch is sold in."""
    away = []
    for (key_index, serial), points in located.items():
        row = connection.exec_driver_sql(sql["markets"], (key_index, serial, serial)).first()
        if row is None:
            continue
        found = (provinces.province(code) for code in row[0].split(","))
        markets = [market.centre for market in found if market is not None]
        if any(
            clones.far_from_markets((point.latitude, point.longitude), markets, rules)
            for point in points
        ):
            away.append((True, key_index, serial))
    if away:
        connection.exec_driver_sql(sql["away"], away)
