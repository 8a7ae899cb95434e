"""The scanner at national scale on a cheap phone on 3G (issue 17): for a registry of each size
(tests/national_registry.py), the signed documents' sizes and what a phone lives through.

    .venv/bin/python bench/scanner_national.py [--sizes 15000,50000] [--runs 3] [--baseline 100]

The phone: Debian's Chromium, 360x740, vi-VN, the page's CPU slowed 4x (CDP; its service worker
runs at full speed), a fake camera filming a genuine stamp, and every byte through
bench/shaped_link.py (3G over HTTPS: 1.6 Mbit/s down, 750 kbit/s up, 300 ms round trip). Each
run, with a fresh browser profile:

1. First visit: page open -> camera on (``ocopScanner.timings.cameraStarted``), -> usable offline;
   bytes down until the page settles; the tab's JavaScript heap (``JSHeapUsedSize``), its peak
   sampled every half second until the page settles and its size then.
   Usable offline is when both the lists are stored and verified and the service worker holds the
   page (its registration active): the lists' moment is ``ocopScanner.timings.listsReady`` when
   the page records it, else the first poll (every 100 ms) that sees ``ocopScanner.snapshot``
   set (the page sets it after loading its lists), and the worker's the first poll that sees it
   active. That it is usable is then checked, not assumed: with the network cut, the page is
   opened again and must give a verdict on the filmed genuine stamp within 15 s of its camera
   starting, and catch a forged one (a photo); camera on -> verdict is the offline verdict time.
2. Revisit: the browser is closed and opened again on its profile; page open -> camera on, bytes.
3. Revisit after one revocation: a Hà Nội certificate is revoked through the API, and once the
   server's status list and snapshot have changed the browser opens the page again; bytes down
   until it settles (those of the lists: everything but the page, its code and its online
   checks). With the network cut, a photo of a stamp of the revoked certificate must then be
   answered "revoked": the update reached the phone.

A page has settled when its camera is on, ``ocopScanner.ready`` is set (the page sets it once it
has loaded its lists and asked the network for newer ones) and the link has been quiet for 2 s
with its lists ready, or for 5 s without. Figures are medians over the runs; a target is met
when every run met it. The same runs on a small registry (``--baseline``) give a baseline
measured on the same machine at the same time.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import itertools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import (  # noqa: E402
    BrowserContext,
    CDPSession,
    FilePayload,
    Page,
    Playwright,
    ViewportSize,
    sync_playwright,
)
from playwright.sync_api import Error as PlaywrightError  # noqa: E402

from bench.shaped_link import ShapedLink  # noqa: E402
from signing import Payload, PrivateKey, sign_payload  # noqa: E402
from tests.browser.camera import stamp_frame, write_y4m  # noqa: E402
from tests.national_registry import (  # noqa: E402
    NationalRegistry,
    NationalShape,
    build_national_registry,
)
from tests.test_scanner import CHROMIUM, FLAGS, Server  # noqa: E402
from verifier.settings import DEFAULT_HOST  # noqa: E402

CPU_SLOWDOWN = 4
PHONE = ViewportSize(width=360, height=740)
DOCUMENTS = ("trust-list", "status-list", "registry-snapshot")
CODE_PATHS = ("/scan", "/static/", "/sw.js", "/favicon.ico", "/api/v1/verify")
TARGET_FIRST_OFFLINE_MS = 15_000
TARGET_REVISIT_CAMERA_MS = 2_000
TARGET_REVOCATION_BYTES = 10_000
VERDICT_WAIT_S = 15  # after the camera starts; a phone's user would not wait longer
_STATE = """async () => {
  const s = window.ocopScanner || {};
  const r = navigator.serviceWorker ? await navigator.serviceWorker.getRegistration() : null;
  const band = document.querySelector("#result .band[data-verdict]");
  return {now: performance.now(), timings: s.timings || {}, ready: s.ready === true,
          lists: !!(s.timings && s.timings.listsReady !== undefined) || !!s.snapshot,
          worker: !!(r && r.active && r.active.state === "activated"),
          verdict: band ? band.dataset.verdict : null};
}"""


@dataclass
class Run:
    """One run's figures (times in ms from page open); ``None``: it never happened."""

    first_camera: float | None = None
    first_offline: float | None = None
    first_bytes: int = 0
    heap_mb: float | None = None
    offline_genuine: bool = False
    offline_forgery: bool = False
    offline_verdict: float | None = None
    revisit_camera: float | None = None
    revisit_bytes: int = 0
    revoked_bytes: int = 0
    revoked_list_bytes: int = 0
    revoked_offline: bool = False
    heap_peak_mb: float | None = None
    error: str | None = None  # what stopped the run, if anything did
    first_paths: dict[str, int] = field(default_factory=dict)
    revoked_paths: dict[str, int] = field(default_factory=dict)


