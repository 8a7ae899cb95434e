"""Issue 21, the check by SMS: "OCOP <printed serial> [PIN]" through either gateway, answered
with one GSM-7 message saying what the registry holds for the serial and what the PIN came to;
every reply of every kind fits 160 characters with the longest names the registry takes."""

from __future__ import annotations

import hashlib
import itertools
import logging
from dataclasses import replace
from datetime import date
from typing import Any
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import String

from signing import VerdictCode, parse_stamp
from signing.verdict import Verdict
from stamps.sheet import human_serial
from tests.conftest import NOW, Demo
from tests.test_claims import _claim_batch as claim_batch
from verifier.claims.claiming import (
    LOCK,
    WRONG_PINS,
    Claimed,
    ClaimOutcome,
    ClaimRecord,
    PinRefused,
)
from verifier.claims.gsm7 import SMS_LENGTH, NotGsm7, gsm7_length, sms_text, without_diacritics
from verifier.claims.pins import PIN_DIGITS, printed_pin
from verifier.claims.sms_check import (
    RegistryAnswer,
    SmsQuery,
    busy_reply,
    claim_line,
    help_reply,
    parse_sms,
    sms_reply,
)
from verifier.lists.registry_index import PublicCertificate, PublicProducer, PublicProduct
from verifier.provinces import PROVINCES
from verifier.settings import Settings, SettingsError
from verifier.store.models import Product, StampClaim

TOKEN = "t" * 40
CPID, PRIVATE_KEY = "cp-ocop", "17417a0d20114d36a902e49cad0e97f3"
GENERIC, ESMS = "/api/v1/sms/inbound", "/api/v1/sms/esms/receive_mo"


# The text: diacritics, the GSM-7 alphabet, the parsing of what a person types.


def test_diacritics_are_stripped_and_d_bar_is_d() -> None:
    assert without_diacritics("Mật ong hoa nhãn Ba Vì, Đắk Lắk, Trà shan tuyết") == (
        "Mat ong hoa nhan Ba Vi, Dak Lak, Tra shan tuyet"
    )
    assert sms_text("Giò lụa “truyền thống” – 1 kg\n🐷") == 'Gio lua "truyen thong" - 1 kg'


def test_gsm7_length_counts_extension_characters_twice_and_refuses_the_rest() -> None:
    assert gsm7_length("OCOP 01-000001042") == 17
    assert gsm7_length("[5€]") == 7  # three of two septets
    with pytest.raises(NotGsm7, match=r"U\+1EAD"):
        gsm7_length("Mật")
    with pytest.raises(NotGsm7):
        gsm7_length("a\x00b")


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("OCOP 01-000001042", SmsQuery(1, 1042)),
        ("ocop 01000001042", SmsQuery(1, 1042)),
        ("  Ocop   01 000001042  ", SmsQuery(1, 1042)),
        ("OCOP 01-000001042 1234 5678", SmsQuery(1, 1042, "12345678")),
        ("OCOP01000001042 12345678", SmsQuery(1, 1042, "12345678")),
        ("OCOP 0100000104212345678", SmsQuery(1, 1042, "12345678")),
        ("OCOP 01-000001042 1234-5678", SmsQuery(1, 1042, "12345678")),
        ("OCOP 300-000000007", SmsQuery(300, 7)),  # a key index of 3 digits, as printed
        ("OCOP 01-1000000042 12345678", SmsQuery(1, 1_000_000_042, "12345678")),
        ("OCOP 1-000001042", SmsQuery(1, 1042)),
    ],
)
def test_the_printed_serial_is_read_with_or_without_its_dash(text: str, query: SmsQuery) -> None:
    assert parse_sms(text) == query
    assert query.printed == human_serial(query.key_index, query.serial)


@pytest.mark.parametrize(
    "text",
    ["", "OCOP", "HELLO 01-000001042", "OCOP 01-0000010", "OCOP 01-000001042 1234567",
     "OCOP 01-000001042 123456789", "OCOP 01-00000X042", "OCOP 010000010421",
     "OCOP 01 000 001 042", "OCOP-01-000001042 1234567 8 9", "OCOP 01-000001042\x00",
     "OCOP " + "1" * 10_000, "OCOP 01-000001042 " + " " * 600],
)  # fmt: skip
def test_what_is_no_check_is_not_read_as_one(text: str) -> None:
    assert parse_sms(text) is None


