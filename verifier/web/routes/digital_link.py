"""A GS1 Digital Link resolver for the registry's own items (GS1 Digital Link URI syntax 1.2
and the GS1-Conformant resolver standard 1.1): ``/01/{gtin}`` the certified product,
``/01/{gtin}/10/{lot}`` a lot's trace, ``/01/{gtin}/21/{serial}`` a serial of the product, and
``/01/{gtin}/21/{serial}?8030={signature}`` a stamp in its Digital Link form
(docs/stamp-format.md section 4.1), answered with its verdict page as ``/s/{digits}`` is.
Each answers a page by default, an RFC 9264 link set for ``Accept: application/linkset+json``
or ``?linkType=all``, and a redirect to one link for ``?linkType=gs1:TYPE``."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy import select

from signing import Payload
from signing.keys import b64url_decode
from stamps.sheet import human_serial
from verifier import registry
from verifier.i18n.catalogs import Language
from verifier.lists.registry_index import PublicCertificate
from verifier.service import Service
from verifier.service_errors import Invalid
from verifier.store.models import Certificate, Lot, Product
from verifier.web.deps import LanguageDep, Now, ServiceDep
from verifier.web.inputs import Line
from verifier.web.routes.consumer_pages import render, stamp_verdict_page
from verifier.web.views import LotView

router = APIRouter(tags=["GS1 Digital Link"])

LINKSET_TYPE = "application/linkset+json"
GS1_VOC = "https://gs1.org/voc/"
GtinPath = Annotated[str, Path(max_length=14, description="GTIN-8, -12, -13 or -14")]
LotPath = Annotated[str, Path(max_length=20, description="GS1 AI (10), the lot number")]
SerialPath = Annotated[
    str,
    Path(max_length=20, description="the serial as printed (KK-NNNNNNNNN), or a stamp's AI 21"),
]
LinkType = Annotated[
    Line | None,
    Query(alias="linkType", max_length=64, description="all, or one GS1 link type (gs1:pip)"),
]


@dataclass(frozen=True, slots=True)
class _Item:
    """What a Digital Link names: the product (by its 14-digit GTIN), its current certificate
    if any, and the lot or serial when the link names one."""

    gtin: str
    product: Product
    certificate: PublicCertificate | None
    lot: Lot | None = None
    serial: str | None = None
    issued: bool = False

    def path(self) -> str:
        if self.lot is not None:
            return f"/01/{self.gtin}/10/{quote(self.lot.lot_number, safe='')}"
        if self.serial is not None:
            return f"/01/{self.gtin}/21/{quote(self.serial, safe='')}"
        return f"/01/{self.gtin}"


class _Unresolved(Exception):
    """A link names nothing the registry holds, or holds no identifier at all: ``problem``
    says which (its wording is in gs1_unknown.html), ``figures`` what the wording shows."""

    def __init__(self, problem: str, **figures: str) -> None:
        super().__init__(problem)
        self.problem, self.figures = problem, figures


def _product(service: Service, gtin: str, now: Now) -> _Item:
    """Return the product a GTIN names, with its current certificate. Raises
    :class:`_Unresolved` for a GTIN that is not one, or one the registry does not know."""
    try:
        gtin14 = registry.gtin_of(gtin)
    except Invalid:
        raise _Unresolved("gtin_invalid", text=gtin) from None
    with service.sessions() as session:
        product = session.scalars(select(Product).where(Product.gtin == gtin14)).first()
        if product is None:
            raise _Unresolved("gtin_unknown", gtin=gtin14)
        ids = session.scalars(select(Certificate.id).where(Certificate.product_id == product.id))
        known = service.lists(now).index.certificates  # as the verdicts show them
        certificates = [known[i] for i in ids if i in known]
    active = [c for c in certificates if c.status == "active"]
    current = max(active or certificates, key=lambda c: c.decision_date, default=None)
    return _Item(gtin14, product, current)


def _links(item: _Item, host: str) -> dict[str, Any]:
    """Return the RFC 9264 link set of ``item``, with GS1 link types."""
    base, product = f"https://{host}", f"https://{host}/01/{item.gtin}"
    title = item.product.name
    links: dict[str, list[dict[str, Any]]] = {
        f"{GS1_VOC}pip": [{"href": product, "title": title, "type": "text/html",
                           "hreflang": ["vi", "en"]}],
        f"{GS1_VOC}certificationInfo": [{"href": f"{product}#certificate",
                                         "title": "Chứng nhận OCOP", "type": "text/html"}],
        f"{GS1_VOC}recallStatus": [{"href": f"{product}#status",
                                    "title": "Tình trạng chứng nhận", "type": "text/html"}],
    }  # fmt: skip
    if item.lot is not None:
        links[f"{GS1_VOC}traceability"] = [
            {"href": base + item.path(), "title": f"Lô {item.lot.lot_number}", "type": "text/html"}
        ]
    links[f"{GS1_VOC}defaultLink"] = [{"href": base + item.path(), "title": title}]
    return {"linkset": [{"anchor": base + item.path(), **links}]}


def _answer(
    request: Request, item: _Item, service: Service, language: Language, link_type: str | None,
    context: dict[str, Any],
) -> Response:  # fmt: skip
    """Answer a resolved item as the caller asks: its link set, a redirect, or the page."""
    links = _links(item, service.settings.public_host)
    headers = {"Link": f'<{item.path()}?linkType=all>; rel="linkset"; type="{LINKSET_TYPE}"'}
    if _wants_link_set(request) or link_type == "all":
        return JSONResponse(links, media_type=LINKSET_TYPE, headers=headers)
    if link_type is not None:
        key = GS1_VOC + link_type.removeprefix("gs1:")
        targets = links["linkset"][0].get(key)
        if not targets:
            raise Invalid(f"no link of type {link_type} for {item.path()}")
        return RedirectResponse(targets[0]["href"], status_code=307, headers=headers)
    page = render(request, "digital_link.html", language, {
        "gtin": item.gtin, "product": item.product, "certificate": item.certificate,
        "serial": item.serial, "issued": item.issued, "item_path": item.path(),
        "lot_number": None if item.lot is None else item.lot.lot_number, **context,
    })  # fmt: skip
    page.headers.update(headers)
    return page


def _wants_link_set(request: Request) -> bool:
    return LINKSET_TYPE in request.headers.get("accept", "")


def _unknown(request: Request, language: Language, unresolved: _Unresolved) -> Response:
    context = {"problem": unresolved.problem, "figures": unresolved.figures}
    return render(request, "gs1_unknown.html", language, context, status=404)


@router.get("/01/{gtin}", summary="The certified product a GTIN names (page or link set)")
def product_link(
    request: Request, gtin: GtinPath, service: ServiceDep, language: LanguageDep, now: Now,
    link_type: LinkType = None,
) -> Response:  # fmt: skip
    try:
        item = _product(service, gtin, now)
    except _Unresolved as exc:
        return _unknown(request, language, exc)
    with service.sessions() as session:
        lots = [LotView.of(lot) for lot in
                registry.lots_of_product(session, product_id=item.product.id)]  # fmt: skip
    return _answer(request, item, service, language, link_type, {"lots": [], "other_lots": lots})


@router.get("/01/{gtin}/10/{lot}", summary="A lot of the product: its trace (page or link set)")
def lot_link(
    request: Request, gtin: GtinPath, lot: LotPath, service: ServiceDep, language: LanguageDep,
    now: Now, link_type: LinkType = None,
) -> Response:  # fmt: skip
    try:
        item = _product(service, gtin, now)
        lot = registry.lot_number_of(lot)  # a NUL byte never reaches PostgreSQL (regression)
    except _Unresolved as exc:
        return _unknown(request, language, exc)
    except Invalid:
        return _unknown(request, language, _Unresolved("lot_invalid", text=lot))
    with service.sessions() as session:
        found = session.scalars(
            select(Lot).where(Lot.product_id == item.product.id, Lot.lot_number == lot)
        ).first()
        if found is None:
            unknown = _Unresolved("lot_unknown", lot=lot, product=item.product.name)
            return _unknown(request, language, unknown)
        view = LotView.of(found)
    item = _Item(item.gtin, item.product, item.certificate, lot=found)
    return _answer(request, item, service, language, link_type, {"lots": [view]})


@router.get(
    "/01/{gtin}/21/{serial}",
    summary="A serial of the product (page or link set); with AI 8030, a stamp's verdict page",
)
def serial_link(
    request: Request, gtin: GtinPath, serial: SerialPath, service: ServiceDep,
    language: LanguageDep, now: Now, link_type: LinkType = None,
    signature: Annotated[str | None, Query(alias="8030", max_length=90)] = None,
) -> Response:  # fmt: skip
    if signature is not None and link_type is None and not _wants_link_set(request):
        return stamp_verdict_page(request, service, now, language, _stamp_link(request, service))
    try:
        item = _product(service, gtin, now)
        key_index, number = _printed_serial(serial)
    except _Unresolved as exc:
        return _unknown(request, language, exc)
    index = service.lists(now).index
    issued = index.batch_of(key_index, number)
    certificate = None if issued is None else index.certificates.get(issued.certificate_id)
    ours = certificate is not None and certificate.product.id == item.product.id
    printed = human_serial(key_index, number)
    item = _Item(item.gtin, item.product, item.certificate, serial=printed, issued=ours)
    return _answer(request, item, service, language, link_type, {"lots": []})


def _stamp_link(request: Request, service: Service) -> str:
    """Return the stamp's Digital Link as its QR code holds it: the path and the AI 8030
    parameter exactly as received (a percent-encoded character is not the stamp's form), on the
    official host; the page's own parameters (``lang``) are not the stamp's."""
    path = request.scope["raw_path"].decode("latin-1")
    query = request.scope["query_string"].decode("latin-1").split("&")
    signature = next((part for part in query if part.startswith("8030=")), "")
    return f"https://{service.settings.public_host}{path}?{signature}"


def _printed_serial(text: str) -> tuple[int, int]:
    """Return the key index and serial of a serial as printed (``01-000001042``) or as a
    stamp's Digital Link form carries it in AI 21 (20 characters of base64url). Raises
    :class:`_Unresolved`."""
    with suppress(ValueError):
        payload = Payload.from_bytes(bytes([1]) + b64url_decode(text))
        return payload.key_index, payload.serial
    key, _, number = text.partition("-")
    if not (key.isdigit() and number.isdigit() and len(key) <= 5 and len(number) <= 15):
        raise _Unresolved("serial_invalid", text=text)
    return int(key), int(number)
