"""Keys held in a PKCS#11 token (a hardware security module, or SoftHSM2 in the tests):
generated inside it as non-extractable Ed25519 keys, listed, and used to sign without the
private key ever leaving it.

A key in a token is named by an RFC 7512 URI, ``pkcs11:token=VN-01;object=stamp-2027`` (the
token's label and the key's), kept where a key file's path is kept. The PKCS#11 module (the
token vendor's library) and the user PIN belong to the deployment's settings, never to the
reference.

PKCS#11 logs in an application, not a session: each process keeps one logged-in session per
token, shared by every key of that token, and signs through it one message at a time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote

import pkcs11
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import (
    MultipleObjectsReturned,
    NoSuchKey,
    NoSuchToken,
    PinIncorrect,
    PinLenRange,
    PinLocked,
    PKCS11Error,
)
from pkcs11.types import Object, Session, SignMixin
from pkcs11.util.ec import encode_named_curve_parameters

from signing import KeyLoadError, TrustedKey

__all__ = [
    "TokenAccess",
    "TokenError",
    "TokenKey",
    "TokenKeyInfo",
    "TokenKeyRef",
    "TokenKeySource",
    "close_tokens",
    "generate_key",
    "is_token_reference",
    "list_keys",
    "open_key",
]

SCHEME = "pkcs11:"
ED25519_CURVE = "1.3.101.112"  # id-Ed25519 (RFC 8410), the curve of CKM_EC_EDWARDS_KEY_PAIR_GEN
PUBLIC_KEY_SIZE = 32
_DER_OCTET_STRING_32 = b"\x04\x20"  # how PKCS#11 3.0 wraps the 32 bytes in CKA_EC_POINT


class TokenError(KeyLoadError):
    """The token, the PIN or the key in it could not be used; the message says which."""

    code = "token_error"


@dataclass(frozen=True, slots=True)
class TokenKeyRef:
    """Where a key is in a token: the token's label and the key's label (its private and
    public halves share it)."""

    token: str
    label: str

    @property
    def uri(self) -> str:
        """Return the RFC 7512 URI, ``pkcs11:token=...;object=...``."""
        return f"{SCHEME}token={quote(self.token, safe='')};object={quote(self.label, safe='')}"

    @classmethod
    def parse(cls, text: str) -> TokenKeyRef:
        """Return the reference a ``pkcs11:`` URI names by its ``token`` and ``object``
        attributes (``type=private`` is allowed). Raises :class:`TokenError` for any other
        text."""
        if not is_token_reference(text) or "?" in text:
            raise TokenError(f"not a key in a token (pkcs11:token=...;object=...): {text!r}")
        attributes: dict[str, str] = {}
        for part in text.removeprefix(SCHEME).split(";"):
            name, equals, value = part.partition("=")
            if not equals or name in attributes:
                raise TokenError(f"not a key in a token (pkcs11:token=...;object=...): {text!r}")
            attributes[name] = unquote(value)
        if attributes.pop("type", "private") != "private":
            raise TokenError(f"{text!r} names no private key")
        token, label = attributes.pop("token", ""), attributes.pop("object", "")
        if not token or not label or attributes:
            raise TokenError(f"a key in a token is pkcs11:token=...;object=..., not {text!r}")
        return cls(token, label)


def is_token_reference(text: str) -> bool:
    """Return whether ``text`` names a key in a token rather than a key file."""
    return text.startswith(SCHEME)


@dataclass(frozen=True, slots=True)
class TokenAccess:
    """How this deployment reaches its tokens: the path of the PKCS#11 module and the user
    PIN."""

    module: str
    pin: str = field(repr=False)


@dataclass(slots=True)
class _OpenToken:
    pin: str
    session: Session
    lock: threading.Lock


_opening = threading.Lock()
_open_tokens: dict[tuple[str, str], _OpenToken] = {}
_modules: set[str] = set()


def _open_token(access: TokenAccess, label: str) -> _OpenToken:
    """Return this process's logged-in session on the token labelled ``label``. Raises
    :class:`TokenError` for a module that does not load, no such token, or a wrong PIN."""
    with _opening:
        opened = _open_tokens.get((access.module, label))
        if opened is not None:
            if opened.pin != access.pin:
                raise TokenError(f"token {label!r} is open in this process with another PIN")
            return opened
        try:
            library = pkcs11.lib(access.module)
        except PKCS11Error as exc:
            raise TokenError(f"cannot load the PKCS#11 module {access.module}: {exc}") from None
        _modules.add(access.module)
        try:
            session = library.get_token(token_label=label).open(rw=True, user_pin=access.pin)
        except NoSuchToken:
            raise TokenError(f"no token labelled {label!r} in {access.module}") from None
        except (PinIncorrect, PinLenRange):
            raise TokenError(f"wrong PIN for token {label!r}", code="token_pin") from None
        except PinLocked:
            raise TokenError(f"the PIN of token {label!r} is locked", code="token_pin") from None
        except PKCS11Error as exc:
            raise TokenError(f"cannot open token {label!r}: {_why(exc)}") from None
        opened = _open_tokens[access.module, label] = _OpenToken(
            access.pin, session, threading.Lock()
        )
        return opened


def close_tokens() -> None:
    """Log out of every token this process opened and finalise their modules, so that the
    next use reads the module's configuration afresh. Keys opened before are unusable after."""
    with _opening:
        for opened in _open_tokens.values():
            opened.session.close()
        _open_tokens.clear()
        for module in _modules:
            pkcs11.lib(module).finalize()
        _modules.clear()


