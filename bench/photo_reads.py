"""How many phone photos of printed stamps are read, before and after the harder looks.

    .venv/bin/python bench/photo_reads.py [--count 200] [--seed 17] [--rounds 3] [--browser]

The photos are simulated (tests/stamp_photos.py: genuine stamps printed at 16 and 20 mm, half
each, photographed blurred, shaken, small in the frame, tilted, faded or heavily compressed).
Each is decoded, in the same run, by BEFORE, the decoder as it was (the greyscale photo scaled
down to 3 megapixels, one zxing-cpp read, reproduced here), and by AFTER, ``decode_image`` as
it is now. Prints read rates overall, per stamp size and per family, wrong answers (a text
other than the stamp's), and the time per photo (median, p95, max) with the ratios; then the
time both take on photos made to be slow (finder patterns tiled, noise), the worst case. The
machine's load moves every time by a good part: compare the two columns of one run.

With ``--browser`` the same photos go to the scanner page's photo button instead, in headless
Chromium on a demo server: BEFORE is the page's one look as it was (the photo scaled to 1280
pixels across, zxing-wasm trying harder), reproduced in the page; AFTER is the page's
``readPhoto`` as it is now. Times are the page's own, on this machine's CPU, not a phone's.
"""

from __future__ import annotations

import argparse
import base64
import io
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import zxingcpp  # noqa: E402
from PIL import Image, ImageFilter  # noqa: E402
from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.stamp_photos import (  # noqa: E402
    FAMILIES,
    SEED,
    STAMP_SIZES_MM,
    PhotoCase,
    photo_cases,
    photo_jpeg,
)
from tests.test_scanner import CHROMIUM, FLAGS, PHONE, Server, _wait_for  # noqa: E402
from verifier.cli.demo import create_demo  # noqa: E402
from verifier.service_errors import Invalid  # noqa: E402
from verifier.web.qrimage import decode_image  # noqa: E402

BEFORE_READ_PIXELS = 3_000_000
Decoder = Callable[[bytes], str | None]


def before(data: bytes) -> str | None:
    """The decoder as it was: greyscale, scaled down to about 3 megapixels, one read."""
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
        scale = min(1.0, math.sqrt(BEFORE_READ_PIXELS / (width * height)))
        target = (max(1, round(width * scale)), max(1, round(height * scale)))
        image.draft("L", target)
        grey = image.convert("L")
    if grey.width > target[0]:
        grey = grey.resize(target, Image.Resampling.BOX)
    qr = zxingcpp.BarcodeFormats(zxingcpp.BarcodeFormat.QRCode)
    for result in zxingcpp.read_barcodes(grey, formats=qr):
        if result.valid and result.text:
            return str(result.text)
    return None


def after(data: bytes) -> str | None:
    """The decoder as it is now; None for ``no_qr_found``."""
    try:
        return decode_image(data)
    except Invalid:
        return None


DECODERS: dict[str, Decoder] = {"BEFORE": before, "AFTER": after}


#: The scanner page's photo look as it was, for BEFORE in the browser.
BEFORE_PAGE = """async (photo) => {
  const bitmap = await createImageBitmap(photo);
  const scale = Math.min(1, 1280 / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.round(bitmap.width * scale);
  canvas.height = Math.round(bitmap.height * scale);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height);
  const found = await window.ZXingWASM.readBarcodes(
    pixels, { formats: ["QRCode"], tryHarder: true, maxNumberOfSymbols: 1 });
  const read = found.find((r) => r.isValid !== false && r.text);
  return read ? read.text : undefined;
}"""
#: Reads one photo (base64) in the scanner page with BEFORE_PAGE and with the page's photo
#: button as it is now; answers [[text or null, milliseconds], the same for the button].
BOTH_LOOKS = f"""async (data) => {{
  const photo = new Blob([Uint8Array.from(atob(data), (c) => c.charCodeAt(0))],
                         {{ type: "image/jpeg" }});
  const firstLook = {BEFORE_PAGE};
  const timed = async (read) => {{
    const started = performance.now();
    const text = await read(photo);
    return [text ?? null, performance.now() - started];
  }};
  return [await timed(firstLook), await timed(window.ocopScanner.readPhoto)];
}}"""


def timed(decoder: Decoder, data: bytes) -> tuple[str | None, float]:
    started = time.perf_counter()
    text = decoder(data)
    return text, time.perf_counter() - started


def slow_photos() -> dict[str, bytes]:
    """Photos made to be slow to search: tiles of finder patterns (1:1:3:1:1 squares, the
    shape zxing-cpp pairs up in threes) at the smallest sizes it still sees, and noise."""
    finder = np.ones((8, 8), dtype=np.uint8)
    finder[1:8, 1:8], finder[2:7, 2:7], finder[3:6, 3:6] = 0, 1, 0

    def tiles(width: int, height: int, module: int, blur: float = 0.0) -> bytes:
        rows, columns = height // (8 * module) + 1, width // (8 * module) + 1
        pattern = np.kron(np.tile(finder, (rows, columns)), np.ones((module, module)))
        image = Image.fromarray((pattern[:height, :width] * 255).astype(np.uint8))
        return _jpeg(image.filter(ImageFilter.GaussianBlur(blur)) if blur else image)

    noise = np.random.default_rng(SEED).integers(0, 256, (3000, 4000), dtype=np.uint8)
    return {
        "finder patterns, 1 px, 3 MP": tiles(2000, 1500, 1),
        "finder patterns, 1 px, 3 MP, blurred": tiles(2000, 1500, 1, 0.8),
        "finder patterns, 2 px, 12 MP": tiles(4000, 3000, 2),
        "finder patterns, 1 px, 12 MP": tiles(4000, 3000, 1),
        "noise, 12 MP": _jpeg(Image.fromarray(noise)),
    }


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92)
    return out.getvalue()


