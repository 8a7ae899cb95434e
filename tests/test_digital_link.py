"""The GS1 Digital Link resolver for the registry's items (issue 20, item 4): /01/{gtin} the
certified product, /01/{gtin}/10/{lot} a lot's trace, /01/{gtin}/21/{serial} a serial; a page
by default, an RFC 9264 link set on request, a redirect for one link type."""

from __future__ import annotations

import pytest

from signing import parse_stamp
from stamps.sheet import human_serial
from tests.conftest import Demo
from verifier.cli.demo import DEMO_GTIN, DEMO_LOT

GTIN14 = "0" + DEMO_GTIN
GS1 = "https://gs1.org/voc/"


def test_a_gtin_opens_the_certified_product_page(demo: Demo) -> None:
    for gtin in (DEMO_GTIN, GTIN14):  # GTIN-13 as printed, or its 14 digits
        page = demo.client.get(f"/01/{gtin}")
        assert page.status_code == 200
        assert "Mật ong hoa nhãn Ba Vì" in page.text
        assert "2150/QĐ-UBND" in page.text  # the certificate that recognised it
        assert f"/01/{GTIN14}/10/{DEMO_LOT}" in page.text  # its lots, one step on
        assert 'rel="linkset"' in page.headers["link"]


def test_the_link_set_names_gs1_link_types(demo: Demo) -> None:
    answer = demo.client.get(f"/01/{DEMO_GTIN}", headers={"Accept": "application/linkset+json"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/linkset+json"
    [links] = answer.json()["linkset"]
    assert links["anchor"] == f"https://ocop.vn/01/{GTIN14}"
    for link_type in ("pip", "certificationInfo", "recallStatus", "defaultLink"):
        assert links[GS1 + link_type][0]["href"].startswith(f"https://ocop.vn/01/{GTIN14}")
    assert demo.client.get(f"/01/{DEMO_GTIN}?linkType=all").json()["linkset"][0] == links


def test_a_lot_link_traces_the_lot_and_one_link_type_redirects(demo: Demo) -> None:
    page = demo.client.get(f"/01/{GTIN14}/10/{DEMO_LOT}")
    assert page.status_code == 200
    assert "Truy xuất nguồn gốc" in page.text
    assert "Đóng chai và dán tem" in page.text
    links = demo.client.get(f"/01/{GTIN14}/10/{DEMO_LOT}?linkType=all").json()["linkset"][0]
    assert links[GS1 + "traceability"][0]["href"] == f"https://ocop.vn/01/{GTIN14}/10/{DEMO_LOT}"
    moved = demo.client.get(f"/01/{GTIN14}/10/{DEMO_LOT}?linkType=gs1:pip",
                            follow_redirects=False)  # fmt: skip
    assert (moved.status_code, moved.headers["location"]) == (307, f"https://ocop.vn/01/{GTIN14}")


def test_a_serial_link_says_it_proves_nothing_without_the_stamp(demo: Demo) -> None:
    stamp = parse_stamp(demo.sample("genuine")).payload
    printed = human_serial(stamp.key_index, stamp.serial)
    page = demo.client.get(f"/01/{GTIN14}/21/{printed}")
    assert page.status_code == 200
    assert 'id="unsigned"' in page.text
    assert f'href="/01/{GTIN14}/21/{printed}?linkType=all"' in page.text  # its own link set
    assert "chưa từng được cấp" not in page.text
    other = parse_stamp(demo.sample("genuine_5_stars")).payload  # the tea's serial
    foreign = demo.client.get(f"/01/{GTIN14}/21/{human_serial(other.key_index, other.serial)}")
    assert "chưa từng được cấp cho sản phẩm này" in foreign.text


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/01/8935049500019", 404, "là số kiểm tra"),
        ("/01/0000000000000", 404, "Không sản phẩm OCOP nào có mã GTIN 00000000000000"),
        (f"/01/{GTIN14}/10/NOPE", 404, "không có lô hàng NOPE"),
        (f"/01/{GTIN14}/21/01-x", 404, "KK-NNNNNNNNN"),
        ("/01/" + "9" * 15, 422, ""),
        (f"/01/{GTIN14}/10/" + "A" * 21, 422, ""),
        # regression: a NUL byte in a lot number reached PostgreSQL, which refused it (500)
        (f"/01/{GTIN14}/10/A%00B", 404, "chữ cái không dấu"),
        (f"/01/{GTIN14}?linkType=gs1:nothing", 422, "no link of type"),
    ],
)
def test_bad_links_get_a_readable_answer(demo: Demo, path: str, status: int, says: str) -> None:
    answer = demo.client.get(path)
    assert answer.status_code == status, answer.text
    assert says in answer.text


def test_a_link_that_names_nothing_is_worded_in_the_page_s_language_regression(
    demo: Demo,
) -> None:
    """The not-found page showed the English text of an exception to Vietnamese readers."""
    vietnamese = demo.client.get(f"/01/{GTIN14}/10/NOPE?lang=vi").text
    assert "Mật ong hoa nhãn Ba Vì không có lô hàng NOPE." in vietnamese
    assert "no lot" not in vietnamese
    english = demo.client.get(f"/01/{GTIN14}/10/NOPE?lang=en").text
    assert "Mật ong hoa nhãn Ba Vì has no lot NOPE." in english
