"""The authority's desk: flagged serials with their figures, blocking one (online and in the
status list for offline scanners), following up inspector reports, expiring recognitions;
other authorities' matters are refused, and every action is audited."""

from __future__ import annotations

import base64
import io
import uuid
from datetime import datetime, timedelta

from PIL import Image
from sqlalchemy import select

from signing import StatusList, parse_stamp, verify
from tests.conftest import NOW, Demo, csrf_of
from verifier import registry
from verifier.scans.recorder import ScanEvent
from verifier.store.models import AuditEntry, Authority, Batch, BlockedSerials, Role


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


JPEG = _jpeg()


def _sign_in(demo: Demo, role: str = "authority_VN-01") -> dict[str, str]:
    """Sign in to the desk; return the CSRF field its forms carry."""
    return _sign_in_with(demo, demo.info["tokens"][role])


def _sign_in_with(demo: Demo, token: str) -> dict[str, str]:
    answer = demo.client.post("/desk/sign-in", data={"token": token}, follow_redirects=False)
    assert answer.status_code == 303
    assert "samesite=strict" in answer.headers["set-cookie"].lower()
    return {"csrf": csrf_of(demo.client.get("/desk").text)}


def _flag_genuine(demo: Demo) -> tuple[int, int]:
    payload = parse_stamp(demo.sample("genuine")).payload
    for i in range(14):
        demo.service.recorder.record(ScanEvent(NOW, (payload.key_index, payload.serial),
                                               "genuine", "inspector", f"phone-{i}"))  # fmt: skip
    demo.service.recorder.flush()
    return payload.key_index, payload.serial


def test_only_authorities_get_in(demo: Demo) -> None:
    assert "Mã truy cập của cơ quan quản lý" in demo.client.get("/desk").text
    refused = demo.client.post("/desk/sign-in", data={"token": demo.info["tokens"]["producer"]})
    assert "không phải của cơ quan quản lý" in refused.text


def test_a_flagged_serial_is_shown_and_blocked_for_offline_scanners_too(demo: Demo) -> None:
    key_index, serial = _flag_genuine(demo)
    signed = _sign_in(demo)
    page = demo.client.get("/desk")
    assert f"{key_index:02d}-{serial:09d}" in page.text
    assert "trên 14 điện thoại khác nhau" in page.text
    form = {"key_index": key_index, "serial": serial, "reason": "Quét bất thường"}
    blocked = demo.client.post("/desk/block", data=form | signed)
    assert blocked.status_code == 200
    demo.service.refresh()
    online = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")}).json()
    assert online["verdict"] == "suspected_clone"
    assert "serial_blocked" in online["reasons"]
    demo.publish()
    document = demo.client.get("/.well-known/ocop/status-list").content
    status_list = StatusList.verify(document, [demo.service.root_public], NOW)
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
    signed = _sign_in(demo)
    assert "Cửa hàng A" in demo.client.get("/desk").text
    follow_up = {"status": "investigating", "note": "Đã hẹn kiểm tra"}
    demo.client.post(f"/desk/reports/{report_id}", data=follow_up | signed)
    mine = demo.client.get("/api/v1/reports", headers=demo.token("inspector")).json()["reports"]
    assert next(r for r in mine if r["id"] == report_id)["status"] == "investigating"
    page = demo.client.get("/desk")
    assert "Đã hẹn kiểm tra" in page.text
    bad = demo.client.post(f"/desk/reports/{report_id}", data={"status": "lost"} | signed)
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
    signed = _sign_in(demo, "authority_VN-TW")
    assert "Quầy B" in demo.client.get("/desk").text
    demo.client.post("/desk/sign-out", data=signed)
    assert "Mã truy cập của cơ quan quản lý" in demo.client.get("/desk").text
    signed = _sign_in(demo)
    closed = demo.client.post(f"/desk/reports/{report_id}",
                              data={"status": "closed", "note": ""} | signed)  # fmt: skip
    assert f'id="report-{report_id}" data-status="closed"' in closed.text


def _scan(demo: Demo, sample: str, *, phone: str, location: str | None, at: datetime) -> None:
    payload = parse_stamp(demo.sample(sample)).payload
    event = ScanEvent(at, (payload.key_index, payload.serial), "genuine", "inspector", phone,
                      location)  # fmt: skip
    demo.service.recorder.record(event)


