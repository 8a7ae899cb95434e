"""The floor for bench/verify_http.py: a bare ASGI app that only parses a stamp from the query
string and checks its Ed25519 signature (through the same signing package as the service)."""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import parse_qs

from signing import MalformedStamp, parse_stamp

PUBLIC_KEY = bytes.fromhex(os.environ["OCOP_FLOOR_PUBLIC_KEY"])


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    code = parse_qs(scope["query_string"].decode()).get("code", [""])[0]
    try:
        valid = parse_stamp(code).signature_valid(PUBLIC_KEY)
    except MalformedStamp:
        valid = False
    body = b'{"valid":true}' if valid else b'{"valid":false}'
    headers = [(b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
