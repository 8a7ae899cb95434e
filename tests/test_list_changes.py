"""The status list's changes since a version (docs/stamp-format.md section 7.5) and the registry
snapshot's, lots included (7.6), as the service serves them, the documents compressed once per
version, and the lists signed off the request path, coalesced."""

from __future__ import annotations

import gzip
import threading
import time
from datetime import date
from typing import Any

import brotli
from sqlalchemy import select

from signing import SNAPSHOT_TYPE, CertificateState, StatusChanges, StatusList, parse_stamp
from signing._jws import unverified_type
from signing._jws import verify as verify_jws
from signing.lists import STATUS_CHANGES_TYPE
from tests.conftest import NOW, Demo
from verifier import registry
from verifier.cli.demo import DEMO_LOT
from verifier.lists.registry_index import RegistryIndex
from verifier.lists.signed_lists import CHANGES_WINDOW, changes_start, status_list_of
from verifier.registry import Actor
from verifier.store.models import Batch, BatchState, Certificate

STATUS = "/.well-known/ocop/status-list"
SNAPSHOT = "/.well-known/ocop/registry-snapshot"


def _whole(demo: Demo) -> StatusList:
    answer = demo.client.get(STATUS)
    assert answer.status_code == 200
    return StatusList.verify(answer.content, [demo.service.root_public], NOW)


def _authority(demo: Demo) -> Actor:
    with demo.service.sessions() as session:
        actor = registry.actor_for_token(session, token=demo.info["tokens"]["authority_VN-01"])
    assert actor is not None
    return actor


def _own(demo: Demo, actor: Actor) -> tuple[Certificate, Batch]:
    """An active certificate of the actor's authority with an issued batch of it."""
    with demo.service.sessions() as session:
        found = session.execute(
            select(Certificate, Batch)
            .join(Batch, Batch.certificate_id == Certificate.id)
            .where(
                Certificate.authority_id == actor.authority_id,
                Certificate.status == CertificateState.ACTIVE,
                Batch.state == BatchState.ISSUED,
            )
            .order_by(Certificate.id)
        ).first()
    assert found is not None
    return found[0], found[1]


def _as_held(status_list: StatusList) -> tuple[Any, ...]:
    """What a holder uses of a list: its version, entries, and sets of ranges."""
    spans = [
        {(r.key_index, r.first, r.last) for r in rs}
        for rs in (status_list.blocked, status_list.voided)
    ]
    return (status_list.version, dict(status_list.certificates), *spans)


def test_changes_since_every_version_held_bring_it_to_the_whole_list(demo: Demo) -> None:
    """A revocation, two blocks of one range, one of them lifted, a lifted block, a voided
    batch: after each write, the changes since every earlier version, applied to the list of
    that version, give the list the service signs now."""
    actor = _authority(demo)
    certificate, batch = _own(demo, actor)
    held = {(first := _whole(demo)).version: first}

    def block(serial: int) -> int:
        with demo.service.write() as session:
            return registry.block_serials(
                session, actor=actor, key_index=batch.key_index, first_serial=serial,
                last_serial=serial, reason="Tem sao chép", now=NOW,
            ).id  # fmt: skip

    def lift(block_id: int) -> None:
        with demo.service.write() as session:
            registry.lift_block(session, actor=actor, block_id=block_id, reason="Nhầm", now=NOW)

    def revoke() -> None:
        with demo.service.write() as session:
            registry.revoke_certificate(
                session, actor=actor, certificate_id=certificate.id, decision="QĐ 9/QĐ-UBND",
                decision_date=date(2026, 11, 20), reason="Vi phạm", now=NOW,
            )  # fmt: skip

    def void() -> None:
        with demo.service.write() as session:
            registry.void_batch(session, actor=actor, batch_id=batch.id, reason="Mất cuộn", now=NOW)

    twice = batch.first_serial + 1
    first_block = block(twice)
    steps = [
        revoke,
        lambda: block(twice),  # the same range blocked again, by a second row
        lambda: lift(first_block),  # still blocked by the second
        lambda: lift(block(batch.first_serial + 2)),  # blocked, then lifted
        void,
    ]
    for step in steps:
        step()
        demo.publish()
        current = _whole(demo)
        _assert_index_is_the_registrys(demo)
        assert current.version > max(held)
        for version, old in held.items():
            answer = demo.client.get(STATUS, params={"since": version})
            assert unverified_type(answer.content) == STATUS_CHANGES_TYPE
            changes = StatusChanges.verify(
                answer.content, [demo.service.root_public], NOW, held_version=version
            )
            assert changes.since == changes_start(version, current.version) <= version
            assert _as_held(old.apply(changes)) == _as_held(current)
        held[current.version] = current
    assert (batch.key_index, twice, twice) in {
        (r.key_index, r.first, r.last) for r in current.blocked
    }
    assert current.is_voided(batch.key_index, batch.first_serial) is not None