@dataclass
class Settled:
    camera: float | None
    lists: float | None
    worker: float | None

    @property
    def offline(self) -> float | None:
        return None if self.lists is None or self.worker is None else max(self.lists, self.worker)


class Phone:
    """A Chromium profile that survives relaunches, on the shaped link, its CPU slowed 4x."""

    def __init__(
        self, playwright: Playwright, link: ShapedLink, camera: Path, profile: Path
    ) -> None:
        self.playwright, self.link, self.camera, self.profile = playwright, link, camera, profile
        self.context: BrowserContext | None = None
        self.cdp: CDPSession | None = None
        self.heap_peak_mb = 0.0

    def open(self) -> Page:
        """Open /scan in a new page (launching the browser if it is closed); return the page."""
        if self.context is None:
            self.context = self.playwright.chromium.launch_persistent_context(
                str(self.profile), executable_path=CHROMIUM,
                args=[*FLAGS, f"--use-file-for-fake-video-capture={self.camera}",
                      f"--ignore-certificate-errors-spki-list={self.link.spki}"],
                viewport=PHONE, is_mobile=True, has_touch=True, locale="vi-VN",
                permissions=["camera"],
            )  # fmt: skip
        for page in self.context.pages:
            page.close()
        page = self.context.new_page()
        self.cdp = self.context.new_cdp_session(page)
        self.cdp.send("Emulation.setCPUThrottlingRate", {"rate": CPU_SLOWDOWN})
        self.cdp.send("Performance.enable")
        with suppress(PlaywrightError):  # offline with nothing cached: the browser's error
            page.goto(f"{self.link.url}/scan", wait_until="commit", timeout=60_000)
        return page

    def heap_mb(self) -> float:
        """Return the open page's JavaScript heap in use, in MB."""
        assert self.cdp is not None
        metrics = self.cdp.send("Performance.getMetrics")["metrics"]
        used = next(m["value"] for m in metrics if m["name"] == "JSHeapUsedSize")
        return float(used) / 1e6

    def sample_heap(self) -> None:
        """Keep the largest heap seen in ``heap_peak_mb``."""
        with suppress(PlaywrightError):
            self.heap_peak_mb = max(self.heap_peak_mb, self.heap_mb())

    def close(self) -> None:
        if self.context is not None:
            self.context.close()
            self.context = None


def _state(page: Page) -> dict[str, Any] | None:
    try:
        state: dict[str, Any] = page.evaluate(_STATE)
    except PlaywrightError:  # navigating, or no page script
        return None
    return state


def settle(phone: Phone, page: Page, timeout: float = 120) -> Settled:
    """Poll the page until it has settled (see the module's docstring), sampling its heap every
    half second; return when its camera started, its lists were ready and its service worker
    active (``None``: not seen)."""
    link = phone.link
    lists = worker = None
    state: dict[str, Any] | None = None
    deadline = time.monotonic() + timeout
    for poll in itertools.count():
        if time.monotonic() > deadline:
            break
        if poll % 5 == 0:
            phone.sample_heap()
        state = _state(page) or state
        if state is not None:
            if lists is None and state["lists"]:
                lists = state["timings"].get("listsReady", state["now"])
            if worker is None and state["worker"]:
                worker = state["now"]
            begun = "cameraStarted" in state["timings"] and state["ready"]
            quiet = link.quiet_for()
            if begun and (quiet >= 5 or (quiet >= 2 and lists is not None)):
                break
        time.sleep(0.1)
    camera = None if state is None else state["timings"].get("cameraStarted")
    return Settled(camera, lists, worker)


def _photo(url: str) -> FilePayload:
    out = io.BytesIO()
    stamp_frame(url, angle=0, blur=0).save(out, format="JPEG", quality=85)
    return FilePayload(name="stamp.jpg", mimeType="image/jpeg", buffer=out.getvalue())


