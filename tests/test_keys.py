"""Key loading from bytes, and the safe issuer that refuses out-of-scope payloads."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from signing import (
    InvalidPayload,
    KeyLoadError,
    KeyStatus,
    Payload,
    PrivateKey,
    SigningRefused,
    StampIssuer,
)
from tests.conftest import World


def test_encrypted_pem_round_trip() -> None:
    key = PrivateKey.generate()
    pem = key.to_pem(b"correct horse")
    assert b"ENCRYPTED PRIVATE KEY" in pem
    assert PrivateKey.from_pem(pem, b"correct horse").public_key == key.public_key


@pytest.mark.parametrize("passphrase", [b"wrong", b""])
def test_wrong_or_empty_passphrase_is_a_key_load_error(passphrase: bytes) -> None:
    pem = PrivateKey.generate().to_pem(b"right")
    with pytest.raises(KeyLoadError):
        PrivateKey.from_pem(pem, passphrase)


def test_unencrypted_key_is_refused() -> None:
    key = PrivateKey.generate()
    plain = key._key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    with pytest.raises(KeyLoadError, match="not encrypted"):
        PrivateKey.from_pem(plain, b"anything")


def test_non_ed25519_key_is_refused() -> None:
    other = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    )
    with pytest.raises(KeyLoadError, match="not Ed25519"):
        PrivateKey.from_pem(other, b"pw")


@pytest.mark.parametrize("data", [b"", b"garbage", b"-----BEGIN PRIVATE KEY-----\nAAAA\n"])
def test_garbage_is_a_key_load_error(data: bytes) -> None:
    with pytest.raises(KeyLoadError):
        PrivateKey.from_pem(data, b"pw")


def test_refuses_to_write_without_passphrase() -> None:
    with pytest.raises(KeyLoadError):
        PrivateKey.generate().to_pem(b"")


def test_private_key_repr_hides_the_secret() -> None:
    key = PrivateKey.from_seed(bytes(range(32)))
    assert bytes(range(32)).hex() not in repr(key)


# The issuer: the safe recipe over sign_payload.

SIGNED_AT = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)


def _issuer(world: World, name: str = "province") -> StampIssuer:
    return StampIssuer(world.keys[name], world.entries[name])


def test_issuer_signs_a_stamp_that_verifies(world: World) -> None:
    stamp = _issuer(world).sign(Payload(1, 101, 4, date(2028, 5, 14), 7), SIGNED_AT)
    assert stamp.signature_valid(world.entries["province"].public_key)
    assert not stamp.signature_valid(world.entries["central"].public_key)


@pytest.mark.parametrize(
    ("payload", "at", "message"),
    [
        (Payload(1, 101, 5, date(2028, 5, 14), 7), SIGNED_AT, "stars_out_of_key_scope"),
        (Payload(2, 101, 4, date(2028, 5, 14), 7), SIGNED_AT, "names key 2"),
        (Payload(1, 101, 4, date(2026, 11, 1), 7), SIGNED_AT, "not valid on"),
        (Payload(1, 101, 4, date(2031, 1, 1), 7), SIGNED_AT, "not valid on"),
        (Payload(1, 101, 4, date(2028, 5, 14), 7), datetime(2025, 6, 1, tzinfo=UTC), "may sign"),
    ],
)
def test_issuer_refuses_out_of_scope(
    world: World, payload: Payload, at: datetime, message: str
) -> None:
    with pytest.raises(SigningRefused, match=message):
        _issuer(world).sign(payload, at)


def test_issuer_refuses_a_compromised_key(world: World) -> None:
    with pytest.raises(SigningRefused, match="compromised"):
        _issuer(world, "compromised").sign(Payload(3, 301, 4, date(2028, 1, 31), 1), SIGNED_AT)


def test_issuer_refuses_a_mismatched_private_key(world: World) -> None:
    with pytest.raises(SigningRefused, match="does not belong"):
        StampIssuer(world.keys["central"], world.entries["province"])


def test_issuer_uses_the_vietnam_date(world: World) -> None:
    """23:30 UTC on 30/06/2030 is already 01/07/2030 in Hanoi: past the key's not_after."""
    entry = replace(world.entries["province"], status=KeyStatus.ACTIVE)
    issuer = StampIssuer(world.keys["province"], entry)
    payload = Payload(1, 101, 4, date(2030, 12, 31), 7)
    issuer.sign(payload, datetime(2030, 6, 30, 16, 59, tzinfo=UTC))
    with pytest.raises(SigningRefused, match="may sign"):
        issuer.sign(payload, datetime(2030, 6, 30, 17, 0, tzinfo=UTC))


def test_sign_serials_gives_the_stamps_sign_gives(world: World) -> None:
    issuer = _issuer(world)
    first = Payload(1, 101, 4, date(2028, 5, 14), 7)
    signed = issuer.sign_serials(first, 3, SIGNED_AT)
    assert signed == [
        issuer.sign(replace(first, serial=serial), SIGNED_AT).digits for serial in (7, 8, 9)
    ]
    assert issuer.sign_serials(first, 0, SIGNED_AT) == []


def test_sign_serials_checks_the_last_serial_too(world: World) -> None:
    """The first serial may be within the key's watermark and the last beyond it."""
    entry = replace(world.entries["province"], last_serial=10)
    issuer = StampIssuer(world.keys["province"], entry)
    first = Payload(1, 101, 4, date(2028, 5, 14), 5)
    assert len(issuer.sign_serials(first, 6, SIGNED_AT)) == 6
    with pytest.raises(SigningRefused, match="key_retired"):
        issuer.sign_serials(first, 7, SIGNED_AT)
    with pytest.raises(SigningRefused, match="stars_out_of_key_scope"):
        issuer.sign_serials(replace(first, stars=5), 1, SIGNED_AT)


def test_sign_serials_refuses_serials_past_48_bits(world: World) -> None:
    first = Payload(1, 101, 4, date(2028, 5, 14), (1 << 48) - 2)
    assert len(_issuer(world).sign_serials(first, 2, SIGNED_AT)) == 2
    with pytest.raises(InvalidPayload, match="serial"):
        _issuer(world).sign_serials(first, 3, SIGNED_AT)
