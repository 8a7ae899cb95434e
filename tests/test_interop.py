"""Interoperability with tests/interop/ocop-verify.mjs, a verifier written in JavaScript from
docs/stamp-format.md and the published vectors alone (never from this code).

Both ways: the independent verifier passes every vector and agrees with ours on the stamps our
service makes; and stamps it forges with each misuse the format covers (DESIGN.md section 1:
1 untrusted keys, 3 stars beyond the key's scope, 9 a leaked key above its watermark,
10 lookalike hosts) are rejected by ours, while an honest stamp it makes is accepted.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from signing import Payload, StampIssuer, parse_stamp, verify
from tests.conftest import NOW, World
from tests.vectors import generate
from verifier import registry
from verifier.cli.demo import create_demo
from verifier.lists.signed_lists import trusted_key
from verifier.service import Service
from verifier.settings import Settings
from verifier.signer import keyfiles
from verifier.store.database import sqlite_url
from verifier.store.models import SigningKey

SCRIPT = Path(__file__).parent / "interop" / "ocop-verify.mjs"
VECTORS = json.loads((generate.HERE / "vectors.json").read_text())
CASES = {c["name"]: c for c in VECTORS["stamps"]}
AT = "2026-11-24T03:00:00Z"


def _node(*args: str) -> tuple[int, dict[str, Any]]:
    node = shutil.which("node")
    if node is None:  # CI installs nodejs; a missing interpreter must fail, not skip
        pytest.fail("node is not installed: the interoperability tests need Node.js")
    command = [node, str(SCRIPT), *args]
    run = subprocess.run(command, check=False, capture_output=True, text=True, timeout=120)
    assert run.stdout, run.stderr
    return run.returncode, json.loads(run.stdout)


@pytest.fixture(scope="module")
def lists_dir(world: World, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("lists")
    (folder / "trust.json").write_bytes(world.trust_document)
    (folder / "status.json").write_bytes(world.status_document)
    (folder / "root.hex").write_text(world.root.public_key.hex())
    return folder


def _node_verdict(folder: Path, text: str, *extra: str) -> dict[str, Any]:
    _, answer = _node(
        "verify", "--trust-list", str(folder / "trust.json"),
        "--status-list", str(folder / "status.json"),
        "--root-key", (folder / "root.hex").read_text(), "--at", AT, *extra, text,
    )  # fmt: skip
    return answer


def _forge(key: str, payload: Payload, host: str = "ocop.vn") -> str:
    _, answer = _node(
        "forge", "--seed", VECTORS["keys"][key]["seed_hex"], "--key-index", str(payload.key_index),
        "--certificate", str(payload.certificate_id), "--stars", str(payload.stars),
        "--valid-until", payload.valid_until.isoformat(), "--serial", str(payload.serial),
        "--host", host,
    )  # fmt: skip
    url: str = answer["url"]
    return url


def test_the_independent_verifier_passes_every_published_vector() -> None:
    status, report = _node("vectors", str(generate.HERE))
    assert report["failures"] == []
    assert (report["stamp_cases"], report["document_cases"], report["change_cases"]) == (
        len(CASES),
        len(VECTORS["documents"]),
        len(VECTORS["changes"]),
    )
    assert status == 0


def _fields(case: str, **changes: Any) -> Payload:
    payload = parse_stamp(CASES[case]["input"]).payload
    values = {f: getattr(payload, f) for f in Payload.__slots__}
    return Payload(**{**values, **changes})


def test_an_honest_stamp_made_by_the_independent_implementation_is_genuine(world: World) -> None:
    url = _forge("province", _fields("valid_4_stars", serial=1043))
    verdict = verify(url, world.trust_list, world.status_list, world.now)
    assert (verdict.verdict.value, verdict.reasons) == ("genuine", ())


@pytest.mark.parametrize(
    ("misuse", "key", "case", "changes", "host", "reasons"),
    [
        ("1: a key nobody trusts, own index", "untrusted", "valid_4_stars",
         {"key_index": 9}, "ocop.vn", ("unknown_key",)),
        ("1: a key nobody trusts, a trusted index", "untrusted", "valid_4_stars",
         {}, "ocop.vn", ("bad_signature",)),
        ("3: 5 stars by the 3-4 star provincial key", "province", "valid_4_stars",
         {"stars": 5}, "ocop.vn", ("stars_out_of_key_scope",)),
        ("3: 4 stars by the 5-star central key", "central", "valid_5_stars",
         {"stars": 4}, "ocop.vn", ("stars_out_of_key_scope",)),
        ("9: the leaked key just above its watermark", "compromised",
         "compromised_key_below_watermark", {"serial": 5001}, "ocop.vn", ("key_compromised",)),
        ("9: the leaked key far above its watermark", "compromised",
         "compromised_key_below_watermark", {"serial": 2**48 - 1}, "ocop.vn",
         ("key_compromised",)),
        ("10: a lookalike host with a forged stamp", "untrusted", "valid_4_stars",
         {}, "0cop.vn", ("bad_signature",)),
        ("10: a lookalike host, 5 stars by the provincial key", "province", "valid_4_stars",
         {"stars": 5}, "ocop-vn.com", ("stars_out_of_key_scope",)),
    ],
)  # fmt: skip
def test_stamps_forged_by_the_independent_implementation_are_rejected(
    world: World,
    lists_dir: Path,
    misuse: str,
    key: str,
    case: str,
    changes: dict[str, Any],
    host: str,
    reasons: tuple[str, ...],
) -> None:
    url = _forge(key, _fields(case, **changes), host)
    ours = verify(url, world.trust_list, world.status_list, world.now)
    assert (ours.verdict.value, ours.reasons) == ("counterfeit", reasons), misuse
    theirs = _node_verdict(lists_dir, url)
    assert (theirs["verdict"], tuple(theirs["reasons"])) == ("counterfeit", reasons), misuse


def test_the_leaked_key_below_its_watermark_still_verifies_on_both(
    world: World, lists_dir: Path
) -> None:
    url = _forge("compromised", _fields("compromised_key_below_watermark", serial=4999))
    ours = verify(url, world.trust_list, world.status_list, world.now)
    theirs = _node_verdict(lists_dir, url)
    expected = ("genuine", ["offline", "key_compromised_below_watermark"])
    assert (ours.verdict.value, list(ours.notes)) == expected
    assert (theirs["verdict"], theirs["notes"]) == expected


def test_both_verifiers_agree_on_every_stamp_our_service_makes(tmp_path: Path) -> None:
    """The demo's sample of every verdict, and a freshly issued and signed batch."""
    data_dir = tmp_path / "data"
    info = create_demo(data_dir, b"demo", NOW)
    settings = Settings(data_dir=data_dir, database_url=sqlite_url(data_dir), passphrase=b"demo")
    service = Service.start(settings, NOW)
    try:
        lists = service.lists(NOW)
        with service.writer.begin() as session:
            producer = registry.actor_for_token(session, token=info["tokens"]["producer"])
            assert producer is not None
            genuine = parse_stamp(info["stamp_urls"]["genuine"]).payload
            batch = registry.allocate_batch(
                session, actor=producer, certificate_id=genuine.certificate_id, count=12, now=NOW
            )
            serials = range(batch.first_serial, batch.first_serial + batch.count)
            key = session.get(SigningKey, batch.key_index)
            assert key is not None
            assert key.key_file is not None
            private = keyfiles.read_key(data_dir / key.key_file, b"demo")
            issuer = StampIssuer(private, trusted_key(key))
        batch_urls = [
            issuer.sign(
                Payload(batch.key_index, genuine.certificate_id, genuine.stars,
                        genuine.valid_until, serial), NOW,
            ).url("ocop.vn")
            for serial in serials
        ]  # fmt: skip
    finally:
        service.close()
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "trust.json").write_bytes(lists.trust.raw)
    (folder / "status.json").write_bytes(lists.status.raw)
    root = keyfiles.read_key(data_dir / "keys/root.pem", b"demo")
    (folder / "root.hex").write_text(root.public_key.hex())

    samples = {**info["stamp_urls"], **{f"batch {i}": url for i, url in enumerate(batch_urls)}}
    # the Digital Link stamp with another product's GTIN (issue 20)
    samples["gs1_moved"] = samples["genuine_gs1"].replace(
        "/01/08935049500018/", "/01/08935049500025/"
    )
    verdicts = {}
    for name, url in samples.items():
        ours = verify(url, lists.trust_list, lists.status_list, NOW)
        theirs = _node_verdict(folder, url)
        assert (theirs["verdict"], theirs["reasons"], theirs["notes"]) == (
            ours.verdict.value, list(ours.reasons), list(ours.notes),
        ), name  # fmt: skip
        verdicts[name] = theirs["verdict"]
    assert all(verdicts[f"batch {i}"] == "genuine" for i in range(12))
    assert (verdicts["genuine_gs1"], verdicts["gs1_moved"]) == ("genuine", "counterfeit")
    assert {"genuine", "expired", "revoked", "star_mismatch", "counterfeit", "malformed"} <= set(
        verdicts.values()
    )
