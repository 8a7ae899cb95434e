"""The producer's page, as a producer uses it without JavaScript: sign in, order, download."""

from __future__ import annotations

import re

import pytest

from signing import parse_stamp
from tests.conftest import Demo, csrf_of
from verifier.store.models import Certificate


def _sign_in(demo: Demo, role: str = "producer") -> dict[str, str]:
    """Sign in to the producer page; return the CSRF field its forms carry."""
    answer = demo.client.post(
        "/producer/sign-in", data={"token": demo.info["tokens"][role]}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert "httponly" in answer.headers["set-cookie"].lower()
    assert "samesite=strict" in answer.headers["set-cookie"].lower()
    return {"csrf": csrf_of(demo.client.get("/producer").text)}


def test_the_page_asks_for_a_token_in_vietnamese_first(demo: Demo) -> None:
    page = demo.client.get("/producer")
    assert page.status_code == 200
    assert "Mã truy cập" in page.text
    english = demo.client.get("/producer", params={"lang": "en"})
    assert "Access token" in english.text


@pytest.mark.parametrize("token", ["not-a-token", "inspector"])
def test_wrong_tokens_get_a_readable_refusal(demo: Demo, token: str) -> None:
    value = demo.info["tokens"].get(token, token)
    page = demo.client.post("/producer/sign-in", data={"token": value})
    assert page.status_code == 200
    assert "Mã truy cập không đúng" in page.text
    assert "Đặt lô tem mới" not in page.text


def test_a_producer_orders_a_batch_and_downloads_it(demo: Demo) -> None:
    signed = _sign_in(demo)
    page = demo.client.get("/producer")
    assert "Đặt lô tem mới" in page.text
    assert "Mật ong" in page.text  # the demo producer's product, as the option
    certificate = page.text.split('<option value="')[1].split('"')[0]
    ordered = demo.client.post(
        "/producer/batches", data={"certificate_id": certificate, "count": "75"} | signed,
        follow_redirects=False,
    )  # fmt: skip
    assert ordered.status_code == 303
    batch = ordered.headers["location"].split("batch=")[1].split("#")[0]
    page = demo.client.get(ordered.headers["location"])
    assert f"Lô {batch}" in page.text
    assert "75 tem" in page.text
    pdf = demo.client.get(f"/producer/batches/{batch}/stamps.pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.count(b"/Type /Page ") == 2
    roll = demo.client.get(f"/producer/batches/{batch}/stamps.pdf", params={"layout": "roll"})
    assert roll.content.count(b"/Type /Page ") == 75
    # a product with a GTIN has its batches offered in the GS1 Digital Link form too
    gs1 = f"/producer/batches/{batch}/stamps.pdf?form=gs1"
    has_gtin = re.search(rf'<option value="{certificate}"[^>]*>Mật ong', page.text) is not None
    assert (f'href="{gs1}"' in page.text) == has_gtin
    honey = re.search(r'<option value="(\d+)"[^>]*>Mật ong', page.text)
    assert honey is not None
    honey_batch = demo.client.post(
        "/producer/batches", data={"certificate_id": honey[1], "count": "2"} | signed,
        follow_redirects=False,
    ).headers["location"].split("batch=")[1].split("#")[0]  # fmt: skip
    gs1 = f"/producer/batches/{honey_batch}/stamps.pdf?form=gs1"
    assert f'href="{gs1}"' in demo.client.get("/producer").text
    assert demo.client.get(gs1).content.startswith(b"%PDF-1.4")


def test_a_batch_can_say_where_it_is_sold(demo: Demo) -> None:
    signed = _sign_in(demo)
    page = demo.client.get("/producer")
    assert '<option value="79">Hồ Chí Minh</option>' in page.text
    ordered = demo.client.post(
        "/producer/batches",
        data={"certificate_id": "1", "count": "10", "markets": ["79", "01"]} | signed,
    )
    assert "bán tại Hà Nội, Hồ Chí Minh" in ordered.text
    before = ordered.text.count('id="batch-')
    refused = demo.client.post(
        "/producer/batches",
        data={"certificate_id": "1", "count": "10", "markets": ["99"]} | signed,
    )
    assert "Chọn tỉnh, thành nơi bán trong danh sách" in refused.text
    assert refused.text.count('id="batch-') == before


@pytest.mark.parametrize(
    ("count", "message"),
    [("abc", "Số lượng tem mỗi lô"), ("0", "Số lượng tem mỗi lô"), ("100001", "100.000")],
)
def test_bad_orders_get_a_readable_page_and_change_nothing(
    demo: Demo, count: str, message: str
) -> None:
    signed = _sign_in(demo)
    before = demo.client.get("/producer").text.count('id="batch-')
    page = demo.client.post(
        "/producer/batches", data={"certificate_id": "1", "count": count} | signed
    )
    assert page.status_code == 200
    assert message in page.text
    assert page.text.count('id="batch-') == before


def test_signed_out_downloads_go_back_to_the_sign_in(demo: Demo) -> None:
    answer = demo.client.get("/producer/batches/1/stamps.pdf", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/producer?error=unauthorized"


def test_a_producer_declares_a_lot_adds_a_stage_and_orders_stamps_for_it(demo: Demo) -> None:
    """Issue 20: the page declares a lot (origin included), adds a stage in Vietnam time, and
    orders a batch that labels it; a buyer scanning one of its stamps sees the lot."""
    signed = _sign_in(demo)
    page = demo.client.get("/producer")
    assert "Khai báo lô hàng" in page.text
    product = page.text.split('name="product_id"')[1].split('<option value="')[1].split('"')[0]
    declared = demo.client.post("/producer/lots", data={
        "product_id": product, "lot_number": "MO-2026-11", "produced_on": "2026-11-20",
        "best_before": "2028-11-20", "quantity": "300", "quantity_unit": "chai",
        "standards": "TCVN 5267-1:2008, VietGAHP", "material": "Mật ong hoa nhãn",
        "origin_province": "33", "supplier": "Tổ ong Khoái Châu", "harvested_on": "2026-11-12",
    } | signed, follow_redirects=False)  # fmt: skip
    assert declared.status_code == 303
    lot_id = declared.headers["location"].split("lot=")[1].split("#")[0]
    staged = demo.client.post(f"/producer/lots/{lot_id}/stages", data={
        "step": "Đóng chai", "place": "Xưởng HTX", "province_code": "01",
        "at": "2026-11-20T08:30",
    } | signed, follow_redirects=False)  # fmt: skip
    assert staged.status_code == 303
    lot = demo.client.get(f"/api/v1/lots/{lot_id}").json()
    assert lot["standards"] == ["TCVN 5267-1:2008", "VietGAHP"]
    assert lot["stages"][0]["at"] == "2026-11-20T01:30:00Z"  # 08:30 in Vietnam
    page = demo.client.get("/producer")
    certificate = page.text.split('name="certificate_id"')[1].split('<option value="')[1]
    ordered = demo.client.post("/producer/batches", data={
        "certificate_id": certificate.split('"')[0], "count": "5", "lot_id": lot_id,
    } | signed, follow_redirects=False)  # fmt: skip
    assert ordered.status_code == 303
    assert "error" not in ordered.headers["location"]
    batch = ordered.headers["location"].split("batch=")[1].split("#")[0]
    rows = demo.client.get(f"/producer/batches/{batch}/stamps.csv").text.splitlines()
    url = rows[1].split(",")[-1] if "https://" in rows[1].split(",")[-1] else next(
        cell for cell in rows[1].split(",") if cell.startswith("https://"))  # fmt: skip
    stamp_page = demo.client.get(url.replace("https://ocop.vn", ""))
    assert "Truy xuất nguồn gốc" in stamp_page.text
    assert "MO-2026-11" in stamp_page.text


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"lot_number": "LÔ 1"}, "lot"),
        ({"produced_on": "2027-01-01"}, "lot"),
        ({"produced_on": "not a date"}, "lot"),
        ({"origin_province": "99"}, "lot"),
        ({"lot_number": "MO-2026-05"}, "lot_taken"),  # the demo's own lot
    ],
)
def test_a_lot_form_that_breaks_a_rule_comes_back_with_its_words(
    demo: Demo, change: dict[str, str], error: str
) -> None:
    signed = _sign_in(demo)
    honey = parse_stamp(demo.sample("genuine")).payload.certificate_id
    with demo.service.sessions() as session:
        certificate = session.get(Certificate, honey)
        assert certificate is not None
        product = str(certificate.product_id)  # the honey, whose lot MO-2026-05 the demo has
    form = {"product_id": product, "lot_number": "MO-X", "produced_on": "2026-11-20",
            "material": "Mật ong", "origin_province": "33"} | change  # fmt: skip
    answer = demo.client.post("/producer/lots", data=form | signed, follow_redirects=False)
    assert answer.headers["location"] == f"/producer?error={error}#lots"
    shown = demo.client.get(answer.headers["location"]).text
    assert ("Thông tin lô hàng chưa đúng" if error == "lot" else "đã có một lô hàng") in shown
