"""The only module that touches the Ed25519 primitives (pyca/cryptography).

Everything else in the project signs and verifies through :class:`PrivateKey` and
:func:`verify`, so the library serving the hot path can change in one place.
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from signing.errors import KeyLoadError

PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64
SEED_SIZE = 32


class PrivateKey:
    """An Ed25519 private key. Never printed, never serialised without a passphrase."""

    __slots__ = ("_key", "public_key")

    def __init__(self, key: Ed25519PrivateKey) -> None:
        self._key = key
        self.public_key: bytes = key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    def __repr__(self) -> str:
        return f"PrivateKey(public_key={self.public_key.hex()[:16]}...)"

    @classmethod
    def generate(cls) -> PrivateKey:
        """Return a new random key (from the operating system's CSPRNG)."""
        return cls(Ed25519PrivateKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateKey:
        """Return the key whose RFC 8032 32-byte seed is ``seed``. Test keys are made this way.

        Raises :class:`KeyLoadError` when the seed is not 32 bytes.
        """
        if len(seed) != SEED_SIZE:
            raise KeyLoadError(f"an Ed25519 seed is {SEED_SIZE} bytes, got {len(seed)}")
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(cls, data: bytes, passphrase: bytes) -> PrivateKey:
        """Load an encrypted PKCS#8 PEM key.

        Raises :class:`KeyLoadError` when the data is not a PEM key, the passphrase is wrong or
        empty, the key is not encrypted, or it is not an Ed25519 key.
        """
        if not passphrase:
            raise KeyLoadError("a passphrase is required to load a signing key")
        try:
            key = serialization.load_pem_private_key(data, password=passphrase)
        except TypeError as exc:  # raised by cryptography for an unencrypted key
            raise KeyLoadError(
                "the key file is not encrypted; keys must be stored as encrypted PKCS#8"
            ) from exc
        except (ValueError, UnsupportedAlgorithm) as exc:
            raise KeyLoadError(
                "could not load the key: wrong passphrase or not a PEM private key"
            ) from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise KeyLoadError(f"the key is {type(key).__name__}, not Ed25519")
        return cls(key)

    def to_pem(self, passphrase: bytes) -> bytes:
        """Return the key as encrypted PKCS#8 PEM. Raises :class:`KeyLoadError` on an empty
        passphrase."""
        if not passphrase:
            raise KeyLoadError("refusing to write a private key without a passphrase")
        return self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(passphrase),
        )

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 (RFC 8032, pure) signature of ``message``."""
        return self._key.sign(message)


@lru_cache(maxsize=1024)
def _public_key(public_key: bytes) -> Ed25519PublicKey:
    return Ed25519PublicKey.from_public_bytes(public_key)


def check_public_key(public_key: bytes) -> None:
    """Raise ``ValueError`` unless ``public_key`` is a well-formed raw Ed25519 public key."""
    if len(public_key) != PUBLIC_KEY_SIZE:
        raise ValueError(f"an Ed25519 public key is {PUBLIC_KEY_SIZE} bytes")
    _public_key(public_key)


def verify(public_key: bytes, signature: bytes, message: bytes) -> bool:
    """Return whether ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``.

    Never raises for bad input: a malformed key or signature simply does not verify.
    """
    if len(signature) != SIGNATURE_SIZE or len(public_key) != PUBLIC_KEY_SIZE:
        return False
    try:
        _public_key(public_key).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True
