"""The stamp in GS1 Digital Link form (issue 20, item 5; docs/stamp-format.md section 4.1): the
demo's genuine_gs1 stamp is genuine through the API, its page and the command line, and the same
stamp with another product's GTIN is not. The scanner page and the independent JavaScript
verifier are in tests/test_scanner.py and tests/test_interop.py; the byte-level rules in the
vectors (tests/test_vectors.py)."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable

import pytest

from signing import parse_stamp
from tests.conftest import NOW, Demo
from verifier.cli import main
from verifier.cli.demo import DEMO_GTIN

GTIN14 = "0" + DEMO_GTIN
OTHER_GTIN = "08935049500025"  # a valid GTIN the registry's honey does not have


def _other_gtin(url: str) -> str:
    moved = url.replace(f"/01/{GTIN14}/", f"/01/{OTHER_GTIN}/")
    assert moved != url
    return moved


def test_the_demo_stamp_in_digital_link_form_is_the_honey_s_and_genuine_through_the_api(
    demo: Demo,
) -> None:
    link = demo.sample("genuine_gs1")
    assert link.startswith(f"https://ocop.vn/01/{GTIN14}/21/")
    for answer in (
        demo.client.get("/api/v1/verify", params={"code": link}).json(),
        demo.client.post("/api/v1/verify", json={"code": link}).json(),
    ):
        assert (answer["verdict"], answer["reasons"]) == ("genuine", [])
        assert answer["certificate"]["product"]["name"] == "Mật ong hoa nhãn Ba Vì"
    moved = demo.client.post("/api/v1/verify", json={"code": _other_gtin(link)}).json()
    assert (moved["verdict"], moved["reasons"]) == ("counterfeit", ["gtin_mismatch"])


def test_both_forms_of_one_stamp_are_the_same_serial(demo: Demo) -> None:
    """A stamp checked in one form and then the other counts as one stamp checked twice."""
    link = demo.sample("genuine_gs1")
    digits = parse_stamp(link).url("ocop.vn")
    first = demo.client.post("/api/v1/verify", json={"code": link}).json()["scans"]["count"]
    again = demo.client.post("/api/v1/verify", json={"code": digits}).json()
    assert again["verdict"] == "genuine"
    assert again["scans"]["count"] == first + 1


def test_a_phone_opening_the_link_gets_the_verdict_page_in_either_language(demo: Demo) -> None:
    link = demo.sample("genuine_gs1")
    path = link.removeprefix("https://ocop.vn")
    page = demo.client.get(path)
    assert page.status_code == 200
    assert 'data-verdict="genuine"' in page.text
    assert f"<dd>{GTIN14}</dd>" in page.text  # the certified product's GTIN, shown
    # the language link keeps the signature, which lives in the query
    assert f'href="{path}&amp;lang=en"' in page.text
    english = demo.client.get(f"{path}&lang=en")
    assert 'data-verdict="genuine"' in english.text
    assert "Product code (GTIN)" in english.text
    moved = demo.client.get(f"{_other_gtin(path)}&lang=vi")
    assert 'data-verdict="counterfeit"' in moved.text
    assert "không phải của sản phẩm được chứng nhận" in moved.text


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda p: p.replace("/21/A", "/21/%41", 1), id="percent-encoded"),
        pytest.param(lambda p: p + "AA", id="signature-too-long"),
        pytest.param(lambda p: p.replace("?8030=", "?8030=%00", 1), id="nul-byte"),
    ],
)
def test_an_altered_link_is_read_as_the_qr_would_hold_it_and_is_malformed(
    demo: Demo, change: Callable[[str], str]
) -> None:
    path = demo.sample("genuine_gs1").removeprefix("https://ocop.vn")
    assert path.split("/21/")[1].startswith("A")  # the version-less payload starts 0x00 01
    page = demo.client.get(change(path))
    assert page.status_code == 200, page.text
    assert 'data-verdict="malformed"' in page.text
    assert "GS1 Digital Link" in page.text  # the reason, in words


def test_the_link_set_of_a_stamp_link_names_its_serial(demo: Demo) -> None:
    path = demo.sample("genuine_gs1").removeprefix("https://ocop.vn")
    answer = demo.client.get(path, headers={"Accept": "application/linkset+json"})
    assert answer.status_code == 200
    [links] = answer.json()["linkset"]
    serial = parse_stamp(demo.sample("genuine_gs1")).payload.serial
    assert links["anchor"] == f"https://ocop.vn/01/{GTIN14}/21/01-{serial:09d}"


def test_ocop_verify_reads_the_link_online_and_offline(
    demo: Demo, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    demo.publish()  # the signer's lists, which the command reads from the database
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    link = demo.sample("genuine_gs1")
    command = ["verify", "--data-dir", str(demo.data_dir), "--at", NOW.isoformat(), "--json"]
    for offline in ([], ["--offline"]):
        assert main([*command, *offline, link]) == 0
        answer = json.loads(capsys.readouterr().out)
        assert (answer["verdict"], answer["reasons"]) == ("genuine", [])
        assert main([*command, *offline, _other_gtin(link)]) == 1
        answer = json.loads(capsys.readouterr().out)
        assert (answer["verdict"], answer["reasons"]) == ("counterfeit", ["gtin_mismatch"])


def test_the_home_page_s_sample_links_keep_their_stamp_in_english_regression(demo: Demo) -> None:
    """The home page added ``?lang=en`` to every sample's link: to a Digital Link, whose
    signature is in the query, that made a second ``?`` inside AI 8030, and a malformed stamp."""
    page = demo.client.get("/?lang=en").text
    links = dict(re.findall(r'<li><a href="([^"]+)">(\w+)</a></li>', page))
    gs1 = next(href for href, name in links.items() if name == "genuine_gs1")
    assert gs1.endswith("&amp;lang=en")
    assert 'data-verdict="genuine"' in demo.client.get(html.unescape(gs1)).text
    assert demo.info["claim"]["pin"] in page  # the sample with a PIN, and its PIN
