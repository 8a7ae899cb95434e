"""Issue 19's two roles: ``ocop serve`` on a data directory with no private key and no
passphrase answers every verdict and serves the signed lists that ``ocop signer``, on the
directory that holds the root key, publishes to their shared database; a revocation made
through the public API reaches the next status list."""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import brotli
import pytest
from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from signing import CertificateState, KeyStatus, StatusList, parse_stamp
from signing.keys import b64url_decode
from tests.conftest import NOW, Demo
from verifier import list_keeper
from verifier.lists.signed_lists import Snapshot, stored_snapshot
from verifier.service import Service
from verifier.settings import ROOT_PUBLIC_KEY_FILE, Settings
from verifier.store.database import sqlite_url
from verifier.store.models import CompressedForms, SigningKey
from verifier.web.routes import health as health_module

OCOP = [sys.executable, "-m", "verifier"]
EXPECTED = {
    "genuine_5_stars": "genuine",
    "genuine_gs1": "genuine",
    "unregistered_never_issued": "unregistered",
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _call(url: str, data: dict[str, Any] | None = None, token: str | None = None) -> Any:
    request = urllib.request.Request(  # noqa: S310 - loopback
        url, data=None if data is None else json.dumps(data).encode(),
        headers={"Content-Type": "application/json",
                 **({"Authorization": f"Bearer {token}"} if token else {})},
    )  # fmt: skip
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
        return answer.read()


@pytest.fixture
def two_roles(tmp_path: Path) -> Iterator[tuple[str, dict[str, Any], bytes]]:
    """The public role on a key-less copy and the signer on the demo, on one database: the
    public role's URL, the demo's facts and the root public key."""
    signer_dir, public_dir = tmp_path / "signer", tmp_path / "public"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    subprocess.run([*OCOP, "demo", "--data-dir", str(signer_dir)], env=env, check=True,
                   capture_output=True)  # fmt: skip
    shutil.copytree(signer_dir, public_dir, ignore=shutil.ignore_patterns("*.pem", "ocop.db*"))
    assert not list(public_dir.rglob("*.pem"))
    shared = {**env, "OCOP_DATABASE_URL": sqlite_url(signer_dir)}
    port = _free_port()
    logs = tmp_path / "logs"
    logs.mkdir()
    signer = subprocess.Popen([*OCOP, "signer", "--data-dir", str(signer_dir)], env=shared,
                              stderr=(logs / "signer.log").open("wb"))  # fmt: skip
    public = subprocess.Popen(
        [*OCOP, "serve", "--data-dir", str(public_dir), "--port", str(port)],
        env={**shared, "OCOP_SECURE_COOKIES": "0"}, stderr=(logs / "serve.log").open("wb"),
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _call(f"{url}/livez")
                break
            except OSError:
                if time.monotonic() > deadline or public.poll() is not None:
                    raise AssertionError((logs / "serve.log").read_text()) from None
                time.sleep(0.2)
        info = json.loads((signer_dir / "demo.json").read_text())
        root = b64url_decode((public_dir / ROOT_PUBLIC_KEY_FILE).read_text().strip())
        yield url, info, root
    finally:
        for process in (public, signer):
            process.terminate()
            process.wait(timeout=30)
    assert signer.returncode == 0, (logs / "signer.log").read_text()


def test_a_public_node_without_keys_answers_and_serves_the_signers_lists(
    two_roles: tuple[str, dict[str, Any], bytes],
) -> None:
    url, info, root = two_roles
    for name, code in info["stamp_urls"].items():
        query = urllib.parse.urlencode({"code": code})
        answer = json.loads(_call(f"{url}/api/v1/verify?{query}"))
        assert answer["verdict"] == EXPECTED.get(name, name), name
    status = StatusList.verify(_call(f"{url}/.well-known/ocop/status-list"), [root], _now())
    genuine = parse_stamp(info["stamp_urls"]["genuine"]).payload
    ref = next(r for r in status.certificates if r.certificate_id == genuine.certificate_id)
    assert status.certificates[ref].status == CertificateState.ACTIVE
    revoke = {"decision": "QĐ 5/QĐ-UBND", "decision_date": "2026-11-20", "reason": "Vi phạm"}
    _call(f"{url}/api/v1/certificates/{genuine.certificate_id}/revoke", revoke,
          info["tokens"]["authority_VN-01"])  # fmt: skip
    query = urllib.parse.urlencode({"code": info["stamp_urls"]["genuine"]})
    verdict = json.loads(_call(f"{url}/api/v1/verify?{query}"))
    assert verdict["verdict"] == "revoked"  # at once, from the registry
    deadline = time.monotonic() + 30
    while True:  # the signed list follows when the signer has signed it
        later = StatusList.verify(_call(f"{url}/.well-known/ocop/status-list"), [root], _now())
        if later.version > status.version:
            break
        assert time.monotonic() < deadline, "the signer's status list never came"
        time.sleep(0.5)
    assert later.certificates[ref].status == CertificateState.REVOKED


def _now() -> datetime:
    return datetime.now(UTC)


def test_the_signer_republishes_the_trust_list_when_keys_change_elsewhere(demo: Demo) -> None:
    """A key retired or compromised by the public role (which cannot sign) reaches the trust
    list at the signer's next round: it compares the registry's keys with the list's."""
    before = demo.service.lists(NOW).trust_list
    index = min(before.keys)
    with demo.service.writer.begin() as session:  # as a write of the public role
        session.execute(
            update(SigningKey).where(SigningKey.index == index).values(status=KeyStatus.RETIRED)
        )
    demo.publish()
    after = demo.service.lists(NOW).trust_list
    assert after.version == before.version + 1
    assert after.keys[index].status == KeyStatus.RETIRED


def test_a_public_node_with_no_signed_lists_says_so_in_one_line(tmp_path: Path) -> None:
    """Without the root key and with no lists in its database, ``ocop serve`` exits 2 naming
    ``ocop signer``, before any worker starts (each failed with a traceback)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    public = tmp_path / "public"
    (public / "keys").mkdir(parents=True)
    (public / ROOT_PUBLIC_KEY_FILE).write_text("A" * 43 + "\n")  # a key, no lists signed by it
    command = [*OCOP, "serve", "--data-dir", str(public), "--port", str(_free_port())]
    run = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 2, run.stderr
    assert "ocop signer" in run.stderr
    assert "Traceback" not in run.stderr


def test_the_public_role_reads_the_stored_snapshot_again_only_when_it_changed(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The public role's rounds, every 2 s while the signer has not caught up, each read the
    whole stored snapshot (hundreds of kilobytes at national size) and compressed it again."""
    reads: list[int] = []

    def counted(session: Session) -> Snapshot | None:
        reads.append(1)
        return stored_snapshot(session)

    monkeypatch.setattr(list_keeper, "stored_snapshot", counted)
    service = demo.service
    keeper = list_keeper.ListKeeper(service.settings, service.sessions, service.root_public)
    first = keeper.lists(NOW)
    for _ in range(3):
        keeper.refresh()
        assert keeper.lists(NOW).snapshot_body is first.snapshot_body
    assert reads == [1]
    demo.signer.lists.publish(NOW + timedelta(days=4))  # past half its validity: signed again
    keeper.refresh()
    assert keeper.lists(NOW).snapshot_body.digest != first.snapshot_body.digest
    assert reads == [1, 1]


def test_a_public_node_without_keys_streams_a_batch_the_signer_signs(
    two_roles: tuple[str, dict[str, Any], bytes],
) -> None:
    """A producer's download from the public node: the codes come from the signer, through
    the database, and verify as genuine there."""
    url, info, _ = two_roles
    producer = info["tokens"]["producer"]
    certificate = parse_stamp(info["stamp_urls"]["genuine"]).payload.certificate_id
    batch = json.loads(_call(f"{url}/api/v1/batches", {"certificate_id": certificate,
                                                       "count": 2100}, producer))  # fmt: skip
    pdf = _call(f"{url}/api/v1/batches/{batch['id']}/stamps.pdf", token=producer)
    assert pdf.startswith(b"%PDF-1.4")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert pdf.count(b"/Type /Page ") == 30  # 72 stamps an A4 page
    rows = list(csv.DictReader(io.StringIO(
        _call(f"{url}/api/v1/batches/{batch['id']}/stamps.csv", token=producer).decode()
    )))  # fmt: skip
    assert [int(r["serial"]) for r in rows] == list(
        range(batch["first_serial"], batch["last_serial"] + 1)
    )
    for row in (rows[0], rows[-1]):
        query = urllib.parse.urlencode({"code": row["url"]})
        assert json.loads(_call(f"{url}/api/v1/verify?{query}"))["verdict"] == "genuine"


def test_healthz_warns_when_the_signer_is_late_but_stays_ready(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A signer that is down must not take every public node out of the load balancer:
    verdicts go on. /healthz stays 200 and warns once the signed lists have been behind the
    registry for SIGNER_LATE_SECONDS."""
    assert demo.client.get("/healthz").json()["warnings"] == []
    revoke = {"decision": "QĐ 5/QĐ-UBND", "decision_date": "2026-11-20", "reason": "Vi phạm"}
    certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
    answer = demo.client.post(f"/api/v1/certificates/{certificate}/revoke", json=revoke,
                              headers=demo.token("authority_VN-01"))  # fmt: skip
    assert answer.status_code == 200
    health = demo.client.get("/healthz")
    assert (health.status_code, health.json()["warnings"]) == (200, [])  # not late yet
    assert health.json()["signed_status_list_version"] < health.json()["status_list_version"]
    started = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: started + health_module.SIGNER_LATE_SECONDS + 1)
    late = demo.client.get("/healthz")
    assert (late.status_code, late.json()["warnings"]) == (200, ["signer_late"])
    monkeypatch.undo()
    demo.publish()
    caught_up = demo.client.get("/healthz").json()
    assert caught_up["warnings"] == []
    assert caught_up["signed_status_list_version"] == caught_up["status_list_version"]


def test_the_public_role_needs_no_passphrase_even_beside_key_files(tmp_path: Path) -> None:
    """Regression: a data directory holding ``keys/*.pem`` refused to start ``ocop serve``
    without OCOP_KEY_PASSPHRASE, though the public role opens no key. Now only the signer, which
    opens them, asks for it, in one line."""
    data_dir = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCOP_")}
    subprocess.run([*OCOP, "demo", "--data-dir", str(data_dir)], env=env, check=True,
                   capture_output=True)  # fmt: skip
    (data_dir / "demo.json").unlink()  # no longer a demo: no demo passphrase either
    settings = Settings.load(data_dir, env)
    assert settings.passphrase == b""
    Service.start(settings, _now()).close()  # the public role starts
    signer = subprocess.run([*OCOP, "signer", "--data-dir", str(data_dir)], env=env,
                            capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert signer.returncode == 2
    assert signer.stderr.strip().splitlines() == [
        f"ocop: error: cannot open the root key of {data_dir}: set OCOP_KEY_PASSPHRASE to the "
        "passphrase of the key files"
    ]


def test_the_public_role_serves_the_signers_compressed_forms_without_compressing(
    demo: Demo, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The signer compresses each document once, as it stores it; a public worker that reads
    it serves those forms instead of spending a third of a second per national-size document
    (in every worker) compressing it again. Documents stored without them are compressed
    here, as before."""
    demo.publish()  # the signer stores the lists with their forms

    def refuse(*_: object, **__: object) -> bytes:
        raise AssertionError("a public worker compressed a document")

    service = demo.service
    with monkeypatch.context() as patch:
        patch.setattr(gzip, "compress", refuse)
        patch.setattr(brotli, "compress", refuse)
        fresh = list_keeper.ListKeeper(service.settings, service.sessions, service.root_public)
        lists = fresh.lists(NOW)
    for document in (lists.trust, lists.status, lists.snapshot_body):
        assert gzip.decompress(document.gzip) == document.raw
        assert brotli.decompress(document.brotli) == document.raw
    with service.writer.begin() as session:  # stored before the signer kept the forms
        session.execute(delete(CompressedForms))
    fallback = list_keeper.ListKeeper(service.settings, service.sessions, service.root_public)
    assert brotli.decompress(fallback.lists(NOW).status.brotli) == lists.status.raw