def _band(page: Page, given_up: Callable[[dict[str, Any]], bool]) -> str | None:
    """Wait for a verdict band until ``given_up(state)``; return its verdict (``None``: none)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        state = _state(page)
        if state is not None:
            if state["verdict"]:
                return str(state["verdict"])
            if given_up(state):
                return None
        time.sleep(0.1)
    return None


def _camera_waited(state: dict[str, Any]) -> bool:
    started = state["timings"].get("cameraStarted")
    return started is not None and state["now"] - started > VERDICT_WAIT_S * 1000


def _after(moment: float) -> Callable[[dict[str, Any]], bool]:
    return lambda _: time.monotonic() > moment


@contextmanager
def offline(phone: Phone) -> Iterator[Page]:
    """The page opened again with the network cut (restored afterwards)."""
    phone.link.cut()
    try:
        yield phone.open()
    finally:
        phone.link.restore()


def check_offline(
    phone: Phone, photos: list[str]
) -> tuple[str | None, float | None, list[str | None]]:
    """With the network cut, open the page; return the verdict on the filmed stamp, camera on ->
    that verdict (ms), and the verdicts on ``photos`` (stamp URLs), in order."""
    with offline(phone) as page:
        filmed = _band(page, _camera_waited)
        timings = (_state(page) or {}).get("timings", {})
        seen, started = timings.get("firstVerdict"), timings.get("cameraStarted")
        took = seen - started if filmed and seen is not None and started is not None else None
        answers: list[str | None] = []
        for url in photos:
            try:
                page.evaluate("document.getElementById('result').innerHTML = ''")
                page.set_input_files("#photo", files=[_photo(url)])
            except PlaywrightError:
                answers.append(None)
                continue
            answers.append(_band(page, _after(time.monotonic() + VERDICT_WAIT_S)))
    return filmed, took, answers


def fingerprint(server: Server) -> tuple[str, ...]:
    """Return the digests of the server's status list and snapshot as it serves them now."""
    return tuple(
        hashlib.sha256(
            httpx.get(f"{server.url}/.well-known/ocop/{name}", timeout=300).content
        ).hexdigest()
        for name in ("status-list", "registry-snapshot")
    )


def revoke(server: Server, built: NationalRegistry, stamp: Payload) -> None:
    """Revoke ``stamp``'s certificate through the API and wait until the server's lists say so."""
    before = fingerprint(server)
    answer = httpx.post(
        f"{server.url}/api/v1/certificates/{stamp.certificate_id}/revoke",
        headers={"Authorization": f"Bearer {built.demo['tokens']['authority_VN-01']}"},
        json={"decision": "9001/QĐ-UBND", "decision_date": datetime.now(UTC).date().isoformat(),
              "reason": "Vi phạm quy định về an toàn thực phẩm"},
        timeout=60,
    )  # fmt: skip
    answer.raise_for_status()
    deadline = time.monotonic() + 60
    while any(a == b for a, b in zip(fingerprint(server), before, strict=True)):
        if time.monotonic() > deadline:
            raise RuntimeError("the server's lists did not change after a revocation")
        time.sleep(0.2)


def one_run(
    playwright: Playwright, server: Server, link: ShapedLink, built: NationalRegistry,
    camera: Path, work: Path, number: int,
) -> Run:  # fmt: skip
    """Run the three visits of the module's docstring with a fresh profile; return the figures."""
    run = Run()
    phone = Phone(playwright, link, camera, work / f"profile-{number}")
    try:
        _visits(run, phone, server, built, number)
    except (PlaywrightError, httpx.HTTPError, RuntimeError) as error:
        run.error = f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        phone.close()
    return run


def _visits(run: Run, phone: Phone, server: Server, built: NationalRegistry, number: int) -> None:
    link, samples = phone.link, built.demo["stamp_urls"]
    link.reset()
    page = phone.open()
    first = settle(phone, page)
    run.first_camera, run.first_offline = first.camera, first.offline
    run.first_bytes, run.first_paths = link.bytes_down, link.by_path()
    run.heap_mb = phone.heap_mb()
    run.heap_peak_mb = max(phone.heap_peak_mb, run.heap_mb)
    filmed, run.offline_verdict, (forged,) = check_offline(phone, [samples["counterfeit"]])
    run.offline_genuine, run.offline_forgery = filmed == "genuine", forged == "counterfeit"
    if first.offline is not None and not (run.offline_genuine and run.offline_forgery):
        run.first_offline = None  # the page said it was ready, but it did not work offline

    phone.close()
    link.reset()
    revisit = settle(phone, phone.open())
    run.revisit_camera, run.revisit_bytes = revisit.camera, link.bytes_down

    phone.close()
    stamp = built.revocable[number]
    revoke(server, built, stamp)
    link.reset()
    settle(phone, phone.open())
    run.revoked_bytes, run.revoked_paths = link.bytes_down, link.by_path()
    run.revoked_list_bytes = sum(
        n for path, n in run.revoked_paths.items() if not path.startswith(CODE_PATHS)
    )
    if filmed is None and forged is None:
        return  # no verdict offline at all: none on the revoked stamp either (saves a minute)
    key = PrivateKey.from_pem((server.data_dir / "keys/province-01.pem").read_bytes(), b"demo")
    _, _, (answer,) = check_offline(phone, [sign_payload(stamp, key).url(DEFAULT_HOST)])
    run.revoked_offline = answer == "revoked"


