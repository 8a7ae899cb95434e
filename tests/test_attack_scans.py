"""Issue "Trust under attack", findings 1 and 2: what anonymous callers and hostile bytes can
do to the scans behind a verdict. Each ``_regression`` test failed on the code before the fix.

Clone verdicts rest on witnesses' checks (signed-in inspectors and authorities, one phone per
token); anyone else's checks are counted and shown, never evidence. Forged codes touch no
serial. Control characters are refused at the edge, and a recorder that cannot write says so.
"""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.exc import OperationalError

from signing import parse_stamp
from tests.conftest import NOW, Demo, csrf_of
from verifier.scans.recorder import ScanEvent, Trouble
from verifier.store.database import make_engine, session_factory
from verifier.store.models import AuditEntry, SerialMark, SerialScans

HANOI = "21.03,105.85"
SAIGON = "10.78,106.70"


def _verify(demo: Demo, code: str, **params: Any) -> dict[str, Any]:
    headers = params.pop("headers", {})
    answer = demo.client.get("/api/v1/verify", params={"code": code, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def _settled(demo: Demo) -> dict[str, Any]:
    """Write every queued check, then return the genuine sample's answer."""
    demo.service.recorder.flush()
    return _verify(demo, demo.sample("genuine"))


def _aggregate(demo: Demo, key: tuple[int, int]) -> SerialScans | None:
    with demo.service.sessions() as session:
        return session.get(SerialScans, key)


def _marks(demo: Demo) -> int:
    with demo.service.sessions() as session:
        return session.scalar(select(func.count()).select_from(SerialMark)) or 0


def _key(demo: Demo, sample: str) -> tuple[int, int]:
    payload = parse_stamp(demo.sample(sample)).payload
    return payload.key_index, payload.serial


def test_anonymous_places_far_apart_do_not_flip_a_genuine_stamp_regression(demo: Demo) -> None:
    """Two anonymous checks 1,100 km apart an instant apart made it a copy (impossible travel)
    for everyone, for good."""
    for place in (HANOI, SAIGON, HANOI, SAIGON):
        _verify(demo, demo.sample("genuine"), location=place)
    answer = _settled(demo)
    assert (answer["verdict"], answer["reasons"]) == ("genuine", [])
    assert answer["scans"]["pattern"] is None
    assert answer["scans"]["count"] == 5  # counted and shown all the same
    stored = _aggregate(demo, _key(demo, "genuine"))
    assert stored is not None
    assert (stored.flag, stored.places, stored.away) == (None, 0, False)


def test_fifteen_phones_at_a_shops_display_jar_leave_it_genuine_regression(demo: Demo) -> None:
    """More than ten made-up (or honest) phone ids on one stamp made it "Nghi tem bị sao
    chép" for everyone."""
    for phone in range(15):
        _verify(demo, demo.sample("genuine"), device_id=f"browser-{phone}")
    answer = _settled(demo)
    assert answer["verdict"] == "genuine"
    assert (answer["scans"]["devices"], answer["scans"]["pattern"]) == (0, None)
    page = demo.client.get(demo.sample("genuine").replace("https://ocop.vn", ""))
    assert "Nghi tem bị sao chép" not in page.text


def test_forged_codes_naming_a_real_serial_count_nothing_and_learn_nothing_regression(
    demo: Demo,
) -> None:
    """A forged code (bad signature) for a real serial counted against it and was answered
    with that serial's scan history; a signed code of a serial never issued made a row too."""
    genuine = demo.sample("genuine")
    for _ in range(3):
        _verify(demo, genuine, device_id="owner")
    before = _settled(demo)["scans"]
    marks_before = _marks(demo)
    digits = genuine.rsplit("/", 1)[1]
    forged = genuine[: -len(digits)] + digits[:-6] + ("000000" if digits[-6:] != "000000" else "1")
    for phone in range(12):
        answer = _verify(demo, forged, device_id=f"forger-{phone}", location=SAIGON)
        assert answer["verdict"] == "counterfeit"
        assert answer["scans"] == {
            "count": 0, "first_at": None, "devices": 0, "places": 0, "pattern": None,
            "complete": True,
        }  # fmt: skip
    never_issued = _verify(demo, demo.sample("unregistered_never_issued"))
    assert never_issued["reasons"] == ["serial_not_issued"]
    assert never_issued["scans"]["count"] == 0
    after = _settled(demo)
    assert after["verdict"] == "genuine"
    assert after["scans"]["count"] == before["count"] + 1  # only this check of the real one
    with demo.service.sessions() as session:
        never = _key(demo, "unregistered_never_issued")
        assert session.get(SerialScans, never) is None
    assert _marks(demo) == marks_before


def test_a_witness_still_catches_a_copy_travelling_impossibly(demo: Demo) -> None:
    """The rules still work where the evidence costs something: two inspectors' checks of
    one serial in Hà Nội and Sài Gòn an hour apart."""
    inspector = demo.token("inspector")
    _verify(demo, demo.sample("genuine"), location=HANOI, headers=inspector)
    _verify(demo, demo.sample("genuine"), location=SAIGON, headers=inspector)
    answer = _settled(demo)
    assert (answer["verdict"], answer["reasons"]) == ("suspected_clone", ["scan_pattern"])
    assert answer["scans"]["pattern"] == "impossible_travel"


def test_the_check_that_breaks_a_clone_rule_says_so_itself_regression(demo: Demo) -> None:
    """Issue 18: the far check that broke impossible travel was answered "genuine" (the rule
    was decided in the write after it); only the next check said so. A witness's check is
    written before it is answered, the rules with it."""
    inspector = demo.token("inspector")
    near = _verify(demo, demo.sample("genuine"), location=HANOI, headers=inspector)
    assert near["verdict"] == "genuine"
    far = _verify(demo, demo.sample("genuine"), location=SAIGON, headers=inspector)
    assert (far["verdict"], far["scans"]["pattern"]) == ("suspected_clone", "impossible_travel")
    assert far["scans"]["count"] == near["scans"]["count"] + 1
    assert demo.service.recorder.queued == 0  # written, not waiting for the next flush


def test_a_witness_s_check_does_not_wait_on_writes_that_are_failing(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the recorder's writes fail (the database out of reach: each try may take the
    connection timeout), a witness's check is answered at once and waits in the queue."""

    tries: list[str] = []

    def must_not_write() -> None:
        tries.append("a check tried to write while writes were failing")
        raise OperationalError("", None, Exception("connection timeout"))

    recorder = demo.service.recorder
    recorder._stopped = True  # no background flush meanwhile (the closing one still runs)
    recorder._wake.set()
    recorder._thread.join()
    monkeypatch.setattr(recorder, "trouble", Trouble(0.0, "OperationalError"))
    monkeypatch.setattr(recorder, "flush", must_not_write)
    try:
        inspector = demo.token("inspector")
        answer = _verify(demo, demo.sample("genuine"), location=HANOI, headers=inspector)
    finally:
        monkeypatch.undo()  # before the service closes, with a flush
    assert (answer["verdict"], tries) == ("genuine", [])
    assert recorder.queued == 1


def test_a_stolen_inspector_token_is_one_phone_however_many_ids_it_sends(demo: Demo) -> None:
    inspector = demo.token("inspector")
    for phone in range(15):
        _verify(demo, demo.sample("genuine"), device_id=f"fake-{phone}", headers=inspector)
    answer = _settled(demo)
    assert (answer["verdict"], answer["scans"]["devices"]) == ("genuine", 1)


def test_the_desk_clears_a_flag_and_the_audit_log_keeps_why(demo: Demo) -> None:
    inspector = demo.token("inspector")
    for place in (HANOI, SAIGON):
        _verify(demo, demo.sample("genuine"), location=place, headers=inspector)
    assert _settled(demo)["verdict"] == "suspected_clone"
    key_index, serial = _key(demo, "genuine")
    demo.client.post("/desk/sign-in", data={"token": demo.info["tokens"]["authority_VN-01"]})
    page = demo.client.get(f"/desk/serials/{key_index}/{serial}")
    assert 'data-clear="pattern"' in page.text
    back = f"/desk/serials/{key_index}/{serial}"
    csrf = csrf_of(page.text)
    cleared = demo.client.post(
        f"{back}/clear", data={"reason": "Đã kiểm tra tại cửa hàng", "back": back, "csrf": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert cleared.status_code == 303
    assert "error" not in cleared.headers["location"]
    answer = _settled(demo)
    assert (answer["verdict"], answer["scans"]["pattern"], answer["scans"]["places"]) == (
        "genuine", None, 0,
    )  # fmt: skip
    with demo.service.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "serial.clear_pattern")
        ).one()
        assert entry.entity_id == f"{key_index}-{serial}"
        assert entry.details["reason"] == "Đã kiểm tra tại cửa hàng"
    again = demo.client.post(
        f"{back}/clear",
        data={"reason": "lần nữa", "back": back, "csrf": csrf},
        follow_redirects=False,
    )
    assert "error=conflict" in again.headers["location"]
    # only checks from now on count: one more far check is no impossible travel by itself
    _verify(demo, demo.sample("genuine"), location=HANOI, headers=inspector)
    assert _settled(demo)["verdict"] == "genuine"


def test_a_nul_byte_is_refused_and_loses_no_one_elses_scans_regression(demo: Demo) -> None:
    """``device_id=a%00b`` was answered 200; on PostgreSQL the next flush failed and every
    check queued with it was lost."""
    genuine = demo.sample("genuine")
    start = _settled(demo)["scans"]["count"]
    for i in range(50):
        if i % 5 == 0:
            for field in ("device_id", "location"):
                refused = demo.client.get(
                    "/api/v1/verify", params={"code": genuine, field: "a\x00b"}
                )
                assert refused.status_code == 422, refused.text
                assert refused.json()["error"]["code"] == "invalid_request"
            posted = demo.client.post(
                "/api/v1/verify", json={"code": genuine, "device_id": "a\x00b"}
            )
            assert posted.status_code == 422
        _verify(demo, genuine, device_id=f"phone-{i}")
    assert _settled(demo)["scans"]["count"] == start + 51  # 50 above and the settling one
    assert demo.service.recorder.trouble is None


def test_healthz_says_when_checks_are_not_being_recorded_regression(demo: Demo) -> None:
    """A recorder that could not write (a full disk, a refused row) dropped checks while
    /healthz said ok. Now the checks wait in the queue, /healthz answers 503 meanwhile, and
    the first write that succeeds records them all (issue 18: a failed flush lost them)."""
    assert demo.client.get("/healthz").status_code == 200
    start = _settled(demo)["scans"]["count"]
    with demo.service.writer.begin() as session:
        session.execute(text("ALTER TABLE scans RENAME TO scans_unwritable"))
    try:
        for _ in range(3):
            _verify(demo, demo.sample("genuine"))
        for _ in range(2):  # failed flushes put the checks back, again and again
            with pytest.raises(Exception, match="scans"):  # whichever the driver raises
                demo.service.recorder.flush()
        health = demo.client.get("/healthz")
        assert health.status_code == 503
        assert health.json()["status"] == "degraded"
        assert health.json()["problems"] == ["scans_not_written"]
        scans = health.json()["scans"]
        assert (scans["recording"], scans["queued"], scans["dropped"]) == (False, 4, 0)
        assert demo.client.get("/livez").status_code == 200
        app = demo.client.app
        while not isinstance(app, FastAPI):
            app = app.app  # type: ignore[attr-defined]
        app.state.clock = lambda: NOW + timedelta(minutes=1)
        health = demo.client.get("/healthz").json()  # the 4 have waited a minute
        app.state.clock = lambda: NOW  # the fast path's, which answers the checks below
        assert health["problems"] == ["scans_not_written", "scans_behind"]
        assert health["scans"]["behind_seconds"] == 60
    finally:
        with demo.service.writer.begin() as session:
            session.execute(text("ALTER TABLE scans_unwritable RENAME TO scans"))
    assert _settled(demo)["scans"]["count"] == start + 4  # the 3 queued and the settling one
    # (the 4 queued: the 3 and the check that read ``start``)
    assert demo.client.get("/healthz").json()["problems"] == []


def test_a_full_queue_drops_the_oldest_checks_and_counts_them(demo: Demo) -> None:
    """While writes fail, the queue is bounded: a failed batch that no longer fits (the
    oldest checks) is dropped, a check past the bound is not queued, both are counted and
    shown in /healthz, and the checks that fit are still written."""
    recorder = demo.service.recorder
    start = _settled(demo)["scans"]["count"]
    recorder.flush()  # the check that read ``start`` is written
    with demo.service.writer.begin() as session:
        session.execute(text("ALTER TABLE scans RENAME TO scans_unwritable"))
    try:
        for _ in range(3):
            _verify(demo, demo.sample("genuine"))
        recorder._max_queued = 2
        with pytest.raises(Exception, match="scans"):
            recorder.flush()  # the 3 no longer fit: dropped
        for _ in range(3):
            _verify(demo, demo.sample("genuine"))  # 2 fit, the third is dropped
        health = demo.client.get("/healthz").json()
        assert (health["scans"]["queued"], health["scans"]["dropped"]) == (2, 4)
        assert "scans_lost" in health["problems"]
    finally:
        with demo.service.writer.begin() as session:
            session.execute(text("ALTER TABLE scans_unwritable RENAME TO scans"))
        recorder._max_queued = 1000
    assert _settled(demo)["scans"]["count"] == start + 3  # the 2 kept and the settling one
    assert demo.client.get("/healthz").json()["problems"] == ["scans_lost"]  # for a while


def test_a_check_the_database_refuses_leaves_the_others_written_regression(demo: Demo) -> None:
    """Issue 18: one row the database refuses failed the whole write, again and again, with
    every check queued after it. The checks around it are written; it alone is counted,
    logged and shown."""
    recorder = demo.service.recorder
    start = _settled(demo)["scans"]["count"]
    key = parse_stamp(demo.sample("genuine")).payload
    serial = (key.key_index, key.serial)
    good = ScanEvent(NOW, serial, "genuine", "public")
    refused = good._replace(token_id=2**64)  # too large for the column, on either database
    for event in (good, good, refused, good):
        recorder.record(event)
    recorder.flush()
    assert recorder.refused == 1
    assert recorder.trouble is None
    assert _settled(demo)["scans"]["count"] == start + 4  # the 3 good ones and the settling one
    health = demo.client.get("/healthz")
    assert health.status_code == 503
    assert (health.json()["problems"], health.json()["scans"]["refused"]) == (["scans_lost"], 1)


def test_healthz_of_an_idle_node_sees_the_database_unreachable_regression(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18: /healthz said "ok" through an outage on a node nobody checked stamps on
    (only failed writes told). It probes the database; the process stays live."""
    assert demo.client.get("/healthz").json()["database"] == {"reachable": True, "error": None}
    engine = make_engine("postgresql+psycopg://ocop@127.0.0.1:1/ocop")  # nothing there
    monkeypatch.setattr(demo.service, "sessions", session_factory(engine))
    monkeypatch.setattr(demo.service, "_probed", (-10.0, None))  # no answer kept
    try:
        health = demo.client.get("/healthz")
    finally:
        engine.dispose()
    assert health.status_code == 503
    assert health.json()["problems"] == ["database_unreachable"]
    assert health.json()["database"] == {"reachable": False, "error": "OperationalError"}
    assert demo.client.get("/livez").json() == {"status": "alive"}


def test_a_check_whose_serials_cannot_be_read_is_answered_and_kept_regression(
    demo: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    """With the database unreachable, a stamp from a block of serials the worker had not
    read yet was answered 500 on every check. Now the verdict is given from the lists, its
    scans marked incomplete, and the check waits in the queue until it can be written."""
    recorder = demo.service.recorder
    start = _settled(demo)["scans"]["count"]
    recorder.flush()
    recorder._forget_blocks()  # as after a restart: no block of serials read yet
    reachable = recorder._engine
    unreachable = make_engine("postgresql+psycopg://ocop@127.0.0.1:1/ocop")  # nothing there
    recorder._engine, recorder._local = unreachable, threading.local()  # the database is down
    try:
        answer = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")})
        assert answer.status_code == 200, answer.text
        assert answer.json()["verdict"] == "genuine"
        assert answer.json()["scans"]["complete"] is False
        page = demo.client.get(demo.sample("genuine").replace("https://ocop.vn", ""))
        assert page.status_code == 200  # and says so, instead of "checked 1 time in all"
        assert "Tạm thời chưa xem được tem này đã được kiểm tra bao nhiêu lần." in page.text
        assert "tổng cộng" not in page.text
        recorder._unreachable_until = 1.0  # the pause is over: the next check tries again
        assert _verify(demo, demo.sample("genuine"))["scans"]["complete"] is False
        with pytest.raises(OperationalError):
            recorder.flush()  # the checks go back to the queue
    finally:
        recorder._engine, recorder._local = reachable, threading.local()
        unreachable.dispose()
    settled = _settled(demo)["scans"]
    assert (settled["count"], settled["complete"]) == (start + 4, True)
    # said once in the spell (it was once a second), not for each try
    warnings = [r for r in caplog.records if r.getMessage().startswith("could not read the scans")]
    assert len(warnings) == 1
