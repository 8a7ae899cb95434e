"""The channel between the public role and the signer (issue 19): a download asks through the
database, the signer re-checks every rule as the token that asked, and signed codes do not
outlive their streaming. Requests are written here as a compromised web tier could write them,
straight into the queue, and the signer must still refuse what the registry would not allow."""

from __future__ import annotations

import time
import zipfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, update

from signing import CertificateState, KeyStatus
from tests.conftest import NOW, Demo
from verifier.registry import signing_queue
from verifier.store.backup import write_backup
from verifier.store.models import (
    ApiToken,
    AuditEntry,
    Batch,
    Certificate,
    SignedCodes,
    SigningKey,
    SigningRequest,
    SigningState,
)


def _producer_batch(demo: Demo, count: int = 30) -> dict[str, Any]:
    """A new batch of the producer's first certificate, ordered through the API."""
    actor = demo.actor("producer")
    with demo.service.sessions() as session:
        certificate = session.scalars(
            select(Certificate.id)
            .join(Certificate.product)
            .where(Certificate.status == CertificateState.ACTIVE)
            .where(Certificate.product.has(producer_id=actor.producer_id))
        ).first()
    answer = demo.client.post("/api/v1/batches", json={"certificate_id": certificate,
                              "count": count}, headers=demo.token("producer"))  # fmt: skip
    assert answer.status_code == 201, answer.text
    batch: dict[str, Any] = answer.json()
    return batch


def _queue(demo: Demo, batch: dict[str, Any], **serials: int) -> int:
    """Write a request into the queue as the producer's, the way the public role does (or a
    compromised one could, with any serials); return its id."""
    with demo.service.writer.begin() as session:
        request = SigningRequest(
            batch_id=batch["id"],
            first_serial=serials.get("first_serial", batch["first_serial"]),
            last_serial=serials.get("last_serial", batch["last_serial"]),
            token_id=demo.token_id("producer"),
            requested_at=NOW,
            state=SigningState.QUEUED,
        )
        session.add(request)
        session.flush()
        return request.id


def _answered(demo: Demo, request_id: int) -> SigningRequest:
    """The request once the signer (running beside the service) has answered it."""
    deadline = time.monotonic() + 20
    while True:
        with demo.service.sessions() as session:
            request = session.get(SigningRequest, request_id)
            assert request is not None
            if request.state not in (SigningState.QUEUED, SigningState.SIGNING):
                return request
        assert time.monotonic() < deadline, "the signer never answered"
        time.sleep(0.05)


def _codes(demo: Demo, request_id: int | None = None) -> int:
    with demo.service.sessions() as session:
        query = select(func.count()).select_from(SignedCodes)
        if request_id is not None:
            query = query.where(SignedCodes.request_id == request_id)
        return session.scalar(query) or 0


def _refusals(demo: Demo) -> list[dict[str, Any]]:
    with demo.service.sessions() as session:
        entries = session.scalars(
            select(AuditEntry).where(AuditEntry.action == "stamps.sign_refused")
        ).all()
        return [dict(e.details) for e in entries]


def _out_of_range(demo: Demo, batch: dict[str, Any]) -> dict[str, int]:
    return {"first_serial": batch["first_serial"], "last_serial": batch["last_serial"] + 500}


def _revoke(demo: Demo, batch: dict[str, Any]) -> dict[str, int]:
    with demo.service.writer.begin() as session:
        session.execute(update(Certificate).where(Certificate.id == batch["certificate_id"])
                        .values(status=CertificateState.REVOKED))  # fmt: skip
    return {}


