"""The scanner's own verifier (verifier/web/static/ocop-verify.js) in a real Chromium against
every published test vector: stamps, documents and status list changes (docs/stamp-format.md
section 9)."""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.test_scanner import CHROMIUM, FLAGS
from tests.test_vectors import INDEX, VECTORS

WEB = Path(__file__).resolve().parent.parent / "verifier" / "web"
TYPES = {
    "trust_list": "ocop-trust-list+json",
    "status_list": "ocop-status-list+json",
    "status_list_changes": "ocop-status-list-changes+json",
}

RUN_VECTORS = (Path(__file__).parent / "browser" / "run_vectors.js").read_text("utf-8")


@pytest.fixture(scope="module")
def static_site() -> Iterator[str]:
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(WEB))
    handler.log_message = lambda *args: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def page(static_site: str) -> Iterator[Page]:
    if not Path(CHROMIUM).exists():  # CI installs Debian's chromium; missing must fail
        pytest.fail("chromium is not installed (Debian package chromium)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        opened = browser.new_page()
        opened.goto(f"{static_site}/static/ocop.css")
        yield opened
        browser.close()


def test_the_scanners_verifier_passes_every_published_vector(page: Page) -> None:
    files = {path.name: path.read_text("utf-8") for path in VECTORS.glob("*.json")}
    report: dict[str, Any] = page.evaluate(
        RUN_VECTORS, {"index": INDEX, "files": files, "types": TYPES}
    )
    assert report["failures"] == []
    assert (report["stamps"], report["documents"], report["changes"]) == (
        len(INDEX["stamps"]),
        len(INDEX["documents"]),
        len(INDEX["changes"]),
    )
