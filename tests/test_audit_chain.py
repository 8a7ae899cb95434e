"""The audit log's hash chain: `ocop audit verify` finds an edited, a deleted and a reordered
row, and entries removed at the end, on SQLite and on PostgreSQL; concurrent writers never
fork the chain."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import text

from signing import parse_stamp
from tests.conftest import Demo
from verifier.cli import main


def _verify(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[int, str]:
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    status = main(["audit", "verify", "--data-dir", str(demo.data_dir)])
    return status, capsys.readouterr().out


def _sql(demo: Demo, statements: str) -> None:
    with demo.service.writer.begin() as session:
        for statement in statements.split(";"):
            session.execute(text(statement))


def test_an_untouched_log_is_intact(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out = _verify(demo, monkeypatch, capsys)
    assert status == 0
    assert "audit log intact" in out


@pytest.mark.parametrize(
    ("tampering", "broken_at", "words"),
    [
        ("UPDATE audit_log SET actor = 'someone else' WHERE sequence = 5", 5, "altered"),
        ("UPDATE audit_log SET details = '{}' WHERE sequence = 7", 7, "altered"),
        ("DELETE FROM audit_log WHERE sequence = 6", 6, "missing"),
        (
            "UPDATE audit_log SET sequence = -3 WHERE sequence = 3;"
            "UPDATE audit_log SET sequence = 3 WHERE sequence = 4;"
            "UPDATE audit_log SET sequence = 4 WHERE sequence = -3",
            3,
            "does not follow",
        ),
    ],
)
def test_tampering_is_found_at_its_first_broken_link(
    demo: Demo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tampering: str,
    broken_at: int,
    words: str,
) -> None:
    _sql(demo, tampering)
    status, out = _verify(demo, monkeypatch, capsys)
    assert status == 1
    assert f"BROKEN at entry {broken_at}" in out
    assert words in out


def test_entries_removed_at_the_end_are_found(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _sql(demo, "DELETE FROM audit_log WHERE sequence = (SELECT MAX(sequence) FROM audit_log)")
    status, out = _verify(demo, monkeypatch, capsys)
    assert status == 1
    assert "entries removed" in out


def test_concurrent_writes_keep_one_chain(
    demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id

    def order(count: int) -> int:
        answer = demo.client.post(
            "/api/v1/batches",
            json={"certificate_id": certificate, "count": count},
            headers=demo.token("producer"),
        )
        status: int = answer.status_code
        return status

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert set(pool.map(order, range(1, 21))) == {201}
    status, out = _verify(demo, monkeypatch, capsys)
    assert status == 0, out
