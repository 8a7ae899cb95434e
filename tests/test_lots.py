"""Production lots and GS1 identifiers (issue 20): a producer declares its lots, their origin,
stages and documents; GTINs and GLNs are checked with biip and a wrong check digit is said as
such; a batch labels lots of its own product only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import select

from signing import parse_stamp
from tests.conftest import NOW, Demo
from verifier import registry
from verifier.cli.demo import DEMO_GLN, DEMO_GTIN, DEMO_LOT
from verifier.service_errors import Invalid
from verifier.store.models import AuditEntry, Certificate, Product

HONEY_LOT = {
    "lot_number": "MO-2026-11",
    "produced_on": "2026-11-20",
    "best_before": "2028-11-20",
    "quantity": 300,
    "quantity_unit": "chai",
    "standards": ["TCVN 5267-1:2008"],
    "origins": [{"material": "Mật ong hoa nhãn", "province_code": "33",
                 "harvested_on": "2026-11-10", "gln": DEMO_GLN}],
    "stages": [
        {"step": "Đóng chai", "place": "Xưởng HTX", "province_code": "01",
         "at": "2026-11-20T08:00:00+07:00"},
        {"step": "Lọc", "place": "Xưởng HTX", "province_code": "01",
         "at": "2026-11-18T08:00:00+07:00"},
    ],
    "documents": [{"title": "Phiếu thử nghiệm", "issuer": "Viện Kiểm nghiệm",
                   "issued_on": "2026-11-15"}],
}  # fmt: skip


def _honey(demo: Demo) -> int:
    """The demo honey's product id (the product with a GTIN)."""
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
    with demo.service.sessions() as session:
        found = session.get(Certificate, certificate)
        assert found is not None
        return found.product_id


def _post_lot(demo: Demo, body: dict[str, Any], role: str = "producer") -> Any:
    return demo.client.post(f"/api/v1/products/{_honey(demo)}/lots", json=body,
                            headers=demo.token(role))  # fmt: skip


def test_the_demo_has_a_product_with_a_gtin_and_a_lot_with_origin_and_stages(demo: Demo) -> None:
    with demo.service.sessions() as session:
        honey = session.get(Product, _honey(demo))
        assert honey is not None
        assert (honey.gtin, honey.producer.gln) == ("0" + DEMO_GTIN, DEMO_GLN)
    lots = demo.client.get(f"/api/v1/products/{_honey(demo)}/lots").json()
    [lot] = [lot for lot in lots if lot["lot_number"] == DEMO_LOT]
    assert lot["origins"][0]["province_code"] == "33"
    assert [s["step"] for s in lot["stages"]][-1] == "Đóng chai và dán tem"
    assert lot["declared_by"] == "HTX Ba Vì Xanh (demo)"


def test_a_producer_declares_a_lot_and_adds_a_stage(demo: Demo) -> None:
    answer = _post_lot(demo, HONEY_LOT)
    assert answer.status_code == 201, answer.text
    lot = answer.json()
    assert [s["step"] for s in lot["stages"]] == ["Lọc", "Đóng chai"]  # kept in time order
    assert lot["stages"][0]["at"] == "2026-11-18T01:00:00Z"
    stage = {"step": "Xuất kho", "place": "Kho HTX", "province_code": "01",
             "at": "2026-11-21T07:00:00Z"}  # fmt: skip
    added = demo.client.post(f"/api/v1/lots/{lot['id']}/stages", json=stage,
                             headers=demo.token("producer"))  # fmt: skip
    assert added.status_code == 201, added.text
    assert [s["step"] for s in added.json()["stages"]] == ["Lọc", "Đóng chai", "Xuất kho"]
    assert demo.client.get(f"/api/v1/lots/{lot['id']}").json() == added.json()  # public
    with demo.service.sessions() as session:
        actions = session.scalars(select(AuditEntry.action).where(
            AuditEntry.entity == "lot", AuditEntry.entity_id == str(lot["id"]))).all()  # fmt: skip
    assert list(actions) == ["lot.record", "lot.stage"]
    again = _post_lot(demo, HONEY_LOT)
    assert again.status_code == 409  # one lot number per product


