"""Issue 15, finding 6: one photo stalled every check. `POST /api/v1/verify/image` decoded in
the event loop; now photos are decoded in a bounded pool of threads, with a pixel cap read from
the header before anything is decoded, and every refusal is a typed JSON error in Vietnamese and
English.

The database plays no part in reading a photo: these tests run on SQLite only. The blocking
decoders below wait on an event the test sets; their timeout only keeps a broken build from
hanging, no assertion rests on time."""

from __future__ import annotations

import io
import struct
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import zxingcpp
from fastapi.testclient import TestClient
from PIL import Image, ImageFile

from stamps.qr import encode_qr, png_bytes
from tests.conftest import NOW, Demo
from verifier.service import Service
from verifier.settings import Settings, SettingsError
from verifier.web import qrimage
from verifier.web.app import create_app

sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

GUARD_SECONDS = 20  # only so that a broken build fails instead of hanging
PHOTO = "/api/v1/verify/image"


def _upload(client: TestClient, data: bytes, name: str = "stamp.png") -> httpx.Response:
    answer: httpx.Response = client.post(
        PHOTO, files={"file": (name, data, "application/octet-stream")}
    )
    return answer


def _qr_photo(url: str) -> bytes:
    return png_bytes(encode_qr(url).modules, module_px=4)


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header declares ``width`` x ``height`` pixels: a
    decompression bomb's shape (nothing behind the header needs to be real)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data)
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\0" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat)


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A small real JPEG whose frame header is rewritten to claim ``width`` x ``height``."""
    out = io.BytesIO()
    Image.new("L", (16, 16)).save(out, "JPEG")
    data = bytearray(out.getvalue())
    frame = data.index(b"\xff\xc0")  # SOF0: marker, length (2), precision (1), height, width
    data[frame + 5 : frame + 9] = struct.pack(">HH", height, width)
    return bytes(data)


class StuckReader:
    """Stands in for zxing-cpp: records that it was entered, then waits until the test
    releases it, and finds ``text``."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.entered = threading.Event()
        self.release = threading.Event()
        self.released_in_time: list[bool] = []

    def __call__(self, _image: Any, **_options: Any) -> list[SimpleNamespace]:
        self.entered.set()
        self.released_in_time.append(self.release.wait(GUARD_SECONDS))
        return [SimpleNamespace(valid=True, text=self.text)]


@pytest.fixture
def stuck(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> Iterator[StuckReader]:
    reader = StuckReader(demo.sample("genuine"))
    monkeypatch.setattr(zxingcpp, "read_barcodes", reader)
    yield reader
    reader.release.set()


def _in_background(call: Callable[[], httpx.Response]) -> Callable[[], httpx.Response]:
    """Start ``call`` in a thread; return a function that waits for its answer."""
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()))
    thread.start()

    def answer() -> httpx.Response:
        thread.join(GUARD_SECONDS * 3)
        assert answers, "the upload got no answer"
        return answers[0]

    return answer


@sqlite_only
def test_a_check_is_answered_while_a_photo_is_decoded_regression(
    demo: Demo, stuck: StuckReader
) -> None:
    """Broke: the photo was decoded in the event loop, so every check waited for it."""
    genuine = demo.sample("genuine")
    upload = _in_background(lambda: _upload(demo.client, _qr_photo(genuine)))
    assert stuck.entered.wait(GUARD_SECONDS)
    check = demo.client.get("/api/v1/verify", params={"code": genuine})
    stuck.release.set()
    assert check.status_code == 200
    assert check.json()["verdict"] == "genuine"
    photo = upload()
    assert stuck.released_in_time == [True]  # the check came back while the photo was stuck
    assert photo.status_code == 200
    assert photo.json()["verdict"] == "genuine"


@pytest.fixture
def one_thread_no_queue(demo: Demo) -> Iterator[TestClient]:
    """A second app on the demo's database whose photo pool is one thread and no queue."""
    environ = {
        "OCOP_DATABASE_URL": demo.service.settings.database_url,
        "OCOP_PHOTO_THREADS": "1",
        "OCOP_PHOTO_QUEUE": "0",
    }
    service = Service.start(Settings.load(demo.data_dir, environ), NOW)
    with TestClient(create_app(service, clock=lambda: NOW)) as client:
        yield client


