"""Hostile input at the edges (issue 15, findings 5 and 9): formula cells in CSV exports,
out-of-range integers on every route, a corrupt audit log, a corrupt scan table under the fast
path, and a batch order retried after a lost answer."""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.params import File, Form
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from starlette.routing import BaseRoute

from tests.conftest import Demo

# --- finding 9a: integers out of range on every route -------------------------------------

HOSTILE_INTEGERS = (2**63, 2**64, -1)
# A valid value for every other field a route may need, so that a request reaches the handler
# and only the integer under test is wrong (FastAPI ignores fields a route does not take).
JSON_FIELDS: dict[str, Any] = {
    "reason": "kiểm tra thị trường", "decision": "QĐ-99", "decision_date": "2026-11-01",
    "decision_number": "QĐ-100", "stars": 4, "last_serial": 1, "name": "Mật ong",
    "product_group": "food", "pack_description": "Chai 500 g", "certificate_id": 1,
    "count": 1, "product_id": 1, "key_index": 1, "first_serial": 1,
}  # fmt: skip
FORM_FIELDS: dict[str, Any] = {
    "reason": "kiểm tra thị trường", "decision": "QĐ-99", "decision_date": "01/11/2026",
    "status": "closed", "key_index": 1, "serial": 1, "certificate_id": 1, "count": 1,
}  # fmt: skip
PATH_TEXT = {"kind": "csv", "code": "x"}


def _is_integer(annotation: Any) -> bool:
    """Whether a parameter's type is an integer (or an optional one)."""
    if get_origin(annotation) is Annotated:
        return _is_integer(get_args(annotation)[0])
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_is_integer(a) for a in get_args(annotation))
    return annotation is int


def _model(annotation: Any) -> type[BaseModel] | None:
    if get_origin(annotation) is Annotated:
        return _model(get_args(annotation)[0])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _params(dependant: Dependant, kind: str) -> list[Any]:
    """Return the ``kind`` parameters (path, query, body) of a route and its dependencies."""
    found = list(getattr(dependant, f"{kind}_params"))
    for sub in dependant.dependencies:
        found += _params(sub, kind)
    return found


def _integer_fields(route: APIRoute) -> list[tuple[str, str]]:
    """Return the route's integer inputs as (where, name): path, query, form or json,
    including the fields of models taken from the query or the body."""
    found = []
    for param in _params(route.dependant, "path"):
        if _is_integer(param.field_info.annotation):
            found.append(("path", param.name))
    for where in ("query", "body"):
        for param in _params(route.dependant, where):
            info, model = param.field_info, _model(param.field_info.annotation)
            kind = "form" if isinstance(info, Form) else "json" if where == "body" else where
            if model is not None:
                found += [
                    (kind, n) for n, f in model.model_fields.items() if _is_integer(f.annotation)
                ]
            elif _is_integer(info.annotation):
                found.append((kind, param.name))
    return found


def _request(path: str, route: APIRoute, where: str, name: str, value: int) -> dict[str, Any]:
    """Return the request (method, url, body) sending ``value`` as the route's ``name``."""
    url = path
    for param in _params(route.dependant, "path"):
        given = value if (where, param.name) == ("path", name) else PATH_TEXT.get(param.name, 1)
        url = url.replace("{" + param.name + "}", str(given))
    request: dict[str, Any] = {"method": sorted(route.methods or ["GET"])[0], "url": url}
    if where == "query":
        request["params"] = {name: str(value)}
    body = _params(route.dependant, "body")
    forms = [p for p in body if isinstance(p.field_info, Form)]
    files = [p for p in body if isinstance(p.field_info, File)]
    if files:
        request["files"] = {p.name: ("label.png", b"\x89PNG\r\n", "image/png") for p in files}
    if forms:
        fields = {**FORM_FIELDS, **({name: value} if where == "form" else {})}
        request["data"] = {k: str(v) for k, v in fields.items()}
    elif body and not files:
        request["json"] = {**JSON_FIELDS, **({name: value} if where == "json" else {})}
    return request


def _routes(routes: list[BaseRoute], prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    """Yield every API route as (its full path, the route); recent FastAPI versions keep an
    included router as one entry of ``app.routes``, holding the router's own routes."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield prefix + route.path, route
        elif (included := getattr(route, "original_router", None)) is not None:
            yield from _routes(included.routes, prefix + route.include_context.prefix)  # type: ignore[attr-defined]


def _api(demo: Demo) -> FastAPI:
    app = demo.client.app.app  # type: ignore[attr-defined]  # FastVerify wraps FastAPI
    assert isinstance(app, FastAPI)
    return app


@pytest.fixture
def signed_in(demo: Demo) -> TestClient:
    """A client that answers 500s instead of raising them, signed in everywhere as an
    authority (the role that reaches the most handlers)."""
    client = TestClient(_api(demo), raise_server_exceptions=False)
    token = demo.info["tokens"]["authority_VN-01"]
    client.headers["Authorization"] = f"Bearer {token}"
    for page in ("/desk", "/producer"):
        assert client.post(f"{page}/sign-in", data={"token": token}).status_code < 400
    return client


def test_out_of_range_integers_are_refused_on_every_route_regression(
    demo: Demo, signed_in: TestClient
) -> None:
    """Ids of 2**63 and more reached the database: SQLite raised OverflowError, a 500 on
    sixteen routes. Every integer a route takes (path, query, form, JSON), on every route the
    app has now or gets later, answers 404 or 422 with the JSON error body instead."""
    checked, wrong = 0, []
    for path, route in _routes(_api(demo).routes):
        for where, name in _integer_fields(route):
            for value in HOSTILE_INTEGERS:
                answer = signed_in.request(**_request(path, route, where, name, value))
                checked += 1
                body = answer.json() if answer.headers.get("content-type", "").startswith(
                    "application/json") else {}  # fmt: skip
                if answer.status_code not in (404, 422) or "error" not in body:
                    wrong.append(f"{path} {where} {name}={value}: {answer.status_code}")
    assert checked >= 100, "the walk found too few integer parameters: is it still walking?"
    assert not wrong, "\n".join(wrong)
