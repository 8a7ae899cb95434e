"""Issue 15, findings 3 and 4, tried as an attacker would, through the HTTP API on SQLite and
PostgreSQL: who may block serials (an inspector one it checked itself, within a daily cap; an
authority ranges of the keys it answers for), who may re-evaluate or supersede a certificate
(its issuing authority only), and what the stamps of a replaced certificate read afterwards,
online and offline (docs/stamp-format.md, section 8)."""

from __future__ import annotations

import dataclasses
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from signing import (
    CertificateRef,
    CertificateState,
    PrivateKey,
    StatusList,
    TrustList,
    parse_stamp,
    sign_payload,
)
from tests.conftest import NOW, Demo, csrf_of
from verifier import registry
from verifier.cli import main
from verifier.registry import INSPECTOR_BLOCKS, InspectorBlocks
from verifier.scans.recorder import ScanEvent
from verifier.settings import Settings, SettingsError
from verifier.store.models import AuditEntry, Batch, BlockedSerials, Certificate, Role

WHOLE_KEY = (1, 2**48 - 1)


def _headers(demo: Demo, role: str | None) -> dict[str, str]:
    return demo.token(role) if role else {}


def _check(demo: Demo, code: str, role: str | None = None) -> dict[str, Any]:
    """The online verdict on ``code``, checked by ``role`` (signed in) or the public."""
    demo.service.refresh()
    answer = demo.client.get("/api/v1/verify", params={"code": code}, headers=_headers(demo, role))
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


def _block(
    demo: Demo, headers: dict[str, str], key_index: int, first: int, last: int | None = None
) -> httpx.Response:
    body = {"key_index": key_index, "first_serial": first, "last_serial": last or first,
            "reason": "Tem sao chép ở chợ"}  # fmt: skip
    answer: httpx.Response = demo.client.post("/api/v1/blocked-serials", json=body,
                                              headers=headers)  # fmt: skip
    return answer


def _refused(answer: httpx.Response, status: int, reason: str) -> dict[str, str]:
    """Assert a refusal with its reason, worded in Vietnamese and English; return the words."""
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["code"] == {403: "forbidden", 409: "conflict", 422: "invalid"}[status]
    assert error["reason"] == reason
    messages: dict[str, str] = error["messages"]
    assert set(messages) == {"vi", "en"}
    assert messages["vi"] != messages["en"]
    assert error["message"] == messages["en"]
    return messages


def _count(demo: Demo, model: type[Any], *where: Any) -> int:
    with demo.service.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def _lists(demo: Demo) -> tuple[TrustList, StatusList]:
    """The signed lists as an offline scanner downloads them, once the signer has seen the
    registry."""
    demo.publish()
    root = [demo.service.root_public]
    trust = demo.client.get("/.well-known/ocop/trust-list").content
    status = demo.client.get("/.well-known/ocop/status-list").content
    return TrustList.verify(trust, root, NOW), StatusList.verify(status, root, NOW)


