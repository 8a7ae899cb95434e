"""The producer's page: sign in with a token, order a stamp batch, download its files. Works
without JavaScript; signed in with a server-side session (verifier/web/signin.py): every form post
passes its same-site and CSRF checks."""

from __future__ import annotations

import secrets
from typing import Annotated, Literal

from babel.numbers import format_decimal
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy import select

from signing.dates import vietnam_date
from verifier import registry
from verifier.i18n.messages import PRODUCER_ERRORS, Language, text
from verifier.provinces import PROVINCES
from verifier.registry import Actor
from verifier.service import Service
from verifier.service_errors import ServiceError, Unauthorized
from verifier.store.models import Batch, Certificate, Product, Role
from verifier.web.deps import IdempotencyKey, LanguageDep, Now, RowId, ServiceDep
from verifier.web.inputs import Line
from verifier.web.routes.batch_api import BatchIn, PrintOptions, batch_file, order_batch
from verifier.web.routes.consumer_pages import render
from verifier.web.signin import SignedIn, SignInArea

router = APIRouter(prefix="/producer", include_in_schema=False)
# The cookie keeps the name it had when it held the token itself: a browser that still holds
# such a cookie is told its session ended, and drops it.
PRODUCER = SignInArea("/producer", "ocop_token", frozenset({Role.PRODUCER, Role.AUTHORITY}))
router.include_router(PRODUCER.routes())


Posted = Annotated[SignedIn | None, Depends(PRODUCER.posted)]  # a form post's session


def _orderable(service: Service, actor: Actor) -> tuple[list[Certificate], list[Batch]]:
    """The certificates the actor may order stamps for, and their latest batches."""
    with service.sessions() as session:
        query = select(Certificate).join(Product)
        if actor.role is Role.AUTHORITY:
            query = query.where(Certificate.authority_id == actor.authority_id)
        else:
            query = query.where(Product.producer_id == actor.producer_id)
        certificates = list(session.scalars(query.order_by(Certificate.id.desc())).unique())
        ids = [c.id for c in certificates]
        batches = list(
            session.scalars(
                select(Batch)
                .where(Batch.certificate_id.in_(ids))
                .order_by(Batch.id.desc())
                .limit(50)
            )
        )
    return certificates, batches


def _worded(error: str | None, language: Language) -> str | None:
    """The wording of the error the page was sent back with; ``None`` for none or an unknown one."""
    if not error or error not in PRODUCER_ERRORS:
        return None
    max_batch = format_decimal(registry.MAX_BATCH, locale=language)
    return text(PRODUCER_ERRORS, error, language).format(max_batch=max_batch)


@router.get("", response_class=HTMLResponse)
def producer_page(
    request: Request,
    service: ServiceDep,
    language: LanguageDep,
    now: Now,
    batch: Annotated[RowId | None, Query()] = None,
    lot: Annotated[RowId | None, Query()] = None,
    error: Annotated[Line | None, Query(max_length=20)] = None,
) -> Response:
    signed = PRODUCER.signed_in(request, service, now)
    if signed is None:
        return PRODUCER.sign_in_page(
            request, service, error or "",
            lambda shown: render(request, "producer.html", language,
                                 {"actor": None, "error": _worded(shown, language)}),
        )  # fmt: skip
    actor = signed.actor
    certificates, batches = _orderable(service, actor)
    products = {c.product_id: c.product for c in certificates}
    with service.sessions() as session:
        lots = [
            (lot, products[product_id])
            for product_id in products
            for lot in registry.lots_of_product(session, product_id=product_id, limit=20)
        ]
    return render(
        request,
        "producer.html",
        language,
        {
            "actor": actor,
            "certificates": certificates,
            "certificate_of": {c.id: c for c in certificates},
            "batches": batches,
            "new_batch": batch,
            "products": products,
            "lots": lots,
            "new_lot": lot,
            "error": _worded(error, language),
            "today": vietnam_date(now),
            "max_batch": registry.MAX_BATCH,
            "provinces": PROVINCES,
            "order_key": secrets.token_urlsafe(16),
            "csrf": signed.csrf,
        },
    )


@router.post("/batches")
def order(
    signed: Posted,
    service: ServiceDep,
    now: Now,
    certificate_id: Annotated[Line, Form(max_length=12)],
    count: Annotated[Line, Form(max_length=12)],
    markets: Annotated[list[str], Form(max_length=34)] = [],  # noqa: B006 (FastAPI copies it)
    order_key: Annotated[IdempotencyKey | None, Form()] = None,
    lot_id: Annotated[RowId | None, Form()] = None,
    claims: Annotated[bool, Form()] = False,
) -> Response:
    """Order a batch from the page's form. The form carries a key made when the page was
    shown, so that a second click or a resent form finds the batch the first one ordered."""
    if signed is None:
        return RedirectResponse("/producer?error=expired", status_code=303)
    actor = signed.actor
    if not (certificate_id.strip().isdigit() and count.strip().isdigit()):
        return RedirectResponse("/producer?error=invalid", status_code=303)
    if not set(markets) <= PROVINCES.keys():
        return RedirectResponse("/producer?error=market", status_code=303)
    try:
        order = BatchIn(certificate_id=int(certificate_id), count=int(count), markets=markets,
                        lots=[] if lot_id is None else [lot_id], claims=claims)  # fmt: skip
    except ValidationError:
        return RedirectResponse("/producer?error=invalid", status_code=303)
    try:
        batch, _ = order_batch(service, actor, now, order, order_key)
    except ServiceError as exc:
        code = "lot" if exc.reason == "lot_not_of_product" else exc.code
        return RedirectResponse(f"/producer?error={code}", status_code=303)
    return RedirectResponse(f"/producer?batch={batch.id}#batch-{batch.id}", status_code=303)


@router.get("/batches/{batch_id}/stamps.{kind}")
def download(
    request: Request,
    batch_id: RowId,
    kind: Literal["pdf", "csv", "zip"],
    options: Annotated[PrintOptions, Query()],
    service: ServiceDep,
    now: Now,
) -> Response:
    signed = PRODUCER.signed_in(request, service, now)
    if signed is None:
        error = PRODUCER.signed_out_error(request)
        return RedirectResponse(f"/producer?error={error}", status_code=303)
    try:
        response: StreamingResponse = batch_file(
            service, signed.actor, batch_id, kind, options, now
        )
    except Unauthorized:
        return RedirectResponse("/producer?error=unauthorized", status_code=303)
    except ServiceError as exc:
        return RedirectResponse(f"/producer?error={exc.code}", status_code=303)
    return response
