"""One end-to-end test per misuse of DESIGN.md section 1, through the HTTP API, on SQLite and
PostgreSQL. Each asserts the verdict and its reason."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

import pytest

from signing import Payload, PrivateKey, parse_stamp, sign_payload
from tests.conftest import Demo
from verifier import service_errors as errors
from verifier.web.answers import status_of
from verifier.web.app import _query_pairs


def _check(demo: Demo, code: str, **params: Any) -> dict[str, Any]:
    response = demo.client.get("/api/v1/verify", params={"code": code, **params})
    assert response.status_code == 200
    answer: dict[str, Any] = response.json()
    return answer


def _forge(demo: Demo, key: PrivateKey, **fields: Any) -> str:
    genuine = parse_stamp(demo.sample("genuine")).payload
    values = {
        "key_index": genuine.key_index,
        "certificate_id": genuine.certificate_id,
        "stars": genuine.stars,
        "valid_until": genuine.valid_until,
        "serial": genuine.serial,
        **fields,
    }
    return sign_payload(Payload(**values), key).url("ocop.vn")


def test_misuse_1_untrusted_key_is_counterfeit(demo: Demo) -> None:
    answer = _check(demo, _forge(demo, PrivateKey.generate()))
    assert (answer["verdict"], answer["reasons"]) == ("counterfeit", ["bad_signature"])
    unknown = _check(demo, _forge(demo, PrivateKey.generate(), key_index=77))
    assert (unknown["verdict"], unknown["reasons"]) == ("counterfeit", ["unknown_key"])
    assert unknown["certificate"] is None


def test_misuse_1_no_stamp_at_all_is_malformed(demo: Demo) -> None:
    answer = _check(demo, "OCOP 5 sao")
    assert (answer["verdict"], answer["reasons"]) == ("malformed", ["not_a_stamp"])


def test_misuse_2_sibling_product_shows_the_certified_product(demo: Demo) -> None:
    answer = _check(demo, demo.sample("genuine"))
    assert answer["verdict"] == "genuine"
    product = answer["certificate"]["product"]
    assert product["name"] == "Mật ong hoa nhãn Ba Vì"
    assert product["pack_description"] == "Chai thủy tinh 500 g"
    assert product["has_label_photo"] is True
    assert answer["certificate"]["producer"]["name"] == "Hợp tác xã Nông nghiệp Ba Vì Xanh"
    photo = demo.client.get(f"/products/{product['id']}/label")
    assert photo.status_code == 200
    assert photo.headers["content-type"] == "image/jpeg"


def test_misuse_3_more_stars_seen_than_certified(demo: Demo) -> None:
    answer = _check(demo, demo.sample("genuine"), stars_seen=5)
    assert (answer["verdict"], answer["reasons"]) == ("star_mismatch", ["stars_seen_higher"])


def test_misuse_3_provincial_key_cannot_sign_5_stars(demo: Demo) -> None:
    province = PrivateKey.from_pem((demo.data_dir / "keys/province-01.pem").read_bytes(), b"demo")
    answer = _check(demo, _forge(demo, province, stars=5))
    assert (answer["verdict"], answer["reasons"]) == ("counterfeit", ["stars_out_of_key_scope"])


def test_misuse_4_expired_recognition(demo: Demo) -> None:
    answer = _check(demo, demo.sample("expired"))
    assert (answer["verdict"], answer["reasons"]) == ("expired", ["certificate_expired"])
    assert answer["certificate"]["status"] == "expired"


def test_misuse_5_revoked_recognition_shows_decision_and_reason(demo: Demo) -> None:
    answer = _check(demo, demo.sample("revoked"))
    assert (answer["verdict"], answer["reasons"]) == ("revoked", ["certificate_revoked"])
    revocation = answer["certificate"]["revocation"]
    assert revocation["decision"] == "3310/QĐ-UBND"
    assert "an toàn thực phẩm" in revocation["reason"]
    assert revocation["date"] == "2026-11-04"


def test_misuse_6_stars_lowered_by_reevaluation(demo: Demo) -> None:
    answer = _check(demo, demo.sample("star_mismatch"))
    assert (answer["verdict"], answer["reasons"]) == ("star_mismatch", ["stars_lowered"])
    assert answer["stamp"]["stars"] == 4
    assert answer["certificate"]["stars"] == 3
    assert answer["certificate"]["renews"] is not None


def test_misuse_7_blocked_serial_is_a_suspected_clone(demo: Demo) -> None:
    answer = _check(demo, demo.sample("suspected_clone"))
    assert (answer["verdict"], answer["reasons"]) == ("suspected_clone", ["serial_blocked"])


def test_misuse_7_inspector_blocks_a_serial(demo: Demo) -> None:
    """An inspector blocks a serial it checked itself, signed in (tests/test_attack_registry.py
    tries the blocks it may not make)."""
    stamp = parse_stamp(demo.sample("genuine")).payload
    checked = demo.client.get(
        "/api/v1/verify", params={"code": demo.sample("genuine")}, headers=demo.token("inspector")
    )
    assert checked.json()["verdict"] == "genuine"
    body = {
        "key_index": stamp.key_index,
        "first_serial": stamp.serial,
        "last_serial": stamp.serial,
        "reason": "Cùng số sê-ri ở ba chợ khác nhau",
    }
    response = demo.client.post(
        "/api/v1/blocked-serials", json=body, headers=demo.token("inspector")
    )
    assert response.status_code == 201
    answer = _check(demo, demo.sample("genuine"))
    assert (answer["verdict"], answer["reasons"]) == ("suspected_clone", ["serial_blocked"])


def test_misuse_8_never_issued_serial(demo: Demo) -> None:
    answer = _check(demo, demo.sample("unregistered_never_issued"))
    assert (answer["verdict"], answer["reasons"]) == ("unregistered", ["serial_not_issued"])


def test_misuse_8_voided_batch(demo: Demo) -> None:
    answer = _check(demo, demo.sample("unregistered"))
    assert (answer["verdict"], answer["reasons"]) == ("unregistered", ["batch_voided"])


def test_misuse_8_serial_of_another_certificate(demo: Demo) -> None:
    """A genuine serial re-signed for another certificate was never issued for that one."""
    province = PrivateKey.from_pem((demo.data_dir / "keys/province-01.pem").read_bytes(), b"demo")
    tea = parse_stamp(demo.sample("star_mismatch")).payload
    answer = _check(demo, _forge(demo, province, certificate_id=tea.certificate_id))
    assert "serial_not_issued" in answer["reasons"]


def test_misuse_9_compromised_key_watermark(demo: Demo) -> None:
    genuine = parse_stamp(demo.sample("genuine")).payload
    watermark = genuine.serial + 10
    response = demo.client.post(
        f"/api/v1/keys/{genuine.key_index}/compromise",
        json={"last_serial": watermark},
        headers=demo.token("authority_VN-01"),
    )
    assert response.status_code == 200
    below = _check(demo, demo.sample("genuine"))
    assert below["verdict"] == "genuine"
    assert "key_compromised_below_watermark" in below["notes"]
    thief = PrivateKey.from_pem((demo.data_dir / "keys/province-01.pem").read_bytes(), b"demo")
    above = _check(demo, _forge(demo, thief, serial=watermark + 1))
    assert (above["verdict"], above["reasons"]) == ("counterfeit", ["key_compromised"])
    demo.publish()
    trust = demo.client.get("/.well-known/ocop/trust-list")
    assert trust.status_code == 200


def test_misuse_10_lookalike_host_is_judged_by_signature(demo: Demo) -> None:
    genuine = demo.sample("genuine").replace("https://ocop.vn/", "https://ocop-vn.example/")
    assert _check(demo, genuine)["verdict"] == "genuine"
    forged = _forge(demo, PrivateKey.generate()).replace("ocop.vn", "ocop.gov-vn.example")
    answer = _check(demo, forged)
    assert answer["verdict"] == "counterfeit"
    assert answer["official_domain"] == "ocop.vn"


def test_revoked_and_blocked_lists_both_reasons_most_severe_first(demo: Demo) -> None:
    stamp = parse_stamp(demo.sample("revoked")).payload
    demo.client.post(
        "/api/v1/blocked-serials",
        json={
            "key_index": stamp.key_index,
            "first_serial": stamp.serial,
            "last_serial": stamp.serial,
            "reason": "Sao chép",
        },
        headers=demo.token("authority_VN-01"),
    ).raise_for_status()
    answer = _check(demo, demo.sample("revoked"))
    assert answer["verdict"] == "revoked"
    assert answer["reasons"] == ["certificate_revoked", "serial_blocked"]


def test_fast_path_answers_exactly_like_the_framework_route(demo: Demo) -> None:
    """GET without a token takes the raw ASGI fast path; POST goes through FastAPI."""
    for name, url in demo.info["stamp_urls"].items():
        fast = demo.client.get("/api/v1/verify", params={"code": url, "stars_seen": 4}).json()
        full = demo.client.post("/api/v1/verify", json={"code": url, "stars_seen": 4}).json()
        fast_scans, full_scans = fast.pop("scans"), full.pop("scans")
        # only a stamp the registry issued is counted: no forged code, no text that is no stamp
        recorded = fast["verdict"] not in {"malformed", "counterfeit"} and (
            "serial_not_issued" not in fast["reasons"]
        )
        assert full_scans["count"] == fast_scans["count"] + recorded, name
        assert fast_scans["first_at"] == full_scans["first_at"], name  # both ISO 8601 text
        assert fast == full, name


@pytest.mark.parametrize(
    "query",
    [
        "code=123", "code=123&stars_seen=4", "code=", "code", "&&code=1&", "a=b=c",
        "code=%31%32", "code=1+2", "code=1&code=2", "=x", "device_id=ph%C3%B2ng&code=9", "",
    ],
)  # fmt: skip
def test_fast_path_reads_a_query_as_parse_qsl_does(query: str) -> None:
    assert _query_pairs(query) == parse_qsl(query, keep_blank_values=True)


def test_fast_path_leaves_bad_parameters_to_the_framework(demo: Demo) -> None:
    too_many_stars = demo.client.get(
        "/api/v1/verify", params={"code": demo.sample("genuine"), "stars_seen": 9}
    )
    assert too_many_stars.status_code == 422
    for field in ("device_id", "location"):
        too_long = demo.client.get(
            "/api/v1/verify", params={"code": demo.sample("genuine"), field: "x" * 65}
        )
        assert too_long.status_code == 422, field
        assert too_long.json()["error"]["problems"][0]["field"] == field
    missing = demo.client.get("/api/v1/verify")
    assert missing.status_code == 422
    assert missing.json()["error"]["code"] == "invalid_request"


def test_each_domain_error_is_answered_with_its_kinds_status() -> None:
    """The service's errors say what went wrong, not how HTTP answers it: the web layer gives
    each kind its status, in one place, and a kind it does not know the status of its parent."""
    expected = {
        errors.ServiceError: 400, errors.Unauthorized: 401, errors.Forbidden: 403,
        errors.NotFound: 404, errors.Conflict: 409, errors.TooLarge: 413, errors.Invalid: 422,
        errors.TooManyTries: 429, errors.Busy: 503,
    }  # fmt: skip
    kinds = [
        value for value in vars(errors).values()
        if isinstance(value, type) and issubclass(value, errors.ServiceError)
    ]  # fmt: skip
    assert set(kinds) == set(expected)
    for kind, status in expected.items():
        error = errors.NotFound("batch", 7) if kind is errors.NotFound else kind("refused")
        assert not hasattr(error, "status"), kind
        assert status_of(error) == status, kind

    class Stale(errors.Conflict):
        pass

    assert status_of(Stale("a newer version exists")) == 409
