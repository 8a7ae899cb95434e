"""The service's error answers: their HTTP status (for the service's domain errors, decided
here only), their JSON body, the request id each one carries (in the body and in
``X-Request-ID``), and the log line with the same id.

Ids are made only when an error is answered, so a successful check costs nothing here: a
success needs no id to be traced, and the hot path answers with no extra header."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Mapping
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from starlette.types import Scope

from verifier.i18n.messages import DATABASE_UNAVAILABLE, every_language
from verifier.service_errors import (
    Busy,
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    ServiceError,
    TooLarge,
    TooManyTries,
    Unauthorized,
)

_log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
_SCOPE_KEY = "ocop.request_id"
_ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,64}")  # printable, bounded, nothing to escape
_STATUSES: dict[type[ServiceError], int] = {
    Unauthorized: 401,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    TooLarge: 413,
    Invalid: 422,
    TooManyTries: 429,
    Busy: 503,
}


def status_of(error: ServiceError) -> int:
    """Return the HTTP status that answers ``error``: its kind's (the nearest class in
    :data:`_STATUSES`), else 400."""
    for kind in type(error).__mro__:
        status = _STATUSES.get(kind)
        if status is not None:
            return status
    return 400


def service_error_response(scope: Scope, error: ServiceError) -> JSONResponse:
    """Return the JSON answer to ``error`` (see :func:`error_response`): its status, its
    ``code`` and ``detail``, its figures and wording, and ``Retry-After`` when it says when to
    retry."""
    extra = {**error.extra, **({"messages": error.messages} if error.messages else {})}
    retry = {"Retry-After": str(error.retry_after)} if error.retry_after is not None else None
    return error_response(scope, status_of(error), error.code, error.detail, headers=retry, **extra)


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


DATABASE_RETRY_SECONDS = 5


def fault_response(scope: Scope, exc: BaseException) -> JSONResponse:
    """Return the answer to a fault of the service, logged with its traceback and request id:
    500 ``internal_error``, or 503 ``database_unavailable`` (retry in a few seconds, in every
    language) when ``exc`` says the database cannot be reached."""
    if not (
        isinstance(exc, OperationalError | InterfaceError)
        or (isinstance(exc, DBAPIError) and exc.connection_invalidated)
    ):
        message = "something went wrong on our side; nothing was changed"
        return error_response(scope, 500, "internal_error", message, exc=exc)
    return error_response(
        scope, 503, "database_unavailable",
        "the registry's database cannot be reached; checks still work; try again shortly",
        headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
        messages=every_language(DATABASE_UNAVAILABLE, seconds=DATABASE_RETRY_SECONDS),
    )  # fmt: skip
