"""The public registry: search (accents optional), the published list of expired and revoked
recognitions, figures per province; as pages, JSON and CSV."""

from __future__ import annotations

import csv
import io

import pytest

from signing import parse_stamp
from tests.conftest import Demo
from verifier.lists.search import fold


def test_folding_makes_diacritics_optional() -> None:
    assert fold("Mật ong hoa nhãn Ba Vì") == "mat ong hoa nhan ba vi"
    assert fold("Đường phèn") == "duong phen"


@pytest.mark.parametrize("q", ["mat ong", "Mật Ong", "MẬT ONG ba vi", "2150/QĐ"])
def test_search_finds_a_product_however_it_is_typed(demo: Demo, q: str) -> None:
    answer = demo.client.get("/api/v1/registry/certificates", params={"q": q}).json()
    assert "Mật ong hoa nhãn Ba Vì" in [c["product"] for c in answer["certificates"]]


def test_filters_narrow_the_search(demo: Demo) -> None:
    everything = demo.client.get("/api/v1/registry/certificates").json()
    five = demo.client.get("/api/v1/registry/certificates", params={"stars": 5}).json()
    revoked = demo.client.get("/api/v1/registry/certificates", params={"status": "revoked"}).json()
    assert 0 < five["total"] < everything["total"]
    assert {c["stars"] for c in five["certificates"]} == {5}
    assert {c["status"] for c in revoked["certificates"]} == {"revoked"}
    page = demo.client.get("/api/v1/registry/certificates", params={"limit": 1, "offset": 1}).json()
    assert page["certificates"] == everything["certificates"][1:2]


@pytest.mark.parametrize(
    "params", [{"stars": 9}, {"status": "lost"}, {"province": "Hanoi"}, {"limit": 0}]
)
def test_bad_searches_are_clear_errors(demo: Demo, params: dict[str, object]) -> None:
    answer = demo.client.get("/api/v1/registry/certificates", params=params)
    assert answer.status_code == 422
    assert answer.json()["error"]["code"] == "invalid_request"


def test_the_ended_list_gives_decisions_and_reasons_not_reevaluations(
    demo: Demo,
) -> None:
    ended = demo.client.get("/api/v1/registry/ended").json()["certificates"]
    revoked = parse_stamp(demo.sample("revoked")).payload.certificate_id
    expired = parse_stamp(demo.sample("expired")).payload.certificate_id
    by_id = {c["certificate_id"]: c for c in ended}
    assert by_id[revoked]["status"] == "revoked"
    assert by_id[revoked]["revocation_decision"]
    assert by_id[revoked]["revocation_reason"]
    assert by_id[expired]["status"] == "expired"
    reevaluated = parse_stamp(demo.sample("star_mismatch")).payload.certificate_id
    assert reevaluated not in by_id  # superseded by a new decision: not an ended recognition
    assert all(c["status"] in ("expired", "revoked") for c in ended)
    page = demo.client.get("/registry/ended")
    assert "Bị thu hồi theo quyết định" in page.text
    assert by_id[revoked]["revocation_decision"] in page.text


def test_csv_opens_in_a_spreadsheet_with_vietnamese_intact(demo: Demo) -> None:
    answer = demo.client.get("/api/v1/registry/ended.csv")
    assert answer.headers["content-type"].startswith("text/csv")
    assert answer.content.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(answer.content.decode("utf-8-sig"))))
    json_rows = demo.client.get("/api/v1/registry/ended").json()["certificates"]
    assert [int(r["certificate_id"]) for r in rows] == [c["certificate_id"] for c in json_rows]
    assert any("Ba Vì" in r["producer"] for r in rows)


def test_province_figures_count_active_products_by_stars(demo: Demo) -> None:
    figures = demo.client.get("/api/v1/registry/provinces").json()
    active = demo.client.get("/api/v1/registry/certificates", params={"status": "active"}).json()
    assert sum(p["active"] for p in figures["provinces"]) == active["total"]
    hanoi = next(p for p in figures["provinces"] if p["province_code"] == "01")
    assert hanoi["stars_3"] + hanoi["stars_4"] + hanoi["stars_5"] == hanoi["active"]
    assert figures["expiring_within_days"] == 90
    assert "Sản phẩm OCOP theo tỉnh" in demo.client.get("/registry/provinces").text


def test_the_search_page_works_without_javascript(demo: Demo) -> None:
    page = demo.client.get("/registry", params={"q": "mat ong", "stars": "x", "page": 1})
    assert page.status_code == 200
    assert "Mật ong hoa nhãn Ba Vì" in page.text
    assert "Tra cứu sản phẩm OCOP" in page.text