def _offline(demo: Demo, code: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Any:
    """The verdict of `ocop verify --offline --json` with the lists the service publishes."""
    trust, status = tmp_path / "trust-list.json", tmp_path / "status-list.json"
    demo.publish()
    trust.write_bytes(demo.client.get("/.well-known/ocop/trust-list").content)
    status.write_bytes(demo.client.get("/.well-known/ocop/status-list").content)
    root = demo.service.root_public.hex()
    capsys.readouterr()
    main(["verify", "--offline", "--trust-list", str(trust), "--status-list", str(status),
          "--root-key", root, "--json", code])  # fmt: skip
    return json.loads(capsys.readouterr().out)


def _signed(demo: Demo, serial: int) -> str:
    """The genuine sample's stamp with another serial of its batch, as the printer made it."""
    key = PrivateKey.from_pem((demo.data_dir / "keys/province-01.pem").read_bytes(), b"demo")
    payload = dataclasses.replace(parse_stamp(demo.sample("genuine")).payload, serial=serial)
    return sign_payload(payload, key).url("ocop.vn")


def _new_inspector(demo: Demo) -> tuple[dict[str, str], int]:
    """A second inspector's token headers and token id."""
    with demo.service.writer.begin() as session:
        token = registry.create_token(session, role=Role.INSPECTOR, label="Đội QLTT số 2", now=NOW)
        actor = registry.actor_for_token(session, token=token)
    assert actor is not None
    assert actor.token_id is not None
    return {"Authorization": f"Bearer {token}"}, actor.token_id


def _batch_of(demo: Demo, sample: str) -> Batch:
    payload = parse_stamp(demo.sample(sample)).payload
    with demo.service.sessions() as session:
        return session.scalars(select(Batch).where(
            Batch.key_index == payload.key_index, Batch.first_serial <= payload.serial,
            Batch.last_serial >= payload.serial,
        )).one()  # fmt: skip


# Finding 3: any inspector token blocked every stamp in the country.


def test_an_inspector_token_cannot_block_every_stamp_regression(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _lists(demo)[1]
    blocks = _count(demo, AuditEntry, AuditEntry.action == "serial.block")
    for key_index in (1, 2):  # the province's key and the central council's
        answer = _block(demo, demo.token("inspector"), key_index, *WHOLE_KEY)
        _refused(answer, 403, "block_range_needs_authority")
        batch = _batch_of(demo, "genuine" if key_index == 1 else "genuine_5_stars")
        answer = _block(demo, demo.token("inspector"), key_index, batch.first_serial,
                        batch.last_serial)  # fmt: skip
        _refused(answer, 403, "block_range_needs_authority")
    after = _lists(demo)[1]
    assert after.blocked == before.blocked
    assert _count(demo, AuditEntry, AuditEntry.action == "serial.block") == blocks
    for sample in ("genuine", "genuine_5_stars"):
        assert _check(demo, demo.sample(sample))["verdict"] == "genuine"
        assert _offline(demo, demo.sample(sample), tmp_path, capsys)["verdict"] == "genuine"


def test_an_inspector_blocks_only_a_serial_it_checked_itself_recently_regression(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = demo.sample("genuine")
    payload = parse_stamp(code).payload
    key_index, serial = payload.key_index, payload.serial
    inspector = demo.token("inspector")

    def refused() -> None:
        words = _refused(_block(demo, inspector, key_index, serial), 403, "block_not_checked")
        days = demo.service.settings.inspector_blocks.check_days
        assert str(days) in words["vi"]
        assert str(days) in words["en"]

    refused()  # never checked
    _check(demo, code)  # a buyer's check is no inspector's
    refused()
    other, _ = _new_inspector(demo)
    demo.client.get("/api/v1/verify", params={"code": code}, headers=other)
    refused()  # another inspector's check is not this one's
    forger = PrivateKey.generate()  # a forged code naming the serial checks nothing
    forged = sign_payload(payload, forger).url("ocop.vn")
    assert _check(demo, forged, "inspector")["verdict"] == "counterfeit"
    refused()
    long_ago = NOW - timedelta(days=demo.service.settings.inspector_blocks.check_days, hours=1)
    token_id = demo.token_id("inspector")
    demo.service.recorder.record(
        ScanEvent(long_ago, (key_index, serial), "genuine", "inspector", token_id=token_id)
    )
    demo.service.recorder.flush()
    refused()  # checked, but too long ago
    assert _count(demo, BlockedSerials, BlockedSerials.key_index == key_index,
                  BlockedSerials.first_serial == serial) == 0  # fmt: skip

    assert _check(demo, code, "inspector")["verdict"] == "genuine"
    answer = _block(demo, inspector, key_index, serial)
    assert answer.status_code == 201, answer.text
    assert _lists(demo)[1].is_blocked(key_index, serial)
    online = _check(demo, code)
    assert (online["verdict"], online["reasons"]) == ("suspected_clone", ["serial_blocked"])
    assert _offline(demo, code, tmp_path, capsys)["verdict"] == "suspected_clone"
    with demo.service.sessions() as session:
        entry = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "serial.block")
            .order_by(AuditEntry.sequence.desc())
        ).first()  # fmt: skip
    assert entry is not None
    assert entry.actor == "Đội QLTT số 1 (demo)"
    assert entry.entity_id == str(answer.json()["id"])


def test_an_inspector_blocks_at_most_its_daily_cap_regression(demo: Demo) -> None:
    per_day = demo.service.settings.inspector_blocks.per_day
    first = parse_stamp(demo.sample("genuine")).payload.serial + 100
    codes = [_signed(demo, first + n) for n in range(per_day + 1)]
    for code in codes:
        assert _check(demo, code, "inspector")["verdict"] == "genuine"
    for n in range(per_day):
        assert _block(demo, demo.token("inspector"), 1, first + n).status_code == 201
    words = _refused(_block(demo, demo.token("inspector"), 1, first + per_day), 403,
                     "block_daily_cap")  # fmt: skip
    assert f"{per_day} sê-ri" in words["vi"]
    assert _check(demo, codes[-1])["verdict"] == "genuine"

    other, _ = _new_inspector(demo)  # the cap is each inspector's own
    demo.client.get("/api/v1/verify", params={"code": codes[-1]}, headers=other)
    assert _block(demo, other, 1, first + per_day).status_code == 201
    tomorrow = NOW + timedelta(hours=24, minutes=1)  # the first inspector, a day later
    with demo.service.sessions() as session:
        actor = registry.actor_for_token(session, token=demo.info["tokens"]["inspector"])
    assert actor is not None
    with demo.service.write() as session:
        registry.block_serials(
            session,
            actor=actor,
            key_index=1,
            first_serial=first + per_day,
            last_serial=first + per_day,
            reason="Lần nữa",
            now=tomorrow,
            limits=demo.service.settings.inspector_blocks,
        )


def test_the_inspector_limits_are_set_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "demo.json").write_text("{}")
    env = {"OCOP_INSPECTOR_BLOCK_CHECK_DAYS": "2", "OCOP_INSPECTOR_BLOCKS_PER_DAY": "5"}
    assert Settings.load(tmp_path, env).inspector_blocks == InspectorBlocks(2, 5)
    assert Settings.load(tmp_path, {}).inspector_blocks == INSPECTOR_BLOCKS
    for bad in ({"OCOP_INSPECTOR_BLOCKS_PER_DAY": "many"}, {"OCOP_INSPECTOR_BLOCKS_PER_DAY": "0"},
                {"OCOP_INSPECTOR_BLOCK_CHECK_DAYS": "-3"},
                {"OCOP_INSPECTOR_BLOCK_CHECK_DAYS": str(10**9)}):  # fmt: skip
        with pytest.raises(SettingsError, match=r"OCOP_INSPECTOR|inspector block"):
            Settings.load(tmp_path, bad)