def _rate(read: int, total: int) -> str:
    return f"{read:3d}/{total:<3d} {100 * read / total:5.1f} %" if total else "-"


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f} ms"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--rounds", type=int, default=3, help="rounds on the slow photos")
    parser.add_argument("--browser", action="store_true", help="the scanner page's photo button")
    args = parser.parse_args()
    cases = photo_cases(args.count, args.seed)
    read: dict[str, set[int]] = {name: set() for name in DECODERS}
    wrong: dict[str, list[int]] = {name: [] for name in DECODERS}
    times: dict[str, list[float]] = {name: [] for name in DECODERS}

    def record(name: str, case: PhotoCase, text: str | None, seconds: float) -> None:
        times[name].append(seconds)
        if text == case.text:
            read[name].add(case.number)
        elif text is not None:
            wrong[name].append(case.number)

    if args.browser:
        _in_browser(cases, record)
    else:
        for case in cases:
            data = photo_jpeg(case)
            for name, decoder in DECODERS.items():
                record(name, case, *timed(decoder, data))
    where = "the scanner page in Chromium" if args.browser else "the server's decode_image"
    print(f"{len(cases)} simulated phone photos of printed stamps, seed {args.seed}, {where}")
    _print_rates(cases, read, wrong)
    _print_times(times)
    if not args.browser:
        _print_worst_case(args.rounds)
    return 0 if not any(wrong.values()) else 1


@contextmanager
def scanner_page(work: Path) -> Iterator[Page]:
    """Yield the scanner page of a demo server made in ``work``, open in headless Chromium and
    ready to read photos."""
    create_demo(work / "data", b"demo", datetime.now(UTC))
    server = Server(work / "data")
    server.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
            page = browser.new_context(viewport=PHONE, is_mobile=True).new_page()
            page.goto(f"{server.url}/scan")
            _wait_for(page, "window.ocopScanner && window.ocopScanner.ready")
            yield page
            browser.close()
    finally:
        server.stop()


def _in_browser(cases: list[PhotoCase], record: Callable[..., None]) -> None:
    """Read every photo with BEFORE and AFTER in the scanner page of a demo server."""
    with scanner_page(Path(tempfile.mkdtemp(prefix="ocop-bench-photos-"))) as page:
        for case in cases:
            data = base64.b64encode(photo_jpeg(case)).decode()
            looks = page.evaluate(BOTH_LOOKS, data)
            for name, (text, milliseconds) in zip(DECODERS, looks, strict=True):
                record(name, case, text, milliseconds / 1000)


def _print_rates(
    cases: list[PhotoCase], read: dict[str, set[int]], wrong: dict[str, list[int]]
) -> None:
    groups: dict[str, list[PhotoCase]] = {"all": cases}
    groups |= {f"{mm:g} mm": [c for c in cases if c.stamp_mm == mm] for mm in STAMP_SIZES_MM}
    groups |= {family: [c for c in cases if c.family == family] for family in FAMILIES}
    print(f"  {'':24s} {'BEFORE':>17s}   {'AFTER':>17s}")
    for label, members in groups.items():
        numbers = {c.number for c in members}
        counts = [len(read[name] & numbers) for name in DECODERS]
        print(f"  {label:24s} " + "   ".join(_rate(n, len(members)) for n in counts))
    for name in DECODERS:
        print(f"  wrong answers, {name}: {len(wrong[name])} {wrong[name] or ''}")
    lost = sorted(read["BEFORE"] - read["AFTER"])
    print(f"  read BEFORE, not AFTER: {lost or 'none'}")
    print(f"  read AFTER, not BEFORE: {sorted(read['AFTER'] - read['BEFORE'])}")
    unread = Counter(c.family for c in cases if c.number not in read["AFTER"])
    print(f"  still unread AFTER, by family: {dict(unread)}")


def _print_times(times: dict[str, list[float]]) -> None:
    print("time per photo (decoding only, the photo already made)")
    summary = {}
    for name, seconds in times.items():
        ordered = sorted(seconds)
        p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
        summary[name] = (statistics.median(ordered), p95, ordered[-1])
        print(f"  {name:7s} median {_ms(summary[name][0])}  p95 {_ms(p95)}  max {_ms(ordered[-1])}")
    ratios = [a / b for a, b in zip(summary["AFTER"], summary["BEFORE"], strict=True)]
    print("  ratio AFTER/BEFORE: " + ", ".join(
        f"{label} {r:.2f}" for label, r in zip(("median", "p95", "max"), ratios, strict=True)
    ))  # fmt: skip


def _print_worst_case(rounds: int) -> None:
    print(f"photos made to be slow (no code in them): time per photo, median of {rounds} rounds")
    for label, data in slow_photos().items():
        seconds: dict[str, list[float]] = {name: [] for name in DECODERS}
        for _ in range(rounds):
            for name, decoder in DECODERS.items():
                seconds[name].append(timed(decoder, data)[1])
        before_s, after_s = (statistics.median(seconds[name]) for name in DECODERS)
        print(f"  {label:38s} BEFORE {_ms(before_s)}  AFTER {_ms(after_s)}")


if __name__ == "__main__":
    sys.exit(main())
