"""Trust and status list documents: build, sign, verify, and refuse anything else."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, NamedTuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signing import (
    CertificateRef,
    CertificateState,
    CertificateStatus,
    DocumentError,
    DocumentExpired,
    DocumentInvalid,
    DocumentRollback,
    DocumentSignatureInvalid,
    PrivateKey,
    StatusList,
    TrustList,
)
from signing.keys import b64url_encode
from signing.lists import MAX_SUPERSEDE_CHAIN, follow_supersedes
from tests.conftest import World


def _resign(document: bytes, root: PrivateKey, edit: Any) -> bytes:
    """Return ``document`` with its claims edited by ``edit`` and signed again by ``root``."""
    outer = json.loads(document)
    claims = json.loads(outer["payload"])
    edit(claims)
    payload = json.dumps(claims)
    outer["payload"] = payload
    signature = root.sign(f"{outer['protected']}.{payload}".encode())
    outer["signature"] = b64url_encode(signature)
    return json.dumps(outer).encode()


def test_documents_round_trip(world: World) -> None:
    assert world.trust_list.keys == world.trust_list.keys
    rebuilt = TrustList.verify(
        world.trust_list.sign(world.root), [world.root.public_key], world.now
    )
    assert rebuilt == world.trust_list
    status = StatusList.verify(
        world.status_list.sign(world.root), [world.root.public_key], world.now
    )
    assert status == world.status_list


def test_signing_is_deterministic(world: World) -> None:
    assert world.trust_list.sign(world.root) == world.trust_document


def test_kid_selects_among_several_roots(world: World) -> None:
    roots = [PrivateKey.generate().public_key, world.root.public_key]
    assert TrustList.verify(world.trust_document, roots, world.now).version == 7


def test_no_trusted_root_is_a_signature_error(world: World) -> None:
    with pytest.raises(DocumentSignatureInvalid):
        TrustList.verify(world.trust_document, [], world.now)


def test_expiry_is_checked_to_the_second(world: World) -> None:
    expires = world.trust_list.expires_at
    TrustList.verify(world.trust_document, [world.root.public_key], expires)
    with pytest.raises(DocumentExpired) as caught:
        TrustList.verify(
            world.trust_document, [world.root.public_key], expires + timedelta(seconds=1)
        )
    assert caught.value.expires_at == expires


def test_rollback_carries_both_versions(world: World) -> None:
    with pytest.raises(DocumentRollback) as caught:
        StatusList.verify(
            world.status_document, [world.root.public_key], world.now, held_version=43
        )
    assert (caught.value.held_version, caught.value.offered_version) == (43, 42)


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c.update(type="ocop-status-list"),
        lambda c: c.update(version=-1),
        lambda c: c.update(version="7"),
        lambda c: c.update(version=True),
        lambda c: c.update(expires_at="2027-11-20"),
        lambda c: c.update(expires_at=c["issued_at"]),
        lambda c: c.update(keys={}),
        lambda c: c["keys"][0].update(stars=[2, 3]),
        lambda c: c["keys"][0].update(stars=[]),
        lambda c: c["keys"][0].update(stars=[[3]]),
        lambda c: c["keys"][0].update(public_key="not base64!"),
        lambda c: c["keys"][0].update(public_key=b64url_encode(b"short")),
        lambda c: c["keys"][0].update(status="lost"),
        lambda c: c["keys"][0].update(not_after="2020-01-01"),
        lambda c: c["keys"][0].update(index=70000),
        lambda c: c["keys"][2].update(last_serial=None),  # compromised without watermark
        lambda c: c["keys"].append(c["keys"][0]),  # an index twice
        lambda c: c["keys"].append(None),
        lambda c: c.pop("issued_at"),
    ],
)
def test_bad_trust_list_fields_are_document_invalid(world: World, edit: Any) -> None:
    document = _resign(world.trust_document, world.root, edit)
    with pytest.raises(DocumentInvalid):
        TrustList.verify(document, [world.root.public_key], world.now)


@pytest.mark.parametrize(
    "edit",
    [
        lambda c: c["certificates"][0].update(stars=6),
        lambda c: c["certificates"][0].update(status="superseded"),  # without a successor
        lambda c: c["certificates"][0].update(superseded_by={"issuer": "VN-01"}),
        lambda c: c["certificates"][0].update(valid_until="31/12/2027"),
        lambda c: c["blocked_serials"][0].update(first=800),  # first > last
        lambda c: c["voided_batches"][0].update(last=2**48),
        lambda c: c["certificates"].append(c["certificates"][0]),
        lambda c: c.pop("voided_batches"),
    ],
)
def test_bad_status_list_fields_are_document_invalid(world: World, edit: Any) -> None:
    document = _resign(world.status_document, world.root, edit)
    with pytest.raises(DocumentInvalid):
        StatusList.verify(document, [world.root.public_key], world.now)


@pytest.mark.parametrize(
    "header",
    [
        {"alg": "none", "typ": "ocop-trust-list+json"},
        {"alg": "EdDSA", "typ": "JWT"},
        {"alg": "EdDSA", "typ": "ocop-trust-list+json", "crit": ["exp"]},
    ],
)
def test_bad_headers_are_refused(world: World, header: dict[str, Any]) -> None:
    outer = json.loads(world.trust_document)
    outer["protected"] = b64url_encode(json.dumps(header).encode())
    with pytest.raises(DocumentInvalid):
        TrustList.verify(json.dumps(outer).encode(), [world.root.public_key], world.now)


@settings(max_examples=300)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300).map(str.encode)))
def test_any_bytes_give_a_list_or_a_typed_error(data: bytes) -> None:
    root = PrivateKey.from_seed(bytes(32)).public_key
    with pytest.raises(DocumentError):
        TrustList.verify(data, [root], datetime(2026, 1, 1, tzinfo=UTC))


def test_supersede_chain_is_followed_and_cycles_stop(world: World) -> None:
    a, b = CertificateRef("VN-01", 1), CertificateRef("VN-01", 2)
    superseded = CertificateState.SUPERSEDED
    cyclic = StatusList.of(
        1,
        world.now,
        world.now + timedelta(days=1),
        [
            CertificateStatus(a, superseded, 4, date(2027, 1, 1), superseded_by=b),
            CertificateStatus(b, superseded, 3, date(2029, 1, 1), superseded_by=a),
        ],
    )
    listed, current = cyclic.current(a)
    assert listed is not None
    assert listed.ref == a
    assert current is not None
    assert current.ref in (a, b)
    assert (
        world.status_list.current(CertificateRef("VN-01", 105))[1]
        == (world.status_list.certificates[CertificateRef("VN-01", 106)])
    )
    assert world.status_list.current(CertificateRef("VN-01", 999)) == (None, None)


def test_a_supersede_chain_is_followed_for_at_most_its_limit() -> None:
    """The one walk the status list and the registry's snapshot share: a chain longer than
    the limit stops after the limit's steps, as a cycle does."""
    endless = {n: _Entry(n, n + 1) for n in range(100)}
    assert follow_supersedes(endless[0], endless).number == MAX_SUPERSEDE_CHAIN
    three = {n: _Entry(n, n + 1 if n < 3 else None) for n in range(10)}
    assert follow_supersedes(three[0], three).number == 3
    assert follow_supersedes(three[7], three).number == 7
    to_nowhere = {0: _Entry(0, 99)}  # a successor the entries do not hold ends the walk
    assert follow_supersedes(to_nowhere[0], to_nowhere).number == 0
    cycle = {0: _Entry(0, 1), 1: _Entry(1, 0)}
    assert follow_supersedes(cycle[0], cycle).number == MAX_SUPERSEDE_CHAIN % 2


class _Entry(NamedTuple):
    number: int
    superseded_by: int | None


def test_lists_refuse_inconsistent_construction(world: World) -> None:
    with pytest.raises(ValueError, match="twice"):
        TrustList.of(1, world.now, world.now + timedelta(days=1), [world.entries["province"]] * 2)
    with pytest.raises(ValueError, match="later"):
        replace(world.trust_list, expires_at=world.trust_list.issued_at)
