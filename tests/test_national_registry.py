"""The national-size registry that benchmarks and browser tests build (tests/national_registry.py)
holds what it claims, keeps the registry's sense, and its signed lists say so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from signing import CertificateState, StatusList
from signing.keys import b64url_decode
from tests.national_registry import NationalRegistry, NationalShape, build_national_registry
from verifier.cli.demo import DEMO_LOT
from verifier.lists.signed_lists import stored_document
from verifier.settings import ROOT_PUBLIC_KEY_FILE
from verifier.store.database import make_engine, session_factory, sqlite_url
from verifier.store.models import (
    Authority,
    Batch,
    BatchLot,
    BatchState,
    BlockedSerials,
    Certificate,
    Lot,
    SigningKey,
)

NOW = datetime.now(UTC)
SHAPE = NationalShape(300, blocked=40, voided=6)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, NationalRegistry]:
    data_dir = tmp_path_factory.mktemp("national") / "data"
    return data_dir, build_national_registry(data_dir, SHAPE, NOW)


@pytest.fixture
def session(built: tuple[Path, NationalRegistry]) -> Iterator[Session]:
    engine = make_engine(sqlite_url(built[0]))
    with session_factory(engine)() as session:
        yield session
    engine.dispose()


def _count(session: Session, model: type[Any], *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def test_it_holds_the_counts_it_claims(
    built: tuple[Path, NationalRegistry], session: Session
) -> None:
    registry = built[1]
    assert _count(session, Certificate) == SHAPE.certificates
    assert _count(session, BlockedSerials, BlockedSerials.lifted_at.is_(None)) == SHAPE.blocked
    assert _count(session, Batch, Batch.state == BatchState.VOID) == SHAPE.voided
    assert registry.authorities == _count(session, Authority) == 35
    assert registry.keys == _count(session, SigningKey) == 35
    provinces = session.scalars(select(Authority.province_code).distinct()).all()
    assert len({p for p in provinces if p is not None}) == 34
    assert sum(registry.states.values()) == SHAPE.certificates
    assert set(registry.states) == set(CertificateState)
    assert registry.states[CertificateState.ACTIVE] > SHAPE.certificates / 2


def test_its_signed_status_list_lists_them_all(
    built: tuple[Path, NationalRegistry], session: Session
) -> None:
    root = b64url_decode((built[0] / ROOT_PUBLIC_KEY_FILE).read_text().strip())
    document = stored_document(session, "status-list")
    assert document is not None
    status = StatusList.verify(document, [root], NOW)
    assert len(status.certificates) == SHAPE.certificates
    assert len(status.blocked) == SHAPE.blocked
    assert len(status.voided) == SHAPE.voided


def test_serials_lie_in_batches_of_the_certificate_s_own_key(session: Session) -> None:
    keys = {k.index: k for k in session.scalars(select(SigningKey))}
    batches = session.scalars(select(Batch).order_by(Batch.key_index, Batch.first_serial)).all()
    certificates = {c.id: c for c in session.scalars(select(Certificate))}
    previous: dict[int, int] = {}
    for batch in batches:
        key = keys[batch.key_index]
        assert key.authority_id == certificates[batch.certificate_id].authority_id
        assert batch.first_serial > previous.get(batch.key_index, 0)  # no overlap
        assert batch.last_serial < key.next_serial
        previous[batch.key_index] = batch.last_serial
    issued = [b for b in batches if b.state is BatchState.ISSUED]
    for block in session.scalars(select(BlockedSerials)):
        assert any(
            b.key_index == block.key_index and b.first_serial <= block.first_serial <= b.last_serial
            for b in issued
        )


def test_a_superseded_certificate_names_a_later_one_for_the_same_product(
    session: Session,
) -> None:
    superseded = session.scalars(
        select(Certificate).where(Certificate.status == CertificateState.SUPERSEDED)
    ).all()
    assert superseded
    for old in superseded:
        assert old.superseded_by_id is not None
        new = session.get_one(Certificate, old.superseded_by_id)
        assert (new.product_id, new.replaces_id) == (old.product_id, old.id)
        assert new.decision_date > old.decision_date


def test_its_revocable_stamps_are_active_hanoi_certificates_with_issued_serials(
    built: tuple[Path, NationalRegistry], session: Session
) -> None:
    registry = built[1]
    assert registry.revocable
    for payload in registry.revocable:
        certificate = session.get_one(Certificate, payload.certificate_id)
        assert certificate.status is CertificateState.ACTIVE
        assert certificate.authority.code == "VN-01"
        assert (payload.stars, payload.valid_until) == (certificate.stars, certificate.valid_until)
        assert (
            _count(
                session,
                Batch,
                Batch.key_index == payload.key_index,
                Batch.first_serial <= payload.serial,
                Batch.last_serial >= payload.serial,
                Batch.state == BatchState.ISSUED,
            )
            == 1
        )


def test_the_same_seed_builds_the_same_registry(
    tmp_path: Path, built: tuple[Path, NationalRegistry]
) -> None:
    again = build_national_registry(tmp_path / "data", SHAPE, NOW)
    assert again.revocable == built[1].revocable
    assert again.states == built[1].states


def test_each_product_with_batches_has_a_lot_its_batches_label(session: Session) -> None:
    """The lots the offline snapshot summarises at national size (issue 20): from the first
    product added to the demo's on, one lot per product with batches, labelled by all of
    them."""
    lots = session.scalars(select(Lot).where(Lot.lot_number != DEMO_LOT)).all()
    first = min(lot.product_id for lot in lots)
    batches = session.execute(
        select(Batch.id, Certificate.product_id)
        .join(Certificate, Certificate.id == Batch.certificate_id)
        .where(Certificate.product_id >= first)
    ).all()
    lot_of = {lot.product_id: lot.id for lot in lots}
    assert len(lot_of) == len(lots) == len({product for _, product in batches})
    links = {(b, lot) for b, lot in session.execute(select(BatchLot.batch_id, BatchLot.lot_id))}
    assert {(batch, lot_of[product]) for batch, product in batches} <= links
    for lot in lots:
        assert 1 <= len(lot.origins) <= 2
        assert 2 <= len(lot.stages) <= 3
        assert lot.stages[-1]["step"] == "Đóng gói và dán tem"
        assert [s["at"] for s in lot.stages] == sorted(s["at"] for s in lot.stages)
        assert all(o["harvested_on"] < lot.produced_on.isoformat() for o in lot.origins)
