"""The ``ocop`` command, run in-process through ``main(argv)``."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from signing import PrivateKey
from signing.keys import b64url_encode
from stamps import encode_qr, write_png
from stamps.qr import png_bytes
from tests.conftest import Demo, World, fresh_database
from tests.vectors import generate
from verifier.cli import main
from verifier.store.database import make_engine, session_factory
from verifier.store.models import Authority

CASES = {c["name"]: c for c in json.loads((generate.HERE / "vectors.json").read_text())["stamps"]}
AT = "2026-11-24T10:00:00+07:00"


@pytest.fixture
def data_dir(tmp_path: Path, world: World) -> Path:
    (tmp_path / "trust-list.json").write_bytes(world.trust_document)
    (tmp_path / "status-list.json").write_bytes(world.status_document)
    (tmp_path / "root-public-key.txt").write_text(world.root.public_key.hex() + "\n")
    return tmp_path


def _verify(data_dir: Path, *args: str) -> int:
    return main(["verify", "--offline", "--data-dir", str(data_dir), "--at", AT, *args])


def test_verify_genuine_exits_0_in_vietnamese(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _verify(data_dir, CASES["valid_4_stars"]["input"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("GENUINE: Tem thật")
    assert "hiệu lực đến 14/05/2028" in out


@pytest.mark.parametrize(
    "name", ["certificate_revoked", "key_out_of_scope_5_stars", "compromised_key_above_watermark"]
)
def test_verify_other_verdicts_exit_1_with_json(
    data_dir: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _verify(data_dir, "--json", CASES[name]["input"]) == 1
    answer = json.loads(capsys.readouterr().out)
    assert answer["verdict"] == CASES[name]["expected"]["verdict"]
    assert answer["reasons"] == CASES[name]["expected"]["reasons"]
    assert answer["message"]["vi"]
    assert answer["message"]["en"]


def test_verify_reads_a_photo_of_the_qr(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    photo = tmp_path / "photo.png"
    write_png(encode_qr(CASES["valid_5_stars"]["input"]), photo, module_px=4)
    assert _verify(data_dir, "--lang", "en", str(photo)) == 0
    assert "5 stars" in capsys.readouterr().out


def test_an_image_without_a_qr_is_a_clear_error(
    data_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blank = tmp_path / "blank.png"
    blank.write_bytes(b"\x89PNG not really")
    assert _verify(data_dir, "--lang", "en", str(blank)) == 2
    assert "not a readable image" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("language", "advice"),
    [((), "Hãy giữ máy thật yên"), (("--lang", "en"), "Hold the phone steady")],
    ids=["vi", "en"],
)
def test_a_photo_without_a_qr_code_gets_advice_in_the_chosen_language(
    data_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    language: tuple[str, ...],
    advice: str,
) -> None:
    blank = tmp_path / "blank.png"
    blank.write_bytes(png_bytes([[False] * 21] * 21))
    assert _verify(data_dir, *language, str(blank)) == 2
    assert advice in capsys.readouterr().err


def test_stars_seen_is_passed_to_the_verdict(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _verify(data_dir, "--json", "--stars-seen", "5", CASES["valid_4_stars"]["input"]) == 1
    assert json.loads(capsys.readouterr().out)["reasons"] == ["stars_seen_higher"]


def test_malformed_text_exits_1_not_a_traceback(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _verify(data_dir, "https://ocop.vn/s/12345") == 1
    assert "MALFORMED" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["verify", "x"], "--data-dir"),
        (["verify", "--data-dir", "{d}", "x"], "OCOP_KEY_PASSPHRASE"),
        (["verify", "--offline", "--data-dir", "{d}/missing", "x"], "cannot read"),
        (["verify", "--offline", "x"], "--data-dir"),
        (["verify", "--offline", "--data-dir", "{d}", "--root-key", "abc", "x"], "32 bytes"),
    ],
)
def test_usage_errors_exit_2_with_a_message(
    data_dir: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([a.replace("{d}", str(data_dir)) for a in args]) == 2
    assert message in capsys.readouterr().err


def test_lists_signed_by_another_root_are_refused(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = PrivateKey.generate().public_key.hex()
    assert _verify(data_dir, "--root-key", other, CASES["valid_4_stars"]["input"]) == 2
    assert "document_signature_invalid" in capsys.readouterr().err


def test_expired_lists_are_refused(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["verify", "--offline", "--data-dir", str(data_dir), "--at", "2027-01-01T00:00:00Z"]
    assert main([*args, CASES["valid_4_stars"]["input"]]) == 2
    assert "document_expired" in capsys.readouterr().err


def test_keys_generate_writes_an_encrypted_private_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OCOP_KEY_PASSPHRASE", "s3cret passphrase")
    target = tmp_path / "keys" / "province-01.pem"
    assert main(["keys", "generate", "--out", str(target)]) == 0
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    key = PrivateKey.from_pem(target.read_bytes(), b"s3cret passphrase")
    generated = capsys.readouterr().out
    assert main(["keys", "show", str(target)]) == 0
    assert capsys.readouterr().out == generated
    assert b64url_encode(key.public_key) in generated


def test_keys_generate_never_overwrites(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OCOP_KEY_PASSPHRASE", "pw")
    target = tmp_path / "k.pem"
    target.write_bytes(b"precious")
    assert main(["keys", "generate", "--out", str(target)]) == 2
    assert target.read_bytes() == b"precious"
    assert "never overwritten" in capsys.readouterr().err


def test_keys_need_a_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("OCOP_KEY_PASSPHRASE", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    assert main(["keys", "generate", "--out", str(tmp_path / "k.pem")]) == 2
    assert "OCOP_KEY_PASSPHRASE" in capsys.readouterr().err
    assert not (tmp_path / "k.pem").exists()


def test_keys_show_with_wrong_passphrase(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "k.pem"
    target.write_bytes(PrivateKey.generate().to_pem(b"right"))
    monkeypatch.setenv("OCOP_KEY_PASSPHRASE", "wrong")
    assert main(["keys", "show", str(target)]) == 2
    assert "wrong passphrase" in capsys.readouterr().err


def test_unknown_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["frobnicate"]) == 2
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("sample", "status", "verdict", "reason"),
    [
        ("genuine", 0, "genuine", None),
        ("unregistered", 1, "unregistered", "batch_voided"),
        ("revoked", 1, "revoked", "certificate_revoked"),
    ],
)
def test_verify_without_offline_asks_the_registry_and_records_the_scan(
    demo: Demo,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    sample: str,
    status: int,
    verdict: str,
    reason: str | None,
) -> None:
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    command = ["verify", "--data-dir", str(demo.data_dir), "--at", "2026-11-24T03:00:00Z"]
    assert main([*command, "--json", demo.sample(sample)]) == status
    answer = json.loads(capsys.readouterr().out)
    assert answer["verdict"] == verdict
    assert (reason in answer["reasons"]) if reason else answer["reasons"] == []
    assert "offline" not in answer["notes"]
    assert answer["scans"]["count"] >= 1  # an issued serial, even of a voided batch, counts
    # the times as the API writes them: ISO 8601 with the offset
    assert datetime.fromisoformat(answer["scans"]["first_at"]).utcoffset() is not None
    assert main([*command, demo.sample(sample)]) == status
    out = capsys.readouterr().out
    assert out.startswith(f"{verdict.upper()}: ")
    assert "đã được kiểm tra" in out


@pytest.mark.parametrize("sample", ["genuine", "revoked", "counterfeit"])
def test_one_verdict_json_for_the_api_and_the_command_online_and_offline(
    demo: Demo,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    sample: str,
) -> None:
    """``ocop verify --json`` writes the API's answer, online and offline (regression: the
    offline answer had a shape of its own)."""
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    code = demo.sample(sample)
    api = demo.client.get("/api/v1/verify", params={"code": code}).json()
    demo.service.recorder.flush()
    main(["verify", "--data-dir", str(demo.data_dir), "--json", code])
    online = json.loads(capsys.readouterr().out)
    if sample != "counterfeit":  # the command's check is recorded too
        api["scans"]["count"] += 1
    assert online == api

    trust, status = tmp_path / "trust-list.json", tmp_path / "status-list.json"
    trust.write_bytes(demo.client.get("/.well-known/ocop/trust-list").content)
    status.write_bytes(demo.client.get("/.well-known/ocop/status-list").content)
    root = demo.service.root_public.hex()
    main(["verify", "--offline", "--trust-list", str(trust), "--status-list", str(status),
          "--root-key", root, "--json", code])  # fmt: skip
    offline = json.loads(capsys.readouterr().out)
    assert list(offline) == list(api)
    assert (offline["scans"], offline["official_domain"]) == (None, None)
    assert offline["notes"] == ["offline", *api["notes"]]
    for same in ("verdict", "reasons", "reason_messages", "stamp", "message"):
        assert offline[same] == api[same]
    if api["certificate"] is None:
        assert offline["certificate"] is None
    else:  # the status list's entry: what only the registry knows is null
        assert list(offline["certificate"]) == list(api["certificate"])
        known = {k: v for k, v in offline["certificate"].items() if v is not None}
        assert known.pop("revocation", None) == (
            api["certificate"]["revocation"] and {**api["certificate"]["revocation"], "date": None}
        )
        assert known == {k: api["certificate"][k] for k in known}
        assert set(known) >= {"certificate_id", "issuer", "status", "stars", "valid_until"}


def test_the_entry_point_loads_the_command_only_when_it_runs() -> None:
    """Worker processes of ``ocop stamps batch`` import ``ocop``'s entry point as they start;
    loading the whole service there cost each worker a second (regression)."""
    probe = (
        "import sys, verifier.__main__; "
        "print(sorted(m for m in ('verifier.cli', 'sqlalchemy', 'alembic', 'uvicorn', 'numpy') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "[]"
    run = subprocess.run(
        [sys.executable, "-m", "verifier", "--help"], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0
    assert run.stdout.startswith("usage: ocop")


def test_ocop_demo_honours_ocop_database_url_regression(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`ocop demo` wrote SQLite whatever OCOP_DATABASE_URL said, so the demo could not be
    tried on PostgreSQL; now it builds the demo where `ocop serve` will read it, and refuses a
    database that already holds a registry."""
    with fresh_database("postgresql", tmp_path / "db") as url:
        monkeypatch.setenv("OCOP_DATABASE_URL", url)
        assert main(["demo", "--data-dir", str(tmp_path / "data")]) == 0
        assert not (tmp_path / "data" / "ocop.db").exists()
        engine = make_engine(url)
        try:
            with session_factory(engine)() as session:
                names = set(session.scalars(select(Authority.code)))
        finally:
            engine.dispose()
        assert {"VN-01", "VN-TW"} <= names
        capsys.readouterr()
        assert main(["demo", "--data-dir", str(tmp_path / "again")]) == 2
        assert "already holds a registry" in capsys.readouterr().err
        assert not (tmp_path / "again" / "keys").exists()
