"""Make the published test vectors of stamp format v1 from fixed, public TEST keys.

    python -m tests.vectors.generate [OUT_DIR]      (default: this folder)

The output is deterministic (Ed25519 signatures are deterministic and every time is pinned),
so the committed files can be checked byte for byte against a fresh run. The expected verdict of
every case is written down here from the format's rules, never by calling the verifier under
test. The keys are derived from published seeds: they are for tests only and must never be
trusted by a production verifier.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from signing import (
    CertificateRef,
    CertificateState,
    CertificateStatus,
    KeyStatus,
    Payload,
    PrivateKey,
    SerialRange,
    Stamp,
    StampIssuer,
    StatusChanges,
    StatusList,
    TrustedKey,
    TrustList,
    sign_payload,
)
from signing.stamp import DOMAIN_TAG

HERE = Path(__file__).parent
HOST = "ocop.vn"
GTIN = "08935049500018"  # certificate 101's product: the GS1 Digital Link cases
OTHER_GTIN = "08935049500025"
NOW = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
ISSUED_AT = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
TRUST_LIST_EXPIRES = datetime(2027, 11, 20, 0, 0, tzinfo=UTC)
STATUS_LIST_EXPIRES = datetime(2026, 12, 20, 0, 0, tzinfo=UTC)
TRUST_LIST_VERSION = 7
STATUS_LIST_VERSION = 42
CHANGES_ISSUED_AT = datetime(2026, 11, 23, 0, 0, tzinfo=UTC)
CHANGES_EXPIRES = datetime(2026, 12, 23, 0, 0, tzinfo=UTC)
NEXT_STATUS_LIST_VERSION = 45


def _seed(name: str) -> bytes:
    return hashlib.sha256(
        f"OCOP stamp TEST KEY, never trust in production: {name}".encode()
    ).digest()


@dataclass(frozen=True)
class _TestKey:
    name: str
    private: PrivateKey
    entry: TrustedKey | None  # None: a key that is not in the trust list


def _keys() -> dict[str, _TestKey]:
    def make(name: str, **fields: Any) -> _TestKey:
        private = PrivateKey.from_seed(_seed(name))
        entry = TrustedKey(public_key=private.public_key, **fields) if fields else None
        return _TestKey(name, private, entry)

    hanoi = {"issuer": "VN-01", "issuer_name": "Sở Nông nghiệp và Môi trường Hà Nội"}
    return {
        "root": make("root"),
        "province": make(
            "province",
            index=1,
            **hanoi,
            province_code="01",
            stars=frozenset({3, 4}),
            not_before=date(2025, 7, 1),
            not_after=date(2030, 6, 30),
        ),
        "central": make(
            "central",
            index=2,
            issuer="VN-TW",
            issuer_name="Hội đồng đánh giá, phân hạng sản phẩm OCOP cấp Trung ương",
            province_code=None,
            stars=frozenset({5}),
            not_before=date(2025, 7, 1),
            not_after=date(2030, 6, 30),
        ),
        "compromised": make(
            "compromised",
            index=3,
            issuer="VN-79",
            issuer_name="Sở Nông nghiệp và Môi trường TP. Hồ Chí Minh",
            province_code="79",
            stars=frozenset({3, 4}),
            not_before=date(2025, 7, 1),
            not_after=date(2030, 6, 30),
            status=KeyStatus.COMPROMISED,
            last_serial=5000,
        ),
        "retired": make(
            "retired",
            index=4,
            **hanoi,
            province_code="01",
            stars=frozenset({3, 4}),
            not_before=date(2023, 1, 1),
            not_after=date(2026, 6, 30),
            status=KeyStatus.RETIRED,
            last_serial=100,
        ),
        "old-district": make(
            "old-district",
            index=5,
            **hanoi,
            province_code="01",
            stars=frozenset({3, 4}),
            not_before=date(2019, 1, 1),
            not_after=date(2020, 12, 31),
            status=KeyStatus.RETIRED,
        ),
        "untrusted": make("untrusted"),
        "not-root": make("not-root"),
    }


def _certificates() -> list[CertificateStatus]:
    def cert(
        issuer: str, number: int, status: CertificateState, stars: int, until: date, **more: Any
    ) -> CertificateStatus:
        return CertificateStatus(CertificateRef(issuer, number), status, stars, until, **more)

    active, expired = CertificateState.ACTIVE, CertificateState.EXPIRED
    superseded = CertificateState.SUPERSEDED
    return [
        cert("VN-01", 101, active, 4, date(2028, 5, 14), gtin=GTIN),
        cert("VN-01", 102, active, 3, date(2027, 9, 30)),
        cert("VN-TW", 501, active, 5, date(2029, 1, 9)),
        cert("VN-01", 103, expired, 3, date(2026, 8, 31)),
        cert(
            "VN-01",
            104,
            CertificateState.REVOKED,
            4,
            date(2027, 12, 1),
            reason="Vi phạm quy định về an toàn thực phẩm",
            decision="1234/QĐ-UBND ngày 02/10/2026",
        ),
        cert(
            "VN-01",
            105,
            superseded,
            3,
            date(2027, 2, 20),
            superseded_by=CertificateRef("VN-01", 106),
            decision="Đánh giá lại: hạ từ 4 sao",
        ),
        cert("VN-01", 106, active, 3, date(2029, 10, 1)),
        cert(
            "VN-01",
            107,
            superseded,
            4,
            date(2026, 10, 15),
            superseded_by=CertificateRef("VN-01", 108),
            decision="Công nhận lại",
        ),
        cert("VN-01", 108, active, 4, date(2029, 10, 16)),
        cert("VN-01", 109, active, 4, date(2026, 11, 1)),
        cert("VN-79", 301, active, 4, date(2028, 1, 31)),
    ]


def _documents(keys: dict[str, _TestKey]) -> tuple[TrustList, StatusList]:
    trusted = [k.entry for k in keys.values() if k.entry is not None]
    trust_list = TrustList.of(TRUST_LIST_VERSION, ISSUED_AT, TRUST_LIST_EXPIRES, trusted)
    status_list = StatusList.of(
        STATUS_LIST_VERSION,
        ISSUED_AT,
        STATUS_LIST_EXPIRES,
        _certificates(),
        blocked=[SerialRange(1, 777, 777, "Phát hiện tem sao chép tại chợ Đồng Xuân")],
        voided=[SerialRange(1, 9000, 9999, "Cuộn tem bị mất")],
    )
    return trust_list, status_list


def _changes(status_list: StatusList) -> tuple[StatusChanges, StatusList]:
    """Return changes from ``status_list`` (section 7.5: a revocation, a block, a lifted block,
    a voided batch) and the whole list the service would sign after them."""
    revoked = replace(
        status_list.certificates[CertificateRef("VN-01", 108)],
        status=CertificateState.REVOKED,
        reason="Không duy trì điều kiện sản xuất",
        decision="QĐ 77/QĐ-UBND",
    )
    blocked = SerialRange(1, 1500, 1509, "Tem sao chép bán trên mạng")
    voided = SerialRange(1, 20000, 20999, "In lỗi")
    changes = StatusChanges(
        since=status_list.version,
        version=NEXT_STATUS_LIST_VERSION,
        issued_at=CHANGES_ISSUED_AT,
        expires_at=CHANGES_EXPIRES,
        certificates=(revoked,),
        blocked=(blocked,),
        lifted=(replace(status_list.blocked[0], reason=None),),
        voided=(voided,),
    )
    following = StatusList.of(
        NEXT_STATUS_LIST_VERSION,
        CHANGES_ISSUED_AT,
        CHANGES_EXPIRES,
        [revoked if c.ref == revoked.ref else c for c in status_list.certificates.values()],
        blocked=[blocked],
        voided=[*status_list.voided, voided],
    )
    return changes, following


def _stamp_fields(stamp: Stamp) -> dict[str, Any]:
    p = stamp.payload
    return {
        "url": stamp.url(HOST),
        **({} if stamp.gtin is None else {"gs1_url": stamp.gs1_url(HOST, stamp.gtin)}),
        "digits": stamp.digits,
        "payload_hex": p.to_bytes().hex(),
        "signing_input_hex": (DOMAIN_TAG + p.to_bytes()).hex(),
        "signature_hex": stamp.signature.hex(),
        "fields": {
            "version": 1,
            "key_index": p.key_index,
            "certificate_id": p.certificate_id,
            "stars": p.stars,
            "valid_until": p.valid_until.isoformat(),
            "serial": p.serial,
        },
    }


def _case(
    name: str,
    description: str,
    text: str,
    verdict: str,
    reasons: list[str],
    notes: list[str] | None = None,
    *,
    stars_seen: int | None = None,
    stamp: Stamp | None = None,
    misuse: int | None = None,
) -> dict[str, Any]:
    case: dict[str, Any] = {"name": name, "description": description, "input": text}
    if stars_seen is not None:
        case["stars_seen"] = stars_seen
    if misuse is not None:
        case["misuse"] = misuse
    case["expected"] = {
        "verdict": verdict,
        "reasons": reasons,
        "notes": ["offline", *(notes or [])],
    }
    if stamp is not None:
        case["stamp"] = _stamp_fields(stamp)
    return case


def _digits_of(raw: bytes) -> str:
    return str(int.from_bytes(raw, "big")).zfill(193)


def _with_payload(stamp: Stamp, payload_bytes: bytes) -> str:
    """Return the digits of ``stamp`` with its payload bytes replaced (signature kept)."""
    return _digits_of(payload_bytes + stamp.signature)


def _bit_flip_cases(stamp: Stamp, trust_list: TrustList) -> list[dict[str, Any]]:
    """One case per payload bit, with its expected verdict worked out from the layout."""
    cases = []
    original = stamp.payload.to_bytes()
    for bit in range(128):
        flipped = bytearray(original)
        flipped[bit // 8] ^= 0x80 >> (bit % 8)
        byte = bit // 8
        if byte == 0:
            verdict, reason = "malformed", "unknown_version"
        elif byte == 7 and flipped[7] not in (3, 4, 5):
            verdict, reason = "malformed", "invalid_field"
        elif byte in (1, 2) and int.from_bytes(flipped[1:3], "big") not in trust_list.keys:
            verdict, reason = "counterfeit", "unknown_key"
        else:
            verdict, reason = "counterfeit", "bad_signature"
        cases.append(
            _case(
                f"payload_bit_{bit:03d}_flipped",
                f"bit {bit % 8} (from the most significant) of payload byte {byte} flipped",
                _with_payload(stamp, bytes(flipped)),
                verdict,
                [reason],
            )
        )
    return cases


def _gs1_link_cases(genuine4: Stamp, no_gtin: Stamp, unlisted: Stamp) -> list[dict[str, Any]]:
    """The GS1 Digital Link form (section 4.1): accepted forms, the GTIN checked against the
    status list, and every way the link itself can be wrong."""
    link = genuine4.gs1_url(HOST, GTIN)
    head, _, signature = link.partition("?8030=")
    serial = head.rpartition("/")[2]
    stars_edited = bytearray(genuine4.to_bytes())
    stars_edited[7] = 3  # 4 stars claimed as 3, signature kept
    edited = Stamp.from_bytes(bytes(stars_edited)).gs1_url(HOST, GTIN)
    flipped = bytearray(genuine4.to_bytes())
    flipped[79] ^= 0x40  # a bit the last character carries
    return [
        _case("gs1_form_genuine", "the 4-star stamp as a GS1 Digital Link with its product's GTIN",
              link, "genuine", [], stamp=replace(genuine4, gtin=GTIN)),
        _case("gs1_form_upper_scheme_host", "scheme and host in upper case",
              link.replace(f"https://{HOST}", "HTTPS://OCOP.VN"), "genuine", []),
        _case("gs1_form_line_break", "a line break after the link", link + "\r\n", "genuine", []),
        _case("gs1_form_other_gtin", "the same stamp with another product's GTIN",
              genuine4.gs1_url(HOST, OTHER_GTIN), "counterfeit", ["gtin_mismatch"], misuse=2),
        _case("gs1_form_product_without_gtin",
              "certificate 102's product has no GTIN: no Digital Link names it",
              no_gtin.gs1_url(HOST, GTIN), "counterfeit", ["gtin_mismatch"], misuse=2),
        _case("gs1_form_unlisted_certificate",
              "certificate 111 is not listed: its GTIN cannot be checked",
              unlisted.gs1_url(HOST, OTHER_GTIN), "genuine", [],
              ["not_in_status_list", "gtin_unchecked"]),
        _case("gs1_form_stars_edited", "the stars in AI 21 edited from 4 to 3, signature kept",
              edited, "counterfeit", ["bad_signature"], misuse=3),
        _case("gs1_form_signature_flipped", "one bit of the signature in AI 8030 flipped",
              Stamp.from_bytes(bytes(flipped)).gs1_url(HOST, GTIN), "counterfeit",
              ["bad_signature"]),
        _case("gs1_form_check_digit_wrong", "the GTIN's check digit is wrong",
              link.replace(GTIN, GTIN[:-1] + "9"), "malformed", ["bad_gtin"]),
        _case("gs1_form_gtin_13", "a GTIN-13 in AI 01 (the form writes 14 digits)",
              link.replace(GTIN, GTIN[1:]), "malformed", ["bad_gtin"]),
        _case("gs1_form_serial_short", "AI 21 one character short",
              link.replace(f"/21/{serial}", f"/21/{serial[:-1]}"), "malformed", ["bad_link"]),
        _case("gs1_form_signature_padded", "AI 8030 with base64 padding",
              link + "==", "malformed", ["bad_link"]),
        _case("gs1_form_signature_stray_bits",
              "the last character of AI 8030 carries bits past the 64 bytes",
              f"{head}?8030={signature[:-1]}B", "malformed", ["bad_link"]),
        _case("gs1_form_serial_percent_encoded", "a character of AI 21 percent-encoded",
              link.replace(f"/21/{serial}", f"/21/%{ord(serial[0]):02X}{serial[1:]}"),
              "malformed", ["bad_link"]),
        _case("gs1_form_extra_parameter", "another query parameter after AI 8030",
              link + "&linkType=all", "malformed", ["bad_link"]),
        _case("gs1_form_without_signature", "the link without AI 8030",
              head, "malformed", ["bad_link"]),
        _case("gs1_form_lot_instead_of_serial", "AI 10 (a lot) where AI 21 belongs",
              link.replace("/21/", "/10/"), "malformed", ["bad_link"]),
    ]  # fmt: skip


def build() -> dict[str, bytes]:
    """Return every vector file's name and exact content."""
    keys = _keys()
    trust_list, status_list = _documents(keys)
    root = keys["root"].private

    def issue(key: str, certificate_id: int, stars: int, until: date, serial: int) -> Stamp:
        test_key = keys[key]
        payload = Payload(
            test_key.entry.index if test_key.entry else 9, certificate_id, stars, until, serial
        )
        return sign_payload(payload, test_key.private)

    province, central = keys["province"], keys["central"]
    assert province.entry is not None
    assert central.entry is not None
    signed_at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    valid = [
        (
            3,
            StampIssuer(province.private, province.entry).sign(
                Payload(1, 102, 3, date(2027, 9, 30), 1), signed_at
            ),
        ),
        (
            4,
            StampIssuer(province.private, province.entry).sign(
                Payload(1, 101, 4, date(2028, 5, 14), 1042), signed_at
            ),
        ),
        (
            5,
            StampIssuer(central.private, central.entry).sign(
                Payload(2, 501, 5, date(2029, 1, 9), 281474976710655), signed_at
            ),
        ),
    ]
    genuine4 = valid[1][1]
    digits = genuine4.digits
    sig_flip_first = bytearray(genuine4.to_bytes())
    sig_flip_first[16] ^= 0x01
    sig_flip_last = bytearray(genuine4.to_bytes())
    sig_flip_last[79] ^= 0x80
    v2 = bytearray(Payload(1, 101, 4, date(2028, 5, 14), 1043).to_bytes())
    v2[0] = 2
    v2_signature = province.private.sign(DOMAIN_TAG + bytes(v2))
    v2_digits = _digits_of(bytes(v2) + v2_signature)
    rogue = Payload(1, 101, 4, date(2028, 5, 14), 2000)

    cases: list[dict[str, Any]] = []
    for stars, stamp in valid:
        cases.append(
            _case(
                f"valid_{stars}_stars",
                f"a genuine {stars}-star stamp",
                stamp.url(HOST),
                "genuine",
                [],
                stamp=stamp,
            )
        )
    cases += [
        _case("form_bare_digits", "the 193 digits alone", digits, "genuine", []),
        _case(
            "form_upper_path", "path /S/ in upper case", f"https://{HOST}/S/{digits}", "genuine", []
        ),
        _case(
            "form_upper_scheme_host",
            "scheme and host in upper case",
            f"HTTPS://OCOP.VN/s/{digits}",
            "genuine",
            [],
        ),
        _case("form_http", "plain http", f"http://{HOST}/s/{digits}", "genuine", []),
        _case(
            "form_surrounding_whitespace",
            "a trailing line break from a scanner",
            f" https://{HOST}/s/{digits}\r\n",
            "genuine",
            [],
        ),
        _case(
            "lookalike_host_genuine_stamp",
            "a genuine stamp behind a lookalike host: the host is never used to decide",
            f"https://ocop-vn.com.example/s/{digits}",
            "genuine",
            [],
            misuse=10,
        ),
        _case(
            "lookalike_host_forged_stamp",
            "a lookalike host with a stamp signed by an untrusted key that claims index 1",
            sign_payload(rogue, keys["untrusted"].private).url("0cop.vn"),
            "counterfeit",
            ["bad_signature"],
            misuse=10,
        ),
        _case("empty", "empty input", "", "malformed", ["empty"]),
        _case("only_whitespace", "only whitespace", " \n", "malformed", ["empty"]),
        _case(
            "not_a_stamp_text",
            "ordinary text",
            "OCOP 4 sao",
            "malformed",
            ["not_a_stamp"],
            misuse=1,
        ),
        _case(
            "ftp_scheme",
            "a URL with a scheme other than http(s)",
            f"ftp://{HOST}/s/{digits}",
            "malformed",
            ["not_a_stamp"],
        ),
        _case(
            "no_host", "a URL without a host", f"https:///s/{digits}", "malformed", ["not_a_stamp"]
        ),
        _case(
            "wrong_path",
            "a URL whose path is not /s/",
            f"https://{HOST}/x/{digits}",
            "malformed",
            ["wrong_path"],
        ),
        _case(
            "query_string",
            "a URL with a query string after the digits",
            f"https://{HOST}/s/{digits}?lang=en",
            "malformed",
            ["non_digit"],
        ),
        _case("truncated_digits", "one digit missing", digits[:-1], "malformed", ["wrong_length"]),
        _case(
            "truncated_url",
            "a URL with 150 digits",
            f"https://{HOST}/s/{digits[:150]}",
            "malformed",
            ["wrong_length"],
        ),
        _case("overlong_digits", "one digit too many", digits + "0", "malformed", ["wrong_length"]),
        _case(
            "non_digit_letter",
            "a letter among the digits",
            digits[:100] + "A" + digits[101:],
            "malformed",
            ["non_digit"],
        ),
        _case(
            "non_digit_space",
            "a space among the digits",
            digits[:100] + " " + digits[101:],
            "malformed",
            ["non_digit"],
        ),
        _case(
            "non_ascii_digit",
            "an Arabic-Indic digit (U+0663) among the digits",
            digits[:100] + "\u0663" + digits[101:],
            "malformed",
            ["non_digit"],
        ),
        _case(
            "fullwidth_digits",
            "full-width digits (U+FF10..)",
            "".join(chr(0xFF10 + int(d)) for d in digits),
            "malformed",
            ["not_a_stamp"],
        ),
        _case(
            "out_of_range",
            "193 nines: larger than 80 bytes",
            "9" * 193,
            "malformed",
            ["out_of_range"],
        ),
        _case("too_long", "far too much input", "1" * 5000, "malformed", ["too_long"]),
        _case(
            "wrong_version",
            "payload version 2, properly signed by a trusted key",
            v2_digits,
            "malformed",
            ["unknown_version"],
        ),
        _case(
            "stars_zero",
            "payload stars 0",
            _with_payload(
                genuine4,
                genuine4.payload.to_bytes()[:7] + b"\x00" + genuine4.payload.to_bytes()[8:],
            ),
            "malformed",
            ["invalid_field"],
        ),
        _case(
            "signature_first_bit_flipped",
            "lowest bit of the first signature byte flipped",
            _digits_of(bytes(sig_flip_first)),
            "counterfeit",
            ["bad_signature"],
            misuse=1,
        ),
        _case(
            "signature_last_bit_flipped",
            "highest bit of the last signature byte flipped",
            _digits_of(bytes(sig_flip_last)),
            "counterfeit",
            ["bad_signature"],
            misuse=1,
        ),
        _case(
            "signature_zero",
            "an all-zero signature",
            _digits_of(genuine4.payload.to_bytes() + bytes(64)),
            "counterfeit",
            ["bad_signature"],
            misuse=1,
        ),
        _case(
            "unknown_key_index",
            "signed by a key whose index 9 is not in the trust list",
            issue("untrusted", 101, 4, date(2028, 5, 14), 5).url(HOST),
            "counterfeit",
            ["unknown_key"],
            misuse=1,
        ),
        _case(
            "untrusted_key_claiming_trusted_index",
            "signed by an untrusted key that writes index 1 into the payload",
            sign_payload(rogue, keys["untrusted"].private).url(HOST),
            "counterfeit",
            ["bad_signature"],
            misuse=1,
        ),
        _case(
            "stars_inflated_in_payload",
            "the 4-star stamp edited to say 3 stars (bytes only)",
            _with_payload(
                genuine4,
                genuine4.payload.to_bytes()[:7] + b"\x03" + genuine4.payload.to_bytes()[8:],
            ),
            "counterfeit",
            ["bad_signature"],
            misuse=3,
        ),
        _case(
            "key_out_of_scope_5_stars",
            "5 stars signed by the provincial key (scoped to 3-4)",
            issue("province", 101, 5, date(2028, 5, 14), 50).url(HOST),
            "counterfeit",
            ["stars_out_of_key_scope"],
            misuse=3,
        ),
        _case(
            "key_out_of_scope_3_stars_central",
            "3 stars signed by the central key (5 only)",
            issue("central", 501, 3, date(2029, 1, 9), 51).url(HOST),
            "counterfeit",
            ["stars_out_of_key_scope"],
            misuse=3,
        ),
        _case(
            "signed_before_key_period",
            "validity window 2016-06-30..2019-06-30 ends before the key's not_before 2025-07-01",
            issue("province", 101, 4, date(2019, 6, 30), 52).url(HOST),
            "counterfeit",
            ["outside_key_period"],
        ),
        _case(
            "signed_after_key_period",
            "validity window 2031-01-01..2034-01-01 starts after the key's not_after 2030-06-30",
            issue("province", 101, 4, date(2034, 1, 1), 53).url(HOST),
            "counterfeit",
            ["outside_key_period"],
        ),
        _case(
            "old_key_signing_new_certificate",
            "a key retired at the end of 2020 signing for a certificate valid 2027-2030",
            issue("old-district", 101, 4, date(2030, 1, 1), 54).url(HOST),
            "counterfeit",
            ["outside_key_period"],
        ),
        _case(
            "compromised_key_above_watermark",
            "serial 5001 > the watermark 5000",
            issue("compromised", 301, 4, date(2028, 1, 31), 5001).url(HOST),
            "counterfeit",
            ["key_compromised"],
            misuse=9,
        ),
        _case(
            "compromised_key_far_above_watermark",
            "serial 2**48-1",
            issue("compromised", 301, 4, date(2028, 1, 31), 2**48 - 1).url(HOST),
            "counterfeit",
            ["key_compromised"],
            misuse=9,
        ),
        _case(
            "compromised_key_at_watermark",
            "serial 5000 == the watermark: issued before",
            issue("compromised", 301, 4, date(2028, 1, 31), 5000).url(HOST),
            "genuine",
            [],
            ["key_compromised_below_watermark"],
            misuse=9,
        ),
        _case(
            "compromised_key_below_watermark",
            "serial 17 < the watermark",
            issue("compromised", 301, 4, date(2028, 1, 31), 17).url(HOST),
            "genuine",
            [],
            ["key_compromised_below_watermark"],
            misuse=9,
        ),
        _case(
            "retired_key_above_last_serial",
            "serial 101 > the retired key's last serial 100",
            issue("retired", 101, 4, date(2028, 5, 14), 101).url(HOST),
            "counterfeit",
            ["key_retired"],
        ),
        _case(
            "retired_key_below_last_serial",
            "serial 100 of the retired key",
            issue("retired", 101, 4, date(2028, 5, 14), 100).url(HOST),
            "genuine",
            [],
        ),
        _case(
            "certificate_expired_in_status_list",
            "certificate 103 is listed as expired",
            issue("province", 103, 3, date(2026, 8, 31), 60).url(HOST),
            "expired",
            ["certificate_expired"],
            misuse=4,
        ),
        _case(
            "certificate_past_valid_until",
            "certificate 109 is listed active but ended 2026-11-01",
            issue("province", 109, 4, date(2026, 11, 1), 61).url(HOST),
            "expired",
            ["certificate_expired"],
            misuse=4,
        ),
        _case(
            "unlisted_certificate_expired",
            "certificate 110 is not listed; its stamp ended 2026-01-01",
            issue("province", 110, 4, date(2026, 1, 1), 62).url(HOST),
            "expired",
            ["certificate_expired"],
            ["not_in_status_list"],
            misuse=4,
        ),
        _case(
            "unlisted_certificate_valid",
            "certificate 111 is not listed; the stamp is in date",
            issue("province", 111, 4, date(2028, 1, 1), 63).url(HOST),
            "genuine",
            [],
            ["not_in_status_list"],
        ),
        _case(
            "certificate_revoked",
            "certificate 104 was revoked",
            issue("province", 104, 4, date(2027, 12, 1), 64).url(HOST),
            "revoked",
            ["certificate_revoked"],
            misuse=5,
        ),
        _case(
            "stars_lowered_by_reevaluation",
            "certificate 105 (4 stars on the stamp) was re-evaluated to 3 stars as 106",
            issue("province", 105, 4, date(2027, 2, 20), 65).url(HOST),
            "star_mismatch",
            ["stars_lowered"],
            ["renewed"],
            misuse=6,
        ),
        _case(
            "renewed_certificate",
            "certificate 107 ended 2026-10-15 but was renewed as 108 with the same stars",
            issue("province", 107, 4, date(2026, 10, 15), 66).url(HOST),
            "genuine",
            [],
            ["renewed"],
        ),
        _case(
            "stars_seen_higher",
            "an inspector sees 5 stars printed on a 4-star product",
            genuine4.url(HOST),
            "star_mismatch",
            ["stars_seen_higher"],
            stars_seen=5,
            misuse=3,
        ),
        _case(
            "stars_seen_equal",
            "an inspector sees the certified 4 stars",
            genuine4.url(HOST),
            "genuine",
            [],
            stars_seen=4,
        ),
        _case(
            "serial_blocked",
            "serial 777 of key 1 is blocked as a clone",
            issue("province", 101, 4, date(2028, 5, 14), 777).url(HOST),
            "suspected_clone",
            ["serial_blocked"],
            misuse=7,
        ),
        _case(
            "batch_voided",
            "serial 9500 lies in the voided batch 9000-9999",
            issue("province", 101, 4, date(2028, 5, 14), 9500).url(HOST),
            "unregistered",
            ["batch_voided"],
            misuse=8,
        ),
        _case(
            "revoked_and_stars_lowered_and_seen",
            "revoked certificate 104 with a 4-star stamp, 5 stars seen: most severe first",
            issue("province", 104, 4, date(2027, 12, 1), 777).url(HOST),
            "revoked",
            ["certificate_revoked", "stars_seen_higher", "serial_blocked"],
            stars_seen=5,
            misuse=5,
        ),
    ]
    cases += _gs1_link_cases(genuine4, valid[0][1], issue("province", 111, 4, date(2028, 1, 1), 64))
    cases += _bit_flip_cases(genuine4, trust_list)

    files: dict[str, bytes] = {}
    files["trust-list.json"] = trust_list.sign(root)
    files["status-list.json"] = status_list.sign(root)
    files["trust-list-bad-signature.json"] = trust_list.sign(keys["not-root"].private)
    tampered = json.loads(files["trust-list.json"])
    claims = json.loads(tampered["payload"])
    claims["keys"][0]["stars"] = [3, 4, 5]
    tampered["payload"] = json.dumps(claims, ensure_ascii=False, separators=(",", ":"))
    files["trust-list-tampered.json"] = (json.dumps(tampered, ensure_ascii=False) + "\n").encode()
    files["trust-list-expired.json"] = replace(
        trust_list,
        issued_at=datetime(2025, 11, 1, tzinfo=UTC),
        expires_at=datetime(2026, 11, 1, tzinfo=UTC),
    ).sign(root)
    files["trust-list-rolled-back.json"] = replace(trust_list, version=TRUST_LIST_VERSION - 1).sign(
        root
    )
    changes, following = _changes(status_list)
    files["status-list-changes.json"] = changes.sign(root)
    files["status-list-next.json"] = following.sign(root)
    later = replace(changes, since=following.version, version=following.version + 1,
                    certificates=(), blocked=(), lifted=(), voided=())  # fmt: skip
    files["status-list-changes-later.json"] = later.sign(root)
    files["status-list-expired.json"] = replace(
        status_list,
        issued_at=datetime(2026, 10, 1, tzinfo=UTC),
        expires_at=datetime(2026, 11, 1, tzinfo=UTC),
    ).sign(root)

    documents = [
        _doc("trust_list_valid", "trust-list.json", "trust_list", None, None),
        _doc("status_list_valid", "status-list.json", "status_list", None, None),
        _doc(
            "trust_list_bad_signature",
            "trust-list-bad-signature.json",
            "trust_list",
            None,
            "document_signature_invalid",
            "signed by a key that is not the root key",
        ),
        _doc(
            "trust_list_tampered",
            "trust-list-tampered.json",
            "trust_list",
            None,
            "document_signature_invalid",
            "key 1 widened to 5 stars after signing",
        ),
        _doc(
            "trust_list_expired",
            "trust-list-expired.json",
            "trust_list",
            None,
            "document_expired",
            "expired on 2026-11-01",
        ),
        _doc(
            "trust_list_rolled_back",
            "trust-list-rolled-back.json",
            "trust_list",
            TRUST_LIST_VERSION,
            "document_rollback",
            f"version {TRUST_LIST_VERSION - 1} offered to a verifier holding {TRUST_LIST_VERSION}",
        ),
        _doc(
            "trust_list_same_version",
            "trust-list.json",
            "trust_list",
            TRUST_LIST_VERSION,
            None,
            "the version already held is accepted again",
        ),
        _doc(
            "status_list_as_trust_list",
            "status-list.json",
            "trust_list",
            None,
            "document_invalid",
            "a status list offered as a trust list (typ differs)",
        ),
        _doc(
            "status_list_expired",
            "status-list-expired.json",
            "status_list",
            None,
            "document_expired",
            "expired on 2026-11-01",
        ),
        _doc(
            "status_list_rolled_back",
            "status-list.json",
            "status_list",
            STATUS_LIST_VERSION + 1,
            "document_rollback",
            "a verifier holding a newer version",
        ),
        _doc(
            "status_list_changes_valid",
            "status-list-changes.json",
            "status_list_changes",
            STATUS_LIST_VERSION,
            None,
            "changes from the version held",
        ),
        _doc(
            "status_list_changes_as_status_list",
            "status-list-changes.json",
            "status_list",
            None,
            "document_invalid",
            "changes offered as a whole status list (typ differs)",
        ),
    ]
    applied = [
        {
            "name": "status_list_changes_applied",
            "description": "a revocation, a block, a lifted block and a voided batch",
            "held": "status-list.json",
            "changes": "status-list-changes.json",
            "result": "status-list-next.json",
            "expected_error": None,
        },
        {
            "name": "status_list_changes_since_an_older_version",
            "description": "changes since version 42 applied by a holder of version 45: they "
            "set again what it holds",
            "held": "status-list-next.json",
            "changes": "status-list-changes.json",
            "result": "status-list-next.json",
            "expected_error": None,
        },
        {
            "name": "status_list_changes_gap",
            "description": "changes since version 45 offered to a holder of version 42",
            "held": "status-list.json",
            "changes": "status-list-changes-later.json",
            "result": None,
            "expected_error": "document_gap",
        },
    ]

    test_keys = {
        name: {
            "seed_hex": _seed(name).hex(),
            "public_key_hex": k.private.public_key.hex(),
            "index": k.entry.index if k.entry else None,
            "in_trust_list": k.entry is not None,
        }
        for name, k in keys.items()
    }
    index = {
        "format": "OCOP stamp v1 test vectors",
        "warning": "TEST KEYS ONLY: every private key here is public. Never trust them.",
        "seed_rule": "seed = SHA-256(UTF-8 'OCOP stamp TEST KEY, never trust in production: ' "
        "+ name)",
        "now": NOW.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": HOST,
        "root_public_key_hex": root.public_key.hex(),
        "trust_list": "trust-list.json",
        "status_list": "status-list.json",
        "keys": test_keys,
        "stamps": cases,
        "documents": documents,
        "changes": applied,
    }
    files["vectors.json"] = (json.dumps(index, indent=1, ensure_ascii=False) + "\n").encode()
    return files


def _doc(
    name: str,
    file: str,
    kind: str,
    held_version: int | None,
    error: str | None,
    description: str = "",
) -> dict[str, Any]:
    return {
        "name": name,
        "description": description,
        "file": file,
        "kind": kind,
        "held_version": held_version,
        "expected_error": error,
    }


def main(argv: list[str] | None = None) -> int:
    """Write the vector files into OUT_DIR (default: this folder). Returns the exit status."""
    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else HERE
    out.mkdir(parents=True, exist_ok=True)
    for name, content in build().items():
        (out / name).write_bytes(content)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
