"""JWS flattened JSON serialization (RFC 7515 section 7.2.2) with alg EdDSA (RFC 8037)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from signing import _ed25519
from signing.errors import DocumentInvalid, DocumentSignatureInvalid
from signing.keys import PrivateKey, b64url_decode, b64url_encode, key_id

MAX_DOCUMENT_SIZE = 16 * 1024 * 1024


def canonical_json(value: Any) -> bytes:
    """Return compact UTF-8 JSON with sorted keys (stable bytes for the same content)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def sign(claims: dict[str, Any], typ: str, private_key: PrivateKey) -> bytes:
    """Return the flattened JWS document (UTF-8 JSON bytes) over ``claims``."""
    header = {"alg": "EdDSA", "typ": typ, "kid": key_id(private_key.public_key)}
    protected = b64url_encode(canonical_json(header))
    payload = b64url_encode(canonical_json(claims))
    signature = private_key.sign(f"{protected}.{payload}".encode("ascii"))
    document = {"protected": protected, "payload": payload, "signature": b64url_encode(signature)}
    return json.dumps(document, indent=1).encode() + b"\n"


def verify(document: bytes, typ: str, root_keys: Iterable[bytes], kind: str) -> dict[str, Any]:
    """Check a flattened JWS document and return its claims as a dict.

    Raises :class:`DocumentInvalid` when it is not a flattened JWS of type ``typ`` with alg
    EdDSA, and :class:`DocumentSignatureInvalid` when no key of ``root_keys`` signed it.
    """
    if len(document) > MAX_DOCUMENT_SIZE:
        raise DocumentInvalid(f"the {kind} is larger than {MAX_DOCUMENT_SIZE} bytes", kind=kind)
    try:
        outer = json.loads(document)
        protected, payload, signature = outer["protected"], outer["payload"], outer["signature"]
        header = json.loads(b64url_decode(protected))
        signature_bytes = b64url_decode(signature)
        claims = json.loads(b64url_decode(payload))
    except (ValueError, KeyError, TypeError) as exc:
        raise DocumentInvalid(f"the {kind} is not a flattened JWS document", kind=kind) from exc
    if not isinstance(header, dict) or header.get("alg") != "EdDSA" or header.get("typ") != typ:
        raise DocumentInvalid(f"the {kind} must have alg EdDSA and typ {typ}", kind=kind)
    if "crit" in header:
        raise DocumentInvalid(f"the {kind} has critical header parameters", kind=kind)
    signing_input = f"{protected}.{payload}".encode("ascii")
    keys = list(root_keys)
    candidates = [k for k in keys if key_id(k) == header.get("kid")] or keys
    if not any(_ed25519.verify(key, signature_bytes, signing_input) for key in candidates):
        raise DocumentSignatureInvalid(f"the {kind} is not signed by a trusted root key", kind=kind)
    if not isinstance(claims, dict):
        raise DocumentInvalid(f"the {kind} payload is not a JSON object", kind=kind)
    return claims
