"""The scanner page in a real Chromium with a fake camera (../shared/recipes/browser-tests.md):
verdicts from a filmed stamp, offline with the server stopped, both Ed25519 paths, inspector
reports that reach the server once, screenshots of the main states and an accessibility check.

Screenshots (390x844) are written to .screenshots/ at the top of the repository."""

from __future__ import annotations

import dataclasses
import http.client
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import (
    Browser,
    BrowserContext,
    FilePayload,
    Geolocation,
    Page,
    Playwright,
    Response,
    Route,
    ViewportSize,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select
from sqlalchemy.orm import Session

from signing import Payload, PrivateKey, StatusList, VerdictCode, parse_stamp, sign_payload
from signing.keys import b64url_decode
from signing.lists import STATUS_CHANGES_TYPE
from stamps import encode_qr
from stamps.qr import png_bytes
from stamps.sheet import human_serial
from tests.browser.camera import stamp_frame, write_y4m
from tests.national_registry import NationalShape, build_national_registry
from verifier import registry
from verifier.cli.demo import DEMO_LOT, create_demo
from verifier.i18n.messages import REFUSALS, SCANNER, TONE, consumer, text
from verifier.registry import INSPECTOR_BLOCKS
from verifier.store.database import make_engine, session_factory, sqlite_url
from verifier.store.models import Certificate, Lot, Role

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / ".screenshots"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
]  # fmt: skip
PHONE = ViewportSize(width=390, height=844)


class Server:
    """``ocop serve`` on a demo data directory, in a subprocess, on a free port, beside ``ocop
    signer`` on the same directory (the demo's two roles: ``make run``)."""

    def __init__(self, data_dir: Path, static_dir: Path | None = None) -> None:
        self.data_dir = data_dir
        self.static_dir = static_dir  # the page's files from a copy the test may change
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.signer: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "OCOP_DATA_DIR": str(self.data_dir), "OCOP_KEY_PASSPHRASE": "demo",
               "PYTHONPATH": str(ROOT)}  # fmt: skip
        env.pop("OCOP_DATABASE_URL", None)
        if self.static_dir is not None:
            env["OCOP_STATIC_DIR"] = str(self.static_dir)
        self.signer = subprocess.Popen(
            [sys.executable, "-m", "verifier", "signer", "--data-dir", str(self.data_dir)],
            env=env, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "verifier.web.asgi:app", "--port", str(self.port),
             "--log-level", "warning"], env=env,
        )  # fmt: skip
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/healthz", timeout=1).read()  # noqa: S310
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the server did not start")

    def stop(self) -> None:
        for process in (self.process, self.signer):
            if process is not None:
                process.send_signal(signal.SIGINT)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.process = self.signer = None

    def get(self, path: str, token: str | None = None) -> Any:
        request = urllib.request.Request(self.url + path)  # noqa: S310 - loopback
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        return json.load(urllib.request.urlopen(request, timeout=5))  # noqa: S310

    def desk_session(self, token: str) -> str:
        """Sign in to the desk with ``token`` as its form does; return the session cookie."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        form = urllib.parse.urlencode({"token": token})
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        connection.request("POST", "/desk/sign-in", form, headers)
        cookie = connection.getresponse().getheader("set-cookie") or ""
        connection.close()
        assert cookie.startswith("ocop_desk="), cookie
        return cookie.split(";", 1)[0]


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    data_dir = tmp_path_factory.mktemp("scanner") / "data"
    return data_dir, create_demo(data_dir, b"demo", datetime.now(UTC))


@pytest.fixture
def server(demo_dir: tuple[Path, dict[str, Any]]) -> Iterator[Server]:
    running = Server(demo_dir[0])
    running.start()
    yield running
    running.stop()


@contextmanager
def _own_server(data_dir: Path, static_dir: Path | None = None) -> Iterator[Server]:
    """A server of a test's own (a registry it changes, or the page's files in a copy)."""
    running = Server(data_dir, static_dir)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not Path(CHROMIUM).exists():  # CI installs Debian's chromium; missing must fail
        pytest.fail("chromium is not installed (Debian package chromium)")
    with sync_playwright() as p:
        yield p


def _browser(playwright: Playwright, camera: Path) -> Browser:
    return playwright.chromium.launch(
        executable_path=CHROMIUM, args=[*FLAGS, f"--use-file-for-fake-video-capture={camera}"]
    )


def _camera(tmp_path: Path, url: str, name: str = "camera") -> Path:
    return write_y4m(stamp_frame(url), tmp_path / f"{name}.y4m")


def _verdict(page: Page, timeout: float = 15_000) -> dict[str, str]:
    band = page.wait_for_selector("#result .band", timeout=timeout)
    assert band is not None
    return {
        "verdict": band.get_attribute("data-verdict") or "",
        "tone": band.get_attribute("data-tone") or "",
        "text": page.inner_text("#result"),
    }


def _wait_for(page: Page, expression: str, timeout: float = 30_000) -> None:
    """Wait until ``expression`` is true in the page, as ``page.wait_for_function`` would: that
    one compiles its predicate with eval inside the page, which the pages' policy refuses."""
    deadline = time.monotonic() + timeout / 1000
    while True:
        try:
            if page.evaluate(expression):
                return
        except PlaywrightError:  # the page is navigating: ask the next one
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"still false after {timeout / 1000:.0f} s: {expression}")
        page.wait_for_timeout(50)


def _online_verdict(page: Page) -> dict[str, str]:
    _wait_for(
        page,
        "document.querySelector('#how-checked') && "
        "!document.querySelector('#how-checked').textContent.includes('ngoại tuyến')",
        timeout=15_000,
    )
    return _verdict(page)


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


# What Chromium refused under the pages' Content-Security-Policy during a test: nothing, or a
# page is broken for real users (an inline script or style, an eval).
_csp_violations: list[str] = []


@pytest.fixture(autouse=True)
def _no_csp_violations() -> Iterator[None]:
    _csp_violations.clear()
    yield
    assert _csp_violations == []