# Every reply of every kind: one GSM-7 message, with the longest names and figures.

_LONGEST_NAME = Product.__table__.c.name.type
assert isinstance(_LONGEST_NAME, String)
assert _LONGEST_NAME.length is not None
NAME_LENGTH = _LONGEST_NAME.length  # 300
NAMES = [
    "Mật ong hoa nhãn Ba Vì",
    ("Đặc sản " * 100)[:NAME_LENGTH],  # diacritics on every word
    ("[€]{}" * 100)[:NAME_LENGTH],  # extension characters: two septets each
    "Đ" + "€" * (NAME_LENGTH - 1),
]
SERIALS = [SmsQuery(1, 1042), SmsQuery(99, 999_999_999), SmsQuery(0xFFFF, 2**48 - 1)]
REASONS = [["serial_not_issued"], ["batch_voided"], ["serial_blocked"], ["certificate_revoked"],
           ["certificate_expired"], ["stars_lowered"], ["stars_raised"], []]  # fmt: skip
_LONGEST_PROVINCE = max(PROVINCES.values(), key=lambda p: len(p.name)).code


def _certificate(name: str, stars: int = 5) -> PublicCertificate:
    producer = PublicProducer("HTX", "cooperative", "01", "Ba Vì")
    product = PublicProduct(1, name, "food", "Chai 500 g", None, False)
    return PublicCertificate(1, "VN-01", "UBND", "active", stars, "1/QĐ", date(2026, 1, 1),
                             date(2099, 12, 28), None, None, None, None, None, product,
                             producer)  # fmt: skip


def _claim_answers() -> list[Claimed | PinRefused | str]:
    claimed = ClaimRecord(NOW.replace(hour=16, minute=59), _LONGEST_PROVINCE, 2)
    unplaced = ClaimRecord(NOW, None, 9)
    return [
        Claimed(ClaimOutcome.FIRST, claimed),
        Claimed(ClaimOutcome.ALREADY_CLAIMED, claimed),
        Claimed(ClaimOutcome.ALREADY_CLAIMED, unplaced),
        PinRefused(ClaimOutcome.WRONG_PIN, WRONG_PINS - 1),
        PinRefused(ClaimOutcome.LOCKED, 0, NOW + LOCK),
        "no_pin",
        "ask_pin",
        "compare",
    ]


def test_every_reply_is_one_gsm7_message_with_the_longest_names() -> None:
    replies = {help_reply(), busy_reply(3600), busy_reply(1)}
    for name, query, reasons, answer in itertools.product(
        NAMES, SERIALS, REASONS, _claim_answers()
    ):
        verdict = Verdict.from_reasons(reasons)
        certificate = None if reasons == ["serial_not_issued"] else _certificate(name)
        registry = RegistryAnswer(verdict.verdict, verdict.reasons, certificate, 4)
        replies.add(sms_reply(query, registry, claim_line(answer, NOW)))
    assert len(replies) > 400
    for reply in replies:
        assert gsm7_length(reply) <= SMS_LENGTH, reply  # raises for a character outside GSM-7
        assert reply == " ".join(reply.split()), reply  # one line, no doubled spaces


def test_the_product_name_is_shortened_only_as_much_as_the_reply_needs() -> None:
    """With the longest claim sentence (already claimed, in the longest province's name) the
    printed serial leaves the name at least a dozen characters; a short name stays whole
    after a shorter one."""
    already = claim_line(_claim_answers()[1], NOW)
    registry = RegistryAnswer(VerdictCode.GENUINE, (), _certificate(NAMES[1]), 5)
    reply = sms_reply(SERIALS[0], registry, already)
    assert gsm7_length(reply) == SMS_LENGTH
    shown = reply.split(": ", 1)[1].split(", 5 sao")[0]
    assert shown.endswith("...")
    assert len(shown) >= 12
    assert sms_text(NAMES[1]).startswith(shown.removesuffix("..."))
    first = claim_line(_claim_answers()[0], NOW)
    whole = sms_reply(SERIALS[0], replace(registry, certificate=_certificate(NAMES[0])), first)
    assert "Mat ong hoa nhan Ba Vi, 5 sao" in whole
    assert "..." not in whole


