"""Private keys by the reference the registry (a stamp key's ``key_file``) and the settings
(``OCOP_ROOT_KEY``) keep: an encrypted file under the data directory, ``keys/province-01.pem``,
or a key in a PKCS#11 token, ``pkcs11:token=VN-01;object=stamp-2027``. Whoever signs opens a key
here and need not know which of the two it is."""

from __future__ import annotations

from signing import Ed25519Signer, KeyLoadError, TrustedKey
from stamps.batch import FileKeySource, KeySource
from verifier.settings import MODULE_VARIABLE, PASSPHRASE_VARIABLE, PIN_VARIABLE, Settings
from verifier.signer import keyfiles
from verifier.signer.token_keys import (
    TokenAccess,
    TokenError,
    TokenKeyRef,
    TokenKeySource,
    is_token_reference,
    open_key,
)


def token_access(settings: Settings) -> TokenAccess:
    """Return how this deployment reaches its tokens. Raises :class:`TokenError` when the
    module or the PIN is not set."""
    if not settings.pkcs11_module:
        raise TokenError(f"set {MODULE_VARIABLE} to the token's PKCS#11 library")
    if not settings.token_pin:
        raise TokenError(f"set {PIN_VARIABLE} to the token's user PIN", code="token_pin")
    return TokenAccess(settings.pkcs11_module, settings.token_pin)


def holds_key(settings: Settings, reference: str) -> bool:
    """Return whether this deployment can reach the key ``reference`` names: its file exists,
    or a PKCS#11 module and a PIN are set for a key in a token."""
    if is_token_reference(reference):
        return bool(settings.pkcs11_module and settings.token_pin)
    return (settings.data_dir / reference).is_file()


def _passphrase(settings: Settings) -> bytes:
    """Return the key files' passphrase. Raises ``KeyLoadError`` when none is set (only the
    signer's host needs one: ``ocop serve`` opens no key)."""
    if not settings.passphrase:
        raise KeyLoadError(f"set {PASSPHRASE_VARIABLE} to the passphrase of the key files")
    return settings.passphrase


def open_private_key(settings: Settings, reference: str) -> Ed25519Signer:
    """Return the key ``reference`` names, ready to sign. Raises ``OSError`` for a key file
    that cannot be read and ``KeyLoadError`` (:class:`TokenError` for a token) for a key that
    does not open."""
    if is_token_reference(reference):
        return open_key(token_access(settings), TokenKeyRef.parse(reference))
    return keyfiles.read_key(settings.data_dir / reference, _passphrase(settings))


def key_source(settings: Settings, reference: str, key: TrustedKey) -> KeySource:
    """Return how a batch's worker processes open the key ``reference`` names, whose
    trust-list entry is ``key``. A key in a token is opened here once, so that a wrong PIN or
    a missing key shows before any work. Raises ``OSError`` for a key file that cannot be read
    and :class:`TokenError` for a key in a token that does not open."""
    if is_token_reference(reference):
        source = TokenKeySource(token_access(settings), TokenKeyRef.parse(reference), key)
        source.private_key()
        return source
    return FileKeySource((settings.data_dir / reference).read_bytes(), _passphrase(settings), key)
