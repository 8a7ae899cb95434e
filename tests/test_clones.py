"""Clone detection on synthetic scan streams: true clones are flagged, and the family of five
scanning one jar of honey, a shop re-scanning its own shelf and a gift carried across the
country are not."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from signing import parse_stamp
from tests.conftest import NOW, Demo
from verifier import registry
from verifier.provinces import distance_km
from verifier.scans import findings
from verifier.scans.clones import RULES, CloneRules, place_of
from verifier.scans.findings import BatchFinding
from verifier.scans.recorder import ScanEvent, ScanRecorder
from verifier.settings import Settings, SettingsError
from verifier.store.models import SerialScans

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
        recorder.record(ScanEvent(at, (serial.key_index, serial.serial), "genuine", "inspector",
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
                                               "revoked", "inspector", f"d{i}"))  # fmt: skip
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


def _batch(demo: Demo, markets: list[str], count: int = 20) -> dict[str, object]:
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
    ordered = demo.client.post(
        "/api/v1/batches", headers=demo.token("producer"),
        json={"certificate_id": certificate, "count": count, "markets": markets},
    )  # fmt: skip
    assert ordered.status_code == 201, ordered.text
    batch: dict[str, object] = ordered.json()
    return batch


def _scan_serials(demo: Demo, batch: dict[str, object], n: int, location: str) -> None:
    first = int(str(batch["first_serial"]))
    for offset in range(n):
        event = ScanEvent(NOW, (int(str(batch["key_index"])), first + offset), "genuine",
                          "inspector", f"buyer-{offset}", location)  # fmt: skip
        demo.service.recorder.record(event)
    demo.service.recorder.flush()


def _desk_batches(demo: Demo, *batches: dict[str, object]) -> list[BatchFinding]:
    """The desk's findings about these batches (the demo has its own)."""
    ids = {batch["id"] for batch in batches}
    with demo.service.sessions() as session:
        actor = registry.actor_for_token(session, token=demo.info["tokens"]["authority_VN-01"])
        assert actor is not None
        found = findings.flagged_batches(session, actor, demo.service.settings.clone_rules)
    return [finding for finding in found if finding.batch.id in ids]


def test_the_demo_desk_has_a_copied_stamp_and_a_batch_carried_far(demo: Demo) -> None:
    with demo.service.sessions() as session:
        actor = registry.actor_for_token(session, token=demo.info["tokens"]["authority_VN-01"])
        assert actor is not None
        found = findings.flagged_batches(session, actor, demo.service.settings.clone_rules)
        flagged = registry.flagged_serials(session, actor=actor)
    assert [(f.certificate.product.name, f.flagged, f.away) for f in found] == [
        ("Mật ong hoa nhãn Ba Vì", 1, 7)
    ]
    assert [(s.devices, s.places) for s in flagged] == [(14, 4)]


def test_a_batch_sold_in_hanoi_scanned_in_saigon_goes_to_the_desk_not_to_the_buyer(
    demo: Demo,
) -> None:
    batch = _batch(demo, ["01"])
    assert batch["markets"] == ["01"]
    _scan_serials(demo, batch, RULES.batch_serials, SAIGON)
    found = _desk_batches(demo, batch)
    assert [(f.away, f.flagged) for f in found] == [(RULES.batch_serials, 0)]
    with demo.service.sessions() as session:
        one = session.get_one(SerialScans, (batch["key_index"], batch["first_serial"]))
    assert (one.away, one.flag) == (True, None)  # a buyer may carry one jar far: no verdict


def test_scans_near_the_market_or_too_few_far_away_are_not_a_finding(demo: Demo) -> None:
    near = _batch(demo, ["01"])
    _scan_serials(demo, near, 12, HAIPHONG)  # about 100 km from Hà Nội
    few = _batch(demo, ["01"])
    _scan_serials(demo, few, RULES.batch_serials - 1, SAIGON)
    undeclared = _batch(demo, [])
    _scan_serials(demo, undeclared, 12, SAIGON)  # no market declared: no rule to break
    assert _desk_batches(demo, near, few, undeclared) == []


def test_a_batch_whose_stamps_are_flagged_goes_to_the_desk(demo: Demo) -> None:
    batch = _batch(demo, [])
    first, key = int(str(batch["first_serial"])), int(str(batch["key_index"]))
    for offset in range(RULES.batch_serials):
        for phone in range(RULES.max_devices + 1):
            demo.service.recorder.record(ScanEvent(NOW, (key, first + offset), "genuine",
                                                   "inspector", f"p{offset}-{phone}"))  # fmt: skip
    demo.service.recorder.flush()
    assert [f.flagged for f in _desk_batches(demo, batch)] == [RULES.batch_serials]


@pytest.mark.parametrize("markets", [["99"], ["1"], ["Hà Nội"]])
def test_an_unknown_market_is_refused(demo: Demo, markets: list[str]) -> None:
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
    answer = demo.client.post(
        "/api/v1/batches", headers=demo.token("producer"),
        json={"certificate_id": certificate, "count": 5, "markets": markets},
    )  # fmt: skip
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid"
    assert "not a province code" in answer.json()["error"]["message"]


def test_the_rules_are_set_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "demo.json").write_text("{}")
    env = {"OCOP_CLONE_MAX_DEVICES": "3", "OCOP_CLONE_MARKET_KM": "120.5"}
    rules = Settings.load(tmp_path, env).clone_rules
    assert (rules.max_devices, rules.market_km, rules.max_places) == (3, 120.5, RULES.max_places)
    for bad in ({"OCOP_CLONE_MAX_DEVICES": "many"}, {"OCOP_CLONE_MAX_DEVICES": "2.5"},
                {"OCOP_CLONE_MARKET_KM": "-1"}):  # fmt: skip
        with pytest.raises(SettingsError, match=r"OCOP_CLONE|clone rules"):
            Settings.load(tmp_path, bad)


def test_a_stricter_phone_rule_flags_sooner(demo: Demo) -> None:
    strict = ScanRecorder(demo.service.writer, rules=CloneRules(max_devices=3))
    try:
        payload = parse_stamp(demo.sample("genuine")).payload
        for phone in range(4):
            strict.record(ScanEvent(NOW, (payload.key_index, payload.serial), "genuine",
                                    "inspector", f"phone-{phone}"))  # fmt: skip
        strict.flush()
    finally:
        strict.close()
    with demo.service.sessions() as session:
        scans = session.get_one(SerialScans, (payload.key_index, payload.serial))
    assert (scans.devices, scans.flag) == (4, "many_devices")
