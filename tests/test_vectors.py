"""Runs every published test vector through the verifier, and checks the files are current."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

import signing
from signing import DocumentError, StatusChanges, StatusList, TrustList, verify
from tests.vectors import generate

VECTORS = Path(__file__).parent / "vectors"
INDEX: dict[str, Any] = json.loads((VECTORS / "vectors.json").read_text("utf-8"))
NOW = datetime.fromisoformat(INDEX["now"])
ROOT = bytes.fromhex(INDEX["root_public_key_hex"])


LOADERS: dict[str, type[TrustList | StatusList | StatusChanges]] = {
    "trust_list": TrustList,
    "status_list": StatusList,
    "status_list_changes": StatusChanges,
}


def _load(
    kind: str, file: str, held_version: int | None = None
) -> TrustList | StatusList | StatusChanges:
    document = (VECTORS / file).read_bytes()
    return LOADERS[kind].verify(document, [ROOT], NOW, held_version=held_version)


@pytest.fixture(scope="module")
def lists() -> tuple[TrustList, StatusList]:
    trust_list = _load("trust_list", INDEX["trust_list"])
    status_list = _load("status_list", INDEX["status_list"])
    assert isinstance(trust_list, TrustList)
    assert isinstance(status_list, StatusList)
    return trust_list, status_list


@pytest.mark.parametrize("case", INDEX["stamps"], ids=lambda c: c["name"])
def test_stamp_vector(case: dict[str, Any], lists: tuple[TrustList, StatusList]) -> None:
    verdict = verify(case["input"], *lists, NOW, stars_seen=case.get("stars_seen"))
    expected = case["expected"]
    assert verdict.verdict == expected["verdict"]
    assert list(verdict.reasons) == expected["reasons"]
    assert list(verdict.notes) == expected["notes"]


@pytest.mark.parametrize(
    "case", [c for c in INDEX["stamps"] if "stamp" in c], ids=lambda c: c["name"]
)
def test_valid_vector_fields(case: dict[str, Any]) -> None:
    published = case["stamp"]
    stamp = signing.parse_stamp(published["url"])
    assert stamp.digits == published["digits"]
    assert stamp.payload.to_bytes().hex() == published["payload_hex"]
    assert stamp.signature.hex() == published["signature_hex"]
    assert stamp.signing_input.hex() == published["signing_input_hex"]
    fields = published["fields"]
    assert stamp.payload.stars == fields["stars"]
    assert stamp.payload.serial == fields["serial"]
    assert stamp.payload.valid_until.isoformat() == fields["valid_until"]


def test_valid_vectors_cover_every_star_level() -> None:
    stars = {c["stamp"]["fields"]["stars"] for c in INDEX["stamps"] if "stamp" in c}
    assert stars == {3, 4, 5}


def test_every_payload_bit_has_a_case() -> None:
    names = {c["name"] for c in INDEX["stamps"]}
    assert all(f"payload_bit_{bit:03d}_flipped" in names for bit in range(128))


@pytest.mark.parametrize("case", INDEX["documents"], ids=lambda c: c["name"])
def test_document_vector(case: dict[str, Any]) -> None:
    if case["expected_error"] is None:
        assert _load(case["kind"], case["file"], case["held_version"]).version >= 1
        return
    with pytest.raises(DocumentError) as caught:
        _load(case["kind"], case["file"], case["held_version"])
    assert caught.value.code == case["expected_error"]


def test_committed_vectors_match_the_generator() -> None:
    """Vectors are published: a change in the format or the generator must show up here."""
    for name, content in generate.build().items():
        assert (VECTORS / name).read_bytes() == content, f"{name} is stale: regenerate it"


def _status(file: str) -> StatusList:
    status_list = _load("status_list", file)
    assert isinstance(status_list, StatusList)
    return status_list


@pytest.mark.parametrize("case", INDEX["changes"], ids=lambda c: c["name"])
def test_changes_vector(case: dict[str, Any]) -> None:
    held = _status(case["held"])
    changes = _load("status_list_changes", case["changes"], held.version)
    assert isinstance(changes, StatusChanges)
    if case["expected_error"] is not None:
        with pytest.raises(DocumentError) as caught:
            held.apply(changes)
        assert caught.value.code == case["expected_error"]
        return
    applied, expected = held.apply(changes), _status(case["result"])
    assert (applied.version, applied.issued_at, applied.expires_at) == (
        expected.version,
        expected.issued_at,
        expected.expires_at,
    )
    assert applied.certificates == expected.certificates
    assert set(applied.blocked) == set(expected.blocked)
    assert set(applied.voided) == set(expected.voided)
