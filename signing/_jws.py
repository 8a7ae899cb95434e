"""JWS flattened JSON serialization (RFC 7515 section 7.2.2) with alg EdDSA (RFC 8037) and an
unencoded payload (RFC 7797): docs/stamp-format.md section 7.1."""

from __future__ import annotations

import json
from collections.abc import Iterable
from functools import partial
from typing import Any

from signing import _ed25519
from signing.errors import DocumentInvalid, DocumentSignatureInvalid
from signing.keys import Ed25519Signer, b64url_decode, b64url_encode, key_id

MAX_DOCUMENT_SIZE = 16 * 1024 * 1024
_UNENCODED = {"b64": False, "crit": ["b64"]}


_dump = partial(json.dumps, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
_PIECE = 1 << 16  # characters of a long string escaped in one call


def canonical_json(value: Any) -> bytes:
    """Return compact UTF-8 JSON with sorted keys (stable bytes for the same content)."""
    return _canonical(value).encode()


def _canonical(value: Any) -> str:
    # The same text as one json.dumps, written an object key and a list item at a time: one
    # call over a national status list holds the interpreter lock for tens of milliseconds,
    # which every request of the process would wait for.
    if isinstance(value, dict):
        return "{" + ",".join(f"{_dump(k)}:{_canonical(value[k])}" for k in sorted(value)) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_canonical(item) for item in value) + "]"
    return _dump(value)


def _json_string(text: str) -> str:
    """Return ``text`` as a JSON string, escaped a piece at a time (see :func:`_canonical`)."""
    pieces = (_dump(text[i : i + _PIECE])[1:-1] for i in range(0, len(text), _PIECE))
    return '"' + "".join(pieces) + '"'


def sign(claims: dict[str, Any], typ: str, private_key: Ed25519Signer) -> bytes:
    """Return the flattened JWS document (UTF-8 JSON bytes) over ``claims``, its payload the
    claims' canonical JSON text itself."""
    header = {"alg": "EdDSA", "typ": typ, "kid": key_id(private_key.public_key), **_UNENCODED}
    protected = b64url_encode(canonical_json(header))
    payload = canonical_json(claims)
    signature = private_key.sign(protected.encode("ascii") + b"." + payload)
    document = (
        f'{{"protected": "{protected}", "payload": {_json_string(payload.decode())}, '
        f'"signature": "{b64url_encode(signature)}"}}\n'
    )
    return document.encode()


def unverified_type(document: bytes) -> str | None:
    """Return the ``typ`` the document's header claims, or ``None`` when it has none: only to
    choose which kind to check it as, never trusted."""
    try:
        header = json.loads(b64url_decode(json.loads(document)["protected"]))
    except (ValueError, KeyError, TypeError):
        return None
    typ = header.get("typ") if isinstance(header, dict) else None
    return typ if isinstance(typ, str) else None


def verify(document: bytes, typ: str, root_keys: Iterable[bytes], kind: str) -> dict[str, Any]:
    """Check a flattened JWS document and return its claims as a dict.

    Raises :class:`DocumentInvalid` when it is not a flattened JWS of type ``typ`` with alg
    EdDSA and an unencoded payload, and :class:`DocumentSignatureInvalid` when no key of
    ``root_keys`` signed it.
    """
    if len(document) > MAX_DOCUMENT_SIZE:
        raise DocumentInvalid(f"the {kind} is larger than {MAX_DOCUMENT_SIZE} bytes", kind=kind)
    try:
        outer = json.loads(document)
        protected, payload, signature = outer["protected"], outer["payload"], outer["signature"]
        if not all(isinstance(v, str) for v in (protected, payload, signature)):
            raise TypeError("the members must be strings")
        header = json.loads(b64url_decode(protected))
        signature_bytes = b64url_decode(signature)
        payload_bytes = payload.encode()
        claims = json.loads(payload_bytes)
    except (ValueError, KeyError, TypeError) as exc:
        raise DocumentInvalid(f"the {kind} is not a flattened JWS document", kind=kind) from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA" or header.get("typ") != typ:
        raise DocumentInvalid(f"the {kind} must have alg EdDSA and typ {typ}", kind=kind)
    if header.get("b64") is not False or header.get("crit") != ["b64"]:
        raise DocumentInvalid(f"the {kind} must have an unencoded payload (b64 false)", kind=kind)
    signing_input = protected.encode("ascii") + b"." + payload_bytes
    keys = list(root_keys)
    candidates = [k for k in keys if key_id(k) == header.get("kid")] or keys
    if not any(_ed25519.verify(key, signature_bytes, signing_input) for key in candidates):
        raise DocumentSignatureInvalid(f"the {kind} is not signed by a trusted root key", kind=kind)
    if not isinstance(claims, dict):
        raise DocumentInvalid(f"the {kind} payload is not a JSON object", kind=kind)
    return claims