def document_sizes(server: Server) -> list[str]:
    """Return the table of the signed documents' sizes: raw, and as served for gzip and br."""
    lines = [f"  {'document':<20}{'raw':>12}{'Accept-Encoding: gzip':>32}{'br':>26}"]
    for name in DOCUMENTS:
        cells = []
        for encoding in ("identity", "gzip", "br"):
            with httpx.stream(
                "GET", f"{server.url}/.well-known/ocop/{name}",
                headers={"Accept-Encoding": encoding}, timeout=60,
            ) as response:  # fmt: skip
                size = sum(len(chunk) for chunk in response.iter_raw())
                served = response.headers.get("content-encoding", "identity")
            cells.append(f"{size:>12,}" if encoding == "identity" else f"{size:>18,} ({served})")
        lines.append(f"  {name:<20}{cells[0]}{cells[1]:>32}{cells[2]:>26}")
    return lines


@dataclass
class Measured:
    label: str
    built: NationalRegistry
    build_seconds: float
    sizes: list[str]
    runs: list[Run]
    encodings: set[str]


def measure(playwright: Playwright, certificates: int, runs: int) -> Measured:
    """Build a registry of ``certificates``, serve it behind the 3G link, run the visits."""
    work = Path(tempfile.mkdtemp(prefix=f"ocop-national-{certificates}-"))
    started = time.monotonic()
    built = build_national_registry(
        work / "data", NationalShape.of(certificates), datetime.now(UTC)
    )
    build_seconds = time.monotonic() - started
    camera = write_y4m(stamp_frame(built.demo["stamp_urls"]["genuine"]), work / "camera.y4m")
    server = Server(work / "data")
    server.start()
    link = ShapedLink(server.port)
    link.start()
    try:
        sizes = document_sizes(server)
        results = []
        for number in range(runs):
            results.append(one_run(playwright, server, link, built, camera, work, number))
            print(
                f"\n  {certificates:,} certificates: run {number + 1}/{runs} done", file=sys.stderr
            )
    finally:
        link.stop()
        server.stop()
    return Measured(
        f"{certificates:,}", built, build_seconds, sizes, results, link.accept_encodings
    )


def _median(values: list[float | None]) -> float | None:
    seen = [v for v in values if v is not None]
    return statistics.median(seen) if seen else None


def _cell(values: list[float | None], unit: str) -> str:
    """The median of the runs' values, with how many runs had one when not all did."""
    middle = _median(values)
    if middle is None:
        return "never"
    text = {
        "ms": f"{middle:,.0f} ms",
        "s": f"{middle / 1000:.1f} s",
        "KB": f"{middle / 1000:,.1f} KB",
        "MB": f"{middle:.0f} MB",
    }[unit]
    missing = sum(v is None for v in values)
    return text if not missing else f"{text} ({len(values) - missing}/{len(values)})"


def _verdict(values: list[float | None], limit: float) -> str:
    return "PASS" if all(v is not None and v <= limit for v in values) else "FAIL"


def _count(flags: list[bool]) -> str:
    return f"{sum(flags)}/{len(flags)}"


def _short(path: str) -> str:
    """Return a request path without its query's values (``/x?since=12`` -> ``/x?since``)."""
    path, _, query = path.partition("?")
    return f"{path}?{query.split('=')[0]}" if query else path


