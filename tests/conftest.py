"""Shared fixtures: the published test keys and signed lists of tests/vectors."""

from __future__ import annotations

import os
import uuid
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
from verifier import cli
from verifier.app import create_app
from verifier.db import sqlite_url
from verifier.demo import create_demo
from verifier.service import Service
from verifier.settings import Settings


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
    schema on the PostgreSQL server named by ``OCOP_TEST_DATABASE_URL`` (required in CI, where
    a missing server fails the run), dropped afterwards."""
    if kind == "sqlite":
        directory.mkdir(parents=True, exist_ok=True)
        yield sqlite_url(directory)
        return
    base = os.environ.get("OCOP_TEST_DATABASE_URL")
    if not base:
        if os.environ.get("CI") or os.environ.get("OCOP_REQUIRE_POSTGRES"):
            pytest.fail("OCOP_TEST_DATABASE_URL is not set: CI must test on PostgreSQL")
        pytest.skip("set OCOP_TEST_DATABASE_URL to run the PostgreSQL tests")
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

    def token(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.info['tokens'][role]}"}

    def sample(self, verdict: str) -> str:
        return str(self.info["stamp_urls"][verdict])


@pytest.fixture
def demo(database_url: str, tmp_path: Path) -> Iterator[Demo]:
    data_dir = tmp_path / "data"
    info = create_demo(data_dir, b"demo", NOW, database_url=database_url)
    settings = Settings(data_dir=data_dir, database_url=database_url, passphrase=b"demo")
    service = Service.start(settings, NOW)
    with TestClient(create_app(service, clock=lambda: NOW)) as client:
        yield Demo(data_dir, info, service, client)
