"""Browser sign-in for the desk and the producer page, and the checks every form post of those
pages passes.

A browser signs in with an API token once and then holds a random session id in an HttpOnly,
SameSite=Strict cookie, Secure unless the settings say the service is a plain-HTTP demo. The
database keeps only the id's SHA-256 and the token it stands for, so neither the cookie nor
the table gives the token away. A session ends at its expiry, at sign-out (its row is
deleted: a copied cookie dies with it) and as soon as its token is revoked.

A form post must come from a page of this site (Sec-Fetch-Site, else Origin, else Referer)
and carry the session's CSRF token, or it is refused with a readable page and changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from verifier.registry import Actor, actor_for_token, actor_of, hash_token
from verifier.service import Service
from verifier.store.models import ApiToken, Role, WebSession
from verifier.web.deps import Now, ServiceDep
from verifier.web.inputs import Line


class FormRefused(Exception):
    """A form post that did not come from the page it belongs to: sent from another site, or
    without its session's CSRF token. ``home`` is the page to go back to."""

    def __init__(self, home: str) -> None:
        super().__init__(f"form post to {home} refused")
        self.home = home


# The database side.


def start_session(db: Session, token_id: int, now: datetime, lifetime: timedelta) -> str:
    """Store a new session of the token ``token_id`` that ends ``lifetime`` after ``now``,
    delete the sessions already past their end, and return the new session's id (the
    cookie's value; only its hash is stored)."""
    db.execute(delete(WebSession).where(WebSession.expires_at <= now))
    session_id = secrets.token_urlsafe(32)
    db.add(
        WebSession(
            id_hash=hash_token(session_id),
            token_id=token_id,
            created_at=now,
            expires_at=now + lifetime,
        )
    )
    return session_id


def session_actor(db: Session, session_id: str, now: datetime) -> Actor | None:
    """Return who a session id stands for, or ``None`` when there is no such session, it has
    expired, or its token was revoked."""
    row = db.execute(
        select(WebSession.expires_at, ApiToken)
        .join(ApiToken, WebSession.token_id == ApiToken.id)
        .where(WebSession.id_hash == hash_token(session_id))
    ).first()
    if row is None or row.expires_at <= now:
        return None
    return actor_of(row.ApiToken)


def end_session(db: Session, session_id: str) -> None:
    """Delete the session ``session_id`` (nothing happens when there is none)."""
    db.execute(delete(WebSession).where(WebSession.id_hash == hash_token(session_id)))


def csrf_token(session_id: str) -> str:
    """Return the CSRF token of the forms of a session: an HMAC under the session id, so it
    belongs to that session alone, needs no storage, and does not give the id away."""
    return hmac.new(session_id.encode(), b"ocop-form-v1", hashlib.sha256).hexdigest()


def same_site_post(request: Request, public_host: str) -> bool:
    """Return whether a form post comes from one of this site's pages: the browser's
    ``Sec-Fetch-Site`` says ``same-origin``, or, from browsers without it, the ``Origin`` (else
    ``Referer``) names the request's host or ``public_host``. A request with none of these
    headers is no browser's form and passes; the CSRF token still guards it."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site == "same-origin"
    source = request.headers.get("origin") or request.headers.get("referer")
    if source is None:
        return True
    try:
        host = urlsplit(source).netloc
    except ValueError:
        return False
    return host != "" and host in (request.headers.get("host"), public_host)


# The HTTP side, one per set of pages.


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A browser with a live session: who it is, and the CSRF token its forms carry."""

    actor: Actor
    csrf: str


