"""The offline verdict beyond the vectors: staleness, ages, and robustness."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from signing import Payload, VerdictCode, verify
from signing.verdict import REASON_VERDICTS, Verdict
from tests.conftest import World
from tests.vectors import generate

CASES = json.loads((generate.HERE / "vectors.json").read_text("utf-8"))["stamps"]


def _vector_input(name: str) -> str:
    return str(next(c["input"] for c in CASES if c["name"] == name))


def test_verdict_reports_list_versions_and_ages(world: World) -> None:
    verdict = verify(_vector_input("valid_4_stars"), world.trust_list, world.status_list, world.now)
    assert verdict.verdict is VerdictCode.GENUINE
    assert verdict.trust_list_version == 7
    assert verdict.status_list_version == 42
    assert verdict.status_list_age == world.now - world.status_list.issued_at
    assert verdict.key == world.entries["province"]
    assert verdict.certificate is not None
    assert verdict.certificate.ref.certificate_id == 101


def test_lists_that_expired_since_loading_are_noted(world: World) -> None:
    later = world.status_list.expires_at + timedelta(minutes=1)
    verdict = verify(_vector_input("valid_4_stars"), world.trust_list, world.status_list, later)
    assert verdict.notes == ("offline", "status_list_expired")
    stale_trust = replace(world.trust_list, expires_at=world.now - timedelta(seconds=1))
    verdict = verify(_vector_input("valid_4_stars"), stale_trust, world.status_list, world.now)
    assert "trust_list_expired" in verdict.notes


def test_certificate_expiry_uses_the_vietnam_date(world: World) -> None:
    """Certificate 102 is valid until 30/09/2027: still valid at 16:59 UTC, expired at 17:00."""
    stamp = _vector_input("valid_3_stars")
    end = world.now.replace(year=2027, month=9, day=30, hour=16, minute=59)
    assert verify(stamp, world.trust_list, world.status_list, end).verdict is VerdictCode.GENUINE
    after = end + timedelta(minutes=1)
    assert verify(stamp, world.trust_list, world.status_list, after).reasons == (
        "certificate_expired",
    )


def test_reasons_are_ordered_by_severity_without_duplicates() -> None:
    verdict = Verdict.from_reasons(["serial_blocked", "certificate_expired", "serial_blocked"])
    assert verdict.verdict is VerdictCode.EXPIRED
    assert verdict.reasons == ("certificate_expired", "serial_blocked")
    assert Verdict.from_reasons([]).verdict is VerdictCode.GENUINE


def test_completing_a_verdict_online_follows_the_same_rule(world: World) -> None:
    """The registry's reasons join the others by the rule every verdict is made by (it was
    written three times: offline, from reasons, completed online)."""
    offline = verify(_vector_input("valid_4_stars"), world.trust_list, world.status_list, world.now)
    clone = offline.completed_online(["scan_pattern"])
    assert clone.verdict is VerdictCode.SUSPECTED_CLONE
    assert clone.reasons == ("scan_pattern",)
    assert "offline" not in clone.notes
    assert clone[2:5] == offline[2:5]  # the stamp, key and certificate found are kept
    both = Verdict.from_reasons(["scan_pattern", "certificate_expired"])
    assert both.completed_online(["certificate_expired"]) == both
    assert both.completed_online(["bad_signature"]).reasons == (
        "bad_signature",
        "certificate_expired",
        "scan_pattern",
    )


def test_every_reason_maps_to_a_verdict_other_than_genuine() -> None:
    assert VerdictCode.GENUINE not in REASON_VERDICTS.values()
    assert set(REASON_VERDICTS.values()) == set(VerdictCode) - {VerdictCode.GENUINE}


@settings(max_examples=200)
@given(st.text(max_size=400), st.one_of(st.none(), st.integers(-5, 10)))
def test_verify_never_raises(world: World, text: str, stars_seen: int | None) -> None:
    verdict = verify(text, world.trust_list, world.status_list, world.now, stars_seen=stars_seen)
    assert verdict.verdict in (VerdictCode.MALFORMED, VerdictCode.COUNTERFEIT)


def test_a_registry_makes_the_verdict_online_and_adds_its_reasons(world: World) -> None:
    """The online verifier passes its registry's judgement: called once with the payload of
    a stamp whose signature holds, its reasons join the others and no ``offline`` note."""
    asked: list[Payload] = []

    def registry(payload: Payload) -> tuple[str, ...]:
        asked.append(payload)
        return ("serial_not_issued",)

    lists = (world.trust_list, world.status_list, world.now)
    verdict = verify(_vector_input("valid_4_stars"), *lists, stars_seen=5, registry=registry)
    assert verdict.verdict is VerdictCode.UNREGISTERED
    assert verdict.reasons == ("serial_not_issued", "stars_seen_higher")
    assert verdict.notes == ()
    assert verdict.stamp is not None
    assert asked == [verdict.stamp.payload]
    genuine = verify(_vector_input("valid_4_stars"), *lists, registry=lambda _: ())
    assert (genuine.verdict, genuine.notes) == (VerdictCode.GENUINE, ())


def test_the_registry_is_not_asked_about_a_stamp_that_fails_its_signature(world: World) -> None:
    asked: list[Payload] = []

    def registry(payload: Payload) -> tuple[str, ...]:
        asked.append(payload)
        return ()

    lists = (world.trust_list, world.status_list, world.now)
    for name in ("signature_last_bit_flipped", "key_out_of_scope_5_stars", "truncated_digits"):
        verdict = verify(_vector_input(name), *lists, registry=registry)
        assert verdict.verdict in (VerdictCode.COUNTERFEIT, VerdictCode.MALFORMED)
        assert "offline" not in verdict.notes
    assert asked == []
