"""The service's error answers: their JSON body, the request id each one carries (in the body
and in ``X-Request-ID``), and the log line with the same id.

Ids are made only when an error is answered, so a successful check costs nothing here: a
success needs no id to be traced, and the hot path answers with no extra header."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse
from starlette.types import Scope

_log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_SCOPE_KEY = "ocop.request_id"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,64}")  # printable, bounded, nothing to escape


def error_body(code: str, message: str, **extra: Any) -> dict[str, Any]:
    """Return the JSON body of every error answer."""
    return {"error": {"code": code, "message": message, **extra}}


def request_id(scope: Scope) -> str:
    """Return the id of the request ``scope`` describes: one accepted from a trusted proxy
    (:func:`accept_request_id`), or a new random one, kept in the scope for its other errors."""
    known: str | None = scope.get(_SCOPE_KEY)
    if known is None:
        known = scope[_SCOPE_KEY] = secrets.token_hex(8)
    return known


def accept_request_id(scope: Scope, incoming: bytes) -> None:
    """Use the ``X-Request-ID`` a trusted proxy sent as this request's id, when it is printable
    ASCII of at most 64 characters; ignore it otherwise (a new id is made if one is needed)."""
    text = incoming.decode("latin-1")
    if _ACCEPTED_ID.fullmatch(text):
        scope[_SCOPE_KEY] = text


def error_response(
    scope: Scope,
    status: int,
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    exc: BaseException | None = None,
    note: str = "",
    **extra: Any,
) -> JSONResponse:
    """Return the JSON error answer ``{"error": {"code", "message", "request_id", ...extra}}``
    with the id also in ``X-Request-ID``, and log one line naming the same id (and ``note``):
    at INFO for a refused request, at ERROR with the traceback of ``exc`` for a fault of the
    service."""
    rid = request_id(scope)
    log_error(scope, status, code, rid, exc, note)
    return JSONResponse(
        error_body(code, message, request_id=rid, **extra),
        status_code=status,
        headers={**(headers or {}), REQUEST_ID_HEADER: rid},
    )


def log_error(
    scope: Scope,
    status: int,
    code: str,
    rid: str,
    exc: BaseException | None = None,
    note: str = "",
) -> None:
    """Log the error answer ``status``/``code`` to the request ``scope`` under its id ``rid``,
    followed by ``note``."""
    # The path is the caller's text: escaped, so that it cannot start a line of its own.
    where = f"{scope.get('method', '')} {ascii(scope.get('path', '')[:200])[1:-1]}"
    note = f" {note}" if note else ""
    if status >= 500:
        _log.error("%d %s on %s request_id=%s%s", status, code, where, rid, note, exc_info=exc)
    else:
        _log.info("%d %s on %s request_id=%s%s", status, code, where, rid, note)
