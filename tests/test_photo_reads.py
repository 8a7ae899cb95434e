"""Issue 17, photos: a photo without a QR code gets its own code, ``no_qr_found``, with advice
in Vietnamese first and in English; a photo too blurred or too small for the first look at it
is looked at harder (sharpened, the middle at full resolution), and only a stamp's code counts
in those harder looks. The photos are made by tests/stamp_photos.py, as bench/photo_reads.py
makes them."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import pytest
from PIL import Image, ImageFilter
from playwright.sync_api import FilePayload

from bench.photo_reads import BOTH_LOOKS, scanner_page
from stamps.qr import encode_qr, png_bytes
from tests.conftest import Demo
from tests.stamp_photos import photo_cases, photo_jpeg
from verifier.i18n.messages import NO_QR_FOUND, scanner_texts, translate
from verifier.service_errors import Invalid
from verifier.web import qrimage
from verifier.web.qrimage import LOOKS, Look, PhotoViews, decode_image

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ADVICE_VI = ("giữ máy thật yên", "đưa máy lại gần", "đủ sáng", "không bị lóa")
ADVICE_EN = ("Hold the phone steady", "move closer", "good light", "without glare")
#: A photo of the bench's set that the first look misses and a harder look reads: a 16 mm stamp
#: out of focus by half a module, in a 1600x1200 photo.
HARD_CASE = 96
#: One the scanner page's first look (the photo scaled to 1280 pixels across) misses: a 20 mm
#: stamp small in the frame of a 3264x2448 photo.
PAGE_HARD_CASE = 8


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=80)
    return out.getvalue()


@sqlite_only
def test_a_photo_without_a_qr_code_answers_no_qr_found_with_advice_vietnamese_first(
    demo: Demo,
) -> None:
    blank = _jpeg(Image.linear_gradient("L").resize((1600, 1200)))
    answer = demo.client.post(
        "/api/v1/verify/image", files={"file": ("photo.jpg", blank, "image/jpeg")}
    )
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == "no_qr_found"
    assert error["messages"]["vi"] == NO_QR_FOUND
    assert all(words in error["messages"]["vi"] for words in ADVICE_VI)
    assert all(words in error["messages"]["en"] for words in ADVICE_EN)


def test_the_scanner_page_gives_the_same_advice_for_a_photo_without_a_code() -> None:
    assert scanner_texts("vi")["ui"]["no_qr_found"] == NO_QR_FOUND
    assert scanner_texts("en")["ui"]["no_qr_found"] == translate("en", NO_QR_FOUND)
    assert all(words in translate("en", NO_QR_FOUND) for words in ADVICE_EN)


def test_a_blurred_stamp_the_first_look_misses_is_read_by_a_harder_look(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(qrimage, "RESCUE_SECONDS", 60.0)  # however loaded the machine
    case = photo_cases()[HARD_CASE]
    assert (case.family, case.stamp_mm) == ("focus_blur", 16.0)
    data = photo_jpeg(case)
    assert LOOKS[0].read(PhotoViews(data)) is None
    assert decode_image(data) == case.text


def test_no_look_after_the_first_begins_once_a_photo_has_cost_its_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A photo made to be slow for zxing-cpp gets one look, not four."""
    monkeypatch.setattr(qrimage, "RESCUE_SECONDS", 0.0)
    looked: list[str] = []
    monkeypatch.setattr(Look, "read", lambda look, _photo: looked.append(look.name))
    with pytest.raises(Invalid) as refused:
        decode_image(photo_jpeg(photo_cases()[HARD_CASE]))
    assert refused.value.code == "no_qr_found"
    assert looked == [LOOKS[0].name]


def test_the_scanner_page_reads_a_small_stamp_its_first_look_misses(tmp_path: Path) -> None:
    case = photo_cases()[PAGE_HARD_CASE]
    assert (case.family, case.stamp_mm) == ("small", 20.0)
    data = photo_jpeg(case)
    with scanner_page(tmp_path) as page:
        (first_look, _), (photo_button, _) = page.evaluate(
            BOTH_LOOKS, base64.b64encode(data).decode()
        )
        assert (first_look, photo_button) == (None, case.text)
        photo = FilePayload(name="photo.jpg", mimeType="image/jpeg", buffer=data)
        page.set_input_files("#photo", files=[photo])
        band = page.wait_for_selector("#result .band", timeout=15_000)
        assert band is not None
        # signed with the test vectors' key, which the demo does not trust
        assert band.get_attribute("data-verdict") == "counterfeit"


def test_a_harder_look_takes_only_a_stamps_code_regression() -> None:
    """Broke while measuring: a sharpened photo of a blurred stamp read as "8158", a code
    found in the sharpened noise; the harder looks now take a stamp's code or nothing."""
    qr = Image.open(io.BytesIO(png_bytes(encode_qr("8158").modules, module_px=8)))
    data = _jpeg(qr)
    sharpened = Look("sharpened", "whole", ImageFilter.UnsharpMask(2, 200, 0))
    assert sharpened.read(PhotoViews(data)) is None
    assert LOOKS[0].read(PhotoViews(data)) == "8158"  # the first look takes any code, as before
    assert decode_image(data) == "8158"


def test_the_generated_photos_are_the_same_every_time() -> None:
    first, again = photo_cases(12), photo_cases(12)
    assert first == again
    assert photo_jpeg(first[7]) == photo_jpeg(again[7])
    assert {c.stamp_mm for c in first} == {16.0, 20.0}
