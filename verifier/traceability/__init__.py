"""Traceability: the stamps' and lots' lifecycle as GS1 EPCIS 2.0 events, for the national
portal and buyers' systems (``ocop traceability export``, ``GET /api/v1/epcis/events``).

Domain code, like the registry: it reads the registry's tables in the session it is given and
knows no process (no service, settings or signer).

- :mod:`~verifier.traceability.epcis`: the events of each fact and the documents that carry
  them, with the identifiers they use;
- :mod:`~verifier.traceability.inspections`: officials' checks, aggregated per batch,
  province and day;
- :mod:`~verifier.traceability.epcis_query`: the events between two times, a page at a time.

The mapping, and what is never exported, is in docs/traceability.md.
"""

from verifier.traceability.epcis import (
    EVENT_TYPES,
    Event,
    Identifiers,
    epcis_document,
    query_document,
)
from verifier.traceability.epcis_query import (
    MAX_PER_PAGE,
    EventPage,
    EventQuery,
    event_page,
    event_query,
    page_token,
)

__all__ = [
    "EVENT_TYPES",
    "MAX_PER_PAGE",
    "Event",
    "EventPage",
    "EventQuery",
    "Identifiers",
    "epcis_document",
    "event_page",
    "event_query",
    "page_token",
    "query_document",
]
