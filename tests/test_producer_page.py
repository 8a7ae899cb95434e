"""The producer's page, as a producer uses it without JavaScript: sign in, order, download."""

from __future__ import annotations

import pytest

from tests.conftest import Demo, csrf_of


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