def _context(
    browser: Browser, geolocation: Geolocation | None = None, width: int = PHONE["width"]
) -> BrowserContext:
    context = browser.new_context(
        viewport=ViewportSize(width=width, height=PHONE["height"]), is_mobile=True,
        has_touch=True, permissions=["camera"], geolocation=geolocation,
    )  # fmt: skip
    context.on(
        "console",
        lambda message: (
            _csp_violations.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return context


def _upload(page: Page, selector: str, name: str, url: str) -> None:
    payload = FilePayload(name=name, mimeType="image/jpeg", buffer=_photo(url))
    page.set_input_files(selector, files=[payload])


def test_a_genuine_stamp_filmed_tilted_and_blurred_is_green(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        page = _context(browser).new_page()
        started = time.monotonic()
        page.goto(f"{server.url}/scan")
        first = _verdict(page)
        assert time.monotonic() - started < 10
        assert (first["verdict"], first["tone"]) == ("genuine", "green")
        answer = _online_verdict(page)
        assert answer["verdict"] == "genuine"
        assert "Mật ong hoa nhãn Ba Vì" in answer["text"]
        assert consumer(VerdictCode.GENUINE, "vi")[0] in answer["text"]
        stars = page.inner_text("#result .stars")
        off = page.inner_text("#result .stars .off")
        assert len(stars) - len(off) == 4  # the certified stars, drawn
        assert "1 lượt" in answer["text"]  # the scan was recorded
        _shot(page, "01-genuine")
    finally:
        browser.close()


def test_the_verdict_is_in_view_without_scrolling_on_a_small_phone(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """At 360x740, offline (its notice shown), the verdict's band is on the screen as it opens,
    headline and meaning: the band started at 617 px, under the fold, and the page did not
    scroll to it."""
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        context = browser.new_context(
            viewport=ViewportSize(width=360, height=740), is_mobile=True, has_touch=True,
            permissions=["camera"],
        )  # fmt: skip
        page = context.new_page()
        _install_offline(page, server)
        context.set_offline(True)
        page.reload()
        assert _verdict(page)["verdict"] == "genuine"
        assert page.is_visible("#offline-notice")
        box = page.evaluate(
            "(() => { const r = document.querySelector('#result .band').getBoundingClientRect();"
            " return {top: r.top, bottom: r.bottom, scrolled: window.scrollY}; })()"
        )
        assert box["top"] >= 0
        assert box["bottom"] <= 740
        _shot(page, "14-verdict-in-view-360")
    finally:
        browser.close()


@pytest.mark.parametrize("sample", ["counterfeit", "expired", "revoked", "star_mismatch"])
def test_each_problem_has_its_own_verdict_and_wording(
    playwright: Playwright,
    server: Server,
    demo_dir: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    sample: str,
) -> None:
    browser = _browser(playwright, _camera(tmp_path, demo_dir[1]["stamp_urls"][sample]))
    try:
        page = _context(browser).new_page()
        page.goto(f"{server.url}/scan")
        answer = _online_verdict(page)
        code = VerdictCode(sample)
        assert (answer["verdict"], answer["tone"]) == (sample, TONE[code])
        headline, meaning, _ = consumer(code, "vi")
        assert headline in answer["text"]
        assert meaning in answer["text"]
        _shot(page, f"02-{sample}")
    finally:
        browser.close()


def _install_offline(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/scan")
    _wait_for(page, "window.ocopScanner && window.ocopScanner.ready", timeout=15_000)
    _wait_for(page, "navigator.serviceWorker.controller !== null", timeout=15_000)


def _photo(url: str) -> bytes:
    image = Image.open(io.BytesIO(png_bytes(encode_qr(url).modules, 8))).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85)
    return out.getvalue()


def test_the_site_s_other_pages_never_come_from_the_scanner_s_cache_regression(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Once /scan had been opened, its service worker answered every page of the site from its
    cache first: on that phone a stamp's page kept the verdict of its first visit (a revoked
    stamp stayed genuine) and the desk its first state."""
    genuine = demo_dir[1]["stamp_urls"]["genuine"]
    browser = _browser(playwright, _camera(tmp_path, genuine))
    try:
        page = _context(browser).new_page()
        _install_offline(page, server)
        stamp_page = f"{server.url}/s/{genuine.rsplit('/', 1)[1]}"
        for url in (stamp_page, stamp_page, f"{server.url}/desk", f"{server.url}/registry"):
            response = page.goto(url)
            assert response is not None, url
            assert response.ok, url
            assert not response.from_service_worker, url
        response = page.goto(f"{server.url}/static/scan.js")  # its own files: from its cache
        assert response is not None
        assert response.from_service_worker
    finally:
        browser.close()


def test_keeping_the_english_page_offline_leaves_the_phone_in_vietnamese_regression(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """The service worker pre-caches /scan?lang=en, whose answer set a year-long lang=en
    cookie: after one visit to the scanner every page of the site was in English."""
    genuine = demo_dir[1]["stamp_urls"]["genuine"]
    browser = _browser(playwright, _camera(tmp_path, genuine))
    try:
        context = _context(browser)
        page = context.new_page()
        _install_offline(page, server)
        assert [c["value"] for c in context.cookies() if c["name"] == "lang"] in ([], ["vi"])
        page.goto(f"{server.url}/s/{genuine.rsplit('/', 1)[1]}")
        assert page.inner_text("h1") == consumer(VerdictCode.GENUINE, "vi")[0]
    finally:
        browser.close()


def test_offline_with_the_server_stopped_it_still_verifies_and_rejects_a_forgery(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        context = _context(browser)
        page = context.new_page()
        _install_offline(page, server)
        server.stop()
        context.set_offline(True)
        page.reload()
        answer = _verdict(page)
        assert answer["verdict"] == "genuine"
        assert "Mật ong hoa nhãn Ba Vì" in answer["text"]  # from the signed registry snapshot
        notice = page.inner_text("#offline-notice")
        assert "Đã kiểm tra ngoại tuyến; danh sách cập nhật 0 giờ trước" in notice
        _shot(page, "03-offline-genuine")
        _upload(page, "#photo", "forged.jpg", info["stamp_urls"]["counterfeit"])
        page.wait_for_selector("#result .band[data-verdict='counterfeit']", timeout=15_000)
        assert "ngoại tuyến" in page.inner_text("#how-checked")
        _shot(page, "04-offline-counterfeit")
    finally:
        browser.close()


@contextmanager
def _registry(data_dir: Path) -> Iterator[Session]:
    """A session on the SQLite registry of ``data_dir``, its engine disposed of after."""
    engine = make_engine(sqlite_url(data_dir))
    try:
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def _demo_lot(data_dir: Path) -> Lot:
    """The demo honey's lot, as the registry holds it."""
    with _registry(data_dir) as session:
        lot = session.scalars(select(Lot).where(Lot.lot_number == DEMO_LOT)).one()
        session.expunge(lot)
        return lot


def test_offline_the_honey_stamp_shows_its_lot_as_the_producer_declared_it(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Issue 20: with the server stopped, the genuine honey stamp's offline verdict is followed
    by its lot in short, from the signed snapshot, worded as the stamp page's trace section (the
    producer's declaration, not what the authority certifies), in each language, at 360 px; a
    forged code shows none."""
    data_dir, info = demo_dir
    lot = _demo_lot(data_dir)
    assert lot.best_before is not None
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        context = _context(browser, width=360)
        page = context.new_page()
        _install_offline(page, server)
        server.stop()
        context.set_offline(True)
        for language, title, declared in (
            ("vi", "Truy xuất nguồn gốc", "do nhà sản xuất tự khai báo"),
            ("en", "Traceability", "The producer declared this"),
        ):
            page.goto(f"{server.url}/scan?lang={language}")
            assert _verdict(page)["verdict"] == "genuine"
            trace = page.locator("#result section.trace")
            assert trace.locator("h2").inner_text() == title
            assert declared in trace.locator(".declared").inner_text()
            assert trace.locator("h3").inner_text().endswith(f" {DEMO_LOT}")
            shown = dict(zip(trace.locator("dt").all_inner_texts(),
                             trace.locator("dd").all_inner_texts(), strict=True))  # fmt: skip
            assert lot.produced_on.strftime("%d/%m/%Y") in shown.values()
            assert lot.best_before.strftime("%d/%m/%Y") in shown.values()
            assert "Hưng Yên" in shown.values()  # the honey's origin, one step back
            assert "3" in shown.values()  # its stages
            assert ", ".join(lot.standards) in shown.values()
            _assert_accessible_at_360_px(page)
            trace.scroll_into_view_if_needed()
            _shot(page, f"21-offline-trace-{language}")
        _upload(page, "#photo", "forged.jpg", info["stamp_urls"]["counterfeit"])
        page.wait_for_selector("#result .band[data-verdict='counterfeit']", timeout=15_000)
        assert page.locator("#result section.trace").count() == 0
    finally:
        browser.close()


def test_a_stamp_held_in_view_is_checked_once(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Regression: the camera re-checked a stamp it kept seeing every 3 s, so a buyer holding
    the phone still for half a minute recorded ten scans of one look."""
    browser = _browser(playwright, _camera(tmp_path, demo_dir[1]["stamp_urls"]["genuine"]))
    try:
        page = _context(browser).new_page()
        page.goto(f"{server.url}/scan")
        _online_verdict(page)
        page.wait_for_timeout(4_500)  # the fake camera films the stamp the whole time
        assert page.evaluate("window.ocopScanner.history.length") == 1
    finally:
        browser.close()


NO_WEBCRYPTO_ED25519 = """
const importKey = crypto.subtle.importKey.bind(crypto.subtle);
crypto.subtle.importKey = (format, key, algorithm, ...rest) => {
  const name = typeof algorithm === "string" ? algorithm : algorithm && algorithm.name;
  if (name === "Ed25519") {
    return Promise.reject(new DOMException("no Ed25519", "NotSupportedError"));
  }
  return importKey(format, key, algorithm, ...rest);
};
"""


@pytest.mark.parametrize(("forced", "engine"), [(False, "webcrypto"), (True, "noble")])
def test_both_ed25519_paths_verify(
    playwright: Playwright,
    server: Server,
    demo_dir: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    forced: bool,
    engine: str,
) -> None:
    browser = _browser(playwright, _camera(tmp_path, demo_dir[1]["stamp_urls"]["genuine"]))
    try:
        context = _context(browser)
        if forced:
            context.add_init_script(NO_WEBCRYPTO_ED25519)
        page = context.new_page()
        _install_offline(page, server)
        context.set_offline(True)  # so the offline verdict is the one that stays
        page.reload()
        assert _verdict(page)["verdict"] == "genuine"
        assert page.evaluate("window.ocopScanner.engine()") == engine
        _upload(page, "#photo", "forged.jpg", demo_dir[1]["stamp_urls"]["counterfeit"])
        page.wait_for_selector("#result .band[data-verdict='counterfeit']", timeout=15_000)
    finally:
        browser.close()


def test_a_stamp_in_digital_link_form_is_checked_offline_with_its_gtin(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Issue 20: the honey's stamp as a GS1 Digital Link (a QR of version 8) is genuine on a
    phone with no signal, and the same stamp printed with another product's GTIN is not."""
    link = demo_dir[1]["stamp_urls"]["genuine_gs1"]
    moved = link.replace("/01/08935049500018/", "/01/08935049500025/")
    browser = _browser(playwright, _camera(tmp_path, link))
    try:
        context = _context(browser, width=360)
        page = context.new_page()
        _install_offline(page, server)
        context.set_offline(True)
        page.reload()
        answer = _verdict(page)
        assert answer["verdict"] == "genuine"
        assert "Mật ong hoa nhãn Ba Vì" in answer["text"]
        _upload(page, "#photo", "moved.jpg", moved)
        band = page.wait_for_selector("#result .band[data-verdict='counterfeit']", timeout=15_000)
        assert band is not None
        assert "không phải của sản phẩm được chứng nhận" in page.inner_text("#result")
        _shot(page, "20-gs1-moved-offline-360")
        context.set_offline(False)
        page.goto(server.url + link.removeprefix("https://ocop.vn"))  # the page a phone opens
        assert page.get_attribute(".band", "data-verdict") == "genuine"
        assert "08935049500018" in page.inner_text("main")
        _assert_accessible_at_360_px(page)
        page.screenshot(path=str(_shots() / "20-gs1-stamp-page-360.png"), full_page=True)
    finally:
        browser.close()


def test_an_offline_report_reaches_the_server_once_across_a_reload(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    info = demo_dir[1]
    token = info["tokens"]["inspector"]
    before = len(server.get("/api/v1/reports", token)["reports"])
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["star_mismatch"]))
    try:
        context = _context(browser, Geolocation(latitude=21.03, longitude=105.85))
        context.grant_permissions(["camera", "geolocation"])
        page = context.new_page()
        _install_offline(page, server)
        _online_verdict(page)
        # Enter in the token field, as on a phone keyboard. Regression: a click on "Sign in"
        # raced the verdict appearing above it, which moved the button (CI, stop 7).
        page.fill("#token", token)
        page.press("#token", "Enter")
        page.wait_for_selector("#inspector-on:not([hidden])")
        _wait_for(page, "window.ocopScanner.where() === '21.03,105.85'")
        page.select_option("#stars-seen", "5")  # checks the last stamp again with the stars
        # three checks: the first, again once signed in (what a block rests on), with the stars
        _wait_for(page, "window.ocopScanner.history.length === 3", timeout=15_000)
        context.set_offline(True)
        page.fill("#shop", "Tạp hóa Minh Anh")
        page.fill("#address", "Chợ Đồng Xuân, Hoàn Kiếm, Hà Nội")
        page.fill("#note", "Gói ghi 5 sao")
        _upload(page, "#photos", "pack.jpg", info["stamp_urls"]["genuine"])
        page.click("#report button[type=submit]")
        page.wait_for_selector("#reports li[data-state='queued']")
        _shot(page, "05-report-queued-offline")
        page.reload()  # still offline: the page comes from the service worker's cache
        page.wait_for_selector("#reports li[data-state='queued']")
        context.set_offline(False)
        page.wait_for_selector("#reports li[data-state='sent']", timeout=15_000)
        assert page.query_selector("#reports li[data-state='queued']") is None
        page.reload()
        _wait_for(page, "window.ocopScanner && window.ocopScanner.ready")
        page.wait_for_selector("#reports li[data-state='sent']", timeout=15_000)
        _shot(page, "06-report-sent")
    finally:
        browser.close()
    reports = server.get("/api/v1/reports", token)["reports"]
    assert len(reports) == before + 1
    newest = reports[0]
    assert (newest["shop_name"], newest["verdict"], newest["photos"]) == (
        "Tạp hóa Minh Anh", "star_mismatch", 1,
    )  # fmt: skip
    assert newest["stars_seen"] == 5
    assert newest["latitude"] == pytest.approx(21.03)
    # the signed-in check carried where it was made, for the authority's desk
    serial = parse_stamp(info["stamp_urls"]["star_mismatch"]).payload
    desk = urllib.request.Request(  # noqa: S310 - loopback
        f"{server.url}/desk/serials/{serial.key_index}/{serial.serial}"
    )
    desk.add_header("Cookie", server.desk_session(info["tokens"]["authority_VN-01"]))
    page_text = urllib.request.urlopen(desk, timeout=5).read().decode()  # noqa: S310
    assert "<td>Kiểm tra viên</td><td>gần Hà Nội (21.03, 105.85)</td>" in page_text


def test_the_scanner_the_stamp_page_and_the_desk_read_in_both_languages(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Each page from the catalogs in Vietnamese and in English, as a phone shows it; and the
    scanner writes a serial as the stamp prints it (stamps.sheet.human_serial)."""
    info = demo_dir[1]
    genuine = info["stamp_urls"]["genuine"]
    payload = parse_stamp(genuine).payload
    serials = [(0, 1), (1, 1042), (12, 123_456_789), (0xFFFF, 2**48 - 1)]
    browser = _browser(playwright, _camera(tmp_path, genuine))
    try:
        page = _context(browser).new_page()
        for language in ("vi", "en"):
            headline = consumer(VerdictCode.GENUINE, language)[0]
            page.goto(f"{server.url}/scan?lang={language}")
            assert headline in _online_verdict(page)["text"]
            written = page.evaluate(
                "serials => serials.map(([k, s]) => window.ocopScanner.humanSerial(k, s))", serials
            )
            assert written == [human_serial(k, s) for k, s in serials]
            _shot(page, f"10-scanner-{language}")
            page.goto(f"{server.url}/s/{genuine.rsplit('/', 1)[1]}?lang={language}")
            assert page.inner_text("h1") == headline
            assert human_serial(payload.key_index, payload.serial) in page.inner_text("dl")
            _shot(page, f"11-stamp-page-{language}")
        page = _context(browser).new_page()  # the scanner's service worker caches other pages
        page.goto(f"{server.url}/desk?lang=vi")
        page.fill("#token", info["tokens"]["authority_VN-01"])
        page.click("#desk-body button[type=submit]")
        page.wait_for_selector("#find-code")
        for language, title in (("vi", "Bàn làm việc OCOP"), ("en", "OCOP desk")):
            page.goto(f"{server.url}/desk?lang={language}")
            assert page.inner_text("h1") == title
            assert page.query_selector("#find-code") is not None  # signed in
            _shot(page, f"12-desk-{language}")
            page.goto(f"{server.url}/desk/serials/{payload.key_index}/{payload.serial}"
                      f"?lang={language}")  # fmt: skip
            assert human_serial(payload.key_index, payload.serial) in page.inner_text("h1")
            _shot(page, f"13-desk-serial-{language}")
    finally:
        browser.close()


AXE = ROOT / "tests/vendor/axe-core/axe.min.js"


@pytest.mark.parametrize(
    "path",
    [
        "/scan",
        "/scan?lang=en",
        "/s/{genuine}",
        "/s/{counterfeit}",
        "/producer",
        "/",
        "/registry?q=mat+ong",
        "/registry/ended",
        "/registry/provinces",
        "/desk",
        "/01/08935049500018",  # the GS1 Digital Link pages of the demo's honey (issue 20)
        "/01/08935049500018/10/MO-2026-05",
        "/01/08935049500018/21/01-000000018",
        "/01/08935049500018/21/{genuine_gs1}",  # a stamp in its Digital Link form
    ],
)
def test_pages_pass_axe_with_no_serious_violations_at_360_px(
    playwright: Playwright,
    server: Server,
    demo_dir: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    path: str,
) -> None:
    urls = demo_dir[1]["stamp_urls"]
    codes = {name: url.rsplit("/", 1)[1] for name, url in urls.items()}
    browser = _browser(playwright, _camera(tmp_path, urls["genuine"]))
    try:
        page = _context(browser, width=360).new_page()  # the narrowest phones in use
        page.goto(server.url + path.format(**codes))
        if path == "/scan":
            _verdict(page)
        _assert_accessible_at_360_px(page)
    finally:
        browser.close()


def _assert_accessible_at_360_px(page: Page) -> None:
    page.evaluate(AXE.read_text())  # not as a <script>: the policy allows no inline script
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    serious = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360  # nothing wider than the phone


@pytest.mark.parametrize("sample", [None, "genuine"])
def test_the_signed_in_desk_passes_axe_at_360_px(
    playwright: Playwright,
    server: Server,
    demo_dir: tuple[Path, dict[str, Any]],
    tmp_path: Path,
    sample: str | None,
) -> None:
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        context = _context(browser, width=360)
        page = context.new_page()
        page.goto(server.url + "/desk")
        page.fill("#token", info["tokens"]["authority_VN-01"])
        page.click("#desk-body button[type=submit]")
        page.wait_for_selector("#find-code")
        path = "/desk"
        if sample is not None:
            payload = parse_stamp(info["stamp_urls"][sample]).payload
            path = f"/desk/serials/{payload.key_index}/{payload.serial}"
        page.goto(server.url + path)
        assert page.query_selector("#find-code" if sample is None else "#summary") is not None
        _assert_accessible_at_360_px(page)
    finally:
        browser.close()


THREE_DAYS_LATER = """
const realNow = Date.now.bind(Date);
Date.now = () => realNow() + 72 * 3600 * 1000;
"""


def test_old_lists_turn_the_offline_notice_amber(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    browser = _browser(playwright, _camera(tmp_path, demo_dir[1]["stamp_urls"]["genuine"]))
    try:
        context = _context(browser)
        page = context.new_page()
        _install_offline(page, server)
        context.set_offline(True)
        context.add_init_script(THREE_DAYS_LATER)  # the phone has been offline for three days
        page.reload()
        _verdict(page)
        notice = page.wait_for_selector("#offline-notice.stale")
        assert notice is not None
        assert "Danh sách đã cũ (72 giờ)" in notice.inner_text()
        # the verdict's band says so too (it used to stand green with no caveat)
        assert "Danh sách đã cũ (72 giờ)" in page.inner_text("#result .band #lists-age")
        _shot(page, "07-offline-stale-lists")
    finally:
        browser.close()


EIGHT_DAYS_LATER = THREE_DAYS_LATER.replace("72 * 3600", "8 * 24 * 3600")


def test_expired_lists_still_catch_a_forgery_and_say_how_long_ago_regression(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """After a week offline (the status list is valid for seven days) the scanner gave no
    verdict at all, not even on a forged signature, which needs only the trust list, and said
    "no lists yet" although it held them."""
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        context = _context(browser)
        page = context.new_page()
        _install_offline(page, server)
        context.set_offline(True)
        context.add_init_script(EIGHT_DAYS_LATER)
        page.reload()
        assert _verdict(page)["verdict"] == "genuine"
        assert "Danh sách đã hết hạn 1 ngày trước" in page.inner_text("#result .band #lists-age")
        assert "Danh sách đã hết hạn 1 ngày trước" in page.inner_text("#offline-notice.stale")
        _upload(page, "#photo", "forged.jpg", info["stamp_urls"]["counterfeit"])
        page.wait_for_selector("#result .band[data-verdict='counterfeit']", timeout=15_000)
        assert "tem giả vẫn bị phát hiện" in page.inner_text("#result .band #lists-age")
        _shot(page, "15-offline-expired-lists")
    finally:
        browser.close()


KEPT_LISTS = """new Promise((resolve, reject) => {
  const open = indexedDB.open("ocop");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const tx = open.result.transaction("lists");
    const keys = tx.objectStore("lists").getAllKeys(), values = tx.objectStore("lists").getAll();
    tx.oncomplete = () => {
      const kept = {};
      keys.result.forEach((key, i) => { kept[key] = values.result[i]; });
      open.result.close();
      resolve(kept);
    };
  };
})"""


# The database as pages before the lists kept it (version 1: the reports only), with a report.
OLD_REPORT_QUEUE = """new Promise((resolve, reject) => {
  const open = indexedDB.open("ocop", 1);
  open.onupgradeneeded = () => open.result.createObjectStore("reports", { keyPath: "client_id" });
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const tx = open.result.transaction("reports", "readwrite");
    tx.objectStore("reports").put({ client_id: "kept-across-the-upgrade", shop_name: "Tạp hóa",
      verdict: "genuine" });
    tx.oncomplete = () => { open.result.close(); resolve(); };
  };
})"""
QUEUED_REPORTS = """new Promise((resolve, reject) => {
  const open = indexedDB.open("ocop");
  open.onerror = () => reject(open.error);
  open.onsuccess = () => {
    const keys = open.result.transaction("reports").objectStore("reports").getAllKeys();
    keys.onsuccess = () => { open.result.close(); resolve(keys.result); };
  };
})"""


def test_the_lists_are_kept_in_indexeddb_and_a_revisit_uses_them_unchecked_offline(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """The page kept whole documents in localStorage: saving the snapshot of a national
    registry (about 5 MB there) failed, and the page then had no lists at all offline. Now the
    verified claims are kept in IndexedDB with when they were checked; a revisit builds its
    maps from them without checking a signature again; the old keys are dropped and the
    versions they had reached are kept for the rollback check."""
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        context = _context(browser)
        page = context.new_page()
        page.goto(f"{server.url}/healthz")  # the origin, to leave what an older page kept
        page.evaluate(
            "localStorage.setItem('ocop.doc.status', 'x'.repeat(100000));"
            "localStorage.setItem('ocop.doc.snapshot-changes', '[]');"
            "localStorage.setItem('ocop.version.trust', '1');"
            "localStorage.setItem('ocop.version.status', '1');"
        )
        page.evaluate(OLD_REPORT_QUEUE)  # and an inspector's report it had queued
        _install_offline(page, server)
        assert page.evaluate("window.ocopScanner.listsFrom") == "network"
        assert page.evaluate(QUEUED_REPORTS) == ["kept-across-the-upgrade"]
        assert page.evaluate("Object.keys(localStorage).filter(k => k.startsWith('ocop.'))") == []
        kept = page.evaluate(KEPT_LISTS)
        assert set(kept) == {"trust", "status", "snapshot", "versions"}
        for name in ("trust", "status", "snapshot"):
            assert kept[name]["checkedAt"] > 0
            assert kept["versions"][name] == kept[name]["claims"]["version"]
        genuine = parse_stamp(info["stamp_urls"]["genuine"]).payload.certificate_id
        products = {
            c["certificate_id"]: c["product"] for c in kept["snapshot"]["claims"]["certificates"]
        }
        assert products[genuine] == "Mật ong hoa nhãn Ba Vì"
        server.stop()
        context.set_offline(True)
        page.reload()
        answer = _verdict(page)
        assert answer["verdict"] == "genuine"
        assert "Mật ong hoa nhãn Ba Vì" in answer["text"]
        assert page.evaluate("window.ocopScanner.listsFrom") == "kept"
        assert page.evaluate("window.ocopScanner.documentsChecked") == 0  # no signature again
        _upload(page, "#photo", "revoked.jpg", info["stamp_urls"]["revoked"])
        page.wait_for_selector("#result .band[data-verdict='revoked']", timeout=15_000)
        _shot(page, "16-offline-revisit-from-indexeddb")
    finally:
        browser.close()


QUOTA_FULL = """
const put = IDBObjectStore.prototype.put;
IDBObjectStore.prototype.put = function (...args) {
  if (this.name === "lists") {
    throw new DOMException("The quota has been exceeded.", "QuotaExceededError");
  }
  return put.apply(this, args);
};
"""


def test_lists_the_phone_cannot_keep_still_check_offline_and_the_page_says_so(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """At 15,158 certificates saving the snapshot failed with a quota error the page
    swallowed; it dropped the lists it had just verified and, offline, gave no verdict at all,
    not even for a forged signature, saying "open this page once with a connection"."""
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        context = _context(browser)
        context.add_init_script(QUOTA_FULL)
        page = context.new_page()
        page.goto(f"{server.url}/scan")
        _wait_for(page, "window.ocopScanner && window.ocopScanner.ready")
        assert page.evaluate("window.ocopScanner.listsKept") is False
        assert page.evaluate("typeof window.ocopScanner.timings.listsReady") == "number"
        notice = page.wait_for_selector("#storage-notice:not([hidden])")
        assert notice is not None
        assert notice.inner_text() == text(SCANNER, "lists_not_kept", "vi")
        context.set_offline(True)
        _upload(page, "#photo", "revoked.jpg", info["stamp_urls"]["revoked"])
        page.wait_for_selector("#result .band[data-verdict='revoked']", timeout=15_000)
        assert "ngoại tuyến" in page.inner_text("#how-checked")
        _upload(page, "#photo", "forged.jpg", info["stamp_urls"]["counterfeit"])
        page.wait_for_selector("#result .band[data-verdict='counterfeit']", timeout=15_000)
        _shot(page, "17-lists-not-kept")
    finally:
        browser.close()


def _hold_lists(page: Page) -> list[Route]:
    """Hold the page's requests for the signed lists until the test lets them go."""
    held: list[Route] = []
    # a function of its own: Playwright marks the handler, which a bound builtin cannot take
    page.route("**/.well-known/ocop/**", lambda route: held.append(route))  # noqa: PLW0108
    return held


def test_the_camera_starts_before_the_lists_and_a_stamp_read_meanwhile_gets_its_verdict(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """The camera waited until the lists were fetched and verified (5.5 s to the camera on a
    revisit on a slow phone). Now it starts first; a stamp read before the lists are usable is
    checked online, or, with no network, the moment the lists are usable."""
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        # the worker could answer for the page: these requests must reach the test's routes
        context = browser.new_context(
            viewport=ViewportSize(width=360, height=740), is_mobile=True, has_touch=True,
            permissions=["camera"], service_workers="block",
        )  # fmt: skip
        page = context.new_page()
        held = _hold_lists(page)
        page.goto(f"{server.url}/scan")
        answer = _online_verdict(page)
        assert answer["verdict"] == "genuine"
        deadline = time.monotonic() + 15
        while len(held) < 3:  # the three lists asked for (after the camera), not there yet
            assert time.monotonic() < deadline, [route.request.url for route in held]
            page.wait_for_timeout(50)
        timings = page.evaluate("window.ocopScanner.timings")
        assert "cameraStarted" in timings
        assert "listsReady" not in timings
        for route in held:
            route.continue_()
        page.unroute("**/.well-known/ocop/**")
        _wait_for(page, "window.ocopScanner.ready")
        timings = page.evaluate("window.ocopScanner.timings")
        assert timings["cameraStarted"] < timings["listsReady"]

        page = browser.new_context(
            viewport=ViewportSize(width=360, height=740),
            is_mobile=True,
            has_touch=True,
            permissions=["camera"],
            service_workers="block",
        ).new_page()  # fmt: skip  (nothing kept yet)
        held = _hold_lists(page)
        page.route("**/api/v1/verify?**", lambda route: route.abort("internetdisconnected"))
        page.goto(f"{server.url}/scan")
        checking = text(SCANNER, "checking", "vi")
        _wait_for(page, f"document.querySelector('#status').textContent === {json.dumps(checking)}")
        assert page.query_selector("#result .band") is None
        _shot(page, "18-checking-before-the-lists")
        for route in held:
            route.continue_()
        answer = _verdict(page)
        assert answer["verdict"] == "genuine"
        assert "ngoại tuyến" in page.inner_text("#how-checked")
        assert page.evaluate("window.ocopScanner.history.length") == 1
    finally:
        browser.close()


def test_a_count_the_server_could_not_read_is_not_shown_as_a_count(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """With the database out of reach, the server answers a stamp whose stored checks it could
    not read with ``scans.complete: false`` (the count is its own checks only): the scanner
    says the number cannot be shown now, not "1 check"."""
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))

    def incomplete(route: Route) -> None:
        answer = route.fetch()
        body = answer.json()
        body["scans"] = {**body["scans"], "count": 1, "complete": False}
        route.fulfill(response=answer, json=body)

    try:
        page = _context(browser).new_page()
        page.route("**/api/v1/verify?**", incomplete)
        page.goto(f"{server.url}/scan")
        assert _online_verdict(page)["verdict"] == "genuine"
        checks = text(SCANNER, "checks", "vi")
        row = page.inner_text(f"#result dt:text-is('{checks}') + dd")
        assert row == text(SCANNER, "checks_unknown", "vi")
    finally:
        browser.close()


def _status_version(server: Server) -> int:
    document = server.get("/.well-known/ocop/status-list")
    version: int = json.loads(document["payload"])["version"]
    return version


def test_a_revisit_after_a_revocation_fetches_only_the_changes_and_knows_it_offline(
    playwright: Playwright, tmp_path: Path
) -> None:
    """Reopening the page after any registry write anywhere in the country downloaded the whole
    status list and snapshot again (205 KB and 761 KB at national size). Now it asks for the
    changes since the version it holds, applies them, and keeps the result."""
    data_dir = tmp_path / "data"  # its own registry: a revocation would change the others'
    info = create_demo(data_dir, b"demo", datetime.now(UTC))
    with _own_server(data_dir) as server:
        browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
        try:
            context = _context(browser)
            page = context.new_page()
            _install_offline(page, server)
            held = page.evaluate(KEPT_LISTS)["status"]["claims"]["version"]
            certificate = parse_stamp(info["stamp_urls"]["genuine"]).payload.certificate_id
            body = {"decision": "QĐ-7/2026", "decision_date": "2026-11-23", "reason": "Nhãn sai"}
            token = info["tokens"]["authority_VN-01"]
            assert _post(server, f"/api/v1/certificates/{certificate}/revoke", body, token) == 200
            deadline = time.monotonic() + 30
            while _status_version(server) == held:  # signed again in the background, in seconds
                assert time.monotonic() < deadline, "the status list was not signed again"
                time.sleep(0.2)
            responses: list[Response] = []
            page.on("response", lambda response: responses.append(response))  # noqa: PLW0108
            page.reload()
            _wait_for(page, "window.ocopScanner && window.ocopScanner.ready")
            answers = {}  # each list's request, and the typ of its answer's header
            for response in responses:
                if "/.well-known/ocop/" in response.url:
                    document = json.loads(response.body())
                    header = json.loads(b64url_decode(document["protected"]))
                    answers[response.url.removeprefix(server.url)] = header["typ"]
            assert answers[f"/.well-known/ocop/status-list?since={held}"] == STATUS_CHANGES_TYPE
            assert "/.well-known/ocop/status-list" not in answers  # not the whole list again
            assert any(
                url.startswith("/.well-known/ocop/registry-snapshot?since=") for url in answers
            )
            kept = page.evaluate(KEPT_LISTS)
            assert kept["status"]["claims"]["version"] > held
            server.stop()
            context.set_offline(True)
            page.reload()
            assert _verdict(page)["verdict"] == "revoked"
            assert page.evaluate("window.ocopScanner.documentsChecked") == 0
        finally:
            browser.close()


def test_a_code_update_reaches_a_page_already_installed(
    playwright: Playwright, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """The service worker served the page's code cache-first from a cache whose name never
    changed: a changed scan.js was still not running after three reloads. Now the cache is
    named by the files' content; a page running older code offers to reload when the new
    version is in the cache, the next open runs it, and the old cache is deleted."""
    info = demo_dir[1]
    static = tmp_path / "static"
    shutil.copytree(ROOT / "verifier/web/static", static)
    with _own_server(demo_dir[0], static) as server:
        browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
        try:
            context = _context(browser)
            page = context.new_page()
            _install_offline(page, server)
            old_caches = page.evaluate("caches.keys()")
            assert len(old_caches) == 1
            assert page.is_hidden("#new-version")
            with (static / "scan.js").open("a", encoding="utf-8") as code:
                code.write('\nwindow.ocopScanner.build = "changed";\n')
            # the phone comes back online: the running page asks for a new version
            context.set_offline(True)
            context.set_offline(False)
            banner = page.wait_for_selector("#new-version:not([hidden])", timeout=15_000)
            assert banner is not None
            assert banner.inner_text() == "Có phiên bản mới — chạm để tải lại"
            assert page.evaluate("window.ocopScanner.build") is None  # still the old code
            _shot(page, "19-new-version-banner")
            new_caches = page.evaluate("caches.keys()")
            assert len(new_caches) == 1
            assert new_caches != old_caches  # the old cache is deleted
            other = context.new_page()  # the next open runs the new code
            other.goto(f"{server.url}/scan")
            _wait_for(other, "window.ocopScanner && window.ocopScanner.build === 'changed'")
            other.close()
            banner.tap()
            _wait_for(page, "window.ocopScanner && window.ocopScanner.build === 'changed'")
            assert page.is_hidden("#new-version")
            server.stop()  # and it is the one kept for offline use
            context.set_offline(True)
            page.reload()
            _wait_for(page, "window.ocopScanner && window.ocopScanner.build === 'changed'")
            assert _verdict(page)["verdict"] == "genuine"
        finally:
            browser.close()


def _post(server: Server, path: str, body: dict[str, Any], token: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - loopback
        server.url + path, data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=5) as answer:  # noqa: S310
        return int(answer.status)


def test_a_token_entered_before_the_page_s_script_ran_signs_in_regression(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """CI run of stop 24: on a slow machine the sign-in form was sent before scan.js had taken
    it, so the browser sent it itself: the page reloaded, the token typed was lost, and nothing
    said why. The form is disabled until the script is there."""
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        page = _context(browser).new_page()
        held: list[Route] = []
        script = re.compile(r".*/scan[^/]*\.js(\?.*)?$")
        page.route(script, lambda route: held.append(route))  # noqa: PLW0108
        page.goto(f"{server.url}/scan", wait_until="commit")
        page.wait_for_selector("#token", state="attached")
        _wait_for(page, "document.readyState !== 'loading'")
        assert held, "the script was not asked for"
        assert page.is_disabled("#token")
        assert page.is_disabled("#sign-in")
        navigations: list[str] = []
        page.on("framenavigated", lambda frame: navigations.append(frame.url))
        held[0].continue_()
        page.fill("#token", info["tokens"]["inspector"])  # waits until the field is enabled
        page.press("#token", "Enter")
        page.wait_for_selector("#inspector-on:not([hidden])", timeout=15_000)
        assert navigations == []
    finally:
        browser.close()


def test_an_inspector_past_the_daily_cap_reads_why_the_scanner_did_not_block(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    data_dir, info = demo_dir
    engine = make_engine(sqlite_url(data_dir), writer=True)
    with session_factory(engine).begin() as session:
        token = registry.create_token(
            session, role=Role.INSPECTOR, label="Đội QLTT số 9", now=datetime.now(UTC)
        )
    engine.dispose()
    key = PrivateKey.from_pem((data_dir / "keys/province-01.pem").read_bytes(), b"demo")
    genuine = parse_stamp(info["stamp_urls"]["genuine"]).payload
    per_day = INSPECTOR_BLOCKS.per_day  # the server runs with the default
    for n in range(per_day):  # serials of the genuine sample's batch no other test uses
        serial = genuine.serial + 300 + n
        code = sign_payload(dataclasses.replace(genuine, serial=serial), key).url("ocop.vn")
        server.get(f"/api/v1/verify?{urllib.parse.urlencode({'code': code})}", token)
        body = {"key_index": genuine.key_index, "first_serial": serial, "last_serial": serial,
                "reason": "Tem sao chép"}  # fmt: skip
        assert _post(server, "/api/v1/blocked-serials", body, token) == 201
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        page = _context(browser).new_page()
        page.goto(f"{server.url}/scan")
        page.fill("#token", token)
        page.press("#token", "Enter")
        page.wait_for_selector("#block:not([hidden])", timeout=15_000)
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#block-serial")
        refusal = text(REFUSALS, "block_daily_cap", "vi").format(per_day=per_day)
        _wait_for(page, f"document.querySelector('#status').textContent === {json.dumps(refusal)}")
        assert page.inner_text("#block-message") == refusal  # next to the button, too
        assert _verdict(page)["verdict"] == "genuine"
        _shot(page, "09-inspector-block-refused")
    finally:
        browser.close()


def test_an_inspector_blocks_a_copied_stamp_from_the_scanner(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Last in this file: it blocks the 5-star sample for the rest of the module."""
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine_5_stars"]))
    try:
        context = _context(browser)
        page = context.new_page()
        page.goto(f"{server.url}/scan")
        assert _online_verdict(page)["verdict"] == "genuine"
        assert page.is_hidden("#block")  # only for a signed-in inspector
        page.fill("#token", info["tokens"]["inspector"])
        page.press("#token", "Enter")
        page.wait_for_selector("#block:not([hidden])")
        page.once("dialog", lambda dialog: dialog.accept())
        page.click("#block-serial")
        page.wait_for_selector("#result .band[data-verdict='suspected_clone']", timeout=15_000)
        assert "Đã khóa sê-ri" in page.inner_text("#status")
        assert page.is_hidden("#block")  # blocked once, not twice
        _shot(page, "08-inspector-blocked-a-copy")
    finally:
        browser.close()
    payload = parse_stamp(info["stamp_urls"]["genuine_5_stars"]).payload
    deadline = time.monotonic() + 15  # offline scanners too, once the signer has signed it
    while True:
        document = urllib.request.urlopen(  # noqa: S310 - loopback
            f"{server.url}/.well-known/ocop/status-list", timeout=5
        ).read()
        status_list = StatusList.verify(
            document, [b64url_decode(info["root_public_key"])], datetime.now(UTC)
        )
        if status_list.is_blocked(payload.key_index, payload.serial):
            break
        assert time.monotonic() < deadline, "the served status list never showed the block"
        time.sleep(0.2)


def test_offline_at_national_size_genuine_revoked_and_forged(
    playwright: Playwright, tmp_path: Path
) -> None:
    """50,000 certificates, 20,000 blocked serials, 2,000 voided batches (the size the issue
    asks offline verdicts to survive; the old page lost its lists above about 8,400): after
    one visit, with the server stopped and the phone offline, a genuine stamp of the national
    registry is green with its product, one whose certificate was revoked before the visit is
    revoked, and a forgery is caught."""
    built = build_national_registry(tmp_path / "data", NationalShape.of(50_000), datetime.now(UTC))
    key = PrivateKey.from_pem((tmp_path / "data/keys/province-01.pem").read_bytes(), b"demo")
    genuine, revoked = (sign_payload(p, key).url("ocop.vn") for p in built.revocable[:2])
    browser = _browser(playwright, _camera(tmp_path, genuine))
    with _own_server(tmp_path / "data") as server:
        token = built.demo["tokens"]["authority_VN-01"]
        body = {"decision": "QĐ 12/QĐ-UBND", "decision_date": "2026-12-01", "reason": "Vi phạm"}
        certificate = built.revocable[1].certificate_id
        before = _status_version(server)
        assert _post(server, f"/api/v1/certificates/{certificate}/revoke", body, token) == 200
        deadline = time.monotonic() + 60  # signed off the request path, within seconds
        while _status_version(server) == before:
            assert time.monotonic() < deadline, "the revocation never reached the status list"
            time.sleep(0.2)
        try:
            context = _context(browser)
            page = context.new_page()
            _install_offline(page, server)
            _wait_for(page, "window.ocopScanner.listsKept === true", timeout=60_000)
            server.stop()
            context.set_offline(True)
            page.reload()
            answer = _verdict(page, timeout=30_000)
            assert answer["verdict"] == "genuine"
            assert page.evaluate("window.ocopScanner.listsFrom") == "kept"
            assert _product_name(tmp_path / "data", built.revocable[0]) in answer["text"]
            _upload(page, "#photo", "revoked.jpg", revoked)
            page.wait_for_selector("#result .band[data-verdict='revoked']", timeout=30_000)
            _upload(page, "#photo", "forged.jpg", built.demo["stamp_urls"]["counterfeit"])
            page.wait_for_selector("#result .band[data-verdict='counterfeit']", timeout=30_000)
            _shot(page, "20-offline-national-size-forgery")
        finally:
            browser.close()


def _product_name(data_dir: Path, payload: Payload) -> str:
    """The registry's name of the product a stamp's certificate recognises."""
    with _registry(data_dir) as session:
        name: str = registry.get(session, Certificate, payload.certificate_id).product.name
        return name


def test_the_stamp_page_shows_the_lots_trace_at_360_px(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Issue 20: the genuine honey stamp's page traces its lot (origin, stages as a timeline,
    standards, documents), set apart as the producer's declaration, in each language."""
    urls = demo_dir[1]["stamp_urls"]
    browser = _browser(playwright, _camera(tmp_path, urls["genuine"]))
    try:
        page = _context(browser, width=360).new_page()
        for language, title, declared in (
            ("vi", "Truy xuất nguồn gốc", "do nhà sản xuất tự khai báo"),
            ("en", "Traceability", "The producer declared this"),
        ):
            page.goto(f"{server.url}/s/{urls['genuine'].rsplit('/', 1)[1]}?lang={language}")
            section = page.locator("section.trace")
            assert section.locator("h2").inner_text() == title
            assert declared in section.locator(".declared").inner_text()
            assert section.locator(".timeline li").count() == 3
            assert "MO-2026-05" in section.inner_text()
            assert "Hưng Yên" in section.inner_text()  # the honey's origin, one step back
            _assert_accessible_at_360_px(page)
            section.scroll_into_view_if_needed()
            page.screenshot(path=str(_shots() / f"20-trace-{language}.png"), full_page=True)
        page.goto(f"{server.url}/s/{urls['counterfeit'].rsplit('/', 1)[1]}")
        assert page.locator("section.trace").count() == 0
    finally:
        browser.close()


def _shots() -> Path:
    SHOTS.mkdir(exist_ok=True)
    return SHOTS


def test_the_signed_in_producer_page_with_its_lot_forms_passes_axe_at_360_px(
    playwright: Playwright, server: Server, demo_dir: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    """Issue 20: the producer page's lot forms (declare a lot, add a stage, choose the lot an
    order labels), usable on a phone."""
    info = demo_dir[1]
    browser = _browser(playwright, _camera(tmp_path, info["stamp_urls"]["genuine"]))
    try:
        page = _context(browser, width=360).new_page()
        page.goto(server.url + "/producer")
        page.fill("#token", info["tokens"]["producer"])
        page.press("#token", "Enter")
        page.wait_for_selector("#lot_number")
        assert page.locator("#lot_id option").count() >= 2  # none, and the demo's honey lot
        page.locator("details summary").first.click()  # the stage form, opened
        _assert_accessible_at_360_px(page)
        page.screenshot(path=str(_shots() / "20-producer-lots.png"), full_page=True)
    finally:
        browser.close()


def test_a_buyer_claims_the_pack_and_a_second_phone_is_warned_at_360_px(
    playwright: Playwright, tmp_path: Path
) -> None:
    """Issue 21: a phone films the stamp (genuine), opens its page, scratches the foil and
    types the PIN: the first to confirm the pack. Another phone typing the same PIN is told
    when and where it was confirmed first, that the pack may have been refilled, and offered
    the report. Both wordings at 360 px, axe clean."""
    data_dir = tmp_path / "data"
    claim = create_demo(data_dir, b"demo", datetime.now(UTC))["claim"]
    path = claim["url"].removeprefix("https://ocop.vn")
    browser = _browser(playwright, _camera(tmp_path, claim["url"]))
    try:
        with _own_server(data_dir) as server:
            first_phone = _context(browser, width=360).new_page()
            first_phone.goto(f"{server.url}/scan")
            assert _online_verdict(first_phone)["verdict"] == "genuine"
            note = first_phone.locator("#claim-note")
            assert "mã PIN dưới lớp cào" in note.inner_text()
            _assert_accessible_at_360_px(first_phone)
            note.locator("a").click()  # the scanner sends the buyer to the stamp's page
            assert first_phone.locator("#pin").is_visible()
            first_phone.goto(server.url + path)  # as the phone's camera opens it
            first_phone.fill("#pin", claim["pin"])
            first_phone.select_option("#province", "01")
            first_phone.click("section.claim button[type=submit]")
            result = first_phone.locator("#claim-result")
            assert result.get_attribute("data-claim") == "first"
            assert result.inner_text().startswith("Bạn là người đầu tiên xác nhận gói hàng này")
            _assert_accessible_at_360_px(first_phone)
            result.scroll_into_view_if_needed()
            first_phone.screenshot(path=str(_shots() / "21-claim-first-360.png"), full_page=True)

            second_phone = _context(browser, width=360).new_page()  # another buyer, elsewhere
            second_phone.goto(server.url + path)
            assert "đã được xác nhận bằng mã PIN lần đầu" in second_phone.inner_text(
                "#claim-status"
            )
            second_phone.fill("#pin", claim["pin"].replace(" ", ""))
            second_phone.click("section.claim button[type=submit]")
            warned = second_phone.locator("#claim-result")
            assert warned.get_attribute("data-claim") == "already_claimed"
            assert "tại Hà Nội" in warned.inner_text()
            assert "chiết lại" in warned.inner_text()
            assert second_phone.locator("section.claim a.button").get_attribute(
                "href", timeout=1_000
            )
            _assert_accessible_at_360_px(second_phone)
            warned.scroll_into_view_if_needed()
            second_phone.screenshot(path=str(_shots() / "21-claim-second-360.png"), full_page=True)
    finally:
        browser.close()
