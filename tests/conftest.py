"""Shared fixtures: the published test keys and signed lists of tests/vectors."""

from __future__ import annotations

import os
import re
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine

from signing import PrivateKey, StatusList, TrustedKey, TrustList
from tests.vectors import generate
from verifier import cli, registry
from verifier.cli.demo import create_demo
from verifier.service import Service
from verifier.settings import Settings
from verifier.signer.signing_role import Signer
from verifier.store.database import sqlite_url
from verifier.web.app import create_app


@dataclass(frozen=True)
class World:
    """The vectors' keys and lists, verified, at the vectors' pinned time."""

    now: datetime
    root: PrivateKey
    keys: dict[str, PrivateKey]
    entries: dict[str, TrustedKey]
    trust_list: TrustList
    status_list: StatusList
    trust_document: bytes
    status_document: bytes


@pytest.fixture(scope="session")
def world() -> World:
    keys = generate._keys()
    trust_list, status_list = generate._documents(keys)
    root = keys["root"].private
    trust_document, status_document = trust_list.sign(root), status_list.sign(root)
    return World(
        now=generate.NOW,
        root=root,
        keys={name: k.private for name, k in keys.items()},
        entries={name: k.entry for name, k in keys.items() if k.entry is not None},
        trust_list=TrustList.verify(trust_document, [root.public_key], generate.NOW),
        status_list=StatusList.verify(status_document, [root.public_key], generate.NOW),
        trust_document=trust_document,
        status_document=status_document,
    )


# The registry on a real database: every test runs on SQLite and on PostgreSQL.

NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _pinned_command_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ``ocop`` command reads the clock once, at its edge: pin it, so commands agree with
    the demo fixtures' time (regression: `ocop stamps batch` in tests signed with the real
    clock, so they would fail once the demo's recognitions expired)."""
    monkeypatch.setattr(cli, "_now", lambda: NOW)


@contextmanager
def fresh_database(kind: str, directory: Path) -> Iterator[str]:
    """Yield the URL of a fresh, empty database: an SQLite file in ``directory``, or a new
    schema on the PostgreSQL server named by ``OCOP_TEST_DATABASE_URL`` (``scripts/test-env.sh``
    starts a throwaway server and sets it; a missing server fails the test), dropped
    afterwards."""
    if kind == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        yield sqlite_url(directory)
        return
    base = os.environ.get("OCOP_TEST_DATABASE_URL")
    if not base:
        pytest.fail(
            "no PostgreSQL server: run the tests through `make test` (or "
            "`scripts/test-env.sh .venv/bin/python -m pytest ...`), which starts a throwaway "
            "one, or set OCOP_TEST_DATABASE_URL"
        )
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    try:
        yield f"{base}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind (see :func:`fresh_database`)."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


@dataclass
class Demo:
    """A demo deployment on a test database, with its service and an HTTP client."""

    data_dir: Path
    info: dict[str, Any]
    service: Service
    client: TestClient
    signer: Signer  # the signing role on the same database; it answers batches as they come

    def publish(self, now: datetime = NOW) -> None:
        """Let the signer bring the signed lists up to the registry (``ocop signer`` does every
        ``list_publish_seconds``), and the service read them."""
        self.signer.lists.publish(now)
        self.service.refresh()

    def token(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.info['tokens'][role]}"}

    def sample(self, verdict: str) -> str:
        return str(self.info["stamp_urls"][verdict])

    def actor(self, role: str) -> registry.Actor:
        """The actor the demo's token for ``role`` stands for."""
        with self.service.sessions() as session:
            actor = registry.actor_for_token(session, token=self.info["tokens"][role])
        assert actor is not None
        return actor

    def token_id(self, role: str) -> int:
        """The id of the demo's token for ``role``."""
        token_id = self.actor(role).token_id
        assert token_id is not None
        return token_id


_CSRF = re.compile(r'name="csrf" value="([0-9a-f]{64})"')


def csrf_of(page: str) -> str:
    """The CSRF token the forms of a signed-in page carry (the first one; all are alike)."""
    found = _CSRF.search(page)
    assert found is not None, "the page has no form with a CSRF token"
    return found[1]


@contextmanager
def _demo(database_url: str, tmp_path: Path) -> Iterator[Demo]:
    data_dir = tmp_path / "data"
    info = create_demo(data_dir, b"demo", NOW, database_url=database_url)
    settings = Settings(data_dir=data_dir, database_url=database_url, passphrase=b"demo")
    signer = Signer.start(settings)
    signer.batches.answer_in_background(lambda: NOW)
    service = Service.start(settings, NOW)
    try:
        # over HTTPS, as in production: the sign-in cookies are Secure
        with TestClient(
            create_app(service, clock=lambda: NOW), base_url="https://testserver"
        ) as client:
            yield Demo(data_dir, info, service, client, signer)
    finally:
        signer.close()


@pytest.fixture
def demo(database_url: str, tmp_path: Path) -> Iterator[Demo]:
    """The demo deployment on each kind of database."""
    with _demo(database_url, tmp_path) as deployment:
        yield deployment


@pytest.fixture
def sqlite_demo(tmp_path: Path) -> Iterator[Demo]:
    """The demo deployment on SQLite only, for what only an SQLite file can suffer (a garbled
    page, a column that takes any type)."""
    with fresh_database("sqlite", tmp_path / "db") as url, _demo(url, tmp_path) as deployment:
        yield deployment


# The closing count of tests per database, so a database left out shows.

_DATABASES = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
_OUTCOME_RANK = ["passed", "skipped", "failed", "error"]
_database_of: dict[str, str] = {}  # test id -> the database_url parameter it runs on
_outcome_of: dict[str, str] = {}  # test id -> its worst outcome over setup, call and teardown


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "database_url" in callspec.params:
            _database_of[item.nodeid] = callspec.params["database_url"]
        elif "sqlite_demo" in getattr(item, "fixturenames", ()):
            _database_of[item.nodeid] = "sqlite"


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.nodeid in _database_of:
        outcome = "error" if report.failed and report.when != "call" else report.outcome
        known = _outcome_of.get(report.nodeid, "passed")
        _outcome_of[report.nodeid] = max(known, outcome, key=_OUTCOME_RANK.index)


def pytest_unconfigure(config: pytest.Config) -> None:
    """End the run, after pytest's own summary, with how many tests ran on each database."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    for kind, name in _DATABASES.items():
        counts = Counter(o for test, o in _outcome_of.items() if _database_of[test] == kind)
        ran = counts.total() - counts["skipped"]
        detail = ", ".join(
            f"{counts[o]} {o}{'s' if o == 'error' and counts[o] > 1 else ''}"
            for o in _OUTCOME_RANK
            if counts[o]
        )
        reporter.write_line(f"{name}: {ran} tests ran ({detail or 'none'})")
