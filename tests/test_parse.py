"""The stamp parser: every form it accepts, and a typed error for everything else."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from signing import MalformedStamp, Payload, Stamp, parse_stamp
from signing.stamp import STAMP_DIGITS
from tests.test_payload import payloads

stamps = st.builds(Stamp, payloads, st.binary(min_size=64, max_size=64))
HOSTILE = [
    line.encode().decode("unicode_escape")
    for line in (Path(__file__).parent / "assets" / "hostile_stamp_inputs.txt")
    .read_text("utf-8")
    .splitlines()
    if line and not line.startswith("#")
]


@given(st.text())
@example("https://ocop.vn/s/" + "0" * 193)
@example("1" * 193)
@example("\u0663" * 193)
def test_any_text_gives_a_stamp_or_a_typed_error(text: str) -> None:
    try:
        stamp = parse_stamp(text)
    except MalformedStamp as exc:
        assert exc.code in {
            "empty",
            "too_long",
            "not_a_stamp",
            "wrong_path",
            "non_digit",
            "wrong_length",
            "out_of_range",
            "unknown_version",
            "invalid_field",
            "bad_gtin",
            "bad_link",
        }
    else:
        assert isinstance(stamp, Stamp)
        assert (stamp.digits if stamp.gtin is None else stamp.gtin) in text


@given(st.binary(min_size=0, max_size=120).map(lambda b: b.decode("latin-1")))
def test_any_byte_string_gives_a_stamp_or_a_typed_error(text: str) -> None:
    with contextlib.suppress(MalformedStamp):
        parse_stamp(text)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_inputs_are_malformed(text: str) -> None:
    with pytest.raises(MalformedStamp):
        parse_stamp(text)


@given(stamps, st.sampled_from(["ocop.vn", "OCOP.VN", "xn--c-vietnam.example:8443", "a"]))
def test_every_form_parses_back_to_the_same_stamp(stamp: Stamp, host: str) -> None:
    digits = stamp.digits
    assert len(digits) == STAMP_DIGITS
    assert digits.isascii()
    assert digits.isdigit()
    for text in (digits, stamp.url(host), f"http://{host}/S/{digits}", f"{digits}\n"):
        assert parse_stamp(text) == stamp


gtins = st.integers(0, 10**13 - 1).map(lambda n: f"{n:013d}").map(lambda g: g + _check_digit(g))


def _check_digit(first13: str) -> str:
    """The GS1 check digit, worked the long way: the sum with weights 3, 1, 3... from the
    right must reach a multiple of 10."""
    weighted = sum(int(d) * w for d, w in zip(reversed(first13), [3, 1] * 7, strict=False))
    return next(str(c) for c in range(10) if (weighted + c) % 10 == 0)


@given(stamps, gtins, st.sampled_from(["ocop.vn", "OCOP.VN", "a", "[::1]:8443"]))
def test_the_gs1_digital_link_form_parses_back_to_the_same_stamp(
    stamp: Stamp, gtin: str, host: str
) -> None:
    link = stamp.gs1_url(host, gtin)
    parsed = parse_stamp(f" {link.replace('https', 'HTTP', 1)}\r\n")
    assert (parsed.to_bytes(), parsed.gtin) == (stamp.to_bytes(), gtin)
    assert parse_stamp(stamp.digits).gtin is None


@given(stamps, gtins, st.integers(0, 12), st.integers(1, 9))
def test_a_gtin_with_any_digit_changed_is_malformed(
    stamp: Stamp, gtin: str, position: int, change: int
) -> None:
    """GS1's weights 3 and 1 catch every single wrong digit: neither c nor 3c is a multiple of
    10 for a change c of 1 to 9."""
    wrong = gtin[:position] + str((int(gtin[position]) + change) % 10) + gtin[position + 1 :]
    link = stamp.gs1_url("ocop.vn", gtin).replace(gtin, wrong, 1)
    with pytest.raises(MalformedStamp) as caught:
        parse_stamp(link)
    assert caught.value.code == "bad_gtin"


def test_a_digital_link_needs_a_version_1_stamp_and_a_gtin_with_its_check_digit() -> None:
    stamp = Stamp(Payload(1, 1, 4, date(2028, 1, 1), 1), b"\x00" * 64)
    with pytest.raises(ValueError, match="check digit"):
        stamp.gs1_url("ocop.vn", "08935049500019")
    with pytest.raises(ValueError, match="check digit"):
        stamp.gs1_url("ocop.vn", "8935049500018")


def test_a_signed_integer_of_more_than_80_bytes_is_out_of_range() -> None:
    with pytest.raises(MalformedStamp) as caught:
        parse_stamp(str(2**640))
    assert caught.value.code == "out_of_range"
    assert len(str(2**640 - 1)) == STAMP_DIGITS


def test_error_carries_the_rejected_text_truncated() -> None:
    with pytest.raises(MalformedStamp) as caught:
        parse_stamp("x" * 1000)
    assert caught.value.text == "x" * 300
    assert caught.value.code == "not_a_stamp"


def test_stamp_refuses_a_short_signature() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        Stamp(Payload(1, 1, 4, date(2028, 1, 1), 1), b"\x00" * 63)
