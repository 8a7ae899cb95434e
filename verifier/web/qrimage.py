"""Reading a stamp's QR code from a photo (Pillow, zxing-cpp), in a bounded pool of threads."""

from __future__ import annotations

import asyncio
import io
import logging
import math
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

import zxingcpp
from PIL import Image, ImageFilter

from signing import MalformedStamp, parse_stamp
from verifier.i18n.messages import PHOTO_ERRORS, every_language
from verifier.service_errors import Busy, Invalid, ServiceError, TooLarge

_log = logging.getLogger(__name__)

#: Photos with more pixels are refused from their header, before anything is decoded.
MAX_IMAGE_PIXELS = 40_000_000
#: Larger photos are scaled down to about this many pixels before the QR code is looked for:
#: a stamp's QR code still reads when it spans a twentieth of a 12-megapixel photo's width.
READ_PIXELS = 3_000_000
#: A look after the first begins only while the photo has cost less than this: each look
#: costs about what the first did, and zxing-cpp's time grows with the number of finder
#: pattern shapes in a photo, so a photo made of them must not get more looks than one.
RESCUE_SECONDS = 0.5
#: What phones and browsers produce; other formats are not even parsed.
FORMATS = ("JPEG", "PNG", "WEBP")
#: Seconds a refused caller is told to wait: about one large photo's decoding.
RETRY_AFTER = 2
_QR_ONLY = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)


def _refusal(
    kind: type[ServiceError], code: str, retry_after: int | None = None, **values: object
) -> ServiceError:
    """Return a ``kind`` error with ``code``, worded in Vietnamese and English from
    :data:`~verifier.i18n.messages.PHOTO_ERRORS` in every language, with ``values`` filled in."""
    words = every_language(PHOTO_ERRORS[code], **values)
    error = kind(words["en"], code=code)
    error.messages, error.retry_after = words, retry_after
    return error


def _too_large() -> ServiceError:
    return _refusal(TooLarge, "photo_too_large", megapixels=MAX_IMAGE_PIXELS // 1_000_000)


def decode_image(data: bytes) -> str:
    """Return the text of the first QR code found in the photo ``data`` (JPEG, PNG or WebP).

    The photo is looked at as :data:`LOOKS` say, in turn, until one finds a code; a look
    after the first begins only while the photo has cost less than :data:`RESCUE_SECONDS`.

    Raises :class:`~verifier.service_errors.TooLarge` (``photo_too_large``) when the photo has more
    than :data:`MAX_IMAGE_PIXELS` pixels, known from its header before anything is decoded;
    :class:`~verifier.service_errors.Invalid` with ``photo_unreadable`` when the data is no readable
    image of those formats, with ``no_qr_found`` when no look finds a QR code.
    """
    started = time.perf_counter()
    photo = PhotoViews(data)
    for number, look in enumerate(LOOKS):
        if number and time.perf_counter() - started > RESCUE_SECONDS:
            break
        text = look.read(photo)
        if text is not None:
            return text
    raise _refusal(Invalid, "no_qr_found")


class PhotoViews:
    """A photo in greyscale, as each look sees it: each view made when first asked for."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.whole = _greyscale_to_read(data)

    @cached_property
    def middle(self) -> Image.Image | None:
        """Return the middle of the photo at full resolution, :data:`READ_PIXELS` pixels of it
        with the photo's proportions; None when the whole photo is no larger (it was seen
        whole at full resolution)."""
        try:
            with Image.open(io.BytesIO(self.data), formats=FORMATS) as image:
                width, height = image.size
                if width * height <= READ_PIXELS:
                    return None
                scale = math.sqrt(READ_PIXELS / (width * height))
                crop = (round(width * scale), round(height * scale))
                left, top = (width - crop[0]) // 2, (height - crop[1]) // 2
                image.draft("L", image.size)  # a JPEG is decoded to grey, not to colour first
                return image.convert("L").crop((left, top, left + crop[0], top + crop[1]))
        except Exception as exc:  # read once already, scaled down; hostile bytes may differ
            _log.info("photo unreadable at full resolution: %r", exc)
            return None


@dataclass(frozen=True)
class Look:
    """One way of looking at a photo for its QR code: a view of it (``whole`` or ``middle``),
    sharpened or not; ``stamps_only`` when only a stamp's code counts."""

    name: str
    view: Literal["whole", "middle"]
    sharpen: ImageFilter.UnsharpMask | None = None
    stamps_only: bool = True

    def read(self, photo: PhotoViews) -> str | None:
        """Return the text of the first QR code this look finds in ``photo``, or None."""
        image = photo.whole if self.view == "whole" else photo.middle
        if image is None:
            return None
        if self.sharpen is not None:
            image = image.filter(self.sharpen)
        for result in zxingcpp.read_barcodes(image, formats=_QR_ONLY):
            if result.valid and result.text and (not self.stamps_only or _is_stamp(result.text)):
                return str(result.text)
        return None


