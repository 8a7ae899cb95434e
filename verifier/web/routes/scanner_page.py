"""The scanner page for phones, and its service worker.

The page's code is versioned by content: the page names each of its files with ``?v=`` and
the file's own hash (so no HTTP cache serves old code), and the service worker is served with
the list of those names and a cache name made from all of them, so a change to any file of
the page installs a new worker, which keeps the new files and deletes the old cache."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import HTMLResponse

from verifier.i18n.messages import scanner_texts
from verifier.settings import Settings
from verifier.web.deps import LanguageDep, ServiceDep
from verifier.web.routes.consumer_pages import render

router = APIRouter(include_in_schema=False)
PACKAGE_STATIC = Path(__file__).parent.parent / "static"
TEMPLATES = Path(__file__).parent.parent / "templates"
#: The answer's header naming the version of the page's files it refers to: the service
#: worker keeps a page only with the files it was made for.
SHELL_HEADER = "OCOP-Shell-Version"

#: The static files the page loads by a versioned name (``?v=`` and the file's hash).
VERSIONED = (
    "scan.css",
    "scan.js",
    "ocop-verify.js",
    "vendor/zxing-wasm/zxing-reader.js",
    "vendor/zxing-wasm/zxing_reader.wasm",
)
#: Loaded by names the page cannot version: the site's style sheet (every page's) and what
#: ocop-verify.js imports; the worker fetches them again whenever the version changes.
UNVERSIONED = ("ocop.css", "vendor/noble-ed25519/ed25519.js")
PAGES = ("/scan", "/scan?lang=en")
WORKER = "sw.js"
_WORKER_SLOTS = ('"__OCOP_SHELL_VERSION__"', '["__OCOP_SHELL_FILES__"]')


def static_dir(settings: Settings) -> Path:
    """Return the directory /static is served from: ``settings.static_dir`` or the package's."""
    return settings.static_dir or PACKAGE_STATIC


@dataclass(frozen=True, slots=True)
class Shell:
    """The page's files as a phone keeps them: ``version`` names them all together (the
    worker's cache), ``urls`` gives each static file's name to load it by, ``worker`` is the
    service worker's source with both filled in."""

    version: str
    urls: dict[str, str]
    worker: str


def _digest(*parts: bytes) -> str:
    hashed = hashlib.sha256()
    for part in parts:
        hashed.update(hashlib.sha256(part).digest())
    return hashed.hexdigest()[:16]


@lru_cache(maxsize=4)
def _shell(static: Path, _stamps: tuple[tuple[int, int], ...]) -> Shell:
    """The shell of ``static`` as its files are now; ``_stamps`` (each file's modification time
    and size) only keys the cache, so a changed file is read again."""
    urls = {name: f"/static/{name}?v={_digest((static / name).read_bytes())}" for name in VERSIONED}
    urls |= {name: f"/static/{name}" for name in UNVERSIONED}
    others = [(static / name).read_bytes() for name in (*UNVERSIONED, WORKER)]
    templates = [(TEMPLATES / name).read_bytes() for name in ("base.html", "scan.html")]
    version = _digest(*(url.encode() for url in urls.values()), *others, *templates)
    files = [*PAGES, *urls.values()]
    worker = (static / WORKER).read_text("utf-8")
    for slot, value in zip(_WORKER_SLOTS, (json.dumps(version), json.dumps(files)), strict=True):
        if slot not in worker:
            raise RuntimeError(f"{static / WORKER} lacks its slot {slot}")
        worker = worker.replace(slot, value)
    return Shell(version, urls, worker)


def shell(static: Path) -> Shell:
    """Return the page's files in ``static`` as they are on disk now (hashed again only when
    one's modification time or size changed). Raises ``OSError`` when one is missing."""
    watched = [static / name for name in (*VERSIONED, *UNVERSIONED, WORKER)]
    watched += [TEMPLATES / "base.html", TEMPLATES / "scan.html"]
    stamps = tuple((s.st_mtime_ns, s.st_size) for s in (path.stat() for path in watched))
    return _shell(static, stamps)


@router.get("/scan", response_class=HTMLResponse)
def scan(request: Request, service: ServiceDep, language: LanguageDep) -> HTMLResponse:
    files = shell(static_dir(service.settings))
    config = {
        "lang": language,
        "root_keys": [service.root_public.hex()],
        "max_list_age_hours": service.settings.scanner_list_age_hours,
        "shell": {"version": files.version, "urls": files.urls},
        "texts": scanner_texts(language),
    }
    page = render(request, "scan.html", language, {"config": config, "shell": files.urls})
    page.headers[SHELL_HEADER] = files.version
    return page


@router.get("/sw.js")
def service_worker(service: ServiceDep) -> Response:
    """The service worker, served from the root so that it may control /scan, with the names
    and the version of the page's files filled in."""
    return Response(
        shell(static_dir(service.settings)).worker,
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
    )