def test_a_dozen_changes_documents_serve_every_holder_of_the_last_versions() -> None:
    """A holder of one of the last two versions gets the changes since its own; further back,
    since the version a power of two back, at or below its own: at most twice the changes it
    needs, and a flood of distinct ``since`` values costs a dozen signings per version."""
    version = 1000
    assert [changes_start(version - behind, version) for behind in (0, 1, 2, 3, 4, 5, 9)] == [
        1000,
        999,
        998,
        996,
        996,
        992,
        984,
    ]
    starts = {changes_start(since, version) for since in range(version - CHANGES_WINDOW, version)}
    assert len(starts) <= 12
    for since in range(version - CHANGES_WINDOW, version + 1):
        start = changes_start(since, version)
        assert start <= since
        assert version - start <= 2 * (version - since)
    assert changes_start(3, 20) == 0  # never before the first version


def _assert_index_is_the_registrys(demo: Demo) -> None:
    """The index kept up by reading only what writes changed is the one read whole."""
    kept = demo.service.lists(NOW).index
    with demo.service.sessions() as session:
        whole = RegistryIndex.load(session)
    for field in ("version", "certificates", "batches", "blocked", "voided", "lots"):
        assert getattr(kept, field) == getattr(whole, field), field
    online = demo.service.lists(NOW).status_list
    assert _as_held(online) == _as_held(status_list_of(whole, NOW))


def test_one_revocation_costs_a_phone_one_entry(demo: Demo) -> None:
    actor = _authority(demo)
    certificate, _ = _own(demo, actor)
    before = _whole(demo)
    with demo.service.write() as session:
        registry.revoke_certificate(
            session, actor=actor, certificate_id=certificate.id, decision="QĐ 9/QĐ-UBND",
            decision_date=date(2026, 11, 20), reason="Vi phạm", now=NOW,
        )  # fmt: skip
    demo.publish()
    answer = demo.client.get(STATUS, params={"since": before.version})
    changes = StatusChanges.verify(answer.content, [demo.service.root_public], NOW)
    assert [c.ref.certificate_id for c in changes.certificates] == [certificate.id]
    assert (changes.blocked, changes.lifted, changes.voided) == ((), (), ())


def test_a_version_ahead_of_the_registry_gets_the_whole_list(demo: Demo) -> None:
    """A holder ahead (a registry restored from a backup) keeps what it holds: the whole list
    comes back and its rollback check refuses it."""
    whole = demo.client.get(STATUS).content
    for since in (_whole(demo).version + 1, 2**31 - 1):
        assert demo.client.get(STATUS, params={"since": since}).content == whole
    assert demo.client.get(STATUS, params={"since": -1}).status_code == 422
    assert demo.client.get(STATUS, params={"since": 2**63}).status_code == 422


