"""Issue 21: a pack claimed once under the PIN beneath its stamp's scratch-off foil. The first
correct PIN confirms it, a later one says it may have been refilled, wrong PINs lock the stamp
for a while and cost each client its allowance; the PIN itself is stored nowhere."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from signing import parse_stamp
from tests.conftest import NOW, Demo
from verifier.claims.claiming import LOCK, WRONG_PINS
from verifier.claims.pins import PIN_DIGITS, pin_of, printed_pin
from verifier.store.models import Batch, ClaimLock, StampClaim


def _claim_batch(demo: Demo, count: int = 3) -> tuple[list[str], list[str]]:
    """Order a batch with PINs for the honey; return its stamps' URLs and their PINs."""
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
    ordered = demo.client.post(
        "/api/v1/batches",
        json={"certificate_id": certificate, "count": count, "claims": True},
        headers=demo.token("producer"),
    )
    assert ordered.status_code == 201, ordered.text
    batch = ordered.json()
    assert batch["claims"] is True
    assert "claim_secret" not in ordered.text
    manifest = demo.client.get(f"/api/v1/batches/{batch['id']}/stamps.csv",
                               headers=demo.token("producer")).text  # fmt: skip
    urls = [row["url"] for row in csv.DictReader(io.StringIO(manifest))]
    with demo.service.sessions() as session:
        secret = session.get(Batch, batch["id"]).claim_secret  # type: ignore[union-attr]
    assert secret is not None
    pins = [pin_of(secret, batch["key_index"], parse_stamp(u).payload.serial) for u in urls]
    return urls, pins


def _claim(demo: Demo, code: str, pin: str, **more: Any) -> Any:
    return demo.client.post("/api/v1/claims", json={"code": code, "pin": pin, **more})


def test_the_first_claim_confirms_the_pack_and_a_later_one_says_when_and_where(
    demo: Demo,
) -> None:
    urls, pins = _claim_batch(demo)
    first = _claim(demo, urls[0], printed_pin(pins[0]), province="01")
    assert first.status_code == 200, first.text
    answer = first.json()
    assert (answer["claim"], answer["province"], answer["count"]) == ("first", "01", 1)
    assert answer["claimed_at"] == NOW.isoformat()
    assert answer["messages"]["vi"] == (
        "Bạn là người đầu tiên xác nhận gói hàng này, lúc 10:00 ngày 24/11/2026."
    )
    again = _claim(demo, urls[0], pins[0], province="79").json()  # another phone, elsewhere
    assert (again["claim"], again["province_name"], again["count"]) == (
        "already_claimed", "Hà Nội", 2,
    )  # fmt: skip
    assert "đã được xác nhận ngày 24/11/2026 tại Hà Nội" in again["messages"]["vi"]
    assert "already confirmed on 24/11/2026 in Hà Nội" in again["messages"]["en"]
    # the other stamps of the batch are untouched
    assert _claim(demo, urls[1], pins[1]).json()["claim"] == "first"


def test_wrong_pins_lock_the_stamp_for_an_hour_and_the_right_one_waits_too(demo: Demo) -> None:
    urls, pins = _claim_batch(demo)
    wrong = str((int(pins[0]) + 1) % 10**PIN_DIGITS).zfill(PIN_DIGITS)
    for tries_left in range(WRONG_PINS - 1, 0, -1):
        refused = _claim(demo, urls[0], wrong)
        assert refused.status_code == 422
        assert refused.json()["error"]["reason"] == "claim_wrong_pin"
        assert refused.json()["error"]["tries_left"] == tries_left
    locked = _claim(demo, urls[0], wrong)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) == LOCK.total_seconds()
    assert locked.json()["error"]["reason"] == "claim_locked"
    right_but_locked = _claim(demo, urls[0], pins[0])
    assert right_but_locked.status_code == 429  # else the lock would stop no guesser
    with demo.service.writer.begin() as session:  # an hour later (the app's clock is pinned)
        lock = session.scalars(select(ClaimLock)).one()
        assert lock.locked_until == NOW + LOCK
        lock.locked_until, lock.window_start = NOW - timedelta(seconds=1), NOW - LOCK
    assert _claim(demo, urls[0], pins[0]).json()["claim"] == "first"
    stamp = parse_stamp(urls[0]).payload
    with demo.service.sessions() as session:  # the lock is gone with the right PIN
        claim = session.get(StampClaim, (stamp.key_index, stamp.serial))
        assert claim is not None
        assert claim.count == 1
        assert session.scalars(select(ClaimLock)).all() == []


