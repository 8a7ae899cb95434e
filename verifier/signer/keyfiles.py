"""Private key files on disk: encrypted PKCS#8 PEM, mode 0600, never overwritten."""

from __future__ import annotations

import getpass
import os
import sys
from pathlib import Path

from signing import KeyLoadError, PrivateKey
from verifier.settings import PASSPHRASE_VARIABLE


class PassphraseMissing(KeyLoadError):
    """No passphrase in the environment and no terminal to ask on."""

    code = "passphrase_missing"


def passphrase(*, confirm: bool = False) -> bytes:
    """Return the key passphrase from ``OCOP_KEY_PASSPHRASE``, or ask on the terminal.

    Raises :class:`PassphraseMissing` when neither gives one, or the two entries differ.
    """
    value = os.environ.get(PASSPHRASE_VARIABLE)
    if value:
        return value.encode()
    if not sys.stdin.isatty():
        raise PassphraseMissing(f"set {PASSPHRASE_VARIABLE} to the key passphrase")
    first = getpass.getpass("Key passphrase: ")
    if confirm and getpass.getpass("Repeat the passphrase: ") != first:
        raise PassphraseMissing("the two passphrases differ")
    if not first:
        raise PassphraseMissing("the passphrase is empty")
    return first.encode()


def write_key(path: Path, key: PrivateKey, secret: bytes) -> None:
    """Write ``key`` encrypted with ``secret`` to a new file readable by its owner only.

    Raises ``FileExistsError`` rather than overwrite a key, and :class:`KeyLoadError` for an
    empty passphrase.
    """
    pem = key.to_pem(secret)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)


def read_key(path: Path, secret: bytes) -> PrivateKey:
    """Load an encrypted key file. Raises ``OSError`` or :class:`KeyLoadError`."""
    return PrivateKey.from_pem(path.read_bytes(), secret)