def test_documents_are_served_compressed_as_the_client_allows(demo: Demo) -> None:
    raw = demo.client.get(STATUS, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    for accept, encoding, unpack in (
        ("gzip, deflate, br", "br", brotli.decompress),
        ("gzip", "gzip", gzip.decompress),
        ("br;q=0, gzip", "gzip", gzip.decompress),
    ):
        with demo.client.stream("GET", STATUS, headers={"Accept-Encoding": accept}) as answer:
            wire = b"".join(answer.iter_raw())
        assert answer.headers["content-encoding"] == encoding
        assert answer.headers["vary"] == "Accept-Encoding"
        assert unpack(wire) == raw.content
        assert len(wire) < len(raw.content) / 2
    again = demo.client.get(STATUS, headers={"If-None-Match": raw.headers["etag"]})
    assert again.status_code == 304


def test_lists_signed_in_the_background_coalesce_a_burst_of_writes(demo: Demo) -> None:
    """Ten writes at once from ten clients: each returns once verdicts see it, the served
    document catches up with all of them, and it is signed far fewer times than there were
    writes (at most once every list_publish_seconds)."""
    service, publisher = demo.service, demo.signer.lists
    service.keeper.keep_in_background(lambda: NOW)
    publisher.publish_in_background(lambda: NOW, service.settings.list_publish_seconds)
    actor = _authority(demo)
    _, batch = _own(demo, actor)
    first_version = service.lists(NOW).index.version
    signings_before = publisher.status_signings
    seen_at_return: list[bool] = []

    def write(serial: int) -> None:
        with service.write() as session:
            registry.block_serials(
                session, actor=actor, key_index=batch.key_index, first_serial=serial,
                last_serial=serial, reason="Tem sao chép", now=NOW,
            )  # fmt: skip
        online = service.lists(NOW).status_list
        seen_at_return.append(online.is_blocked(batch.key_index, serial) is not None)

    writers = [threading.Thread(target=write, args=(batch.first_serial + i,)) for i in range(10)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    assert seen_at_return == [True] * 10
    deadline = time.monotonic() + 30
    while service.lists(NOW).status.version < first_version + 10:  # the signer's, read here
        assert time.monotonic() < deadline, "the served status list never caught up"
        time.sleep(0.05)
    served = StatusList.verify(service.lists(NOW).status.raw, [service.root_public], NOW)
    assert all(served.is_blocked(batch.key_index, batch.first_serial + i) for i in range(10))
    assert 1 <= publisher.status_signings - signings_before < 10


def _snapshot(demo: Demo, since: int | None = None) -> dict[str, Any]:
    params = {} if since is None else {"since": since}
    answer = demo.client.get(SNAPSHOT, params=params)
    assert answer.status_code == 200
    claims: dict[str, Any] = verify_jws(answer.content, SNAPSHOT_TYPE, [demo.service.root_public],
                                        "snapshot")  # fmt: skip
    return claims


def _held_snapshot(claims: dict[str, Any]) -> tuple[Any, ...]:
    """What a scanner holds of a snapshot (scan.js): its version, its certificates by issuer
    and id, its lots by id."""
    certificates = {(c["issuer"], c["certificate_id"]): c for c in claims["certificates"]}
    return claims["version"], certificates, {lot["lot_id"]: lot for lot in claims["lots"]}


def _merged(held: tuple[Any, ...], changes: dict[str, Any]) -> tuple[Any, ...]:
    """``held`` with ``changes`` applied as scan.js applies them: entries replaced whole."""
    _, certificates, lots = _held_snapshot(changes)
    return changes["version"], held[1] | certificates, held[2] | lots


def test_snapshot_changes_carry_lots_recorded_linked_and_staged_to_every_holder(
    demo: Demo,
) -> None:
    """A lot recorded (no batch labels it yet: not in the snapshot), then labelled by a new
    batch, then given a stage, and a certificate revoked: after each write, the snapshot's
    changes since every earlier version, applied as a scanner applies them to the snapshot of
    that version, give the whole snapshot signed now."""
    producer = demo.token("producer")
    honey = parse_stamp(demo.sample("genuine")).payload
    demo_lot = next(lot for lot in _snapshot(demo)["lots"] if lot["lot_number"] == DEMO_LOT)
    product = demo.client.get(f"/api/v1/lots/{demo_lot['lot_id']}").json()["product_id"]
    recorded: dict[str, int] = {}

    def record() -> None:
        body = {"lot_number": "MO-2026-11", "produced_on": "2026-11-20",
                "standards": ["TCVN 5267-1:2008"],
                "origins": [{"material": "Mật ong hoa nhãn", "province_code": "33"}]}  # fmt: skip
        answer = demo.client.post(f"/api/v1/products/{product}/lots", json=body, headers=producer)
        assert answer.status_code == 201, answer.text
        recorded["lot"] = answer.json()["id"]

    def link() -> None:
        order = {"certificate_id": honey.certificate_id, "count": 10, "lots": [recorded["lot"]]}
        answer = demo.client.post("/api/v1/batches", json=order, headers=producer)
        assert answer.status_code == 201, answer.text
        recorded["first_serial"] = answer.json()["first_serial"]

    def stage() -> None:
        body = {"step": "Bảo quản lạnh", "place": "Kho HTX", "province_code": "01",
                "at": "2026-11-21T08:00:00+07:00"}  # fmt: skip
        answer = demo.client.post(f"/api/v1/lots/{demo_lot['lot_id']}/stages", json=body,
                                  headers=producer)  # fmt: skip
        assert answer.status_code == 201, answer.text

    def revoke() -> None:
        body = {"decision": "QĐ-1/2026", "decision_date": "2026-11-23", "reason": "Nhãn sai"}
        answer = demo.client.post(f"/api/v1/certificates/{honey.certificate_id}/revoke",
                                  json=body, headers=demo.token("authority_VN-01"))  # fmt: skip
        assert answer.status_code == 200, answer.text

    held = {(first := _snapshot(demo))["version"]: _held_snapshot(first)}
    lots_changed = []
    for step in (record, link, stage, revoke):
        step()
        demo.publish()
        whole = _snapshot(demo)
        _assert_index_is_the_registrys(demo)
        for version, old in held.items():
            changes = _snapshot(demo, since=version)
            assert changes["since"] is not None
            assert changes["since"] <= version
            assert _merged(old, changes) == _held_snapshot(whole)
        lots_changed.append(sorted(lot["lot_id"] for lot in changes["lots"]))
        held[whole["version"]] = _held_snapshot(whole)
    assert lots_changed == [[], [recorded["lot"]], [demo_lot["lot_id"]], []]
    lots = {lot["lot_id"]: lot for lot in whole["lots"]}
    new = lots[recorded["lot"]]
    assert new["batches"] == [[honey.key_index, recorded["first_serial"],
                               recorded["first_serial"] + 9]]  # fmt: skip
    assert (new["origins"], new["stages"], "best_before" in new) == (["Hưng Yên"], 0, False)
    assert lots[demo_lot["lot_id"]]["stages"] == demo_lot["stages"] + 1


def test_the_snapshot_summarises_the_demo_lot_for_its_stamps(demo: Demo) -> None:
    """The demo's honey lot, in short: what the offline scanner shows for its genuine stamp."""
    honey = parse_stamp(demo.sample("genuine")).payload
    [lot] = [lot for lot in _snapshot(demo)["lots"] if lot["lot_number"] == DEMO_LOT]
    assert any(key == honey.key_index and first <= honey.serial <= last
               for key, first, last in lot["batches"])  # fmt: skip
    assert lot["origins"] == ["Hưng Yên"]
    assert (lot["stages"], lot["standards"]) == (3, ["TCVN 5267-1:2008", "VietGAHP"])
    assert lot["best_before"] > lot["produced_on"]
    assert "expires_on" not in lot
