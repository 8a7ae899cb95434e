"""The page a phone opens from the QR: server-rendered, Vietnamese first, one wording per
verdict, never a bare error page."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from signing import VerdictCode, parse_stamp
from stamps.sheet import human_serial
from tests.conftest import Demo
from verifier import cli
from verifier.i18n.messages import TONE, consumer
from verifier.store.models import Batch

SAMPLES = {
    "genuine": VerdictCode.GENUINE,
    "expired": VerdictCode.EXPIRED,
    "revoked": VerdictCode.REVOKED,
    "star_mismatch": VerdictCode.STAR_MISMATCH,
    "unregistered": VerdictCode.UNREGISTERED,
    "suspected_clone": VerdictCode.SUSPECTED_CLONE,
    "counterfeit": VerdictCode.COUNTERFEIT,
    "malformed": VerdictCode.MALFORMED,
}


def _path(demo: Demo, sample: str) -> str:
    return str(demo.info["samples"][sample])


@pytest.mark.parametrize("sample", SAMPLES)
def test_each_verdict_has_its_own_page_in_vietnamese_and_english(demo: Demo, sample: str) -> None:
    verdict = SAMPLES[sample]
    page = demo.client.get(_path(demo, sample))
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="vi">' in html
    assert f'class="band {TONE[verdict]}"' in html
    assert f'data-verdict="{verdict.value}"' in html
    headline, _meaning, action = consumer(verdict, "vi")
    assert headline in html
    assert action in html
    assert "<script" not in html
    english = demo.client.get(_path(demo, sample), params={"lang": "en"})
    assert '<html lang="en">' in english.text
    assert consumer(verdict, "en")[0] in english.text
    assert english.cookies.get("lang") == "en"


def test_genuine_page_shows_product_stars_dates_and_checks(demo: Demo) -> None:
    html = demo.client.get(_path(demo, "genuine")).text
    assert "Mật ong hoa nhãn Ba Vì" in html
    assert "Hợp tác xã Nông nghiệp Ba Vì Xanh" in html
    assert html.count('aria-hidden="true">★</span>') == 5
    assert 'aria-label="4 sao được công nhận"' in html
    assert re.search(r"Hiệu lực đến</dt><dd>\d\d/\d\d/\d{4}</dd>", html)
    assert "Kiểm tra lần đầu ngày 24/11/2026, tổng cộng 1 lần." in html
    second = demo.client.get(_path(demo, "genuine")).text
    assert "tổng cộng 2 lần" in second
    assert 'href="/report?code=' in html
    assert "ocop.vn" in html


def test_revoked_page_gives_the_decision_and_reason(demo: Demo) -> None:
    html = demo.client.get(_path(demo, "revoked")).text
    assert "Quyết định thu hồi 3310/QĐ-UBND (04/11/2026)" in html
    assert "an toàn thực phẩm" in html
    assert "không còn hiệu lực" in html


def test_star_mismatch_page_says_both_star_counts(demo: Demo) -> None:
    html = demo.client.get(_path(demo, "star_mismatch")).text
    assert "Tem ghi 4 sao; sản phẩm hiện được công nhận 3 sao." in html


def test_language_cookie_is_remembered(demo: Demo) -> None:
    demo.client.get("/", params={"lang": "en"})
    assert '<html lang="en">' in demo.client.get(_path(demo, "genuine")).text


@pytest.mark.parametrize("code", ["", "x" * 3000, "%00", "<script>alert(1)</script>"])
def test_garbage_codes_get_a_readable_page(demo: Demo, code: str) -> None:
    response = demo.client.get("/check", params={"code": code})
    assert response.status_code == 200
    assert "Không phải tem OCOP" in response.text
    assert "<script>alert" not in response.text


def test_home_lists_a_sample_of_every_verdict(demo: Demo) -> None:
    html = demo.client.get("/").text
    for sample in SAMPLES:
        assert f'href="{_path(demo, sample)}"' in html


def test_uppercase_path_opens_the_same_page(demo: Demo) -> None:
    path = _path(demo, "genuine").replace("/s/", "/S/")
    assert 'data-verdict="genuine"' in demo.client.get(path).text


def test_the_serial_reads_as_printed_under_the_stamp_on_every_page(
    demo: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    """Regression: the consumer page showed 1-1042 while the stamp says 01-000001042; the page,
    the desk, the producer's page, the CSV and the command line now show what is printed, and
    the desk opens a serial typed as printed."""
    payload = parse_stamp(demo.sample("genuine")).payload
    printed = human_serial(payload.key_index, payload.serial)
    assert re.fullmatch(r"\d{2}-\d{9}", printed)
    for language in ("vi", "en"):
        page = demo.client.get(demo.sample("genuine"), params={"lang": language}).text
        assert f"<dd>{printed}</dd>" in page
        assert f"<dd>{payload.key_index}-{payload.serial}</dd>" not in page

    token = demo.info["tokens"]["authority_VN-01"]
    demo.client.post("/desk/sign-in", data={"token": token})
    found = demo.client.get("/desk/find", params={"code": printed}, follow_redirects=False)
    serial_file = f"/desk/serials/{payload.key_index}/{payload.serial}"
    assert found.headers["location"] == serial_file
    assert f"<h1>Hồ sơ tem {printed}</h1>" in demo.client.get(serial_file).text

    with demo.service.sessions() as session:
        batch = session.scalars(
            select(Batch).where(Batch.key_index == payload.key_index,
                                Batch.first_serial <= payload.serial,
                                Batch.last_serial >= payload.serial)
        ).one()  # fmt: skip
        first, last = batch.first_serial, batch.last_serial
    demo.client.post("/producer/sign-in", data={"token": demo.info["tokens"]["producer"]})
    producer = demo.client.get("/producer").text
    assert (
        f"sê-ri {human_serial(payload.key_index, first)}–{human_serial(payload.key_index, last)}"
        in producer
    )

    offline = ["verify", "--offline", demo.sample("genuine"), "--data-dir", str(demo.data_dir)]
    assert cli.main(offline) == 0
    assert f"sê-ri {printed}" in capsys.readouterr().out
