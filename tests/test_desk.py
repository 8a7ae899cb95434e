"""The authority's desk: flagged serials with their figures, blocking one (online and in the
status list for offline scanners), following up inspector reports, expiring recognitions;
other authorities' matters are refused, and every action is audited."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from signing import StatusList, parse_stamp, verify
from tests.conftest import NOW, Demo
from verifier.models import AuditEntry
from verifier.scans import ScanEvent


def _sign_in(demo: Demo, role: str = "authority_VN-01") -> None:
    answer = demo.client.post(
        "/desk/sign-in", data={"token": demo.info["tokens"][role]}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert "samesite=strict" in answer.headers["set-cookie"].lower()


def _flag_genuine(demo: Demo) -> tuple[int, int]:
    payload = parse_stamp(demo.sample("genuine")).payload
    for i in range(14):
        demo.service.recorder.record(ScanEvent(NOW, (payload.key_index, payload.serial),
                                               "genuine", "public", f"phone-{i}"))  # fmt: skip
    demo.service.recorder.flush()
    return payload.key_index, payload.serial


def test_only_authorities_get_in(demo: Demo) -> None:
    assert "Mã truy cập của cơ quan quản lý" in demo.client.get("/desk").text
    refused = demo.client.post("/desk/sign-in", data={"token": demo.info["tokens"]["producer"]})
    assert "không phải của cơ quan quản lý" in refused.text


def test_a_flagged_serial_is_shown_and_blocked_for_offline_scanners_too(demo: Demo) -> None:
    key_index, serial = _flag_genuine(demo)
    _sign_in(demo)
    page = demo.client.get("/desk")
    assert f"{key_index:02d}-{serial:09d}" in page.text
    assert "trên 14 điện thoại khác nhau" in page.text
    blocked = demo.client.post(
        "/desk/block", data={"key_index": key_index, "serial": serial, "reason": "Quét bất thường"}
    )
    assert blocked.status_code == 200
    demo.service.refresh()
    online = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")}).json()
    assert online["verdict"] == "suspected_clone"
    assert "serial_blocked" in online["reasons"]
    document = demo.client.get("/.well-known/ocop/status-list").content
    status_list = StatusList.verify(document, [demo.service.root.public_key], NOW)
    trust = demo.service.lists(NOW).trust_list
    offline = verify(demo.sample("genuine"), trust, status_list, NOW)
    assert (offline.verdict.value, offline.reasons) == ("suspected_clone", ("serial_blocked",))
    with demo.service.sessions() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert "serial.block" in actions


def test_reports_are_followed_up_and_audited(demo: Demo) -> None:
    report = {
        "client_id": str(uuid.uuid4()), "created_at": NOW.isoformat(),
        "code": demo.sample("star_mismatch"), "verdict": "star_mismatch", "shop_name": "Cửa hàng A",
        "address": "Chợ Hôm, Hà Nội", "photos": [],
    }  # fmt: skip
    filed = demo.client.post("/api/v1/reports", json=report, headers=demo.token("inspector"))
    assert filed.status_code == 201
    report_id = filed.json()["id"]
    _sign_in(demo)
    assert "Cửa hàng A" in demo.client.get("/desk").text
    demo.client.post(f"/desk/reports/{report_id}",
                     data={"status": "investigating", "note": "Đã hẹn kiểm tra"})  # fmt: skip
    mine = demo.client.get("/api/v1/reports", headers=demo.token("inspector")).json()["reports"]
    assert next(r for r in mine if r["id"] == report_id)["status"] == "investigating"
    page = demo.client.get("/desk")
    assert "Đã hẹn kiểm tra" in page.text
    bad = demo.client.post(f"/desk/reports/{report_id}", data={"status": "lost"})
    assert "Không thực hiện được" in bad.text
    with demo.service.sessions() as session:
        assert "report.update" in session.scalars(select(AuditEntry.action)).all()


def test_the_central_council_sees_every_report_and_the_province_follows_up(demo: Demo) -> None:
    report = {
        "client_id": str(uuid.uuid4()), "created_at": NOW.isoformat(),
        "code": demo.sample("genuine"), "verdict": "genuine", "shop_name": "Quầy B",
        "address": "Hà Nội", "photos": [],
    }  # fmt: skip
    report_id = demo.client.post(
        "/api/v1/reports", json=report, headers=demo.token("inspector")
    ).json()["id"]
    _sign_in(demo, "authority_VN-TW")
    assert "Quầy B" in demo.client.get("/desk").text
    demo.client.post("/desk/sign-out")
    assert "Mã truy cập của cơ quan quản lý" in demo.client.get("/desk").text
    _sign_in(demo)
    closed = demo.client.post(f"/desk/reports/{report_id}", data={"status": "closed", "note": ""})
    assert f'id="report-{report_id}" data-status="closed"' in closed.text
