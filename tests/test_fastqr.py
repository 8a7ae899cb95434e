"""The batch encoder against the reference: every matrix and mask equal to what ``qrcode``
makes for the same URL (stamps.qr.encode_qr), on 5,000 random stamps at levels M and Q."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from signing import STAMP_DIGITS
from stamps.fastqr import BatchQrEncoder
from stamps.qr import encode_qr

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
