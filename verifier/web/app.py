"""The FastAPI application factory."""

from __future__ import annotations

import mimetypes
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verifier.i18n.messages import RATE_LIMITED, every_language
from verifier.service import Service
from verifier.service_errors import ServiceError
from verifier.settings import Kind, Settings
from verifier.web.answers import (
    REQUEST_ID_HEADER,
    accept_request_id,
    error_response,
    fault_response,
    log_error,
    request_id,
    service_error_response,
)
from verifier.web.deps import Clock, get_language
from verifier.web.headers import Headers, SecurityHeaders, docs_page, security_headers, with_headers
from verifier.web.qrimage import PhotoReader
from verifier.web.ratelimits import Limiter, TrustedProxies, client_key, token_client
from verifier.web.routes import ROUTERS, scanner_page
from verifier.web.routes.consumer_pages import render
from verifier.web.routes.verify_api import VerifyRequest
from verifier.web.signin import FormRefused
from verifier.web.views import verdict_body

mimetypes.add_type("application/wasm", ".wasm")
mimetypes.add_type("text/javascript", ".js")


def system_clock() -> datetime:
    """The only place the service reads the time."""
    return datetime.now(UTC)


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
            await self._refuse(scope, send, limit)
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
            await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        message = f"the request body is larger than {limit} bytes"
        response = error_response(scope, 413, "too_large", message)
        await response({"type": "http"}, _empty_receive, send)