def test_ranges_are_blocked_only_by_the_authority_that_answers_for_the_key_regression(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hanoi, central = demo.token("authority_VN-01"), demo.token("authority_VN-TW")
    before = _lists(demo)[1].blocked
    audited = _count(demo, AuditEntry, AuditEntry.action == "serial.block")
    honey, tea = _batch_of(demo, "genuine"), _batch_of(demo, "genuine_5_stars")
    # even its own key's future stamps: a block covers issued serials only
    _refused(_block(demo, hanoi, honey.key_index, *WHOLE_KEY), 422, "block_not_issued")
    _refused(_block(demo, hanoi, honey.key_index, honey.first_serial, 2**48 - 1), 422,
             "block_not_issued")  # fmt: skip
    _refused(_block(demo, hanoi, tea.key_index, tea.first_serial, tea.last_serial), 403,
             "block_other_key")  # fmt: skip
    assert _lists(demo)[1].blocked == before

    whole_batch = _block(demo, hanoi, honey.key_index, honey.first_serial, honey.last_serial)
    assert whole_batch.status_code == 201, whole_batch.text
    sauce = _batch_of(demo, "star_mismatch")  # the council answers for every key
    council = _block(demo, central, sauce.key_index, sauce.first_serial, sauce.last_serial)
    assert council.status_code == 201, council.text
    status_list = _lists(demo)[1]
    assert status_list.is_blocked(honey.key_index, honey.last_serial)
    assert status_list.is_blocked(sauce.key_index, sauce.first_serial)
    assert _check(demo, demo.sample("genuine"))["verdict"] == "suspected_clone"
    assert _offline(demo, demo.sample("genuine"), tmp_path, capsys)["verdict"] == (
        "suspected_clone"
    )
    assert _count(demo, AuditEntry, AuditEntry.action == "serial.block") == audited + 2


def test_the_desk_blocks_a_whole_batch_and_says_why_it_refuses(demo: Demo) -> None:
    honey = _batch_of(demo, "genuine")
    past = _block(demo, demo.token("authority_VN-01"), honey.key_index, honey.first_serial,
                  2**48 - 1)  # fmt: skip
    words = _refused(past, 422, "block_not_issued")
    signed_in = demo.client.post(
        "/desk/sign-in", data={"token": demo.info["tokens"]["authority_VN-01"]}
    )
    assert signed_in.status_code == 200
    form = {"key_index": honey.key_index, "serial": honey.first_serial, "reason": "Cả lô bị sao",
            "csrf": csrf_of(signed_in.text)}  # fmt: skip
    refused = demo.client.post("/desk/block", data=form | {"last_serial": 2**48 - 1})
    assert words["vi"] in refused.text
    english = demo.client.get("/desk", params={"error": "block_not_issued", "lang": "en"})
    assert words["en"] in english.text
    blocked = demo.client.post("/desk/block", data=form | {"last_serial": honey.last_serial})
    assert blocked.status_code == 200
    assert 'role="alert"' not in blocked.text
    assert _lists(demo)[1].is_blocked(honey.key_index, honey.last_serial)


# Finding 4: a province re-evaluated the central council's certificate; the status list then
# named the wrong issuer, and the replaced certificate's stamps stayed genuine.


def _certificate(demo: Demo, certificate_id: int) -> dict[str, Any]:
    answer: dict[str, Any] = demo.client.get(f"/api/v1/certificates/{certificate_id}").json()
    return answer


def _reevaluate(demo: Demo, role: str, certificate_id: int, stars: int) -> httpx.Response:
    body = {"stars": stars, "decision_number": "4400/QĐ-UBND", "decision_date": "2026-11-20"}
    answer: httpx.Response = demo.client.post(
        f"/api/v1/certificates/{certificate_id}/reevaluate", json=body, headers=demo.token(role)
    )
    return answer


def _supersede(demo: Demo, role: str, certificate_id: int, successor: int) -> httpx.Response:
    answer: httpx.Response = demo.client.post(
        f"/api/v1/certificates/{certificate_id}/supersede",
        json={"superseded_by": successor},
        headers=demo.token(role),
    )
    return answer


def test_only_the_issuing_authority_reevaluates_or_supersedes_regression(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tea = parse_stamp(demo.sample("genuine_5_stars")).payload.certificate_id  # the council's
    honey = parse_stamp(demo.sample("genuine")).payload.certificate_id  # Hà Nội's
    before = _lists(demo)[1]
    certificates = _count(demo, Certificate)
    _refused(_reevaluate(demo, "authority_VN-01", tea, 4), 403, "certificate_not_yours")
    _refused(_supersede(demo, "authority_VN-01", tea, honey), 403, "certificate_not_yours")
    _refused(_reevaluate(demo, "authority_VN-TW", honey, 5), 403, "certificate_not_yours")
    _refused(_supersede(demo, "authority_VN-TW", honey, tea), 403, "certificate_not_yours")
    for role in ("inspector", "producer"):
        assert _reevaluate(demo, role, tea, 5).status_code == 403
        assert _supersede(demo, role, honey, tea).status_code == 403
    assert _supersede(demo, "authority_VN-01", 2**63, honey).status_code == 422
    assert _supersede(demo, "authority_VN-01", honey, 2**63).status_code == 422
    assert _count(demo, Certificate) == certificates
    assert (_certificate(demo, tea)["status"], _certificate(demo, honey)["status"]) == (
        "active", "active",
    )  # fmt: skip
    assert _lists(demo)[1].certificates == before.certificates
    for sample in ("genuine_5_stars", "genuine"):
        assert _check(demo, demo.sample(sample))["verdict"] == "genuine"
        assert _offline(demo, demo.sample(sample), tmp_path, capsys)["verdict"] == "genuine"


@pytest.mark.parametrize(
    ("sample", "stars", "reason"),
    [("genuine", 3, "stars_lowered"), ("expired", 4, "stars_raised")],
)
def test_a_reevaluation_by_the_issuer_gives_the_old_stamps_star_mismatch(
    demo: Demo,
    sample: str,
    stars: int,
    reason: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Section 8.3: the stamp's stars against the current certificate's, after renewals."""
    old = parse_stamp(demo.sample(sample)).payload.certificate_id
    answer = _reevaluate(demo, "authority_VN-01", old, stars)
    assert answer.status_code == 201, answer.text
    new = answer.json()["id"]
    entry = _lists(demo)[1].certificates[CertificateRef("VN-01", old)]
    assert (entry.status.value, entry.superseded_by) == ("superseded", CertificateRef("VN-01", new))
    online = _check(demo, demo.sample(sample))
    assert (online["verdict"], online["reasons"], online["notes"]) == (
        "star_mismatch", [reason], ["renewed"],
    )  # fmt: skip
    assert (online["certificate"]["certificate_id"], online["certificate"]["stars"]) == (
        new, stars,
    )  # fmt: skip
    offline = _offline(demo, demo.sample(sample), tmp_path, capsys)
    assert (offline["verdict"], offline["reasons"], offline["notes"]) == (
        "star_mismatch", [reason], ["offline", "renewed"],
    )  # fmt: skip


def test_the_central_councils_upgrade_turns_old_four_star_stamps_to_star_mismatch_regression(
    demo: Demo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A 4-star product recognised with 5 stars by the central council: the province, which
    issued the 4 stars, supersedes its certificate by the council's; its 4-star stamps then
    show fewer stars than certified (``stars_raised``), online and offline."""
    honey = parse_stamp(demo.sample("genuine")).payload.certificate_id
    product = _certificate(demo, honey)["product_id"]
    recognised = demo.client.post("/api/v1/certificates", json={
        "product_id": product, "stars": 5, "decision_number": "88/QĐ-HĐTW",
        "decision_date": "2026-11-20",
    }, headers=demo.token("authority_VN-TW"))  # fmt: skip
    assert recognised.status_code == 201, recognised.text
    five = recognised.json()["id"]
    tea = parse_stamp(demo.sample("genuine_5_stars")).payload.certificate_id
    _refused(_supersede(demo, "authority_VN-01", honey, honey), 422, "successor_itself")
    _refused(_supersede(demo, "authority_VN-01", honey, tea), 422, "successor_other_product")
    assert _check(demo, demo.sample("genuine"))["verdict"] == "genuine"

    answer = _supersede(demo, "authority_VN-01", honey, five)
    assert answer.status_code == 200, answer.text
    assert (answer.json()["status"], answer.json()["superseded_by_id"]) == ("superseded", five)
    entry = _lists(demo)[1].certificates[CertificateRef("VN-01", honey)]
    assert entry.superseded_by == CertificateRef("VN-TW", five)  # the council's, not Hà Nội's
    online = _check(demo, demo.sample("genuine"))
    assert (online["verdict"], online["reasons"], online["notes"]) == (
        "star_mismatch", ["stars_raised"], ["renewed"],
    )  # fmt: skip
    shown = online["certificate"]
    assert (shown["certificate_id"], shown["issuer"], shown["stars"]) == (five, "VN-TW", 5)
    offline = _offline(demo, demo.sample("genuine"), tmp_path, capsys)
    assert (offline["verdict"], offline["reasons"]) == ("star_mismatch", ["stars_raised"])
    assert (offline["certificate"]["issuer"], offline["certificate"]["certificate_id"]) == (
        "VN-TW", five,
    )  # fmt: skip
    with demo.service.sessions() as session:
        audited = session.scalars(select(AuditEntry).where(
            AuditEntry.action == "certificate.supersede", AuditEntry.entity_id == str(honey),
        )).one()  # fmt: skip
    assert audited.details["issuer"] == "VN-TW"
    again = _supersede(demo, "authority_VN-01", honey, five)
    assert again.status_code == 409


def test_the_status_list_names_the_successors_issuer_regression(demo: Demo) -> None:
    """A certificate superseded by another authority's (as the province's re-evaluation of the
    council's certificate left it in registries before the fix): the status list names the
    successor's own issuer, so the chain resolves."""
    tea = parse_stamp(demo.sample("genuine_5_stars")).payload.certificate_id
    honey = parse_stamp(demo.sample("genuine")).payload.certificate_id
    with demo.service.write() as session:
        old = session.get(Certificate, tea)
        assert old is not None
        old.status, old.superseded_by_id = CertificateState.SUPERSEDED, honey
    status_list = _lists(demo)[1]
    assert status_list.certificates[CertificateRef("VN-TW", tea)].superseded_by == CertificateRef(
        "VN-01", honey
    )
    listed, current = status_list.current(CertificateRef("VN-TW", tea))
    assert listed is not None
    assert current is not None
    assert (current.ref, current.stars) == (CertificateRef("VN-01", honey), 4)
    online = _check(demo, demo.sample("genuine_5_stars"))
    assert (online["verdict"], online["reasons"]) == ("star_mismatch", ["stars_lowered"])
    assert online["certificate"]["certificate_id"] == honey


@pytest.mark.parametrize(("path_id", "successor"), [(2**31, 1), (1, 2**31), (2**32 - 1, 1)])
def test_supersede_refuses_ids_no_integer_column_holds_regression(
    demo: Demo, path_id: int, successor: int
) -> None:
    """The supersede route bounded its ids below 2**32 on its own, but certificate ids are
    ``integer`` columns (largest 2**31 - 1): 2**31 reached PostgreSQL, which refused it with a
    500. It takes the bounded ``RowId`` of every other route now: 422."""
    answer = demo.client.post(
        f"/api/v1/certificates/{path_id}/supersede",
        json={"superseded_by": successor},
        headers=demo.token("authority_VN-01"),
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["code"] == "invalid_request"