# Through the gateways, on the demo registry.


@pytest.fixture
def sms(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> Demo:
    """The demo with both gateways configured."""
    settings = replace(demo.service.settings, sms_token=TOKEN, esms_cpid=CPID,
                       esms_private_key=PRIVATE_KEY)  # fmt: skip
    monkeypatch.setattr(demo.service, "settings", settings)
    return demo


_ids = itertools.count(1)
_senders = itertools.count(84_912_000_000)


def _text(demo: Demo, text: str, *, sender: int | None = None, message_id: str = "") -> str:
    """Send ``text`` through the generic contract (each from another phone unless
    ``sender`` says); return the reply, checked to be one GSM-7 message."""
    body = {"from": str(sender or next(_senders)), "text": text,
            "id": message_id or f"m-{next(_ids)}"}  # fmt: skip
    answer = demo.client.post(GENERIC, json=body, headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    reply: str = answer.json()["reply"]
    assert gsm7_length(reply) <= SMS_LENGTH
    return reply


def _printed(url: str) -> str:
    payload = parse_stamp(url).payload
    return human_serial(payload.key_index, payload.serial)


def _claim_batch(demo: Demo) -> list[tuple[str, str]]:
    """Order a batch of the honey with PINs; return its stamps' printed serials and PINs."""
    urls, pins = claim_batch(demo, count=2)
    return [(_printed(url), pin) for url, pin in zip(urls, pins, strict=True)]


def _claim_row(demo: Demo, printed: str) -> StampClaim:
    """The claim of the stamp whose printed serial is ``printed``."""
    query = parse_sms(f"OCOP {printed}")
    assert query is not None
    with demo.service.sessions() as session:
        row = session.get(StampClaim, (query.key_index, query.serial))
    assert row is not None
    return row


def test_a_pin_by_sms_claims_the_pack_once_and_a_later_one_warns(sms: Demo) -> None:
    (printed, pin), (other, _) = _claim_batch(sms)
    asked = _text(sms, f"OCOP {printed}")
    assert asked.startswith(f"OCOP {printed} co dang ky: Mat ong hoa nhan Ba Vi, 4 sao, hieu luc")
    assert asked.endswith("Cao lop bac, nhan kem PIN de xac nhan.")
    first = _text(sms, f"ocop {printed.replace('-', '')} {printed_pin(pin)}")
    assert first.endswith("PIN DUNG: ban xac nhan dau tien, 10:00 24/11/2026."), first
    again = _text(sms, f"OCOP {printed} {pin}")  # another phone
    assert again.endswith("PIN DA DUNG 24/11/2026: nghi chiet lai/tem dung lai. Bao nguoi ban."), (
        again
    )
    claim = _claim_row(sms, printed)
    assert (claim.count, claim.first_channel, claim.first_province) == (2, "sms", None)
    assert _text(sms, f"OCOP {other} {pin}").endswith(f"PIN SAI, con {WRONG_PINS - 1} lan thu.")


def test_wrong_pins_by_sms_lock_the_stamp(sms: Demo) -> None:
    (printed, pin), _ = _claim_batch(sms)
    wrong = str((int(pin) + 1) % 10**PIN_DIGITS).zfill(PIN_DIGITS)
    for tries_left in range(WRONG_PINS - 1, 0, -1):
        assert _text(sms, f"OCOP {printed} {wrong}").endswith(f"con {tries_left} lan thu.")
    locked = f"Sai PIN qua nhieu: thu lai sau {LOCK.seconds // 60} phut."
    assert _text(sms, f"OCOP {printed} {wrong}").endswith(locked)
    assert _text(sms, f"OCOP {printed} {pin}").endswith(locked)  # the right one waits too


def test_a_stamp_printed_without_pins_says_so(sms: Demo) -> None:
    printed = _printed(sms.sample("genuine"))
    assert _text(sms, f"OCOP {printed} 12345678").endswith("Tem nay khong co PIN.")
    assert _text(sms, f"OCOP {printed}").endswith("Doi chieu ten, so sao voi bao bi.")


@pytest.mark.parametrize(
    ("sample", "says"),
    [
        ("genuine", " co dang ky: Mat ong hoa nhan Ba Vi, 4 sao, hieu luc den "),
        ("genuine_5_stars", " co dang ky: Tra shan tuyet co thu, 5 sao, hieu luc den "),
        ("unregistered_never_issued", ": KHONG CO trong so dang ky."),
        ("unregistered", ": lo tem nay DA BI HUY, tem khong con gia tri."),
        ("revoked", ": Gio lua truyen thong, 4 sao. Chung nhan OCOP DA BI THU HOI."),
        ("expired", ": Mien dong Ba Vi, 3 sao. Chung nhan HET HAN ngay "),
        ("star_mismatch", ": Tuong ban Ba Vi, 3 sao (tem in 4), hieu luc den "),
        ("suspected_clone", ": Mat ong hoa nhan Ba Vi, 4 sao. NGHI TEM SAO CHEP: so da bi khoa."),
    ],
)
def test_each_verdict_of_the_registry_is_worded(sms: Demo, sample: str, says: str) -> None:
    printed = _printed(sms.sample(sample))
    reply = _text(sms, f"OCOP {printed} 12345678")
    assert reply.startswith(f"OCOP {printed}{says}"), reply


@pytest.mark.parametrize(
    "text",
    ["hello", "OCOP", "OCOP 01-000001042\x00\x00", "\x00" * 100, "OCOP " + "9" * 10_000,
     f"OCOP {2**63}", f"OCOP {2**63}-{2**63}", "OCOP 99999-999999999999999 12345678",
     "OCOP 65535-281474976710655"],
)  # fmt: skip
def test_bad_input_gets_a_readable_reply(sms: Demo, text: str) -> None:
    reply = _text(sms, text)
    assert reply == help_reply() or "KHONG CO trong so dang ky" in reply


def test_a_retried_message_gets_the_same_reply_and_claims_once(sms: Demo) -> None:
    (printed, pin), _ = _claim_batch(sms)
    first = _text(sms, f"OCOP {printed} {pin}", message_id="retried")
    assert _text(sms, f"OCOP {printed} {pin}", message_id="retried") == first
    assert _claim_row(sms, printed).count == 1


def test_each_phone_sends_a_few_checks_a_minute(sms: Demo) -> None:
    printed, phone = _printed(sms.sample("genuine")), 84_900_000_001
    for _ in range(5):  # the default OCOP_RATE_LIMIT_SMS: 5/minute
        assert _text(sms, f"OCOP {printed}", sender=phone).startswith("OCOP ")
    assert "qua nhieu tin" in _text(sms, f"OCOP {printed}", sender=phone)
    assert _text(sms, f"OCOP {printed}").startswith(f"OCOP {printed} co dang ky")  # another phone


def test_the_generic_contract_wants_its_token(sms: Demo) -> None:
    body = {"from": "84912345678", "text": "OCOP 01-000001042", "id": "1"}
    for headers in ({}, {"Authorization": "Bearer " + "x" * 40}, {"Authorization": TOKEN}):
        refused = sms.client.post(GENERIC, json=body, headers=headers)
        assert refused.status_code == 401
        assert "reply" not in refused.json()
        assert refused.json()["error"]["code"] == "unauthorized"
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for bad in ({"text": "OCOP"}, {**body, "id": "a b"}, {**body, "text": "x" * 17_000}):
        assert sms.client.post(GENERIC, json=bad, headers=auth).status_code == 422
    assert sms.client.post(GENERIC, content=b"\x00{", headers=auth).status_code == 422


def _esms_query(content: str, key: str = PRIVATE_KEY, **more: str) -> dict[str, str]:
    query = {"sender": "84912345678", "content": content, "serviceNumber": "8079",
             "keyword": content.split(" ", maxsplit=1)[0], "cpid": CPID, "smsid": "123456",
             "receiverTime": "20261124100000", **more}  # fmt: skip
    signed = query["cpid"] + query["smsid"] + content + query["receiverTime"] + key
    return {**query, "sign": hashlib.md5(signed.encode()).hexdigest()}  # noqa: S324 (eSMS's)


def test_esms_calls_are_signed_and_answered_in_its_xml(sms: Demo) -> None:
    printed = _printed(sms.sample("revoked"))
    answer = sms.client.get(ESMS, params=_esms_query(f"OCOP {printed}"))
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/xml")
    assert answer.text == (
        f"<ClientResponse><Message>OCOP {printed}: Gio lua truyen thong, 4 sao. Chung nhan OCOP "
        "DA BI THU HOI. Doi chieu ten, so sao voi bao bi.</Message><Smsid>123456</Smsid>"
        "<Receiver>84912345678</Receiver></ClientResponse>"
    )
    upper = _esms_query("ocop <&>", smsid="123457")
    upper["sign"] = upper["sign"].upper()
    assert f"<Message>{escape(help_reply())}</Message>" in sms.client.get(ESMS, params=upper).text
    wrong_key = _esms_query(f"OCOP {printed}", key="0" * 32)
    other_cp = _esms_query(f"OCOP {printed}", cpid="someone-else")
    altered = {**_esms_query(f"OCOP {printed}"), "content": "OCOP 01-000000001"}
    for query in (wrong_key, other_cp, altered, {**upper, "sign": ""}):
        refused = sms.client.get(ESMS, params=query)
        assert refused.status_code == 403
        assert "Message" not in refused.text
    missing = {k: v for k, v in _esms_query("OCOP").items() if k != "smsid"}
    assert sms.client.get(ESMS, params=missing).status_code == 422
    assert sms.client.get(ESMS, params=_esms_query("OCOP", sender="abc")).status_code == 422


def test_the_routes_are_off_until_their_gateway_is_configured(demo: Demo) -> None:
    body = {"from": "84912345678", "text": "OCOP", "id": "1"}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    assert demo.client.post(GENERIC, json=body, headers=headers).status_code == 404
    assert demo.client.get(ESMS, params=_esms_query("OCOP")).status_code == 404


def test_the_phone_number_is_neither_logged_nor_stored(
    sms: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    (printed, pin), _ = _claim_batch(sms)
    phone = 84_977_123_456
    caplog.set_level(logging.DEBUG)
    _text(sms, f"OCOP {printed} {pin}", sender=phone)
    unsigned = {**_esms_query("OCOP", sender=str(phone)), "sign": "0"}
    sms.client.get(ESMS, params=unsigned)  # 403, logged
    sms.client.post(GENERIC, json={"from": str(phone), "text": "x", "id": "1"})  # 401, logged
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("verifier"))
    assert "401 unauthorized" in logged  # the service's own lines (httpx logs the test's URLs)
    assert str(phone) not in logged
    assert str(phone)[2:] not in logged
    row = _claim_row(sms, printed)
    assert str(phone) not in repr({c.name: getattr(row, c.name) for c in row.__table__.c})


def test_the_gateways_secrets_are_checked_at_start(tmp_path: Any) -> None:
    (tmp_path / "demo.json").write_text("{}")
    settings = Settings.load(tmp_path, {"OCOP_SMS_TOKEN": TOKEN, "OCOP_ESMS_CPID": CPID,
                                        "OCOP_ESMS_PRIVATE_KEY": PRIVATE_KEY})  # fmt: skip
    assert (settings.sms_token, settings.esms_cpid) == (TOKEN, CPID)
    assert TOKEN not in repr(settings)
    assert PRIVATE_KEY not in repr(settings)
    with pytest.raises(SettingsError, match="at least 32"):
        Settings.load(tmp_path, {"OCOP_SMS_TOKEN": "short"})
    with pytest.raises(SettingsError, match="both"):
        Settings.load(tmp_path, {"OCOP_ESMS_CPID": CPID})
    assert Settings.load(tmp_path, {}).sms_token is None
