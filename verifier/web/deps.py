"""FastAPI dependencies: the service, the clock, the caller, the language; and the bounded
integers a request may carry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Header, Query, Request
from pydantic import Field

from verifier.i18n.catalogs import CATALOGS, SOURCE, Language
from verifier.registry import Actor, actor_for_token
from verifier.service import Service
from verifier.service_errors import Unauthorized
from verifier.web.inputs import Line
from verifier.web.qrimage import PhotoReader

Clock = Callable[[], datetime]

# Every integer a route takes (path, query, form or JSON) has one of these types, so that a
# value no column can hold is refused with 422 before it reaches the database (2**63 raised
# OverflowError in SQLite's driver: a 500). Ids and versions are ``integer`` columns, whose
# largest value on PostgreSQL, 2**31 - 1, also bounds them on SQLite.
INTEGER_COLUMN_MAX = 2**31 - 1
SERIAL_LIMIT = 2**48  # serials are 48-bit, in stamps as in the registry
RowId = Annotated[int, Field(ge=1, le=INTEGER_COLUMN_MAX)]
"""The id of a registry row: a producer, product, certificate, batch, block or report."""
Count = Annotated[int, Field(ge=0, le=INTEGER_COLUMN_MAX)]
"""A count, an offset, a position or a registry version."""
KeyIndex = Annotated[int, Field(ge=0, le=0xFFFF)]
"""The index of a signing key."""
Serial = Annotated[int, Field(ge=1, lt=SERIAL_LIMIT)]
"""A stamp's serial number."""
IdempotencyKey = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[!-~]+$")]
"""A key a caller sends to retry an order safely: visible ASCII characters, no spaces."""


def get_service(request: Request) -> Service:
    service: Service = request.app.state.service
    return service


def get_now(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock()


def get_photos(request: Request) -> PhotoReader:
    photos: PhotoReader = request.app.state.photos
    return photos


ServiceDep = Annotated[Service, Depends(get_service)]
Now = Annotated[datetime, Depends(get_now)]
PhotosDep = Annotated[PhotoReader, Depends(get_photos)]


def get_actor(service: ServiceDep, authorization: Annotated[str | None, Header()] = None) -> Actor:
    """Return the caller of a registry write. Raises :class:`Unauthorized` without a valid
    ``Authorization: Bearer TOKEN``."""
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send Authorization: Bearer TOKEN")
    with service.sessions() as session:
        actor = actor_for_token(session, token=token.strip())
    if actor is None:
        raise Unauthorized("the token is unknown or revoked")
    return actor


def get_optional_actor(
    service: ServiceDep, authorization: Annotated[str | None, Header()] = None
) -> Actor | None:
    """Return the caller when a valid token is sent; ``None`` for the public."""
    if not authorization:
        return None
    return get_actor(service, authorization)


ActorDep = Annotated[Actor, Depends(get_actor)]
OptionalActor = Annotated[Actor | None, Depends(get_optional_actor)]


def get_language(
    request: Request, lang: Annotated[Line | None, Query(max_length=5)] = None
) -> Language:
    """Return the language of ``?lang=`` or else of the ``lang`` cookie when the catalogs have
    it; Vietnamese otherwise."""
    chosen = lang or request.cookies.get("lang")
    return chosen if chosen in CATALOGS.languages else SOURCE


LanguageDep = Annotated[Language, Depends(get_language)]
