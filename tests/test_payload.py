from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signing import InvalidPayload, Payload
from signing.dates import add_months

payloads = st.builds(
    Payload,
    key_index=st.integers(0, 0xFFFF),
    certificate_id=st.integers(0, 0xFFFFFFFF),
    stars=st.sampled_from([3, 4, 5]),
    valid_until=st.dates(date(2000, 1, 1), date(2179, 6, 6)),
    serial=st.integers(0, 2**48 - 1),
)


@given(payloads)
def test_payload_round_trips_through_16_bytes(payload: Payload) -> None:
    data = payload.to_bytes()
    assert len(data) == 16
    assert data[0] == 1
    assert Payload.from_bytes(data) == payload


def test_payload_layout_is_big_endian() -> None:
    payload = Payload(0x0102, 0x03040506, 4, date(2000, 1, 2), 0x0A0B0C0D0E0F)
    assert payload.to_bytes().hex() == "010102030405060400010a0b0c0d0e0f"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("key_index", -1),
        ("key_index", 0x10000),
        ("certificate_id", 2**32),
        ("serial", 2**48),
        ("stars", 2),
        ("stars", 6),
        ("stars", True),
        ("valid_until", date(1999, 12, 31)),
        ("valid_until", date(2179, 6, 7)),
        ("serial", 1.5),
    ],
)
def test_payload_refuses_out_of_range_fields(field: str, value: object) -> None:
    fields: dict[str, object] = {
        "key_index": 1,
        "certificate_id": 1,
        "stars": 4,
        "valid_until": date(2028, 1, 1),
        "serial": 1,
    }
    fields[field] = value
    with pytest.raises(InvalidPayload) as caught:
        Payload(**fields)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize("size", [0, 15, 17])
def test_from_bytes_refuses_wrong_size(size: int) -> None:
    with pytest.raises(InvalidPayload):
        Payload.from_bytes(b"\x01" * size)


def test_from_bytes_refuses_unknown_version() -> None:
    data = bytearray(Payload(1, 1, 4, date(2028, 1, 1), 1).to_bytes())
    data[0] = 2
    with pytest.raises(InvalidPayload) as caught:
        Payload.from_bytes(bytes(data))
    assert caught.value.field == "version"


@pytest.mark.parametrize(
    ("valid_until", "first_day"),
    [
        (date(2028, 5, 14), date(2025, 5, 14)),
        (date(2027, 2, 28), date(2024, 2, 28)),  # decision 29/02/2024 + 36 months, clamped
        (date(2028, 2, 29), date(2025, 2, 28)),
    ],
)
def test_signing_window_is_36_months(valid_until: date, first_day: date) -> None:
    payload = Payload(1, 1, 4, valid_until, 1)
    assert payload.signing_window == (first_day, valid_until)


@given(st.dates(date(2001, 1, 1), date(2100, 12, 31)), st.integers(-60, 60))
def test_add_months_never_overshoots_a_month(day: date, months: int) -> None:
    moved = add_months(day, months)
    assert (moved.year * 12 + moved.month) - (day.year * 12 + day.month) == months
    assert moved.day <= day.day
