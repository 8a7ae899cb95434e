"""The security headers every answer carries (pages, the JSON API, static files, the verify
fast path), and the OpenAPI page that needs its own Content-Security-Policy.

The policy allows scripts and styles from this site's own files only: no inline script, no
inline style, no ``eval``; WebAssembly compiles (the scanner's QR decoder). Pages cannot be
framed, types are not sniffed, and other sites learn the origin of a page at most, never its
path (a stamp's URL carries its code). HSTS is announced when the cookies are Secure, that is
when the service is behind HTTPS.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from secure import (
    ContentSecurityPolicy,
    ReferrerPolicy,
    Secure,
    StrictTransportSecurity,
    XContentTypeOptions,
    XFrameOptions,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from verifier.settings import Settings

Headers = tuple[tuple[bytes, bytes], ...]
HSTS_SECONDS = 365 * 86400
_SELF, _NONE = "'self'", "'none'"


def page_policy() -> ContentSecurityPolicy:
    """The Content-Security-Policy of every answer but the OpenAPI page."""
    return (
        ContentSecurityPolicy()
        .default_src(_SELF)
        .script_src(_SELF, "'wasm-unsafe-eval'")
        .style_src(_SELF)
        .object_src(_NONE)
        .base_uri(_NONE)
        .form_action(_SELF)
        .frame_ancestors(_NONE)
    )


def security_headers(settings: Settings) -> Headers:
    """Return the security headers, encoded for ASGI: :func:`page_policy`, and HSTS when
    ``settings`` make the cookies Secure."""
    chosen = Secure(
        csp=page_policy(),
        hsts=StrictTransportSecurity().max_age(HSTS_SECONDS) if settings.secure_cookies else None,
        referrer=ReferrerPolicy().strict_origin_when_cross_origin(),
        xcto=XContentTypeOptions().nosniff(),
        xfo=XFrameOptions().deny(),
    ).validate_and_normalize_headers(on_invalid="raise", strict=True)
    return tuple(
        (name.lower().encode("ascii"), value.encode("latin-1"))
        for name, value in chosen.headers.items()
    )


class SecurityHeaders:
    """Add ``headers`` to every HTTP answer of ``app`` that does not set them itself (the
    OpenAPI page sets its own policy)."""

    def __init__(self, app: ASGIApp, headers: Headers) -> None:
        self.app, self.headers = app, headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        await self.app(scope, receive, with_headers(send, self.headers))


def with_headers(send: Send, headers: Headers) -> Send:
    """Return ``send`` adding ``headers`` to the answer's start, but those it sets itself."""

    async def send_with_headers(message: Message) -> None:
        if message["type"] == "http.response.start":
            own = list(message.get("headers", ()))
            present = {name.lower() for name, _ in own}
            message["headers"] = own + [h for h in headers if h[0] not in present]
        await send(message)

    return send_with_headers


_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
_SWAGGER_CDN = "https://cdn.jsdelivr.net"


def docs_page(openapi_url: str, title: str) -> HTMLResponse:
    """Return FastAPI's Swagger UI page under a policy of its own: its code from the CDN it
    names, and its one inline script allowed by its hash (no other inline script)."""
    page = get_swagger_ui_html(openapi_url=openapi_url, title=title)
    body = bytes(page.body).decode()
    hashes = [
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(body)
    ]
    policy = (
        ContentSecurityPolicy()
        .default_src(_NONE)
        .script_src(_SWAGGER_CDN, *hashes)
        .style_src(_SWAGGER_CDN)
        .img_src(_SELF, "data:", "https://fastapi.tiangolo.com")
        .connect_src(_SELF)
        .base_uri(_NONE)
        .form_action(_NONE)
        .frame_ancestors(_NONE)
    )
    return HTMLResponse(body, headers={policy.header_name: policy.header_value})