@pytest.mark.parametrize(
    ("change", "status", "says"),
    [
        ({"lot_number": "LÔ-01"}, 422, "without diacritics"),
        ({"lot_number": "A" * 21}, 422, "1 to 20"),
        ({"produced_on": "2027-01-01"}, 422, "after today"),
        ({"best_before": "2026-01-01"}, 422, "before the production date"),
        ({"quantity": 0}, 422, "greater than or equal to 1"),
        ({"origins": [{"material": "Mật ong", "province_code": "99"}]}, 422, "province code"),
        ({"origins": [{"material": "Mật ong", "province_code": "33", "gln": "8935049500002"}]},
         422, "check digit"),
        ({"origins": [{"material": "Mật ong", "province_code": "33",
                       "harvested_on": "2026-11-25"}]}, 422, "harvested after"),
        ({"stages": [{"step": "Lọc", "place": "Xưởng", "province_code": "01",
                      "at": "2027-01-01T00:00:00Z"}]}, 422, "future"),
        ({"stages": [{"step": "Lọc", "place": "Xưởng", "province_code": "01",
                      "at": "2026-11-20T00:00:00"}]}, 422, "timezone"),
        ({"standards": ["TCVN"] * 11}, 422, "at most 10"),
        ({"lot_number": "ok\x00"}, 422, ""),
    ],
)  # fmt: skip
def test_a_lot_that_breaks_a_rule_is_refused_with_a_reason(
    demo: Demo, change: dict[str, Any], status: int, says: str
) -> None:
    answer = _post_lot(demo, {**HONEY_LOT, **change})
    assert answer.status_code == status, answer.text
    assert says in answer.text
    assert not [lot for lot in demo.client.get(f"/api/v1/products/{_honey(demo)}/lots").json()
                if lot["lot_number"] == HONEY_LOT["lot_number"]]  # fmt: skip


def test_only_the_producer_or_an_authority_over_it_declares_lots(demo: Demo) -> None:
    assert _post_lot(demo, HONEY_LOT, "inspector").status_code == 403
    anonymous = demo.client.post(f"/api/v1/products/{_honey(demo)}/lots", json=HONEY_LOT)
    assert anonymous.status_code == 401
    assert _post_lot(demo, HONEY_LOT, "authority_VN-01").status_code == 201  # its province
    other = {**HONEY_LOT, "lot_number": "MO-2026-12"}
    assert _post_lot(demo, other, "authority_VN-TW").status_code == 201  # the central council


@pytest.mark.parametrize(
    ("gtin", "status", "says"),
    [
        ("8935049500018", 201, "08935049500018"),
        ("8935049500019", 422, "check digit"),
        ("12345", 422, "Expected 8, 12, 13, or 14 digits"),
        ("89350495000x8", 422, "is 8, 12, 13 or 14 digits"),
    ],
)
def test_a_gtin_is_checked_and_kept_as_14_digits(
    demo: Demo, gtin: str, status: int, says: str
) -> None:
    with demo.service.sessions() as session:
        producer_id = session.scalars(select(Product.producer_id)).first()
    answer = demo.client.post(
        f"/api/v1/producers/{producer_id}/products",
        json={"name": "Mật ong rừng", "product_group": "food", "pack_description": "Chai 250 g",
              "gtin": gtin},
        headers=demo.token("authority_VN-01"),
    )  # fmt: skip
    assert answer.status_code == status, answer.text
    assert says in answer.text


def test_a_producer_gln_with_a_wrong_check_digit_is_refused(demo: Demo) -> None:
    body = {"legal_name": "Hộ kinh doanh Ong Vàng", "kind": "household",
            "registration_number": "01A8000123", "address": "Xã Ba Vì, Hà Nội",
            "province_code": "01"}  # fmt: skip
    wrong = demo.client.post("/api/v1/producers", json={**body, "gln": "8935049500002"},
                             headers=demo.token("authority_VN-01"))  # fmt: skip
    assert wrong.status_code == 422
    assert "Expected 1, got 2" in wrong.text
    right = demo.client.post("/api/v1/producers", json={**body, "gln": DEMO_GLN},
                             headers=demo.token("authority_VN-01"))  # fmt: skip
    assert (right.status_code, right.json()["gln"]) == (201, DEMO_GLN)


def test_a_batch_labels_lots_of_its_own_product_only(demo: Demo) -> None:
    lot = _post_lot(demo, HONEY_LOT).json()
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
    ordered = demo.client.post("/api/v1/batches", json={"certificate_id": certificate,
                               "count": 10, "lots": [lot["id"]]},
                               headers=demo.token("producer"))  # fmt: skip
    assert ordered.status_code == 201, ordered.text
    tea = parse_stamp(demo.sample("genuine_5_stars")).payload.certificate_id
    wrong = demo.client.post("/api/v1/batches", json={"certificate_id": tea, "count": 10,
                             "lots": [lot["id"]]}, headers=demo.token("producer"))  # fmt: skip
    assert wrong.status_code == 422
    assert "not a lot of this batch's product" in wrong.text


def test_now_is_pinned_for_lot_dates() -> None:
    assert NOW.date().isoformat() == "2026-11-24"  # HONEY_LOT's dates lie before it


def test_a_stage_without_a_time_zone_is_refused_in_the_registry_too_regression(
    demo: Demo,
) -> None:
    """Regression: a stage time without a time zone reached the comparison with the clock and
    answered 500 (TypeError); the API now refuses it (422) and so does the registry itself,
    for any other caller."""
    actor = demo.actor("producer")
    with demo.service.sessions() as session:
        naive = registry.Stage(step="Lọc", place="Xưởng", province_code="01",
                               at=datetime(2026, 11, 20, 8))  # fmt: skip
        with pytest.raises(Invalid, match="time zone"):
            registry.record_lot(session, actor=actor, product_id=_honey(demo),
                                lot_number="MO-X", produced_on=NOW.date(), now=NOW,
                                stages=[naive])  # fmt: skip
