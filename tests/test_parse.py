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
        }
    else:
        assert isinstance(stamp, Stamp)
        assert stamp.digits in text


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