def report(measured: Measured, baseline: Measured) -> list[str]:
    """Return the table for one registry size, beside the baseline's figures."""
    shape, built, runs = measured.built.shape, measured.built, measured.runs
    national = shape.certificates <= 15_000  # the time and byte targets: at 15,000
    lines = [
        "",
        f"== {shape.certificates:,} certificates, {built.keys} keys, {built.producers:,} producers,"
        f" {built.products:,} products, {built.lots:,} lots, {built.batches:,} batches,"
        f" {shape.blocked:,} blocked"
        f" serials, {shape.voided:,} voided batches (built in {measured.build_seconds:.1f} s)",
        "signed documents, bytes (as served: the body as it crossed the wire)",
        *measured.sizes,
        f"phone on 3G, CPU 4x slower, 360x740; medians of {len(runs)} runs; baseline: "
        f"{baseline.built.shape.certificates:,} certificates",
        f"  {'':<44}{'baseline':>14}{measured.label:>16}   target",
    ]

    def row(name: str, pick: Callable[[Run], float | None], unit: str, target: str = "",
            limit: float | None = None) -> None:  # fmt: skip
        values = [pick(r) for r in runs]
        base = _cell([pick(r) for r in baseline.runs], unit)
        judged = "" if limit is None else f"{target:<9}{_verdict(values, limit)}"
        lines.append(f"  {name:<44}{base:>14}{_cell(values, unit):>16}   {judged}".rstrip())

    def flags(name: str, pick: Callable[[Run], bool], target: str = "") -> None:
        base = _count([pick(r) for r in baseline.runs])
        mine = [pick(r) for r in runs]
        judged = f"{target:<9}{'PASS' if all(mine) else 'FAIL'}" if target else ""
        lines.append(f"  {name:<44}{base:>14}{_count(mine):>16}   {judged}".rstrip())

    first_target = ("<= 15 s", TARGET_FIRST_OFFLINE_MS) if national else ("", None)
    revisit_target = ("<= 2 s", TARGET_REVISIT_CAMERA_MS) if national else ("", None)
    revoke_target = ("<= 10 KB", TARGET_REVOCATION_BYTES) if national else ("", None)
    row("first visit: page open -> camera on", lambda r: r.first_camera, "s")
    row("first visit: page open -> usable offline", lambda r: r.first_offline, "s", *first_target)
    row("first visit: bytes down", lambda r: r.first_bytes, "KB")
    row("tab's JavaScript heap, first visit: peak", lambda r: r.heap_peak_mb, "MB")
    row("tab's JavaScript heap, first visit: settled", lambda r: r.heap_mb, "MB")
    flags("offline: genuine stamp verified (runs)", lambda r: r.offline_genuine, "all")
    flags("offline: forgery caught (runs)", lambda r: r.offline_forgery, "all")
    row("offline: camera on -> verdict", lambda r: r.offline_verdict, "ms")
    row("revisit: page open -> camera on", lambda r: r.revisit_camera, "s", *revisit_target)
    row("revisit: bytes down", lambda r: r.revisit_bytes, "KB")
    row("one revocation later: list bytes down", lambda r: r.revoked_list_bytes, "KB",
        *revoke_target)  # fmt: skip
    row("one revocation later: all bytes down", lambda r: r.revoked_bytes, "KB")
    flags("one revocation later: offline says revoked", lambda r: r.revoked_offline)
    lines += [f"  run {n + 1} stopped: {r.error}" for n, r in enumerate(runs) if r.error]
    last = runs[-1]
    for title, paths in (("first visit", last.first_paths), ("revisit after the revocation",
                                                              last.revoked_paths)):  # fmt: skip
        top = ", ".join(f"{_short(p)} {n / 1000:,.1f} KB" for p, n in list(paths.items())[:6])
        lines.append(f"  bytes by request, {title} (last run): {top}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="15000,50000", help="certificates, comma-separated")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--baseline", type=int, default=100, help="the small registry's size")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    started = time.monotonic()
    with sync_playwright() as playwright:
        baseline = measure(playwright, args.baseline, args.runs)
        measured = [measure(playwright, n, args.runs) for n in sizes]
    print("The scanner at national scale: Chromium, 3G over HTTPS (1.6 Mbit/s down, 750 kbit/s "
          "up, 300 ms RTT) through a TCP proxy, CPU 4x slower")  # fmt: skip
    print(f"the browser sent Accept-Encoding: {', '.join(sorted(baseline.encodings)) or '?'}")
    for one in measured:
        print("\n".join(report(one, baseline)))
    print(f"\ntargets at 15,000: usable offline on a first visit <= 15 s on 3G, camera <= 2 s on "
          f"a revisit, one revocation <= {TARGET_REVOCATION_BYTES:,} bytes of lists to a phone; "
          "at every size offline verdicts work.")  # fmt: skip
    print(f"took {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