@pytest.mark.parametrize(
    ("code", "pin", "status", "code_or_reason"),
    [
        ("genuine", "1234 5678", 404, "not_found"),  # printed without PINs
        ("counterfeit", "1234 5678", 422, "claim_not_a_stamp"),
        ("malformed", "1234 5678", 422, "claim_not_a_stamp"),
        ("genuine", "12345", 422, "invalid_request"),  # too short to be a PIN
        ("genuine", "1234\x005678", 422, "invalid_request"),
    ],
)
def test_claims_that_cannot_be_are_typed_errors(
    demo: Demo, code: str, pin: str, status: int, code_or_reason: str
) -> None:
    answer = _claim(demo, demo.sample(code), pin)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert code_or_reason in (error["code"], error.get("reason"))


def test_each_client_may_type_only_so_many_pins(demo: Demo) -> None:
    """Whatever stamps it tries: the per-client allowance (10 a minute by default)."""
    urls, _ = _claim_batch(demo, count=12)
    answers = [_claim(demo, url, "0000 0000").status_code for url in urls[:11]]
    assert answers[:10] == [422] * 10
    assert answers[10] == 429


def test_the_demo_tells_an_unclaimed_stamp_and_its_pin(demo: Demo) -> None:
    claim = demo.info["claim"]
    assert len(claim["pin"].replace(" ", "")) == PIN_DIGITS
    verdict = demo.client.get("/api/v1/verify", params={"code": claim["url"]}).json()
    assert (verdict["verdict"], verdict["claim"]) == ("genuine", {"claimed": False})
    assert _claim(demo, claim["url"], claim["pin"]).json()["claim"] == "first"
    after = demo.client.get("/api/v1/verify", params={"code": claim["url"]}).json()["claim"]
    assert (after["claimed"], after["count"]) == (True, 1)
    assert after["messages"]["vi"].startswith("Tem này đã được xác nhận bằng mã PIN lần đầu")
    plain = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")}).json()
    assert plain["claim"] is None  # printed without a PIN


def test_the_stamp_page_takes_the_pin_and_says_what_it_came_to(demo: Demo) -> None:
    claim = demo.info["claim"]
    path = claim["url"].removeprefix("https://ocop.vn")
    page = demo.client.get(path).text
    assert 'id="claim-title"' in page
    assert 'name="pin"' in page
    assert (
        'id="claim-title"'
        not in demo.client.get(demo.sample("genuine").removeprefix("https://ocop.vn")).text
    )  # printed without a PIN: no form
    wrong = demo.client.post("/claim", data={"code": claim["url"], "pin": "0000 0000"})
    assert wrong.status_code == 422
    assert 'data-claim="claim_wrong_pin"' in wrong.text
    assert "còn nhận thêm 4 lần" in wrong.text
    first = demo.client.post("/claim", data={"code": claim["url"], "pin": claim["pin"],
                                             "province": "01"})  # fmt: skip
    assert first.status_code == 200
    assert 'data-claim="first"' in first.text
    assert "Bạn là người đầu tiên xác nhận gói hàng này" in first.text
    second = demo.client.post("/claim?lang=en", data={"code": claim["url"], "pin": claim["pin"]})
    assert 'data-claim="already_claimed"' in second.text
    assert "already confirmed on 24/11/2026 in Hà Nội" in second.text
    assert "Report this pack" in second.text
    again = demo.client.get(path + "?lang=vi").text  # and from then on, the page says so
    assert "đã được xác nhận bằng mã PIN lần đầu ngày 24/11/2026, tổng cộng 2 lần" in again


def test_the_desk_lists_stamps_claimed_twice_or_far_from_their_markets(demo: Demo) -> None:
    """The demo's claims batch is sold in Hà Nội; one stamp was confirmed there, then in Hồ
    Chí Minh City."""
    signed_in = demo.client.post(
        "/desk/sign-in", data={"token": demo.info["tokens"]["authority_VN-01"]}
    )
    assert signed_in.status_code == 200
    page = demo.client.get("/desk").text
    section = page.split("Tem xác nhận mã PIN nhiều lần hoặc xa nơi bán")[1].split("<h2>")[0]
    assert "Mã PIN được xác nhận 2 lần" in section
    assert "Xác nhận ở xa nơi bán của lô (Hà Nội)" in section
    assert "Hồ Chí Minh" in section
