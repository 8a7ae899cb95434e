"""The in-memory registry snapshot used on the verification hot path."""

from __future__ import annotations

from signing import parse_stamp
from tests.conftest import Demo
from verifier.lists.registry_index import RegistryIndex, bump_version, current_version
from verifier.store.database import make_engine, migrate, session_factory


def test_first_write_moves_the_version_off_the_empty_value(database_url: str) -> None:
    """Regression: the first bump wrote 0, the value of "no write yet", so the first write
    after start-up never refreshed the snapshot."""
    engine = make_engine(database_url, writer=True)
    migrate(engine)
    sessions = session_factory(engine)
    with sessions.begin() as session:
        assert current_version(session) == 0
        bump_version(session)
    with sessions.begin() as session:
        assert current_version(session) == 1
        bump_version(session)
    with sessions() as session:
        assert current_version(session) == 2
    engine.dispose()


def test_batch_lookup_edges(demo: Demo) -> None:
    with demo.service.sessions() as session:
        index = RegistryIndex.load(session)
    genuine = parse_stamp(demo.sample("genuine")).payload
    entry = index.batches[genuine.key_index]
    first, last = entry.ranges[0].first, entry.ranges[0].last
    assert index.batch_of(genuine.key_index, first) == entry.ranges[0]
    assert index.batch_of(genuine.key_index, last) == entry.ranges[0]
    assert index.batch_of(genuine.key_index, last + 1) != entry.ranges[0]
    assert index.batch_of(genuine.key_index, 0) is None
    assert index.batch_of(genuine.key_index, 10**12) is None
    assert index.batch_of(999, first) is None


def test_current_follows_reevaluations(demo: Demo) -> None:
    with demo.service.sessions() as session:
        index = RegistryIndex.load(session)
    old = parse_stamp(demo.sample("star_mismatch")).payload.certificate_id
    assert index.current(old, "VN-TW") is None  # another authority's certificate id
    current = index.current(old, "VN-01")
    assert current is not None
    assert current.id != old
    assert current.renews == old
    assert current.stars == 3
