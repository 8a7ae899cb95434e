"""OCOP stamp format v1: the pure core (bytes in, bytes out; no files, network or clock).

Read docs/stamp-format.md for the normative specification.
"""

from signing.errors import (
    DocumentError,
    DocumentExpired,
    DocumentGap,
    DocumentInvalid,
    DocumentRollback,
    DocumentSignatureInvalid,
    InvalidPayload,
    KeyLoadError,
    MalformedStamp,
    OcopError,
    SigningRefused,
)
from signing.keys import Ed25519Signer, KeyStatus, PrivateKey, TrustedKey, key_id
from signing.lists import (
    SNAPSHOT_TYPE,
    CertificateRef,
    CertificateState,
    CertificateStatus,
    SerialRange,
    StatusChanges,
    StatusList,
    TrustList,
    sign_document,
)
from signing.payload import Payload
from signing.stamp import (
    DOMAIN_TAG,
    STAMP_DIGITS,
    Stamp,
    StampIssuer,
    parse_stamp,
    sign_payload,
    stamp_url,
)
from signing.verdict import REASON_VERDICTS, Verdict, VerdictCode, verify

__all__ = [
    "DOMAIN_TAG",
    "REASON_VERDICTS",
    "SNAPSHOT_TYPE",
    "STAMP_DIGITS",
    "CertificateRef",
    "CertificateState",
    "CertificateStatus",
    "DocumentError",
    "DocumentExpired",
    "DocumentGap",
    "DocumentInvalid",
    "DocumentRollback",
    "DocumentSignatureInvalid",
    "Ed25519Signer",
    "InvalidPayload",
    "KeyLoadError",
    "KeyStatus",
    "MalformedStamp",
    "OcopError",
    "Payload",
    "PrivateKey",
    "SerialRange",
    "SigningRefused",
    "Stamp",
    "StampIssuer",
    "StatusChanges",
    "StatusList",
    "TrustList",
    "TrustedKey",
    "Verdict",
    "VerdictCode",
    "key_id",
    "parse_stamp",
    "sign_document",
    "sign_payload",
    "stamp_url",
    "verify",
]