def test_a_serial_file_shows_its_scans_places_and_batch(demo: Demo) -> None:
    _scan(demo, "genuine", phone="phone-a", location="21.03,105.85", at=NOW)
    _scan(demo, "genuine", phone="phone-b", location="21.04,105.84",
          at=NOW + timedelta(minutes=20))  # fmt: skip
    _scan(demo, "genuine", phone="phone-c", location="79", at=NOW + timedelta(days=3))
    _scan(demo, "genuine", phone="phone-d", location="92", at=NOW - timedelta(days=40))
    demo.service.recorder.flush()
    payload = parse_stamp(demo.sample("genuine")).payload
    _sign_in(demo)
    page = demo.client.get(f"/desk/serials/{payload.key_index}/{payload.serial}")
    assert page.status_code == 200
    text = page.text
    assert "Mật ong hoa nhãn Ba Vì" in text
    assert "<td>gần Hà Nội</td><td>2</td><td>2</td>" in text  # two points, one place
    assert "<td>gần Hà Nội (21.03, 105.85)</td>" in text  # the check itself, precisely
    assert "<td>Hồ Chí Minh</td><td>1</td><td>1</td>" in text
    # times in Vietnam's wall clock: 03:00 UTC is 10:00 in Hà Nội
    assert f"{(NOW + timedelta(hours=7)):%d/%m/%Y} 10:00" in text
    assert "Kiểm tra viên" in text
    assert "Cần Thơ" not in text  # 43 days before the last check: outside the window
    assert "4 lượt kiểm tra" in text  # but counted
    english = demo.client.get(f"/desk/serials/{payload.key_index}/{payload.serial}?lang=en")
    assert "near Hà Nội (21.03, 105.85)" in english.text


def test_find_opens_a_file_from_a_stamp_url_or_a_serial(demo: Demo) -> None:
    payload = parse_stamp(demo.sample("genuine")).payload
    _sign_in(demo)
    for code in (demo.sample("genuine"), f"{payload.key_index:02d}-{payload.serial:09d}"):
        found = demo.client.get("/desk/find", params={"code": code}, follow_redirects=False)
        assert found.headers["location"] == f"/desk/serials/{payload.key_index}/{payload.serial}"
    bad = demo.client.get("/desk/find", params={"code": "hello"})
    assert "Không đọc được mã tem" in bad.text


def test_another_authoritys_serial_is_refused(demo: Demo) -> None:
    payload = parse_stamp(demo.sample("genuine_5_stars")).payload  # the central council's key
    with demo.service.sessions() as session:
        before = len(session.scalars(select(BlockedSerials)).all())
    signed = _sign_in(demo)
    page = demo.client.get(f"/desk/serials/{payload.key_index}/{payload.serial}")
    assert "Việc này thuộc cơ quan quản lý khác" in page.text
    blocked = demo.client.post("/desk/block", data={
        "key_index": payload.key_index, "serial": payload.serial, "reason": "thử",
    } | signed)  # fmt: skip
    assert "Việc này thuộc cơ quan quản lý khác" in blocked.text
    with demo.service.sessions() as session:
        assert len(session.scalars(select(BlockedSerials)).all()) == before


def test_void_batch_and_revoke_certificate_from_the_desk_are_audited(demo: Demo) -> None:
    payload = parse_stamp(demo.sample("genuine")).payload
    with demo.service.sessions() as session:
        batch = session.scalars(select(Batch).where(
            Batch.key_index == payload.key_index, Batch.first_serial <= payload.serial,
            Batch.last_serial >= payload.serial,
        )).one()  # fmt: skip
    signed = _sign_in(demo)
    back = f"/desk/serials/{payload.key_index}/{payload.serial}"

    def verdict() -> str:
        demo.service.refresh()
        answer = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")})
        return str(answer.json()["verdict"])

    form = {"decision": "999/QĐ-UBND", "decision_date": "2026-11-20",
            "reason": "Vi phạm ghi nhãn", "back": back} | signed  # fmt: skip
    url = f"/desk/certificates/{payload.certificate_id}/revoke"
    refused = demo.client.post(url, data=form)  # not dd/mm/yyyy
    assert "Ngày quyết định viết theo dạng ngày/tháng/năm" in refused.text
    assert verdict() == "genuine"
    revoked = demo.client.post(url, data=form | {"decision_date": "20/11/2026"})
    assert revoked.status_code == 200
    assert 'data-status="revoked"' in revoked.text
    assert verdict() == "revoked"
    voided = demo.client.post(f"/desk/batches/{batch.id}/void",
                              data={"reason": "Lô in lỗi", "back": back} | signed)  # fmt: skip
    assert voided.status_code == 200
    assert "đã hủy" in voided.text
    assert "Lô in lỗi" in voided.text
    assert verdict() == "unregistered"
    again = demo.client.post(f"/desk/batches/{batch.id}/void",
                             data={"reason": "Lô in lỗi", "back": back} | signed)  # fmt: skip
    assert "Đã được thực hiện trước đó" in again.text
    with demo.service.sessions() as session:
        actions = session.scalars(select(AuditEntry.action)).all()
    assert {"batch.void", "certificate.revoke"} <= set(actions)


