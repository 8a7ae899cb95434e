"""The EPCIS 2.0 REST binding's events query, for the national portal and buyers' systems:
the public traceability record (stamps issued and voided, lots' stages, province-level
inspections, recalls), which holds no personal data, so anyone may read it; a page holds at
most 1,000 events and the route counts against the checks' rate limit
(docs/traceability.md)."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Query, Request, Response
from pydantic import AwareDatetime, Field

from verifier.service_errors import Invalid
from verifier.traceability import (
    MAX_PER_PAGE,
    Identifiers,
    event_page,
    event_query,
    page_token,
    query_document,
)
from verifier.web.deps import Now, ServiceDep
from verifier.web.inputs import Line

router = APIRouter(prefix="/api/v1/epcis", tags=["traceability"])

PARAMETERS = ("GE_eventTime", "LT_eventTime", "eventType", "perPage", "nextPageToken")
HEADERS = {"GS1-EPCIS-Version": "2.0", "GS1-CBV-Version": "2.0"}
EventTypes = Annotated[Line, Field(max_length=200)]


@router.get(
    "/events",
    summary="EPCIS 2.0 events of stamps and lots, in time order (public)",
    response_class=Response,
    responses={200: {"content": {"application/ld+json": {}}}},
)
def events(
    request: Request,
    service: ServiceDep,
    now: Now,
    since: Annotated[AwareDatetime | None, Query(alias="GE_eventTime")] = None,
    until: Annotated[AwareDatetime | None, Query(alias="LT_eventTime")] = None,
    types: Annotated[list[EventTypes] | None, Query(alias="eventType", max_length=10)] = None,
    per_page: Annotated[int, Query(alias="perPage", ge=1, le=MAX_PER_PAGE)] = 100,
    token: Annotated[Line | None, Query(alias="nextPageToken", max_length=200)] = None,
) -> Response:
    """Return an EPCIS query document of the events at or after ``GE_eventTime`` and before
    ``LT_eventTime`` (RFC 3339 with a zone), of the types ``eventType`` names (repeated or
    comma-separated), ``perPage`` of them (1 to 1,000; 100 by default), ordered by time. When
    more follow, ``Link: <...>; rel="next"`` gives the same query for the next page, with its
    ``nextPageToken``. Another parameter, a time without a zone, an unknown event type or a
    token this service did not give: 422."""
    unknown = set(request.query_params) - set(PARAMETERS)
    if unknown:
        raise Invalid(f"this query takes {', '.join(PARAMETERS)} only")
    query = event_query(since=since, until=until, types=types, token=token, per_page=per_page)
    ids = Identifiers(service.settings.public_host)
    with service.sessions() as session:
        page = event_page(session, ids=ids, query=query, now=now)
        body = orjson.dumps(query_document(ids, page.events, now))
    headers = dict(HEADERS)
    if page.more:
        following = request.url.include_query_params(nextPageToken=page_token(page.events[-1].key))
        headers["Link"] = f'<{following.path}?{following.query}>; rel="next"'
    return Response(body, media_type="application/ld+json", headers=headers)
