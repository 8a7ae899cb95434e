"""The FastAPI application factory."""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verifier.deps import Clock
from verifier.errors import ServiceError
from verifier.qrimage import PhotoReader
from verifier.routers import (
    batches,
    desk,
    pages,
    producer,
    public,
    registry,
    reports,
    scan,
    verify,
    wellknown,
)
from verifier.routers.verify import CODE_LIMIT
from verifier.service import Service
from verifier.views import verdict_body

_log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".js")


def system_clock() -> datetime:
    """The only place the service reads the time."""
    return datetime.now(UTC)


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """Return the JSON body of every error answer."""
    return {"error": {"code": code, "message": message, **extra}}


class BodyLimit:
    """Refuse request bodies larger than ``body_limit`` bytes (``upload_limit`` for multipart
    uploads and for inspector reports, which carry photos) with 413, without reading them
    whole."""

    UPLOAD_PATHS = frozenset({"/api/v1/reports"})

    def __init__(self, app: ASGIApp, body_limit: int, upload_limit: int) -> None:
        self.app, self.body_limit, self.upload_limit = app, body_limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        multipart = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        upload = multipart or scope["path"] in self.UPLOAD_PATHS
        limit = self.upload_limit if upload else self.body_limit
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(send, limit)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _BodyTooLarge:
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        response = JSONResponse(
            error_body("too_large", f"the request body is larger than {limit} bytes"),
            status_code=413,
        )
        await response({"type": "http"}, _empty_receive, send)


class FastVerify:
    """Answers the hot path, an anonymous ``GET /api/v1/verify`` with well-formed parameters,
    without the framework's routing and validation (the same service call and the same JSON).
    Anything else, including every malformed or authenticated request, goes to FastAPI."""

    PATH = "/api/v1/verify"
    _FIELDS = frozenset({"code", "stars_seen", "device_id", "location"})

    def __init__(self, app: ASGIApp, service: Service, clock: Clock) -> None:
        self.app, self.service, self.clock = app, service, clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        query = self._simple_query(scope)
        if query is None:
            await self.app(scope, receive, send)
            return
        stars = query.get("stars_seen")
        result = self.service.verify(
            query["code"],
            self.clock(),
            stars_seen=int(stars) if stars else None,
            device_id=query.get("device_id"),
            location=query.get("location"),
        )
        body = verdict_body(result, self.service.settings.public_host)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _simple_query(self, scope: Scope) -> dict[str, str] | None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != self.PATH:
            return None
        for name, _ in scope["headers"]:
            if name == b"authorization":
                return None
        pairs = _query_pairs(scope["query_string"].decode("latin-1"))
        query = dict(pairs)
        if len(query) != len(pairs) or not query.keys() <= self._FIELDS or "code" not in query:
            return None
        if len(query["code"]) > CODE_LIMIT:
            return None
        if len(query) > 1 and (
            len(query.get("device_id", "")) > 64 or len(query.get("location", "")) > 64
        ):
            return None
        stars = query.get("stars_seen")
        if stars is not None and stars not in ("1", "2", "3", "4", "5"):
            return None
        return query


def _query_pairs(text: str) -> list[tuple[str, str]]:
    """Return the query's name-value pairs as ``parse_qsl(text, keep_blank_values=True)`` does,
    splitting plain queries (no escapes, which is every scanner's) without it."""
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True)
    return [f.partition("=")[::2] for f in text.split("&") if f]


class Compressed:
    """Gzip what a phone on a slow connection downloads to scan: the scanner page, its code
    and decoder, the signed documents (the PDFs and PNGs of batches are compressed already)."""

    PREFIXES = ("/static/", "/.well-known/", "/scan", "/sw.js", "/s/", "/S/")

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=1000, compresslevel=6)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(self.PREFIXES):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b""}


def create_app(service: Service, clock: Clock = system_clock) -> ASGIApp:
    """Return the application serving ``service``; ``clock`` gives the time of each request.

    The FastAPI application sits behind :class:`FastVerify`, outermost so that the hot path
    pays for no framework layer at all."""

    photos = PhotoReader(service.settings.photo_threads, service.settings.photo_queue)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        photos.close()
        service.close()

    app = FastAPI(
        title="OCOP stamp",
        summary="Verify signed OCOP stamps; keep the registry of OCOP recognitions.",
        version="1.0",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.clock = clock
    app.state.photos = photos
    routers = (pages, scan, producer, desk, public, verify, registry, batches, reports)
    for router in (r.router for r in (*routers, wellknown)):
        app.include_router(router)

    @app.exception_handler(ServiceError)
    async def service_error(_request: Request, exc: ServiceError) -> Response:
        extra = {"messages": exc.messages} if exc.messages else {}
        retry = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
        return JSONResponse(
            error_body(exc.code, exc.detail, **extra), status_code=exc.status, headers=retry
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {
                "field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
                "problem": e["msg"],
            }
            for e in exc.errors()
        ]
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        return JSONResponse(
            error_body("invalid_request", message, problems=problems), status_code=422
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> Response:
        _log.exception("unexpected error", exc_info=exc)
        return JSONResponse(
            error_body("internal_error", "something went wrong on our side; nothing was changed"),
            status_code=500,
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(Compressed)
    app.add_middleware(
        BodyLimit,
        body_limit=service.settings.max_body_bytes,
        upload_limit=service.settings.max_upload_bytes + 64 * 1024,
    )
    return FastVerify(app, service, clock)
