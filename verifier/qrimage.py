"""Reading a stamp's QR code from a photo (zxing-cpp)."""

from __future__ import annotations

import io

import zxingcpp
from PIL import Image, UnidentifiedImageError

from signing import OcopError

MAX_IMAGE_PIXELS = 40_000_000
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


class QrNotFound(OcopError):
    """The image could not be read, or holds no QR code."""

    code = "qr_not_found"


def decode_image(data: bytes) -> str:
    """Return the text of the first QR code found in the image ``data`` (PNG, JPEG, ...).

    Raises :class:`QrNotFound` when the data is not an image, is too large, or holds no QR code.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise QrNotFound("the image is too large")
            image.load()
            results = zxingcpp.read_barcodes(image.convert("L"), formats=_QR_ONLY)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise QrNotFound("the file is not a readable image") from exc
    for result in results:
        if result.valid and result.text:
            return str(result.text)
    raise QrNotFound("no QR code was found in the image")
