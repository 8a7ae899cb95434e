"""The EPCIS 2.0 export (issue 20, item 6): `ocop traceability export` and
`GET /api/v1/epcis/events` tell the demo's stamps and lots as events that GS1's EPCIS 2.0 JSON
Schema accepts (the batches issued, the lot's stages, the voided batch, the revoked
certificate, inspections at province level), page through them each once, and carry no
person: no buyer's check, no token, phone or coordinates of an inspector's."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable, Iterator
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from jsonschema import Draft7Validator, FormatChecker
from sqlalchemy import func, select

from signing import parse_stamp
from signing.dates import VIETNAM, format_time, parse_time
from tests.conftest import NOW, Demo
from verifier import cli, registry
from verifier.cli.demo import DEMO_GLN, DEMO_GTIN, DEMO_LOT
from verifier.store.models import Batch, Certificate, Lot, Scan

ROOT = Path(__file__).parent.parent
REFERENCE = Path("reference/epcis-2.0/EPCIS-JSON-Schema.json")
SCHEMA_FILE = Path(__file__).parent / REFERENCE
# where the project's shared reference data lies beside a checkout (or a worktree of one)
SHARED = [base / "shared" / REFERENCE for base in (ROOT.parent, ROOT.parent.parent)]
HOST = "https://ocop.vn"

# The schema's two formats, checked with the standard library: jsonschema checks "uri" and
# "date-time" only with extra packages (rfc3987, rfc3339-validator), and skips them silently
# without.
_FORMATS = FormatChecker()
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*")
_RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


@_FORMATS.checks("uri")
def _is_uri(value: object) -> bool:
    """An absolute URI (RFC 3986): a scheme, then ASCII without spaces or controls."""
    if not isinstance(value, str):
        return True
    scheme, _, rest = value.partition(":")
    return bool(_SCHEME.fullmatch(scheme) and rest) and value.isascii() and value.isprintable() \
        and " " not in value and urlsplit(value).scheme == scheme.lower()  # fmt: skip


@_FORMATS.checks("date-time", raises=ValueError)
def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_RFC3339.fullmatch(value) and parse_time(value))


VALIDATOR = Draft7Validator(json.loads(SCHEMA_FILE.read_bytes()), format_checker=_FORMATS)

# what the demo's officials' checks carry that must never leave: phones, places, tokens
PERSONAL = ("demo-phone", "demo-buyer", "token-", "21.03", "105.85", "10.78", "106.70", "16.05",
            "108.20", "10.03", "105.78", "Tổ hợp tác")  # fmt: skip


def _valid(document: dict[str, Any]) -> dict[str, Any]:
    problems = [
        f"{list(e.absolute_path)}: {e.message[:200]}" for e in VALIDATOR.iter_errors(document)
    ]
    assert not problems, "\n".join(problems[:10])
    return document


def test_the_schema_is_gs1s_byte_for_byte() -> None:
    """The copy the tests validate with is the shared reference's, as its note says."""
    data = SCHEMA_FILE.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert f"SHA-256: `{digest}`" in (SCHEMA_FILE.parent / "SOURCE.md").read_text("utf-8")
    for shared in SHARED:
        if shared.exists():
            assert shared.read_bytes() == data, f"{shared} differs from the copy"
    Draft7Validator.check_schema(json.loads(data))
    assert not _is_uri("ocop:batch x")
    assert not _is_date_time("2026-11-24T10:00:00")


Cli = Callable[..., tuple[int, str]]


@pytest.fixture
def ocop(demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``ocop`` in-process on the demo's database; return its status and output."""
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)

    def run(*argv: str) -> tuple[int, str]:
        status = cli.main(list(argv))
        captured = capsys.readouterr()
        return status, captured.out + captured.err

    return run


def _export(ocop: Cli, demo: Demo, out: Path, *more: str) -> dict[str, Any]:
    status, said = ocop("traceability", "export", "--data-dir", str(demo.data_dir),
                        "--out", str(out), *more)  # fmt: skip
    assert status == 0, said
    document = _valid(json.loads(out.read_bytes()))
    assert (
        said.strip() == f"{len(document['epcisBody']['eventList'])} EPCIS events written to {out}"
    )
    return document