def _compromise(demo: Demo, batch: dict[str, Any]) -> dict[str, int]:
    with demo.service.writer.begin() as session:
        session.execute(update(SigningKey).where(SigningKey.index == batch["key_index"])
                        .values(status=KeyStatus.COMPROMISED))  # fmt: skip
    return {}


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        (_out_of_range, "signing_serials_outside_batch"),
        (_revoke, "signing_certificate_inactive"),
        (_compromise, "signing_key_out_of_scope"),
    ],
)
def test_the_signer_refuses_through_the_queue_what_the_registry_would_not_allow(
    demo: Demo, tamper: Any, reason: str
) -> None:
    batch = _producer_batch(demo)
    serials = tamper(demo, batch)
    request = _answered(demo, _queue(demo, batch, **serials))
    assert (request.state, request.reason) == (SigningState.REFUSED, reason)
    assert _codes(demo, request.id) == 0  # nothing signed
    assert _refusals(demo)[-1]["reason"] == reason  # and audited


def test_a_refusal_reaches_the_producer_in_its_language(demo: Demo) -> None:
    batch = _producer_batch(demo)
    _revoke(demo, batch)
    answer = demo.client.get(f"/api/v1/batches/{batch['id']}/stamps.pdf",
                             headers=demo.token("producer"))  # fmt: skip
    assert answer.status_code == 409
    body = answer.json()["error"]
    assert body["reason"] == "signing_certificate_inactive"
    assert "không còn hiệu lực" in body["messages"]["vi"]


def test_a_token_revoked_after_asking_gets_nothing_signed(demo: Demo) -> None:
    demo.signer.batches.stop()  # the signer is late: the token is revoked meanwhile
    batch = _producer_batch(demo)
    request_id = _queue(demo, batch)
    with demo.service.writer.begin() as session:
        session.execute(update(ApiToken).where(ApiToken.id == demo.token_id("producer"))
                        .values(revoked_at=NOW))  # fmt: skip
    assert demo.signer.batches.answer_next(NOW)
    request = _answered(demo, request_id)
    assert (request.state, request.reason) == (SigningState.REFUSED, "signing_not_allowed")
    assert _codes(demo, request_id) == 0
    assert _refusals(demo)[-1]["reason"] == "signing_not_allowed"


def test_a_silent_signer_is_said_and_nothing_is_signed_later(demo: Demo) -> None:
    demo.signer.batches.stop()
    demo.service.settings = replace(demo.service.settings, signer_wait_seconds=0.3)
    batch = _producer_batch(demo)
    answer = demo.client.get(f"/api/v1/batches/{batch['id']}/stamps.pdf",
                             headers=demo.token("producer"))  # fmt: skip
    assert answer.status_code == 503
    assert answer.headers["retry-after"] == "60"
    body = answer.json()["error"]
    assert body["reason"] == "signing_signer_silent"
    assert "Tem đã cấp vẫn được kiểm tra bình thường" in body["messages"]["vi"]
    assert not demo.signer.batches.answer_next(NOW)  # abandoned: the signer skips it
    with demo.service.sessions() as session:
        states = session.scalars(select(SigningRequest.state)).all()
        signed = session.scalar(select(func.count()).select_from(AuditEntry)
                                .where(AuditEntry.action == "stamps.sign"))  # fmt: skip
    assert states == [SigningState.ABANDONED]
    assert signed == 0
    assert _codes(demo) == 0


def test_signed_codes_are_deleted_once_streamed_and_purged_when_never_read(demo: Demo) -> None:
    batch = _producer_batch(demo, count=2500)  # two rows of codes
    pdf = demo.client.get(f"/api/v1/batches/{batch['id']}/stamps.pdf",
                          headers=demo.token("producer"))  # fmt: skip
    assert pdf.status_code == 200
    assert pdf.content.rstrip().endswith(b"%%EOF")
    assert _codes(demo) == 0  # streamed, then deleted
    demo.signer.batches.stop()
    request_id = _queue(demo, batch)  # signed, but nobody comes for it
    assert demo.signer.batches.answer_next(NOW)
    assert _codes(demo, request_id) == 2
    assert not demo.signer.batches.answer_next(NOW + timedelta(minutes=5))
    assert _codes(demo, request_id) == 2  # within SIGNED_CODES_KEPT
    assert not demo.signer.batches.answer_next(NOW + signing_queue.SIGNED_CODES_KEPT * 2)
    assert _codes(demo, request_id) == 0