class FastVerify:
    """Answers the hot path, an anonymous ``GET /api/v1/verify`` with well-formed parameters,
    without the framework's routing (the same validation, :class:`VerifyRequest`; the same
    service call, the same JSON and the same security ``headers``). Anything else, including
    every malformed or authenticated request, goes to ``app``."""

    PATH = "/api/v1/verify"
    _FIELDS = frozenset(VerifyRequest.model_fields)

    def __init__(self, app: ASGIApp, service: Service, clock: Clock, headers: Headers) -> None:
        self.app, self.service, self.clock, self.headers = app, service, clock, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = self._simple_request(scope)
        if request is None:
            await self.app(scope, receive, send)
            return
        try:  # an anonymous caller's device_id and location count for nothing (see Service)
            result = self.service.verify(request.code, self.clock(), stars_seen=request.stars_seen)
            body = verdict_body(result, self.service.settings.public_host)
        except Exception as exc:  # outside FastAPI, whose own handler answers its routes
            await fault_response(scope, exc)(scope, receive, with_headers(send, self.headers))
            return
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", b"%d" % len(body)),
            *self.headers,
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _simple_request(self, scope: Scope) -> VerifyRequest | None:
        """Return the request when the hot path answers it: an anonymous ``GET`` of this path
        whose parameters are valid, each given once."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != self.PATH:
            return None
        for name, _ in scope["headers"]:
            if name == b"authorization":
                return None
        pairs = _query_pairs(scope["query_string"].decode("latin-1"))
        query = dict(pairs)
        if len(query) != len(pairs) or not query.keys() <= self._FIELDS:
            return None
        try:
            return VerifyRequest.model_validate(query)
        except ValidationError:
            return None  # FastAPI answers with its 422


def _query_pairs(text: str) -> list[tuple[str, str]]:
    """Return the query's name-value pairs as ``parse_qsl(text, keep_blank_values=True)`` does,
    splitting plain queries (no escapes, which is every scanner's) without it."""
    if "%" in text or "+" in text:
        return parse_qsl(text, keep_blank_values=True)
    return [f.partition("=")[::2] for f in text.split("&") if f]


_LIMITED: dict[tuple[str, str], Kind] = {
    ("GET", "/api/v1/verify"): "verify",
    ("POST", "/api/v1/verify"): "verify",
    ("GET", "/check"): "verify",
    ("POST", "/api/v1/verify/image"): "photo",
    # changes since a version are signed per version asked: a flood of them is not free
    ("GET", "/.well-known/ocop/status-list"): "verify",
    ("GET", "/.well-known/ocop/registry-snapshot"): "verify",
    ("GET", "/api/v1/epcis/events"): "verify",  # a page reads up to 1,000 events' rows
    ("POST", "/api/v1/claims"): "claim",
    ("POST", "/claim"): "claim",  # the stamp page's form
    ("POST", "/desk/sign-in"): "sign_in",
    ("POST", "/producer/sign-in"): "sign_in",
}
# what anyone reads by a path from a pack (a stamp, a GS1 Digital Link, a lot): counted as checks
_COUNTED_GETS = ("/s/", "/S/", "/01/", "/api/v1/lots/", "/api/v1/products/")


class Edge:
    """The outermost layer, in front of the hot path: names the client, refuses a client over
    its rate limits with 429 (JSON for the API, a page for a person), counts the bearer tokens
    answered 401 and takes a trusted proxy's request id. (A fault is answered where it is
    raised: by FastAPI's handler, or by :class:`FastVerify` on the hot path.)"""

    def __init__(self, app: ASGIApp, settings: Settings, headers: Headers) -> None:
        self.app, self.headers = app, headers  # the security headers of its own answers
        self.proxies = TrustedProxies(settings.trusted_proxies)
        self.limiter = Limiter(settings.rate_limits)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        client, bearer = self._caller(scope)
        refusal = self._refusal(scope, client, bearer)
        if refusal is not None:
            await refusal(scope, receive, with_headers(send, self.headers))
            return
        if bearer is not None:
            send = self._counting_failures(send, client)
        await self.app(scope, receive, send)

    def _caller(self, scope: Scope) -> tuple[str, bytes | None]:
        """Return what the client is counted by and its ``Authorization`` header, if any.
        Reads ``X-Forwarded-For`` and ``X-Request-ID`` only from a trusted proxy."""
        peer = scope["client"][0] if scope.get("client") else ""
        trusted = self.proxies.trusts(peer)
        bearer, forwarded = None, []
        for name, value in scope["headers"]:
            if name == b"authorization":
                bearer = value
            elif trusted and name == b"x-forwarded-for":
                forwarded.append(value.decode("latin-1"))
            elif trusted and name == b"x-request-id":
                accept_request_id(scope, value)
        address = self.proxies.client(peer, ",".join(forwarded)) if forwarded else peer
        return client_key(address), bearer

    def _refusal(self, scope: Scope, client: str, bearer: bytes | None) -> Response | None:
        """Return the 429 answer when ``client`` is over a limit for this request, else
        ``None`` (the request is counted). A request with a token is counted by its token,
        and refused whatever the token while its client's failed tokens are over the limit."""
        if bearer is not None:
            wait = self.limiter.exhausted("token_failures", client)
            if wait is not None:
                return _too_many(scope, "token_failures", wait, client)
        method, path = scope["method"], scope["path"]
        kind = _LIMITED.get((method, path))
        if kind is None and method == "GET" and path.startswith(_COUNTED_GETS):
            kind = "verify"
        if kind is None:
            return None
        counted = client if bearer is None else token_client(bearer)
        wait = self.limiter.hit(kind, counted)
        return None if wait is None else _too_many(scope, kind, wait, counted)

    def _counting_failures(self, send: Send, client: str) -> Send:
        """Return ``send`` counting an answer 401 (a token unknown or revoked) for ``client``."""

        async def counting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 401:
                self.limiter.hit("token_failures", client)
            await send(message)

        return counting


_HOMES = frozenset({"/desk", "/producer", "/registry", "/scan"})  # pages a person starts from
_MACHINE_PATHS = ("/api/", "/.well-known/", "/static/", "/healthz", "/openapi.json")


def for_a_person(path: str) -> bool:
    """Return whether ``path`` is one of the pages a person opens (its errors are pages in
    their language) rather than an answer for programs (JSON)."""
    return not path.startswith(_MACHINE_PATHS)


def _too_many(scope: Scope, kind: Kind, wait: int, client: str) -> Response:
    """The 429 answer to ``client`` over its ``kind`` limit, which may retry in ``wait`` s:
    JSON for the API, a page in the caller's language for a person."""
    headers = {"Retry-After": str(wait)}
    words = every_language(RATE_LIMITED, seconds=wait)
    note = f"limit={kind} client={client}"
    if not for_a_person(scope["path"]):
        return error_response(
            scope, 429, "rate_limited", words["en"], headers=headers, note=note,
            messages=words, limit=kind, retry_after=wait,
        )  # fmt: skip
    request = Request(scope)
    language = get_language(request, request.query_params.get("lang"))
    rid = request_id(scope)
    log_error(scope, 429, "rate_limited", rid, note=note)
    back = scope["path"].removesuffix("/sign-in")
    query = scope["query_string"].decode("latin-1") if scope["method"] == "GET" else ""
    context = {
        "message": words[language], "request_id": rid, "path": back,
        "back": f"{back}?{query}" if query else back,
    }  # fmt: skip
    page = render(request, "busy.html", language, context, status=429)
    page.headers.update({**headers, REQUEST_ID_HEADER: rid})
    return page


class Compressed:
    """Gzip what a phone on a slow connection downloads to scan: the scanner page, its code
    and decoder (the signed documents are compressed once per version, the PDFs and PNGs of
    batches are compressed already)."""

    PREFIXES = ("/static/", "/scan", "/sw.js", "/s/", "/S/")

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

    The FastAPI application sits behind :class:`SecurityHeaders`, outside every layer of
    FastAPI's so that even its last-resort 500 answer carries them; :class:`FastVerify`, so
    that the hot path pays for no framework layer at all (it adds the same headers itself);
    and :class:`Edge`, outermost, whose rate limits cover the hot path too."""

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
        docs_url=None,  # served below, under a policy of its own
        redoc_url=None,
    )
    app.state.service = service
    app.state.clock = clock
    app.state.photos = photos
    for router in ROUTERS:
        app.include_router(router)

    @app.get("/docs", include_in_schema=False)
    def openapi_page() -> HTMLResponse:
        return docs_page(app.openapi_url or "/openapi.json", f"{app.title} - Swagger UI")

    @app.exception_handler(FormRefused)
    async def form_refused(request: Request, exc: FormRefused) -> Response:
        language = get_language(request, request.query_params.get("lang"))
        return render(request, "refused.html", language, {"home": exc.home}, status=403)

    @app.exception_handler(ServiceError)
    async def service_error(request: Request, exc: ServiceError) -> Response:
        return service_error_response(request.scope, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            {
                "field": ".".join(str(p) for p in e["loc"][1:]) or str(e["loc"][0]),
                "problem": e["msg"],
            }
            for e in exc.errors()
        ]
        message = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
        if not for_a_person(request.url.path):
            return error_response(request.scope, 422, "invalid_request", message, problems=problems)
        rid = request_id(request.scope)
        log_error(request.scope, 422, "invalid_request", rid, note=message)
        language = get_language(request, request.query_params.get("lang"))
        home = "/" + request.url.path.split("/")[1]  # the page's own start: /desk, /registry
        context = {"request_id": rid, "home": home if home in _HOMES else "/"}
        page = render(request, "invalid.html", language, context, status=422)
        page.headers[REQUEST_ID_HEADER] = rid
        return page

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return error_response(
            request.scope, exc.status_code, code, str(exc.detail), headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        return fault_response(request.scope, exc)

    static = StaticFiles(directory=scanner_page.static_dir(service.settings))
    app.mount("/static", static, name="static")
    app.add_middleware(Compressed)
    app.add_middleware(
        BodyLimit,
        body_limit=service.settings.max_body_bytes,
        upload_limit=service.settings.max_upload_bytes + 64 * 1024,
    )
    headers = security_headers(service.settings)
    fast = FastVerify(SecurityHeaders(app, headers), service, clock, headers)
    return Edge(fast, service.settings, headers)
