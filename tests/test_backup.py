"""Backups with the audit log: `ocop backup` writes the registry and its log to one zip file,
`ocop restore` loads it into an empty database of the other kind (SQLite to PostgreSQL and
back) with the same verdicts, and `ocop audit verify --backup` checks the exported log on its
own and against the live one, which catches a history rewritten and re-hashed after the
backup (a chain check alone cannot)."""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from tests.conftest import NOW, Demo, fresh_database
from verifier.cli import main
from verifier.service import Service
from verifier.settings import Settings
from verifier.store.audit_chain import HEAD_KEY, entry_hash, verify_chain
from verifier.store.backup import BackupError, restore, verify_backup, write_backup
from verifier.store.database import make_engine, migrate
from verifier.store.models import AuditEntry, Meta
from verifier.web.app import create_app

SAMPLES = ("genuine", "counterfeit", "expired", "revoked", "star_mismatch", "unregistered")


def _backup(demo: Demo, path: Path) -> Path:
    demo.service.recorder.flush()
    write_backup(demo.service.sessions.kw["bind"], path, NOW)
    return path


Cli = Callable[..., tuple[int, str]]


@pytest.fixture
def cli(demo: Demo, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Cli:
    """Run ``ocop`` in-process on the demo's database (or ``url=``); return status and output."""

    def run(*argv: str, url: str = demo.service.settings.database_url) -> tuple[int, str]:
        monkeypatch.setenv("OCOP_DATABASE_URL", url)
        status = main(list(argv))
        captured = capsys.readouterr()
        return status, captured.out + captured.err

    return run


def _answers(client: TestClient, demo: Demo) -> dict[str, dict[str, Any]]:
    return {
        name: client.get("/api/v1/verify", params={"code": demo.sample(name)}).json()
        for name in SAMPLES
    }


def _verdicts(answers: dict[str, dict[str, Any]]) -> dict[str, str]:
    return {name: answer["verdict"] for name, answer in answers.items()}


def test_a_backup_restores_into_the_other_kind_of_database_with_the_same_verdicts(
    demo: Demo,
    tmp_path: Path,
    cli: Cli,
) -> None:
    before = _answers(demo.client, demo)
    assert before["genuine"]["verdict"] == "genuine"
    assert before["revoked"]["verdict"] == "revoked"
    backup = _backup(demo, tmp_path / "registry.zip")
    other = "postgresql" if demo.service.settings.database_url.startswith("sqlite") else "sqlite"
    with fresh_database(other, tmp_path / "restored") as url:
        status, out = cli("restore", "--data-dir", str(demo.data_dir), str(backup), url=url)
        assert status == 0, out
        assert "audit log intact" in out
        settings = Settings(data_dir=demo.data_dir, database_url=url, passphrase=b"demo")
        service = Service.start(settings, NOW)
        try:
            with TestClient(create_app(service, clock=lambda: NOW)) as client:
                after = _answers(client, demo)
                assert _verdicts(after) == _verdicts(before)
                genuine = after["genuine"]
                assert genuine["scans"]["count"] == before["genuine"]["scans"]["count"] + 1
                ordered = client.post(
                    "/api/v1/batches", headers=demo.token("producer"),
                    json={"certificate_id": genuine["stamp"]["certificate_id"], "count": 3},
                )  # fmt: skip
                assert ordered.status_code == 201, ordered.text  # ids continue past the restored
            with service.sessions() as session:
                assert verify_chain(session).intact
        finally:
            service.close()
        status, out = cli("restore", "--data-dir", str(demo.data_dir), str(backup), url=url)
        assert status == 2
        assert "restore needs it empty" in out


def test_the_backups_log_checks_out_on_its_own_and_against_the_live_log(
    demo: Demo,
    tmp_path: Path,
    cli: Cli,
) -> None:
    backup = _backup(demo, tmp_path / "registry.zip")
    status, out = cli("audit", "verify", "--backup", str(backup),
                       "--data-dir", str(demo.data_dir))  # fmt: skip
    assert status == 0, out
    assert out.count("intact") == 2
    assert "holds every one of the backup's" in out


def test_a_history_rewritten_and_rehashed_after_the_backup_is_caught(
    demo: Demo,
    tmp_path: Path,
    cli: Cli,
) -> None:
    backup = _backup(demo, tmp_path / "registry.zip")
    with demo.service.writer.begin() as session:  # an insider with database access
        entries = list(session.scalars(select(AuditEntry).order_by(AuditEntry.sequence)))
        previous = entries[2].previous_hash
        entries[2].actor = "someone else"
        for entry in entries[2:]:
            entry.previous_hash = previous
            entry.hash = previous = entry_hash(
                entry.sequence, entry.at, entry.actor, entry.action, entry.entity,
                entry.entity_id, entry.details, previous,
            )  # fmt: skip
        session.merge(Meta(key=HEAD_KEY, value=f"{entries[-1].sequence}:{previous}"))
    status, out = cli("audit", "verify", "--data-dir",
                       str(demo.data_dir), "--backup", str(backup))  # fmt: skip
    assert status == 1
    assert "audit log intact" in out  # the re-hashed chain holds together on its own ...
    assert "live log against the backup BROKEN at entry 3" in out  # ... but not with the backup
    assert "history rewritten" in out


def _rewrite(source: Path, target: Path, member: str, change: str, *, fix_sum: bool) -> None:
    """Copy a backup, replacing the first ``"actor":"...`` value in ``member``."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        manifest = json.loads(old.read("manifest.json"))
        for item in old.namelist():
            data = old.read(item)
            if item == member:
                lines = data.decode().splitlines(keepends=True)
                record = json.loads(lines[0])
                record["actor"] = change
                lines[0] = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
                data = "".join(lines).encode()
                if fix_sum:
                    table = member.removeprefix("tables/").removesuffix(".jsonl")
                    manifest["tables"][table]["sha256"] = hashlib.sha256(data).hexdigest()
            if item != "manifest.json":
                new.writestr(item, data)
        new.writestr("manifest.json", json.dumps(manifest))


def test_an_edited_backup_is_refused_or_its_log_found_broken(
    demo: Demo,
    tmp_path: Path,
    cli: Cli,
) -> None:
    backup = _backup(demo, tmp_path / "registry.zip")
    edited = tmp_path / "edited.zip"
    _rewrite(backup, edited, "tables/audit_log.jsonl", "nobody", fix_sum=False)
    with pytest.raises(BackupError, match="does not match its checksum"):
        verify_backup(edited)
    _rewrite(backup, edited, "tables/audit_log.jsonl", "nobody", fix_sum=True)
    report = verify_backup(edited)
    assert (report.broken_at, report.problem) == (1, "entry 1 was altered after it was written")
    status, out = cli("audit", "verify", "--backup", str(edited))
    assert status == 1
    assert "BROKEN at entry 1" in out


@pytest.mark.parametrize(
    "content", [b"", b"not a zip at all", b"PK\x03\x04broken", b"PK\x05\x06" + bytes(18)]
)
def test_a_file_that_is_not_a_backup_gets_a_plain_error(
    demo: Demo,
    tmp_path: Path,
    cli: Cli,
    content: bytes,
) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(content)
    status, out = cli("audit", "verify", "--backup", str(bad))
    assert status == 2
    assert "not an OCOP backup file" in out
    assert "Traceback" not in out


def test_a_restore_into_an_older_schema_is_refused_and_loads_nothing(
    demo: Demo, tmp_path: Path
) -> None:
    backup = _backup(demo, tmp_path / "registry.zip")
    with fresh_database("sqlite", tmp_path / "other") as url:
        engine = make_engine(url, writer=True)
        try:
            migrate(engine)
            with engine.begin() as connection:
                connection.execute(text("UPDATE alembic_version SET version_num = '0001'"))
            with pytest.raises(BackupError, match="schema"):
                restore(engine, backup)
            with engine.connect() as connection:
                assert connection.execute(text("SELECT COUNT(*) FROM producers")).scalar() == 0
        finally:
            engine.dispose()


def test_the_backup_command_writes_a_file_with_the_log_head(
    demo: Demo,
    cli: Cli,
) -> None:
    demo.client.get("/api/v1/verify", params={"code": demo.sample("genuine")})
    demo.service.recorder.flush()
    status, out = cli("backup", "--data-dir", str(demo.data_dir))
    assert status == 0, out
    written = next((demo.data_dir / "backups").glob("ocop-backup-*.zip"))
    with zipfile.ZipFile(written) as archive:
        manifest = json.loads(archive.read("manifest.json"))
    with demo.service.sessions() as session:
        head = session.get(Meta, HEAD_KEY)
    assert head is not None
    assert f"{manifest['audit_head']['sequence']}:{manifest['audit_head']['hash']}" == head.value
    assert "scans" not in manifest["tables"]  # raw events only with --with-scans
    assert "scan_flushes" not in manifest["tables"]  # the workers' change feed is no data
    assert manifest["tables"]["serial_scans"]["rows"] >= 1
    assert f"audit log to entry {manifest['audit_head']['sequence']}" in out