@dataclass(frozen=True, slots=True)
class SignInArea:
    """The sign-in of one set of pages: ``home`` is their path (the cookie is sent there only),
    ``roles`` the tokens that may sign in."""

    home: str
    cookie: str
    roles: frozenset[Role]

    def signed_in(self, request: Request, service: Service, now: datetime) -> SignedIn | None:
        """Return the browser's live session, or ``None`` when it has none (never signed in,
        signed out, expired, token revoked, or a role these pages do not take)."""
        session_id = request.cookies.get(self.cookie)
        if not session_id:
            return None
        with service.sessions() as db:
            actor = session_actor(db, session_id, now)
        if actor is None or actor.role not in self.roles:
            return None
        return SignedIn(actor, csrf_token(session_id))

    def signed_out_error(self, request: Request) -> str:
        """Return the error code that says why a browser is not signed in: ``expired`` when
        it still sends the cookie of a session that ended, else ``unauthorized``."""
        return "expired" if self._holds_cookie(request) else "unauthorized"

    def _holds_cookie(self, request: Request) -> bool:
        return bool(request.cookies.get(self.cookie))

    def sign_in_page(
        self,
        request: Request,
        service: Service,
        error: str,
        render_page: Callable[[str], Response],
    ) -> Response:
        """Return the sign-in page that ``render_page`` makes with the error code to show:
        ``error``, else ``expired`` when the browser still sends the cookie of a session that
        ended (the cookie is dropped then)."""
        ended = self._holds_cookie(request)
        page = render_page(error or ("expired" if ended else ""))
        if ended:
            self.forget(page, service)
        return page

    def posted(
        self, request: Request, service: ServiceDep, now: Now, csrf: Annotated[str, Form()] = ""
    ) -> SignedIn | None:
        """Return the session behind a form post of these pages, ``None`` when it has ended
        (a dependency of their form routes). Raises :class:`FormRefused` when the post comes
        from another site or without the session's CSRF token ``csrf``."""
        self.check_origin(request, service)
        signed = self.signed_in(request, service, now)
        if signed is not None and not hmac.compare_digest(csrf.encode(), signed.csrf.encode()):
            raise FormRefused(self.home)
        return signed

    def check_origin(self, request: Request, service: Service) -> None:
        """Raise :class:`FormRefused` unless the post comes from this site's pages."""
        if not same_site_post(request, service.settings.public_host):
            raise FormRefused(self.home)

    def sign_in(
        self, request: Request, service: Service, now: datetime, token: str, answer: Response
    ) -> Actor | None:
        """Start a session for ``token`` and set its cookie on ``answer``; return the actor,
        or ``None`` (and start nothing) when the token is unknown, revoked or of a role these
        pages do not take. Raises :class:`FormRefused` for a post from another site."""
        self.check_origin(request, service)
        with service.sessions() as db:  # a wrong token takes no write lock
            actor = actor_for_token(db, token=token)
        if actor is None or actor.role not in self.roles or actor.token_id is None:
            return None
        lifetime = timedelta(hours=service.settings.session_hours)
        with service.writer.begin() as db:
            session_id = start_session(db, actor.token_id, now, lifetime)
            old = request.cookies.get(self.cookie)
            if old:
                end_session(db, old)
        answer.set_cookie(
            self.cookie, session_id, max_age=int(lifetime.total_seconds()), path=self.home,
            secure=service.settings.secure_cookies, httponly=True, samesite="strict",
        )  # fmt: skip
        return actor

    def sign_out(self, request: Request, service: Service, answer: RedirectResponse) -> None:
        """End the browser's session on the server and drop its cookie on ``answer``."""
        session_id = request.cookies.get(self.cookie)
        if session_id:
            with service.writer.begin() as db:
                end_session(db, session_id)
        self.forget(answer, service)

    def forget(self, answer: Response, service: Service) -> None:
        """Drop the session cookie on ``answer`` (a session that ended on the server)."""
        answer.delete_cookie(
            self.cookie, path=self.home, secure=service.settings.secure_cookies,
            httponly=True, samesite="strict",
        )  # fmt: skip

    def routes(self) -> APIRouter:
        """Return the routes ``POST sign-in`` (a token from the form: a session, and back to
        the pages; a token these pages do not take: back with ``error=unauthorized``) and
        ``POST sign-out`` (a form post of the pages: the session ends), to include in the
        pages' router."""
        router = APIRouter()

        @router.post("/sign-in")
        def sign_in(
            request: Request,
            service: ServiceDep,
            now: Now,
            token: Annotated[Line, Form(max_length=200)],
        ) -> Response:
            answer = RedirectResponse(self.home, status_code=303)
            if self.sign_in(request, service, now, token.strip(), answer) is None:
                return RedirectResponse(f"{self.home}?error=unauthorized", status_code=303)
            return answer

        @router.post("/sign-out")
        def sign_out(
            request: Request, service: ServiceDep, now: Now, csrf: Annotated[str, Form()] = ""
        ) -> Response:
            """End the session on the server: the cookie no longer opens the pages, even if
            copied."""
            self.posted(request, service, now, csrf)
            answer = RedirectResponse(self.home, status_code=303)
            self.sign_out(request, service, answer)
            return answer

        return router
