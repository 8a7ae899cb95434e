"""Server-rendered pages: the home page, the consumer page a QR opens."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

from babel.numbers import format_decimal
from fastapi import APIRouter, Form, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, pass_context
from jinja2.runtime import Context

from signing import VerdictCode
from signing.dates import VIETNAM
from stamps.sheet import human_serial
from verifier import registry
from verifier.i18n.catalogs import CATALOGS, SOURCE, Language, native_name
from verifier.i18n.messages import CLAIM_FAILED, every_language
from verifier.provinces import PROVINCES, province
from verifier.service import OnlineVerdict
from verifier.service_errors import NotFound, ServiceError, TooManyTries
from verifier.store.models import Product
from verifier.web.deps import LanguageDep, Now, RowId, ServiceDep
from verifier.web.routes.claim_api import claim_by_code
from verifier.web.views import LotView, claim_words, page_context

router = APIRouter(tags=["pages"])
templates = Jinja2Templates(
    env=Environment(
        loader=FileSystemLoader(Path(__file__).parent.parent / "templates"),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
    )
)


def _in_vietnam(moment: date) -> date:
    """A timestamp as Vietnam's wall clock shows it (regression: a scan at 23:00 UTC showed
    the day before); a plain date as it is."""
    if isinstance(moment, datetime) and moment.tzinfo is not None:
        return moment.astimezone(VIETNAM)
    return moment


templates.env.filters["ddmmyyyy"] = lambda d: _in_vietnam(d).strftime("%d/%m/%Y") if d else ""
templates.env.filters["ddmmyyyy_hhmm"] = lambda d: (
    _in_vietnam(d).strftime("%d/%m/%Y %H:%M") if d else ""
)
templates.env.filters["province_names"] = lambda codes: ", ".join(
    known.name if (known := province(code)) else code for code in codes
)
templates.env.globals["source_language"] = SOURCE
# A serial as every page shows it: as printed under the stamp's QR code (01-000001042).
templates.env.globals["human_serial"] = human_serial


@pass_context
def _number(context: Context, value: int) -> str:
    """A count as the page's language writes it: 10.000 in Vietnamese, 10,000 in English."""
    return format_decimal(value, locale=context["lang"])


templates.env.filters["number"] = _number


def _words(language: Language) -> dict[str, Any]:
    """The gettext functions ``{% trans %}`` and ``_()`` call, for one page in ``language``
    (given with each page, as the environment is shared by the threads serving pages), and
    the other languages the page links to."""
    translations = CATALOGS.of(language)
    return {
        "gettext": translations.gettext,
        "ngettext": translations.ngettext,
        "pgettext": translations.pgettext,
        "npgettext": translations.npgettext,
        "languages": [(other, native_name(other)) for other in CATALOGS.languages
                      if other != language],
    }  # fmt: skip