def _events(document: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = document["epcisBody"]["eventList"]
    return events


def _batch_of(demo: Demo, sample: str) -> Batch:
    payload = parse_stamp(demo.sample(sample)).payload
    with demo.service.sessions() as session:
        query = select(Batch).where(Batch.key_index == payload.key_index,
                                    Batch.first_serial <= payload.serial,
                                    Batch.last_serial >= payload.serial)  # fmt: skip
        return session.scalars(query).one()


def _ids(events: list[dict[str, Any]]) -> list[str]:
    return [event["eventID"] for event in events]


def test_the_export_tells_each_fact_of_the_demo_and_no_person(
    demo: Demo, ocop: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # today, a buyer checks the tea and an inspector the honey in Hồ Chí Minh: exported two
    # days later, the day is whole and the inspector's check is an inspection
    buyer = {"code": demo.sample("genuine_5_stars"), "location": "21.03,105.85",
             "device_id": "demo-buyer-phone"}  # fmt: skip
    assert demo.client.get("/api/v1/verify", params=buyer).status_code == 200
    inspector = {"code": demo.sample("genuine"), "location": "10.78,106.70",
                 "device_id": "demo-phone-x"}  # fmt: skip
    checked = demo.client.get("/api/v1/verify", params=inspector, headers=demo.token("inspector"))
    assert checked.status_code == 200
    demo.service.recorder.flush()
    monkeypatch.setattr(cli, "_now", lambda: NOW + timedelta(days=2))
    out = tmp_path / "ocop.jsonld"
    document = _export(ocop, demo, out)
    assert document["@context"] == ["https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
                                    {"ocop": f"{HOST}/ns/epcis#"}]  # fmt: skip
    events = _events(document)
    assert [(e["eventTime"], e["eventID"]) for e in events] == sorted(
        (e["eventTime"], e["eventID"]) for e in events
    )
    assert len(set(_ids(events))) == len(events)
    assert {e["eventTimeZoneOffset"] for e in events} == {"+07:00"}
    text = out.read_text("utf-8")
    assert not [secret for secret in PERSONAL if secret in text]
    assert "token" not in text.lower()
    assert "device" not in text.lower()

    honey, void = _batch_of(demo, "genuine"), _batch_of(demo, "unregistered")
    tea = _batch_of(demo, "genuine_5_stars")
    lot_class = f"{HOST}/01/0{DEMO_GTIN}/10/{DEMO_LOT}"
    by_step: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        by_step.setdefault(event["bizStep"], []).append(event)

    # every batch issued is commissioned; the honey's first one for its lot, 500 stamps
    with demo.service.sessions() as session:
        batches = session.scalar(select(func.count()).select_from(Batch))
        witnessed = Scan.role.in_(("inspector", "authority"))
        officials = session.scalar(select(func.count()).select_from(Scan).where(witnessed))
        lot = session.scalars(select(Lot).where(Lot.lot_number == DEMO_LOT)).one()
        sausage = session.get(
            Certificate, parse_stamp(demo.sample("revoked")).payload.certificate_id
        )
        assert sausage is not None
        assert sausage.revocation_date is not None
        sausage_product = sausage.product_id
    assert len(by_step["commissioning"]) == batches
    [issued] = [e for e in by_step["commissioning"] if e["ocop:batch"]["ocop:id"] == honey.id]
    assert issued["action"] == "ADD"
    assert issued["disposition"] == "active"
    assert issued["quantityList"] == [{"epcClass": lot_class, "quantity": 500}]
    assert issued["readPoint"] == {"id": f"https://id.gs1.org/414/{DEMO_GLN}"}
    assert issued["eventTime"] == format_time(honey.created_at)
    assert issued["ocop:batch"]["ocop:firstSerial"] == honey.first_serial

    # the lot's three stages, the first from the declared honey of Hưng Yên
    stages = by_step["creating_class_instance"]
    assert [e["ocop:stage"]["ocop:step"] for e in stages] == [s["step"] for s in lot.stages]
    assert [e["eventTime"] for e in stages] == [s["at"] for s in lot.stages]
    assert {e["type"] for e in stages} == {"TransformationEvent"}
    assert all(e["outputQuantityList"] == [{"epcClass": lot_class}] for e in stages)
    first, *later = stages
    assert first["inputQuantityList"] == [{"epcClass": f"{HOST}/registry/lots/{lot.id}/origins/1"}]
    assert first["ocop:origins"][0]["ocop:from"] == f"{HOST}/registry/provinces/33"
    assert first["ilmd"]["cbvmda:lotNumber"] == DEMO_LOT
    assert all(e["inputQuantityList"] == [{"epcClass": lot_class}] for e in later)

    # the voided batch decommissioned; the revoked sausage recalled
    [voided] = by_step["decommissioning"]
    assert (voided["action"], voided["disposition"]) == ("DELETE", "inactive")
    assert voided["ocop:batch"]["ocop:id"] == void.id
    assert voided["eventTime"] == format_time(void.voided_at or NOW)
    [recalled] = by_step["holding"]
    assert (recalled["action"], recalled["disposition"]) == ("OBSERVE", "recalled")
    assert recalled["quantityList"] == [{"epcClass": f"{HOST}/registry/products/{sausage_product}"}]
    assert recalled["ocop:revocation"]["ocop:decision"] == "3310/QĐ-UBND"
    revoked_at = datetime.combine(sausage.revocation_date, time(), tzinfo=VIETNAM)
    assert recalled["eventTime"] == format_time(revoked_at)

    # inspections: every official's check counted once, in a province, never the buyer's
    inspections = by_step["inspecting"]
    assert sum(e["ocop:inspection"]["ocop:checks"] for e in inspections) == officials
    places = {e["readPoint"]["id"] for e in inspections} | {
        e["bizLocation"]["id"] for e in inspections
    }
    assert places == {f"{HOST}/registry/provinces/{code}" for code in ("01", "79", "48", "92")}
    assert tea.id not in {e["ocop:batch"]["ocop:id"] for e in inspections}
    # today in Hồ Chí Minh: the copied stamp's last check (at midnight) and the inspector's
    today = [e for e in inspections if e["eventTime"] == "2026-11-23T17:00:00Z"]
    assert [(e["readPoint"]["id"], e["quantityList"]) for e in today] == [
        (f"{HOST}/registry/provinces/79", [{"epcClass": lot_class, "quantity": 2}])
    ]
    assert {e["type"] for e in events} == {"ObjectEvent", "TransformationEvent"}


def _pages(demo: Demo, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Yield every page of the events query, following its ``Link`` headers."""
    answer = demo.client.get("/api/v1/epcis/events", params=params)
    while True:
        assert answer.status_code == 200, answer.text
        assert answer.headers["GS1-EPCIS-Version"] == "2.0"
        assert answer.headers["content-type"] == "application/ld+json"
        page = _valid(answer.json())
        assert page["type"] == "EPCISQueryDocument"
        yield page
        link = answer.headers.get("link")
        if link is None:
            return
        found = re.fullmatch(r'<(/api/v1/epcis/events\?[^>]+)>; rel="next"', link)
        assert found is not None, link
        answer = demo.client.get(found[1])


def _listed(page: dict[str, Any]) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = page["epcisBody"]["queryResults"]["resultsBody"]["eventList"]
    return events


def test_the_api_pages_every_event_once_as_the_export_lists_them(
    demo: Demo, ocop: Cli, tmp_path: Path
) -> None:
    exported = _events(_export(ocop, demo, tmp_path / "all.jsonld"))
    [whole] = _pages(demo, {"perPage": 1000})
    assert _listed(whole) == exported
    pages = list(_pages(demo, {"perPage": 3}))
    assert len(pages) == -(-len(exported) // 3)
    assert [len(_listed(page)) for page in pages[:-1]] == [3] * (len(pages) - 1)
    assert [e for page in pages for e in _listed(page)] == exported

    # filters, kept from page to page: a type (repeated or comma-separated) and a time window
    stages = [e for e in exported if e["type"] == "TransformationEvent"]
    paged = [e for page in _pages(demo, {"eventType": "TransformationEvent", "perPage": 2})
             for e in _listed(page)]  # fmt: skip
    assert paged == stages
    assert len(stages) == 3
    repeated = {"eventType": ["AggregationEvent", "TransformationEvent"], "perPage": 2}
    assert [e for page in _pages(demo, repeated) for e in _listed(page)] == stages
    both = {"eventType": ["ObjectEvent", "TransformationEvent,AggregationEvent"], "perPage": 5}
    assert [e for page in _pages(demo, both) for e in _listed(page)] == exported
    since, until = "2026-05-10T02:00:00Z", "2026-11-22T00:00:00+07:00"
    window = {"GE_eventTime": since, "LT_eventTime": until, "perPage": 2}
    inside = [e for e in exported
              if parse_time(since) <= parse_time(e["eventTime"]) < parse_time(until)]  # fmt: skip
    assert 3 < len(inside) < len(exported)
    assert [e for page in _pages(demo, window) for e in _listed(page)] == inside

    # --since: the events from that day on, Vietnam time, either way of writing it
    from_day = _events(_export(ocop, demo, tmp_path / "since.jsonld", "--since", "10/05/2026"))
    assert from_day == [e for e in exported if e["eventTime"] >= "2026-05-09T17:00:00Z"]
    assert 0 < len(from_day) < len(exported)
    iso = _events(_export(ocop, demo, tmp_path / "iso.jsonld", "--since", "2026-05-10"))
    assert iso == from_day


def test_events_at_one_instant_page_each_once(sqlite_demo: Demo) -> None:
    """Thirty batches ordered in the same second: more rows at one time than a page reads
    at first, so the page reads more of them rather than skip or repeat any."""
    certificate = parse_stamp(sqlite_demo.sample("genuine")).payload.certificate_id
    with sqlite_demo.service.write() as session:
        producer = registry.actor_for_token(session, token=sqlite_demo.info["tokens"]["producer"])
        assert producer is not None
        for _ in range(30):
            registry.allocate_batch(session, actor=producer, certificate_id=certificate, count=1,
                                    now=NOW)  # fmt: skip
    [whole] = _pages(sqlite_demo, {"perPage": 1000})
    pages = [_listed(page) for page in _pages(sqlite_demo, {"perPage": 2})]
    assert [e for page in pages for e in page] == _listed(whole)
    assert all(1 <= len(page) <= 2 for page in pages)
    assert sum(e["eventTime"] == format_time(NOW) for e in _listed(whole)) == 30


def _token(*parts: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(parts)).encode()).decode().rstrip("=")


UUID = "urn:uuid:2d815120-f179-5456-a1fb-fc0bf982b3a8"


@pytest.mark.parametrize(
    "params",
    [
        {"nextPageToken": "garbage"},
        {"nextPageToken": "!!!"},
        {"nextPageToken": _token("2026-01-01T00:00:00Z")},
        {"nextPageToken": _token("yesterday", UUID)},
        {"nextPageToken": _token("9999-12-31T23:59:59-14:00", UUID)},
        {"nextPageToken": _token("2026-01-01T00:00:00Z", "urn:uuid:x")},
        {"nextPageToken": _token("2026-01-01T00:00:00", UUID)},
        {"nextPageToken": _token(1, 2)},
        {"nextPageToken": "x" * 201},
        {"nextPageToken": "a\x00b"},
        {"perPage": 0},
        {"perPage": 10**9},
        {"perPage": 2**63},
        {"perPage": "many"},
        {"GE_eventTime": "yesterday"},
        {"GE_eventTime": "2026-11-01T00:00:00"},
        {"GE_eventTime": "9999-12-31T23:59:59-14:00"},
        {"LT_eventTime": "0001-01-01T00:00:00+14:00"},
        {"GE_eventTime": "2026-11-01T00:00:00Z\x00"},
        {"eventType": "Event"},
        {"eventType": "ObjectEvent\x00"},
        {"eventType": ["ObjectEvent"] * 11},
        {"EQ_bizStep": "inspecting"},
        {"a\x00": "b"},
    ],
)  # fmt: skip
def test_hostile_queries_are_refused_in_json_never_500(
    sqlite_demo: Demo, params: dict[str, Any]
) -> None:
    answer = sqlite_demo.client.get("/api/v1/epcis/events", params=params)
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["request_id"] == answer.headers["x-request-id"]


def test_the_export_refuses_a_file_it_cannot_write_in_one_line(
    sqlite_demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:  # fmt: skip
    monkeypatch.setenv("OCOP_DATABASE_URL", sqlite_demo.service.settings.database_url)
    (tmp_path / "file").write_text("not a directory")
    export = ["traceability", "export", "--data-dir", str(sqlite_demo.data_dir)]
    for out in (tmp_path, tmp_path / "file" / "ocop.jsonld", tmp_path / "none" / "ocop.jsonld"):
        assert cli.main([*export, "--out", str(out)]) == 2
        said = capsys.readouterr()
        assert said.out == ""
        assert re.fullmatch(rf"ocop: error: cannot write {re.escape(str(out))}: [^\n]+\n", said.err)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "db", "file"]  # no .part left
    for since in ("31/02/2026", "yesterday", "1999-12-31"):
        assert cli.main([*export, "--out", str(tmp_path / "x.jsonld"), "--since", since]) == 2
        assert "not a day" in capsys.readouterr().err