def test_one_token_has_at_most_two_downloads_open(demo: Demo) -> None:
    demo.signer.batches.stop()
    batch = _producer_batch(demo)
    for _ in range(signing_queue.OPEN_REQUESTS):
        _queue(demo, batch)
    answer = demo.client.get(f"/api/v1/batches/{batch['id']}/stamps.csv",
                             headers=demo.token("producer"))  # fmt: skip
    assert answer.status_code == 503
    assert answer.json()["error"]["reason"] == "signing_requests_open"
    with demo.service.sessions() as session:
        queued = session.scalar(select(func.count()).select_from(SigningRequest))
    assert queued == signing_queue.OPEN_REQUESTS  # the refused one was not queued


def test_a_batch_of_another_producer_is_not_even_queued(demo: Demo) -> None:
    with demo.service.sessions() as session:
        others = session.scalars(select(Batch.id).order_by(Batch.id)).all()
    foreign = others[-1]  # the demo's batches belong to producers other than this token's
    answer = demo.client.get(f"/api/v1/batches/{foreign}/stamps.pdf",
                             headers=demo.token("authority_VN-TW"))  # fmt: skip
    assert answer.status_code == 403
    with demo.service.sessions() as session:
        assert session.scalar(select(func.count()).select_from(SigningRequest)) == 0


def test_the_producer_page_says_a_silent_signer_in_words(demo: Demo) -> None:
    demo.signer.batches.stop()
    demo.service.settings = replace(demo.service.settings, signer_wait_seconds=0.2)
    batch = _producer_batch(demo)
    page = demo.client.post("/producer/sign-in", data={"token": demo.info["tokens"]["producer"]})
    assert page.status_code == 200
    answer = demo.client.get(f"/producer/batches/{batch['id']}/stamps.pdf")
    assert answer.status_code == 200  # the page again, after its redirect
    assert "Máy ký tem đang bận hoặc chưa trả lời" in answer.text
    assert "Tem đã cấp vẫn được kiểm tra bình thường" in answer.text


def test_a_backup_holds_no_signed_codes(demo: Demo, tmp_path: Path) -> None:
    """Signed codes on their way to a download are as good as printed stamps: a backup taken
    while some wait holds the request, never the codes."""
    demo.signer.batches.stop()
    batch = _producer_batch(demo)
    request_id = _queue(demo, batch)
    assert demo.signer.batches.answer_next(NOW)
    assert _codes(demo, request_id) == 1
    path = tmp_path / "backup.zip"
    write_backup(demo.service.sessions.kw["bind"], path, NOW)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    assert "tables/signing_requests.jsonl" in names
    assert not [n for n in names if "signed_codes" in n]


def test_one_token_signs_at_most_its_hourly_quota(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stolen producer token cannot keep the signer busy for every other producer: past
    STAMPS_PER_HOUR stamps an hour (downloads refused or given up do not count) it waits."""
    monkeypatch.setattr(signing_queue, "STAMPS_PER_HOUR", 50)
    batch = _producer_batch(demo, count=30)
    url = f"/api/v1/batches/{batch['id']}/stamps.csv"
    assert demo.client.get(url, headers=demo.token("producer")).status_code == 200
    again = demo.client.get(url, headers=demo.token("producer"))
    assert again.status_code == 503
    assert again.headers["retry-after"] == "600"
    error = again.json()["error"]
    assert (error["reason"], error["stamps"]) == ("signing_hourly_quota", 50)
    assert "50 tem trong một giờ qua" in error["messages"]["vi"]
    with demo.service.writer.begin() as session:  # an hour later the first no longer counts
        session.execute(update(SigningRequest).values(requested_at=NOW - timedelta(hours=2)))
    assert demo.client.get(url, headers=demo.token("producer")).status_code == 200