def _why(exc: PKCS11Error) -> str:
    return str(exc) or type(exc).__name__


class TokenKey:
    """An Ed25519 private key held in a token: it signs there, and never leaves it."""

    __slots__ = ("_key", "_lock", "public_key", "ref")

    def __init__(
        self, ref: TokenKeyRef, key: SignMixin, public_key: bytes, lock: threading.Lock
    ) -> None:
        self.ref = ref
        self.public_key = public_key
        self._key = key
        self._lock = lock

    def __repr__(self) -> str:
        return f"TokenKey({self.ref.uri}, public_key={self.public_key.hex()[:16]}...)"

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte Ed25519 signature of ``message``, made by the token. Raises
        :class:`TokenError` when the token fails."""
        with self._lock:
            try:
                return bytes(self._key.sign(message, mechanism=Mechanism.EDDSA))
            except PKCS11Error as exc:
                raise TokenError(f"token key {self.ref.uri} could not sign: {_why(exc)}") from None


def _public_key(public: Object) -> bytes:
    """Return the raw 32 bytes of a public key object's CKA_EC_POINT, which tokens give either
    bare or wrapped in a DER OCTET STRING. Raises :class:`TokenError` for anything else."""
    point = bytes(public[Attribute.EC_POINT])
    if len(point) == PUBLIC_KEY_SIZE + 2 and point.startswith(_DER_OCTET_STRING_32):
        point = point[2:]
    if len(point) != PUBLIC_KEY_SIZE:
        raise TokenError(f"the public key {public[Attribute.LABEL]!r} is not an Ed25519 key")
    return point


def _ed25519_key(session: Session, ref: TokenKeyRef, kind: ObjectClass) -> Any:
    """Return the half ``kind`` of the Ed25519 key ``ref`` names. Raises :class:`TokenError`
    when there is none, or several."""
    try:
        return session.get_key(kind, KeyType.EC_EDWARDS, label=ref.label)
    except NoSuchKey:
        raise TokenError(f"no Ed25519 key labelled {ref.label!r} in token {ref.token!r}") from None
    except MultipleObjectsReturned:
        raise TokenError(
            f"several keys are labelled {ref.label!r} in token {ref.token!r}"
        ) from None


def open_key(access: TokenAccess, ref: TokenKeyRef) -> TokenKey:
    """Return the key ``ref`` names, ready to sign. Raises :class:`TokenError` for a token or
    key that cannot be used, or a private key that could leave the token (extractable or not
    sensitive)."""
    opened = _open_token(access, ref.token)
    with opened.lock:
        try:
            private = _ed25519_key(opened.session, ref, ObjectClass.PRIVATE_KEY)
            public = _ed25519_key(opened.session, ref, ObjectClass.PUBLIC_KEY)
            if private[Attribute.EXTRACTABLE] or not private[Attribute.SENSITIVE]:
                raise TokenError(f"{ref.uri} can leave its token; use a non-extractable key")
            return TokenKey(ref, private, _public_key(public), opened.lock)
        except PKCS11Error as exc:
            raise TokenError(f"cannot read {ref.uri}: {_why(exc)}") from None


def generate_key(access: TokenAccess, ref: TokenKeyRef) -> TokenKey:
    """Generate an Ed25519 key pair in the token, labelled as ``ref`` says; the private key is
    sensitive and never extractable. Returns it, ready to sign.

    Raises :class:`TokenError` when the token cannot be used or already holds a key with that
    label (labels are never reused)."""
    opened = _open_token(access, ref.token)
    with opened.lock:
        try:
            taken = list(opened.session.get_objects({Attribute.LABEL: ref.label}))
            if taken:
                raise TokenError(f"token {ref.token!r} already holds {ref.label!r}")
            opened.session.generate_keypair(
                KeyType.EC_EDWARDS,
                store=True,
                label=ref.label,
                mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
                public_template={
                    Attribute.EC_PARAMS: encode_named_curve_parameters(ED25519_CURVE),
                    Attribute.PRIVATE: False,
                },
                private_template={
                    Attribute.PRIVATE: True,
                    Attribute.SENSITIVE: True,
                    Attribute.EXTRACTABLE: False,
                },
            )
        except PKCS11Error as exc:
            raise TokenError(f"token {ref.token!r} could not make a key: {_why(exc)}") from None
    return open_key(access, ref)


@dataclass(frozen=True, slots=True)
class TokenKeyInfo:
    """One Ed25519 key in a token, as :func:`list_keys` finds it."""

    ref: TokenKeyRef
    public_key: bytes | None  # None when the token holds no public half under the label
    extractable: bool


def list_keys(access: TokenAccess, token: str) -> list[TokenKeyInfo]:
    """Return the Ed25519 private keys in the token labelled ``token``, by label. Raises
    :class:`TokenError` when the token cannot be used."""
    opened = _open_token(access, token)
    with opened.lock:
        try:
            privates = opened.session.get_objects(
                {Attribute.CLASS: ObjectClass.PRIVATE_KEY, Attribute.KEY_TYPE: KeyType.EC_EDWARDS}
            )
            publics = opened.session.get_objects(
                {Attribute.CLASS: ObjectClass.PUBLIC_KEY, Attribute.KEY_TYPE: KeyType.EC_EDWARDS}
            )
            public_keys = {p[Attribute.LABEL]: _public_key(p) for p in publics}
            found = [
                TokenKeyInfo(
                    TokenKeyRef(token, p[Attribute.LABEL]),
                    public_keys.get(p[Attribute.LABEL]),
                    bool(p[Attribute.EXTRACTABLE]),
                )
                for p in privates
            ]
        except PKCS11Error as exc:
            raise TokenError(f"cannot list the keys of token {token!r}: {_why(exc)}") from None
    return sorted(found, key=lambda info: info.ref.label)


@dataclass(frozen=True, slots=True)
class TokenKeySource:
    """A batch's key in a token, as a worker process opens it (see
    :class:`stamps.batch.KeySource`)."""

    access: TokenAccess
    ref: TokenKeyRef
    key: TrustedKey

    def private_key(self) -> TokenKey:
        """Return the key, opened in this process. Raises :class:`TokenError`."""
        return open_key(self.access, self.ref)