def render(
    request: Request, name: str, language: Language, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """Render a template in ``language``, with the links to the other languages: the same
    address with its query kept (a stamp's Digital Link form holds its signature there)."""
    kept = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    here = f"{request.url.path}?{urlencode([*kept, ('lang', '')])}"
    page = templates.TemplateResponse(
        request,
        name,
        {"lang": language, "here": here, **_words(language), **context},
        status_code=status,
    )
    if request.query_params.get("lang") in CATALOGS.languages:
        page.set_cookie("lang", language, max_age=365 * 86400, samesite="lax")
    return page


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def home(request: Request, service: ServiceDep, language: LanguageDep) -> HTMLResponse:
    samples: dict[str, str] = {}
    claim = None
    demo = service.settings.data_dir / "demo.json"
    if demo.is_file():
        told = json.loads(demo.read_text("utf-8"))
        samples = told.get("samples", {})
        if "claim" in told:  # a stamp printed with a PIN, and its PIN
            url = told["claim"]["url"]
            claim = {"pin": told["claim"]["pin"], "path": url[url.index("/", len("https://")) :]}
    return render(request, "home.html", language, {"samples": samples, "claim": claim})


@router.get("/s/{code}", response_class=HTMLResponse, include_in_schema=False)
@router.get("/S/{code}", response_class=HTMLResponse, include_in_schema=False)
def stamp_page(
    request: Request,
    service: ServiceDep,
    now: Now,
    language: LanguageDep,
    code: str,
) -> HTMLResponse:
    """The page a phone opens from the QR code."""
    return stamp_verdict_page(request, service, now, language, code)


@router.get("/check", response_class=HTMLResponse, include_in_schema=False)
def check(
    request: Request,
    service: ServiceDep,
    now: Now,
    language: LanguageDep,
    code: str = "",
) -> HTMLResponse:
    """The same page for a code typed or pasted into the home page's form."""
    return stamp_verdict_page(request, service, now, language, code)


def stamp_verdict_page(
    request: Request,
    service: ServiceDep,
    now: Now,
    language: LanguageDep,
    code: str,
    *,
    pin_typed: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    """Return the verdict page on the stamp text ``code`` (either form, or its digits): what
    ``/s/{digits}``, ``/check`` and a stamp's GS1 Digital Link answer; after a PIN was typed,
    with what it came to (``pin_typed``: its ``outcome`` or ``reason``, and its ``text``)."""
    result = service.verify(code, now, role="public")
    context = page_context(result, language)
    context["lots"] = _traced_lots(service, result)
    context["official_host"] = service.settings.public_host
    context["code"] = code
    context["provinces"] = PROVINCES
    outcome = (pin_typed or {}).get("outcome")
    context["claim_result"] = pin_typed if outcome else None
    context["claim_error"] = pin_typed if pin_typed and not outcome else None
    return render(request, "stamp.html", language, context, status=status)


@router.post("/claim", response_class=HTMLResponse, include_in_schema=False)
def claim_form(
    request: Request,
    service: ServiceDep,
    now: Now,
    language: LanguageDep,
    code: Annotated[str, Form(max_length=2048)],
    pin: Annotated[str, Form(max_length=24)],
    province: Annotated[str, Form(max_length=2)] = "",
) -> HTMLResponse:
    """The stamp page's PIN form: the page again, with what the PIN came to."""
    try:
        answer = claim_by_code(service, code=code, pin=pin, province=province or None,
                               channel="web", now=now)  # fmt: skip
    except ServiceError as exc:
        refusal = (exc.messages or every_language(CLAIM_FAILED))[language]
        page = stamp_verdict_page(
            request, service, now, language, code,
            pin_typed={"reason": exc.reason or exc.code, "text": refusal},
            status=429 if isinstance(exc, TooManyTries) else 422,
        )  # fmt: skip
        if exc.retry_after is not None:
            page.headers["Retry-After"] = str(exc.retry_after)
        return page
    words = claim_words(answer.claim, answer.outcome.value)[language]
    outcome = {"outcome": answer.outcome.value, "text": words}
    return stamp_verdict_page(request, service, now, language, code, pin_typed=outcome)


def _traced_lots(service: ServiceDep, result: OnlineVerdict) -> list[LotView]:
    """Return the lots the stamp's batch labels, as the trace section shows them: only for a
    stamp the registry issued (a forged code naming a real serial learns nothing of it)."""
    verdict, stamp = result.verdict, result.verdict.stamp
    if stamp is None or verdict.verdict in (VerdictCode.COUNTERFEIT, VerdictCode.MALFORMED):
        return []
    with service.sessions() as session:
        lots = registry.lots_of_stamp(
            session, key_index=stamp.payload.key_index, serial=stamp.payload.serial
        )
        return [LotView.of(lot) for lot in lots]


@router.get("/products/{product_id}/label", include_in_schema=False)
def label_photo(service: ServiceDep, product_id: RowId) -> Response:
    with service.sessions() as session:
        product = session.get(Product, product_id)
        if product is None or product.label_photo is None:
            raise NotFound("label photo of product", product_id)
        photo, kind = product.label_photo, product.label_photo_type or "image/jpeg"
    return Response(photo, media_type=kind, headers={"Cache-Control": "public, max-age=86400"})


@router.get("/report", response_class=HTMLResponse, include_in_schema=False)
def report(request: Request, language: LanguageDep, code: str = "") -> HTMLResponse:
    return render(request, "report.html", language, {"code": code[:2048]})