#: The looks at a photo, in turn. The first is what phones' photos mostly need; the others
#: are for a code too blurred or too small in the frame for it (bench/photo_reads.py). Looking
#: harder also finds codes that are not there (a sharpened photo of a blurred stamp read as
#: "8158"), so after the first look only a stamp's code counts.
LOOKS = (
    Look("whole", "whole", stamps_only=False),
    Look("whole, sharpened", "whole", ImageFilter.UnsharpMask(2, 200, 0)),
    Look("middle at full resolution", "middle"),
    Look("middle at full resolution, sharpened", "middle", ImageFilter.UnsharpMask(3, 300, 0)),
)


def _is_stamp(text: str) -> bool:
    try:
        parse_stamp(text)
    except MalformedStamp:
        return False
    return True


def _greyscale_to_read(data: bytes) -> Image.Image:
    """Return the photo ``data`` in greyscale, scaled down to about :data:`READ_PIXELS`.

    Raises what :func:`decode_image` raises for a photo too large or unreadable."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise _too_large()
            scale = min(1.0, math.sqrt(READ_PIXELS / (width * height)))
            target = (max(1, round(width * scale)), max(1, round(height * scale)))
            image.draft("L", target)  # a JPEG is decoded at 1/2, 1/4 or 1/8 size if that fits
            grey = image.convert("L")
    except ServiceError:
        raise
    except Image.DecompressionBombError:  # Pillow's own check, when the header says even more
        raise _too_large() from None
    except Exception as exc:  # a decoder's error on hostile bytes, whatever its kind
        _log.info("unreadable photo: %r", exc)
        raise _refusal(Invalid, "photo_unreadable") from None
    if grey.width > target[0]:
        grey = grey.resize(target, Image.Resampling.BOX)
    return grey


# Threads, not processes: Pillow's decoders, its conversion and resizing, and zxing-cpp's
# read_barcodes all release the GIL while they work (measured: a pure-Python loop in another
# thread keeps its full speed during each of them, and nearly stops during a call that holds
# the GIL), so a decoding thread leaves the event loop free. Processes would add a copy
# of every photo and a process's memory per decoder, and gain nothing.
class PhotoReader:
    """Decodes photos in ``threads`` threads of its own, off the event loop, with at most
    ``waiting`` more photos queued; beyond that a photo is refused at once."""

    def __init__(self, threads: int, waiting: int) -> None:
        self._slots = threading.BoundedSemaphore(threads + waiting)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="photo")

    async def read(self, data: bytes) -> str:
        """Return the QR code's text in the photo ``data``.

        Raises :class:`~verifier.service_errors.Busy` (``photo_busy``, with ``retry_after``)
        when every thread is busy and the queue is full, else what :func:`decode_image`
        raises."""
        if not self._slots.acquire(blocking=False):
            raise _refusal(Busy, "photo_busy", RETRY_AFTER, seconds=RETRY_AFTER)
        try:
            future: Future[str] = self._pool.submit(decode_image, data)
        except BaseException:
            self._slots.release()
            raise
        # Freed when the decoding ends, not when the request does: a caller who hangs up
        # does not make room while its photo is still being decoded.
        future.add_done_callback(lambda _future: self._slots.release())
        return await asyncio.wrap_future(future)

    def close(self) -> None:
        """Drop the queued photos and let the threads end after their current one."""
        self._pool.shutdown(wait=False, cancel_futures=True)
