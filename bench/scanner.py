"""How fast the scanner page answers: in headless Chromium with a fake camera filming a tilted,
blurred genuine stamp, the time from page load and from camera start to the first verdict on
screen (the offline verdict, before the server's), over several cold page loads.

    .venv/bin/python bench/scanner.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import sync_playwright  # noqa: E402

from tests.browser.camera import stamp_frame, write_y4m  # noqa: E402
from tests.test_scanner import CHROMIUM, FLAGS, PHONE, Server  # noqa: E402
from verifier.cli.demo import create_demo  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ocop-bench-scan-"))
    info = create_demo(work / "data", b"demo", datetime.now(UTC))
    camera = write_y4m(stamp_frame(info["stamp_urls"]["genuine"]), work / "camera.y4m")
    server = Server(work / "data")
    server.start()
    load, camera_to_verdict = [], []
    try:
        with sync_playwright() as p:
            for _ in range(args.runs):
                browser = p.chromium.launch(
                    executable_path=CHROMIUM,
                    args=[*FLAGS, f"--use-file-for-fake-video-capture={camera}"],
                )
                page = browser.new_context(
                    viewport=PHONE, is_mobile=True, permissions=["camera"]
                ).new_page()
                page.goto(f"{server.url}/scan")
                page.wait_for_selector("#result .band", timeout=20_000)
                timings = page.evaluate("window.ocopScanner.timings")
                start = page.evaluate("performance.timing.navigationStart")
                fetch = page.evaluate("performance.timing.fetchStart")
                load.append(timings["firstVerdict"] - (fetch - start))
                camera_to_verdict.append(timings["firstVerdict"] - timings["cameraStarted"])
                browser.close()
    finally:
        server.stop()
    print(f"{args.runs} cold loads of /scan, fake camera filming a tilted, blurred stamp; medians")
    print(f"  page load -> first verdict      {statistics.median(load):6.0f} ms")
    print(f"  camera start -> first verdict   {statistics.median(camera_to_verdict):6.0f} ms")
    print("target: a result within a second")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