@sqlite_only
def test_a_full_photo_pool_answers_busy_with_retry_after_regression(
    demo: Demo, stuck: StuckReader, one_thread_no_queue: TestClient
) -> None:
    """Broke: photos queued without bound (each one stalling the event loop in turn)."""
    client = one_thread_no_queue
    photo = _qr_photo(demo.sample("genuine"))
    first = _in_background(lambda: _upload(client, photo))
    assert stuck.entered.wait(GUARD_SECONDS)
    refused = _upload(client, photo)
    stuck.release.set()
    assert refused.status_code == 503
    assert int(refused.headers["retry-after"]) >= 1
    error = refused.json()["error"]
    assert error["code"] == "photo_busy"
    assert error["messages"]["vi"].startswith("Máy chủ đang bận")
    assert error["messages"]["en"] == error["message"]
    assert first().status_code == 200
    assert _upload(client, photo).status_code == 200  # the thread is free again


@sqlite_only
@pytest.mark.parametrize(
    ("name", "photo"),
    [
        pytest.param(name, photo, id=name)
        for name, photo in (
            ("just over the cap", lambda: _png_header_only(8000, 5001)),
            ("PNG bomb", lambda: _png_header_only(100_000, 100_000)),
            ("JPEG bomb", lambda: _jpeg_claiming(65_000, 65_000)),
        )
    ],
)
def test_a_photo_over_the_pixel_cap_is_refused_before_decoding_regression(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, name: str, photo: Callable[[], bytes]
) -> None:
    """Broke: over the cap or past Pillow's bomb check, a photo got the 422 of a photo
    without a QR code instead of saying it was too large."""
    decoded: list[object] = []
    load = ImageFile.ImageFile.load

    def recorded_load(image: ImageFile.ImageFile) -> Any:
        decoded.append(image)
        return load(image)

    monkeypatch.setattr(ImageFile.ImageFile, "load", recorded_load)
    answer = _upload(demo.client, photo())
    assert answer.status_code == 413, name
    error = answer.json()["error"]
    assert error["code"] == "photo_too_large"
    assert "40" in error["messages"]["vi"]
    assert error["messages"]["en"] == error["message"]
    assert decoded == []


@sqlite_only
@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(b"\x89PNG\r\n\x1a\n not really", "photo_unreadable", id="broken PNG"),
        pytest.param(b"%!PS-Adobe-3.0 EPSF-3.0\n", "photo_unreadable", id="EPS, never parsed"),
        pytest.param(png_bytes([[False] * 21] * 21), "no_qr_found", id="blank"),
    ],
)
def test_a_photo_without_a_stamp_gets_a_typed_error_in_both_languages(
    demo: Demo, data: bytes, code: str
) -> None:
    answer = _upload(demo.client, data)
    assert answer.status_code == 422
    error = answer.json()["error"]
    assert error["code"] == code
    assert set(error["messages"]) == {"vi", "en"}


@sqlite_only
def test_a_large_phone_photo_is_read_after_scaling_down(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A 12-megapixel photo with the stamp filling a tenth of its width is read from the
    copy scaled down before zxing-cpp looks at it."""
    sizes: list[tuple[int, int]] = []
    read_barcodes = zxingcpp.read_barcodes

    def recorded(image: Image.Image, **options: Any) -> Any:
        sizes.append(image.size)
        return read_barcodes(image, **options)

    monkeypatch.setattr(zxingcpp, "read_barcodes", recorded)
    genuine = demo.sample("genuine")
    qr = Image.open(io.BytesIO(_qr_photo(genuine))).convert("L").resize((420, 420))
    photo = Image.linear_gradient("L").resize((4000, 3000))
    photo.paste(qr.rotate(9, expand=True, fillcolor=255), (1800, 1300))
    data = io.BytesIO()
    photo.save(data, "JPEG", quality=85)
    answer = _upload(demo.client, data.getvalue(), "photo.jpg")
    assert answer.status_code == 200
    assert answer.json()["verdict"] == "genuine"
    assert [w * h <= qrimage.READ_PIXELS for w, h in sizes] == [True]


def test_the_photo_pool_is_sized_from_the_environment(tmp_path: Path) -> None:
    (tmp_path / "demo.json").write_text("{}")
    settings = Settings.load(tmp_path, {"OCOP_PHOTO_THREADS": "3", "OCOP_PHOTO_QUEUE": "0"})
    assert (settings.photo_threads, settings.photo_queue) == (3, 0)
    for bad in ({"OCOP_PHOTO_THREADS": "0"}, {"OCOP_PHOTO_QUEUE": "-1"},
                {"OCOP_PHOTO_QUEUE": "many"}, {"OCOP_PHOTO_THREADS": "65"}):  # fmt: skip
        with pytest.raises(SettingsError, match=r"OCOP_PHOTO_(THREADS|QUEUE) must be"):
            Settings.load(tmp_path, bad)
