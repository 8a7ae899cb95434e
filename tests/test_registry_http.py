"""Registry writes through HTTP: roles, ownership, lifecycle, bad input, concurrency."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from typing import Any

import pytest
from sqlalchemy import func, select

from signing import parse_stamp
from tests.conftest import Demo
from verifier.store.models import ApiToken, AuditEntry, Batch, Certificate, Producer


def _genuine_certificate(demo: Demo) -> int:
    return parse_stamp(demo.sample("genuine")).payload.certificate_id


def _rows(demo: Demo, model: type[Any]) -> int:
    with demo.service.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_producer_orders_a_batch_for_its_own_certificate(demo: Demo) -> None:
    before = _rows(demo, AuditEntry)
    response = demo.client.post(
        "/api/v1/batches",
        json={"certificate_id": _genuine_certificate(demo), "count": 25},
        headers=demo.token("producer"),
    )
    assert response.status_code == 201
    batch = response.json()
    assert batch["count"] == 25
    assert batch["last_serial"] - batch["first_serial"] == 24
    assert _rows(demo, AuditEntry) == before + 1


@pytest.mark.parametrize("role", ["inspector", "authority_VN-TW"])
def test_inspectors_and_other_authorities_cannot_order_batches(demo: Demo, role: str) -> None:
    before = _rows(demo, Batch)
    response = demo.client.post(
        "/api/v1/batches",
        json={"certificate_id": _genuine_certificate(demo), "count": 5},
        headers=demo.token(role),
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert _rows(demo, Batch) == before


def test_the_issuing_authority_orders_batches_for_its_producers(demo: Demo) -> None:
    response = demo.client.post(
        "/api/v1/batches",
        json={"certificate_id": _genuine_certificate(demo), "count": 5},
        headers=demo.token("authority_VN-01"),
    )
    assert response.status_code == 201
    assert response.json()["count"] == 5


def test_producer_cannot_order_for_another_producers_certificate(demo: Demo) -> None:
    authority = demo.token("authority_VN-01")
    other = demo.client.post(
        "/api/v1/producers",
        json={
            "legal_name": "Hộ kinh doanh Nguyễn Văn A",
            "kind": "household",
            "registration_number": "01H8000123",
            "address": "Xã Sơn Đà, Hà Nội",
            "province_code": "01",
        },
        headers=authority,
    ).json()
    product = demo.client.post(
        f"/api/v1/producers/{other['id']}/products",
        json={"name": "Chè lam", "product_group": "food", "pack_description": "Hộp 300 g"},
        headers=authority,
    ).json()
    certificate = demo.client.post(
        "/api/v1/certificates",
        json={
            "product_id": product["id"],
            "stars": 3,
            "decision_number": "9001/QĐ-UBND",
            "decision_date": "2026-10-01",
        },
        headers=authority,
    )
    assert certificate.status_code == 201
    assert certificate.json()["valid_until"] == "2029-10-01"
    response = demo.client.post(
        "/api/v1/batches",
        json={"certificate_id": certificate.json()["id"], "count": 5},
        headers=demo.token("producer"),
    )
    assert response.status_code == 403
    assert "own certificates" in response.json()["error"]["message"]


@pytest.mark.parametrize("verdict", ["expired", "revoked", "star_mismatch"])
def test_no_batches_for_expired_revoked_or_superseded(demo: Demo, verdict: str) -> None:
    certificate = parse_stamp(demo.sample(verdict)).payload.certificate_id
    response = demo.client.post(
        "/api/v1/batches",
        json={"certificate_id": certificate, "count": 5},
        headers=demo.token("producer"),
    )
    assert response.status_code == 409
    assert "no stamps can be issued" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Bearer nope"}, {"Authorization": "Basic abc"}, {"Authorization": ""}],
)
def test_writes_need_a_valid_token(demo: Demo, headers: dict[str, str]) -> None:
    response = demo.client.post(
        "/api/v1/batches", json={"certificate_id": 1, "count": 1}, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"


def test_tokens_are_stored_hashed(demo: Demo) -> None:
    with demo.service.sessions() as session:
        hashes = set(session.scalars(select(ApiToken.token_hash)))
    for token in demo.info["tokens"].values():
        assert token not in hashes
        assert len(token) > 40


def test_provincial_authority_cannot_recognise_5_stars(demo: Demo) -> None:
    product = parse_stamp(demo.sample("genuine")).payload.certificate_id
    with demo.service.sessions() as session:
        product_id = session.get(Certificate, product).product_id  # type: ignore[union-attr]
    response = demo.client.post(
        "/api/v1/certificates",
        json={
            "product_id": product_id,
            "stars": 5,
            "decision_number": "1/QĐ-UBND",
            "decision_date": "2026-11-01",
        },
        headers=demo.token("authority_VN-01"),
    )
    assert response.status_code == 403


def test_reevaluation_resolves_old_stamps_to_the_new_certificate(demo: Demo) -> None:
    certificate = _genuine_certificate(demo)
    response = demo.client.post(
        f"/api/v1/certificates/{certificate}/reevaluate",
        json={"stars": 3, "decision_number": "4400/QĐ-UBND", "decision_date": "2026-11-20"},
        headers=demo.token("authority_VN-01"),
    )
    assert response.status_code == 201
    new = response.json()
    assert new["replaces_id"] == certificate
    assert new["valid_until"] == "2029-11-20"
    old = demo.client.get(f"/api/v1/certificates/{certificate}").json()
    assert (old["status"], old["superseded_by_id"]) == ("superseded", new["id"])
    answer = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")}).json()
    assert (answer["verdict"], answer["reasons"]) == ("star_mismatch", ["stars_lowered"])
    assert answer["certificate"]["certificate_id"] == new["id"]


def test_revoke_through_the_api_changes_the_verdict_and_the_status_list(demo: Demo) -> None:
    before = demo.client.get("/.well-known/ocop/status-list")
    certificate = _genuine_certificate(demo)
    response = demo.client.post(
        f"/api/v1/certificates/{certificate}/revoke",
        json={"decision": "77/QĐ-UBND", "decision_date": "2026-11-23", "reason": "Bao bì sai"},
        headers=demo.token("authority_VN-01"),
    )
    assert response.status_code == 200
    demo.publish()
    after = demo.client.get("/.well-known/ocop/status-list")
    assert after.json() != before.json()
    versions = [int(a.headers["etag"].strip('"').split("-")[0]) for a in (before, after)]
    assert versions[1] > versions[0]
    answer = demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")}).json()
    assert answer["verdict"] == "revoked"
    again = demo.client.post(
        f"/api/v1/certificates/{certificate}/revoke",
        json={"decision": "78/QĐ-UBND", "decision_date": "2026-11-23", "reason": "Lặp lại"},
        headers=demo.token("authority_VN-01"),
    )
    assert again.status_code == 409


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/api/v1/batches", {"certificate_id": 1, "count": 0}),
        ("post", "/api/v1/batches", {"certificate_id": 1, "count": 100_001}),
        ("post", "/api/v1/batches", {"certificate_id": "x", "count": 1}),
        ("post", "/api/v1/batches", [1, 2]),
        ("post", "/api/v1/producers", {"legal_name": "X"}),
        ("post", "/api/v1/producers", {"legal_name": "Hộ A", "kind": "alien",
                                       "registration_number": "123", "address": "abc",
                                       "province_code": "01"}),
        ("post", "/api/v1/certificates", {"product_id": 1, "stars": 2,
                                          "decision_number": "1/QĐ",
                                          "decision_date": "2026-01-01"}),
    ],
)  # fmt: skip
def test_bad_bodies_are_422_and_change_nothing(
    demo: Demo, method: str, path: str, body: Any
) -> None:
    before = (_rows(demo, Batch), _rows(demo, Producer), _rows(demo, AuditEntry))
    token = demo.token("producer" if "batches" in path else "authority_VN-01")
    response = getattr(demo.client, method)(path, json=body, headers=token)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_request"
    assert (_rows(demo, Batch), _rows(demo, Producer), _rows(demo, AuditEntry)) == before


@pytest.mark.parametrize(
    ("path", "status"),
    [("/api/v1/certificates/999999", 404), ("/api/v1/certificates/abc", 422), ("/nope", 404)],
)
def test_unknown_ids_are_clear_json_errors(demo: Demo, path: str, status: int) -> None:
    response = demo.client.get(path)
    assert response.status_code == status
    assert response.json()["error"]["message"]


def test_oversized_bodies_are_refused(demo: Demo) -> None:
    response = demo.client.post(
        "/api/v1/verify",
        content=b'{"code": "' + b"1" * 100_000 + b'"}',
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "too_large"


def test_malformed_json_is_422(demo: Demo) -> None:
    response = demo.client.post(
        "/api/v1/verify", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422


def test_fifty_concurrent_batches_never_share_a_serial(demo: Demo) -> None:
    certificate = _genuine_certificate(demo)

    def order(count: int) -> dict[str, Any]:
        response = demo.client.post(
            "/api/v1/batches",
            json={"certificate_id": certificate, "count": count},
            headers=demo.token("producer"),
        )
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    with ThreadPoolExecutor(max_workers=16) as pool:
        batches = list(pool.map(order, [1 + i % 7 for i in range(50)]))
    with demo.service.sessions() as session:
        ranges = sorted(
            (b.first_serial, b.last_serial)
            for b in session.scalars(select(Batch).where(Batch.key_index == 1))
        )
    assert len(batches) == 50
    for (_, last), (first, _) in pairwise(ranges):
        assert first == last + 1, "serials are contiguous: no overlap and no gap"


def test_a_missing_row_is_named_in_plain_words_regression(demo: Demo) -> None:
    """The 404 named a batch "batche" and an authority "authoritie" (the table's name with its
    last s cut off)."""
    answer = demo.client.get("/api/v1/batches/999999", headers=demo.token("producer"))
    assert answer.status_code == 404
    assert answer.json()["error"]["message"] == "batch 999999 does not exist"
    answer = demo.client.get("/api/v1/certificates/999999")
    assert answer.json()["error"]["message"] == "certificate 999999 does not exist"
