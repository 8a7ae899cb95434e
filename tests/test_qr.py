"""QR rendering with the reference encoder, decoded back with zxing-cpp."""

from __future__ import annotations

import io
import random
from datetime import date, timedelta
from pathlib import Path

import pytest
import zxingcpp
from PIL import Image

from signing import Payload, Stamp
from stamps import QrMatrix, encode_qr, write_png


def _random_stamp(rng: random.Random) -> Stamp:
    payload = Payload(
        key_index=rng.randrange(1 << 16),
        certificate_id=rng.randrange(1 << 32),
        stars=rng.choice((3, 4, 5)),
        valid_until=date(2000, 1, 1) + timedelta(days=rng.randrange(1 << 16)),
        serial=rng.randrange(1 << 48),
    )
    return Stamp(payload, rng.randbytes(64))


def _decode(matrix: QrMatrix, module_px: int = 3) -> list[str]:
    buffer = io.BytesIO()
    write_png(matrix, buffer, module_px=module_px)
    buffer.seek(0)
    with Image.open(buffer) as image:
        return [r.text for r in zxingcpp.read_barcodes(image)]


@pytest.mark.parametrize("seed", range(40))
def test_ocop_vn_stamp_fits_version_6_at_m_and_decodes_identically(seed: int) -> None:
    url = _random_stamp(random.Random(seed)).url("ocop.vn")
    matrix = encode_qr(url)
    assert matrix.version <= 6
    assert matrix.size == 17 + 4 * matrix.version
    assert _decode(matrix) == [url]


def test_the_all_nines_stamp_still_fits_version_6() -> None:
    """The largest 193-digit number is the worst case for the numeric segment."""
    url = "https://ocop.vn/s/" + str(2**640 - 1)
    assert encode_qr(url).version <= 6


@pytest.mark.parametrize("host", ["ocop.mard.gov.vn", "tem.ocop.langson.vn"])
def test_hosts_up_to_20_characters_fit_version_7(host: str) -> None:
    url = _random_stamp(random.Random(host)).url(host)
    matrix = encode_qr(url)
    assert matrix.version <= 7
    assert _decode(matrix) == [url]


def test_level_q_is_selectable_and_decodes() -> None:
    url = _random_stamp(random.Random(7)).url("ocop.vn")
    matrix = encode_qr(url, "Q")
    assert matrix.error_correction == "Q"
    assert matrix.version > encode_qr(url).version
    assert _decode(matrix) == [url]


@pytest.mark.parametrize("mask", range(8))
def test_every_forced_mask_decodes(mask: int) -> None:
    url = _random_stamp(random.Random(mask)).url("ocop.vn")
    matrix = encode_qr(url, mask=mask)
    assert matrix.mask == mask
    assert _decode(matrix) == [url]


def test_png_writer_takes_a_path_and_sizes_by_module(tmp_path: Path) -> None:
    matrix = encode_qr(_random_stamp(random.Random(1)).url("ocop.vn"))
    target = tmp_path / "stamp.png"
    write_png(matrix, target, module_px=5, quiet_zone=4)
    with Image.open(target) as image:
        assert image.size == ((matrix.size + 8) * 5,) * 2
        assert image.mode == "1"
        assert image.getpixel((0, 0)) == 255  # quiet zone is white
        assert image.getpixel((4 * 5, 4 * 5)) == 0  # finder pattern corner is dark


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"error_correction": "X"}, "error correction"), ({"mask": 8}, "mask")],
)
def test_bad_encoder_arguments(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        encode_qr("https://ocop.vn/s/1", **kwargs)  # type: ignore[arg-type]


def test_too_much_text_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="too long"):
        encode_qr("x" * 5000)
