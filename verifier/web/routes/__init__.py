"""The routes, one module per page or API area. :data:`ROUTERS` lists them in the order the
app mounts them: the pages a person opens, then the APIs for programs."""

from fastapi import APIRouter

from verifier.web.routes import (
    batch_api,
    claim_api,
    consumer_pages,
    desk_page,
    digital_link,
    epcis_api,
    health,
    lot_api,
    producer_lots,
    producer_page,
    registry_api,
    registry_pages,
    report_api,
    scanner_page,
    sms_api,
    verify_api,
    well_known,
)

_PAGES = (consumer_pages, scanner_page, producer_page, producer_lots, desk_page, registry_pages,
          digital_link)  # fmt: skip
_APIS = (verify_api, claim_api, sms_api, registry_api, batch_api, lot_api, epcis_api, report_api,
         well_known, health)  # fmt: skip
ROUTERS: tuple[APIRouter, ...] = tuple(module.router for module in (*_PAGES, *_APIS))
