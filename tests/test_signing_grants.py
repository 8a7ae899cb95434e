"""The rules a signing re-checks, whoever asks: serials outside the batch's allocated range,
a revoked certificate and a key out of scope are refused with an audited reason, even to a
caller the registry trusts (issue 19: what a compromised web tier could ask the signer)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update

from signing import KeyStatus, parse_stamp
from tests.conftest import NOW, Demo
from verifier import registry
from verifier.registry import Actor
from verifier.service_errors import Conflict
from verifier.signer.batch_files import signing_grant
from verifier.store.models import AuditEntry, Authority, Batch, Certificate, Role, SigningKey


def _batch(demo: Demo) -> Batch:
    """The batch of the genuine sample."""
    stamp = parse_stamp(demo.sample("genuine")).payload
    with demo.service.sessions() as session:
        return session.scalars(
            select(Batch).where(
                Batch.key_index == stamp.key_index,
                Batch.first_serial <= stamp.serial,
                Batch.last_serial >= stamp.serial,
            )
        ).one()


def _issuer(demo: Demo, batch: Batch) -> Actor:
    with demo.service.sessions() as session:
        certificate = session.get(Certificate, batch.certificate_id)
        assert certificate is not None
        return Actor(Role.AUTHORITY, "operator", authority_id=certificate.authority_id)


def _audited(demo: Demo, action: str) -> list[dict[str, Any]]:
    with demo.service.sessions() as session:
        entries = session.scalars(select(AuditEntry).where(AuditEntry.action == action)).all()
        return [dict(entry.details) for entry in entries]


def _refused(demo: Demo, batch: Batch, **serials: int) -> Conflict:
    with pytest.raises(Conflict) as refused:
        signing_grant(demo.service.writer, actor=_issuer(demo, batch), batch_id=batch.id,
                      now=NOW, **serials)  # fmt: skip
    return refused.value


def test_a_grant_covers_the_batch_and_is_audited(demo: Demo) -> None:
    batch = _batch(demo)
    grant = signing_grant(demo.service.writer, actor=_issuer(demo, batch), batch_id=batch.id,
                          now=NOW)  # fmt: skip
    assert (grant.first_serial, grant.last_serial) == (batch.first_serial, batch.last_serial)
    assert grant.key.index == batch.key_index
    assert _audited(demo, "stamps.sign")[-1] == {
        "key_index": batch.key_index,
        "first_serial": batch.first_serial,
        "last_serial": batch.last_serial,
    }


@pytest.mark.parametrize(
    "serials",
    [
        {"first_serial": -1},  # before the batch
        {"last_serial": 10**12},  # past it, into serials of later batches
        {"first_serial": 10**12, "last_serial": 10**12 + 5},  # nowhere near it
    ],
)
def test_serials_outside_the_batch_are_refused_and_audited(
    demo: Demo, serials: dict[str, int]
) -> None:
    batch = _batch(demo)
    refusal = _refused(demo, batch, **serials)
    assert refusal.reason == "signing_serials_outside_batch"
    assert refusal.messages is not None
    assert str(batch.id) in refusal.messages["vi"]
    assert _audited(demo, "stamps.sign_refused")[-1]["reason"] == "signing_serials_outside_batch"
    assert _audited(demo, "stamps.sign") == []


def test_a_revoked_certificate_is_refused_and_audited(demo: Demo) -> None:
    batch = _batch(demo)
    with demo.service.writer.begin() as session:
        registry.revoke_certificate(
            session, actor=_issuer(demo, batch), certificate_id=batch.certificate_id,
            decision="QĐ-99/2026", decision_date=NOW.date(), reason="fails tests", now=NOW,
        )  # fmt: skip
    assert _refused(demo, batch).reason == "signing_certificate_inactive"
    assert _audited(demo, "stamps.sign_refused")[-1]["reason"] == "signing_certificate_inactive"


@pytest.mark.parametrize("change", ["retired", "another_authority", "stars"])
def test_a_key_out_of_scope_is_refused_even_when_the_registry_was_tampered_with(
    demo: Demo, change: str
) -> None:
    """The batch row names a key the rules do not allow for it (as a compromised web tier
    with the database's credentials could write): no signature."""
    batch = _batch(demo)
    with demo.service.writer.begin() as session:
        if change == "retired":
            session.execute(update(SigningKey).where(SigningKey.index == batch.key_index)
                            .values(status=KeyStatus.RETIRED))  # fmt: skip
        elif change == "another_authority":
            theirs = session.scalars(
                select(Authority.id).where(Authority.id != _issuer(demo, batch).authority_id)
            ).first()
            session.execute(update(SigningKey).where(SigningKey.index == batch.key_index)
                            .values(authority_id=theirs))  # fmt: skip
        else:
            session.execute(update(SigningKey).where(SigningKey.index == batch.key_index)
                            .values(stars="9"))  # fmt: skip
    refusal = _refused(demo, batch)
    assert refusal.reason == "signing_key_out_of_scope"
    assert _audited(demo, "stamps.sign_refused")[-1]["reason"] == refusal.reason


def test_a_producer_s_refused_download_says_why_in_vietnamese(demo: Demo) -> None:
    batch = _batch(demo)
    with demo.service.writer.begin() as session:
        session.execute(update(SigningKey).where(SigningKey.index == batch.key_index)
                        .values(status=KeyStatus.RETIRED))  # fmt: skip
    refused = demo.client.get(f"/api/v1/batches/{batch.id}/stamps.csv",
                              headers=demo.token("producer"))  # fmt: skip
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["reason"] == "signing_key_out_of_scope"
    assert error["messages"]["vi"].startswith(f"Khóa ký {batch.key_index} không được dùng")
    assert _audited(demo, "stamps.sign_refused")[-1]["reason"] == "signing_key_out_of_scope"