def test_the_back_page_of_a_desk_form_stays_on_the_desk(demo: Demo) -> None:
    signed = _sign_in(demo)
    answer = demo.client.post("/desk/reports/1", data={"status": "closed"} | signed,
                              follow_redirects=False)  # fmt: skip
    assert answer.headers["location"].startswith("/desk")
    blocked = demo.client.post("/desk/block", data={
        "key_index": 1, "serial": 5, "reason": "thử", "back": "https://evil.example/desk",
    } | signed, follow_redirects=False)  # fmt: skip
    assert blocked.headers["location"].startswith("/desk")


def test_report_photos_are_shown_to_the_authority_only(demo: Demo) -> None:
    jpeg = "data:image/jpeg;base64," + base64.b64encode(JPEG).decode()
    report = {
        "client_id": str(uuid.uuid4()), "created_at": NOW.isoformat(),
        "code": demo.sample("genuine"), "verdict": "genuine", "shop_name": "Quầy C",
        "address": "Hà Nội", "photos": [jpeg],
    }  # fmt: skip
    report_id = demo.client.post(
        "/api/v1/reports", json=report, headers=demo.token("inspector")
    ).json()["id"]
    assert demo.client.get(f"/desk/reports/{report_id}/photos/0").status_code == 401
    _sign_in(demo)
    assert f'src="/desk/reports/{report_id}/photos/0"' in demo.client.get("/desk").text
    photo = demo.client.get(f"/desk/reports/{report_id}/photos/0")
    assert (photo.status_code, photo.headers["content-type"]) == (200, "image/jpeg")
    assert photo.content == JPEG
    assert demo.client.get(f"/desk/reports/{report_id}/photos/1").status_code == 404


def test_a_block_can_be_lifted_and_stays_on_record(demo: Demo) -> None:
    payload = parse_stamp(demo.sample("genuine")).payload
    page = f"/desk/serials/{payload.key_index}/{payload.serial}"
    signed = _sign_in(demo)
    form = {"key_index": payload.key_index, "serial": payload.serial, "reason": "Nghi sao chép"}
    demo.client.post("/desk/block", data=form | signed)
    with demo.service.sessions() as session:
        block = session.scalars(select(BlockedSerials).order_by(BlockedSerials.id.desc())).first()
    assert block is not None

    def verdicts() -> tuple[str, str]:
        demo.publish()
        online = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")})
        document = demo.client.get("/.well-known/ocop/status-list").content
        status_list = StatusList.verify(document, [demo.service.root_public], NOW)
        offline = verify(demo.sample("genuine"), demo.service.lists(NOW).trust_list,
                         status_list, NOW)  # fmt: skip
        return online.json()["verdict"], offline.verdict.value

    assert verdicts() == ("suspected_clone", "suspected_clone")
    with demo.service.writer.begin() as session:  # another province's department
        saigon = Authority(code="VN-79", name="Sở NN&MT TP.HCM", kind="province",
                           province_code="79")  # fmt: skip
        session.add(saigon)
        session.flush()
        other = registry.create_token(
            session, role=Role.AUTHORITY, label="HCM", now=NOW, authority_id=saigon.id
        )
    signed = _sign_in_with(demo, other)
    refused = demo.client.post(f"/desk/blocks/{block.id}/lift",
                               data={"reason": "thử", "back": page} | signed)  # fmt: skip
    assert "Việc này thuộc cơ quan quản lý khác" in refused.text
    assert verdicts() == ("suspected_clone", "suspected_clone")
    signed = _sign_in(demo)
    lift = {"reason": "Đã xác minh là tem thật", "back": page}
    lifted = demo.client.post(f"/desk/blocks/{block.id}/lift", data=lift | signed)
    assert 'data-block="lifted"' in lifted.text
    assert "Đã xác minh là tem thật" in lifted.text
    assert "Khóa sê-ri này" in lifted.text  # it can be blocked again
    assert verdicts() == ("genuine", "genuine")
    again = demo.client.post(f"/desk/blocks/{block.id}/lift",
                             data={"reason": "lần nữa", "back": page} | signed)  # fmt: skip
    assert "Đã được thực hiện trước đó" in again.text
    with demo.service.sessions() as session:
        assert session.scalars(select(AuditEntry.action)).all().count("serial.unblock") == 1
