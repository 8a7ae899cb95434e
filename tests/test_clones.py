"""Clone detection on synthetic scan streams: true clones are flagged, and the family of five
scanning one jar of honey, a shop re-scanning its own shelf and a gift carried across the
country are not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import pytest

from signing import parse_stamp
from tests.conftest import NOW, Demo
from verifier.clones import distance_km, place_of
from verifier.scans import ScanEvent

HANOI = "21.03,105.85"
HAIPHONG = "20.86,106.68"
DANANG = "16.05,108.20"
SAIGON = "10.78,106.70"
CANTHO = "10.03,105.78"


def _stream(demo: Demo, scans: Sequence[tuple[float, str, str]]) -> dict[str, object]:
    """Record scans of the genuine sample (hours after NOW, device, location), then ask."""
    serial = parse_stamp(demo.sample("genuine")).payload
    recorder = demo.service.recorder
    for hours, device, location in scans:
        at = NOW - timedelta(days=30) + timedelta(hours=hours)
        recorder.record(ScanEvent(at, (serial.key_index, serial.serial), "genuine", "public",
                                  device, location))  # fmt: skip
        recorder.flush()
    answer: dict[str, object] = demo.client.get(
        "/api/v1/verify", params={"code": demo.sample("genuine")}
    ).json()
    return answer


def test_a_family_of_five_is_not_a_clone(demo: Demo) -> None:
    family = [(h * 7.0, f"phone-{h % 5}", HANOI) for h in range(15)]
    answer = _stream(demo, family)
    assert (answer["verdict"], answer["reasons"]) == ("genuine", [])
    scans = answer["scans"]
    assert isinstance(scans, dict)
    assert (scans["devices"], scans["places"], scans["pattern"]) == (5, 1, None)


def test_a_shop_rescanning_its_shelf_is_not_a_clone(demo: Demo) -> None:
    shelf = [(h * 0.8, "shop-tablet", HANOI) for h in range(200)]
    answer = _stream(demo, shelf)
    assert answer["verdict"] == "genuine"
    scans = answer["scans"]
    assert isinstance(scans, dict)
    assert scans["count"] >= 200


def test_a_gift_carried_across_the_country_is_not_a_clone(demo: Demo) -> None:
    trip = [(0, "buyer", HANOI), (2, "buyer", HANOI), (50, "aunt", SAIGON), (51, "cousin", SAIGON)]
    assert _stream(demo, trip)["verdict"] == "genuine"


def test_many_phones_flag_a_clone_and_say_why(demo: Demo) -> None:
    copies = [(h * 0.5, f"stranger-{h}", HANOI) for h in range(25)]
    answer = _stream(demo, copies)
    assert (answer["verdict"], answer["reasons"]) == ("suspected_clone", ["scan_pattern"])
    messages = answer["reason_messages"]
    assert isinstance(messages, list)
    assert "trên 25 điện thoại khác nhau" in messages[0]["vi"]
    assert "on 25 different phones" in messages[0]["en"]
    page = demo.client.get(demo.sample("genuine").replace("https://ocop.vn", ""))
    assert "25 điện thoại" in page.text


def test_too_many_regions_flag_a_clone(demo: Demo) -> None:
    tour = [(i * 24.0, f"p{i}", place) for i, place in
            enumerate([HANOI, HAIPHONG, DANANG, SAIGON, CANTHO])]  # fmt: skip
    answer = _stream(demo, tour)
    assert answer["verdict"] == "suspected_clone"
    scans = answer["scans"]
    assert isinstance(scans, dict)
    assert (scans["places"], scans["pattern"]) == (5, "many_places")


def test_impossible_travel_flags_a_clone(demo: Demo) -> None:
    answer = _stream(demo, [(0, "a", HANOI), (1, "b", SAIGON)])
    scans = answer["scans"]
    assert isinstance(scans, dict)
    assert (answer["verdict"], scans["pattern"]) == ("suspected_clone", "impossible_travel")


def test_a_worse_verdict_keeps_its_place_and_lists_the_pattern_too(demo: Demo) -> None:
    revoked = parse_stamp(demo.sample("revoked")).payload
    for i in range(12):
        demo.service.recorder.record(ScanEvent(NOW, (revoked.key_index, revoked.serial),
                                               "revoked", "public", f"d{i}"))  # fmt: skip
    demo.service.recorder.flush()
    answer = demo.client.get("/api/v1/verify", params={"code": demo.sample("revoked")}).json()
    assert answer["verdict"] == "revoked"
    assert answer["reasons"] == ["certificate_revoked", "scan_pattern"]


@pytest.mark.parametrize(
    ("location", "place"),
    [
        ("21.03,105.85", ("c21,105", (21.03, 105.85))),
        ("01", ("p01", None)),
        ("somewhere", None),
        ("95,10", None),
        (None, None),
    ],
)
def test_coarse_locations(location: str | None, place: object) -> None:
    assert place_of(location) == place


def test_distances_are_great_circle() -> None:
    assert distance_km((21.03, 105.85), (10.78, 106.70)) == pytest.approx(1142, rel=0.01)
