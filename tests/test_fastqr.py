"""The batch encoder against the reference: every matrix and mask equal to what ``qrcode``
makes for the same URL (stamps.qr.encode_qr), on 5,000 random stamps at levels M and Q."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from datetime import date

import numpy as np
import pytest
import qrcode
import qrcode.util
import zxingcpp
from PIL import Image

from signing import STAMP_DIGITS, Payload, Stamp
from stamps.chunks import ChunkEncoder
from stamps.fastqr import BatchQrEncoder
from stamps.qr import ERROR_CORRECTION_LEVELS, encode_qr

CASES = {"M": 3000, "Q": 2000}  # 5,000 random stamps (issue 4); every mask asserted


def _reference(args: tuple[str, str]) -> tuple[int, bytes]:
    url, level = args
    matrix = encode_qr(url, level)  # type: ignore[arg-type]
    return matrix.mask, np.packbits(np.array(matrix.modules)).tobytes()


def _random_digits(count: int, seed: int) -> np.ndarray:
    digits = np.random.default_rng(seed).integers(0, 10, size=(count, STAMP_DIGITS), dtype=np.uint8)
    digits[:, :2] = 0  # every real stamp starts with 00 (version byte 0x01)
    return digits


@pytest.mark.parametrize("level", sorted(CASES))
def test_matrices_and_masks_are_identical_to_qrcode(level: str) -> None:
    prefix = "https://ocop.vn/s/"
    digits = _random_digits(CASES[level], seed=len(level) + ord(level))
    batch = BatchQrEncoder(prefix, level).encode(digits)  # type: ignore[arg-type]
    urls = [prefix + "".join(map(str, row)) for row in digits]
    with ProcessPoolExecutor(max_workers=2) as pool:
        reference = list(pool.map(_reference, [(u, level) for u in urls], chunksize=100))
    masks = np.array([mask for mask, _ in reference])
    assert set(masks) == set(range(8)), "the sample must exercise every mask"
    assert (masks == batch.masks).all()
    packed = np.packbits(batch.modules.reshape(len(urls), -1), axis=1)
    mismatched = [i for i, (_, ref) in enumerate(reference) if packed[i].tobytes() != ref]
    assert mismatched == []


@pytest.mark.parametrize(
    ("prefix", "level", "version"),
    [
        ("https://ocop.vn/s/", "M", 6),
        ("https://xac-thuc.ocop-hanoi.vn/s/", "M", 7),  # version info modules from 7 up
        ("https://ocop.vn/s/", "Q", 8),
        ("HTTPS://OCOP.VN/S/", "M", 6),  # an alphanumeric prefix segment
    ],
)
def test_other_hosts_and_levels(prefix: str, level: str, version: int) -> None:
    digits = _random_digits(40, seed=version)
    batch = BatchQrEncoder(prefix, level).encode(digits)  # type: ignore[arg-type]
    assert batch.version == version
    for row, modules, mask in zip(digits, batch.modules, batch.masks, strict=True):
        reference = encode_qr(prefix + "".join(map(str, row)), level)  # type: ignore[arg-type]
        assert (reference.version, reference.mask) == (version, mask)
        assert (np.array(reference.modules) == modules).all()


def test_bad_input_is_refused() -> None:
    encoder = BatchQrEncoder("https://ocop.vn/s/")
    with pytest.raises(ValueError, match="shape"):
        encoder.encode(np.zeros((3, 192), dtype=np.uint8))
    with pytest.raises(ValueError, match="0-9"):
        encoder.encode(np.full((3, STAMP_DIGITS), 10, dtype=np.uint8))
    with pytest.raises(ValueError, match="stamp digits"):
        BatchQrEncoder("https://ocop.vn/s/7")  # digits would run into the prefix
    assert encoder.encode(np.zeros((0, STAMP_DIGITS), dtype=np.uint8)).modules.shape == (0, 41, 41)


def _gs1_reference(url: str, prefix: str, level: str) -> tuple[int, int, np.ndarray]:
    """What ``qrcode`` makes of the prefix (its own segments) and the body in one byte
    segment, the layout the batch encoder keeps for every stamp of the GS1 form."""
    code = qrcode.QRCode(error_correction=ERROR_CORRECTION_LEVELS[level], border=0)
    code.add_data(prefix, optimize=4)
    code.add_data(qrcode.util.QRData(url[len(prefix) :].encode(), qrcode.util.MODE_8BIT_BYTE))
    code.make(fit=True)
    mask = code.best_mask_pattern()
    code.makeImpl(False, mask)
    return code.version, mask, np.array(code.modules, dtype=bool)


@pytest.mark.parametrize(
    ("host", "level", "version"),
    [("ocop.vn", "M", 8), ("ocop.vn", "Q", 10), ("tem.ocop.gov.vn", "M", 9)],
)
def test_the_gs1_form_in_one_byte_segment_is_identical_to_qrcode_and_decodes(
    host: str, level: str, version: int
) -> None:
    """Issue 20: the stamp's Digital Link form, ``https://HOST/01/GTIN/21/`` then 112
    characters of base64url and ``?8030=``, encoded a batch at a time."""
    rng = np.random.default_rng(version)
    stamps = [
        Stamp(Payload(int(rng.integers(1, 99)), int(rng.integers(1 << 32)), 4,
                      date(2028, 5, 14), int(rng.integers(1 << 48))),
              rng.bytes(64))
        for _ in range(60)
    ]  # fmt: skip
    encoder = ChunkEncoder(host, level, gtin="08935049500018")  # type: ignore[arg-type]
    chunk = encoder.encode(1, 4, range(60), [s.digits for s in stamps])
    assert chunk.urls == [s.gs1_url(host, "08935049500018") for s in stamps]
    prefix = f"https://{host}/01/08935049500018/21/"
    masks = set()
    for i, url in enumerate(chunk.urls):
        reference_version, mask, modules = _gs1_reference(url, prefix, level)
        assert (reference_version, chunk.size) == (version, 17 + 4 * version)
        assert (chunk.matrix(i) == modules).all(), i
        masks.add(mask)
    assert len(masks) > 3  # the penalty rules were exercised, not one mask every time
    for i in range(0, 60, 12):
        light = np.pad(~chunk.matrix(i), 4, constant_values=True).astype(np.uint8) * 255
        side = 8 * (chunk.size + 8)
        image = Image.fromarray(light).resize((side, side), Image.Resampling.NEAREST)
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [chunk.urls[i]]


def test_a_byte_body_of_another_length_is_refused() -> None:
    encoder = BatchQrEncoder("https://ocop.vn/01/08935049500018/21/", body_bytes=112)
    with pytest.raises(ValueError, match="shape"):
        encoder.encode(np.zeros((2, 111), dtype=np.uint8))
