"""Key rotation as keys/README.md tells an operator to do it: generate, add, restart, retire."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from signing import Payload, parse_stamp, sign_payload, verify
from tests.conftest import NOW, Demo
from verifier import registry
from verifier.cli import main
from verifier.service import Service
from verifier.settings import Settings
from verifier.signer import keyfiles
from verifier.store.models import AuditEntry


@pytest.fixture
def operator_env(demo: Demo, monkeypatch: pytest.MonkeyPatch) -> Demo:
    monkeypatch.setenv("OCOP_KEY_PASSPHRASE", "demo")
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    return demo


def _restart(demo: Demo) -> Service:
    settings = Settings(
        data_dir=demo.data_dir, database_url=demo.service.settings.database_url, passphrase=b"demo"
    )
    return Service.start(settings, NOW)


def test_a_new_key_signs_new_batches_and_a_retired_key_stops_at_its_last_serial(
    operator_env: Demo, capsys: pytest.CaptureFixture[str]
) -> None:
    demo = operator_env
    new_file = demo.data_dir / "keys" / "province-01-2027.pem"
    assert main(["keys", "generate", "--out", str(new_file)]) == 0
    # the period is given: the default starts "today" on the real clock, and the test's
    # registry lives at NOW (regression: it failed once real time passed midnight in Vietnam)
    assert main(["keys", "add", "--data-dir", str(demo.data_dir), "--authority", "VN-01",
                 "--key", str(new_file), "--not-before", "2026-01-01",
                 "--not-after", "2031-12-31"]) == 0  # fmt: skip
    genuine = parse_stamp(demo.sample("genuine")).payload
    old_index = genuine.key_index
    assert main(["keys", "retire", "--data-dir", str(demo.data_dir), str(old_index)]) == 0
    out = capsys.readouterr().out
    assert "signed lists republished" in out  # the demo directory holds the root key

    service = _restart(demo)
    try:
        lists = service.lists(NOW)
        old = lists.trust_list.keys[old_index]
        new = max(lists.trust_list.keys.values(), key=lambda k: k.index)
        assert (new.issuer, new.stars, new.status.value) == ("VN-01", frozenset({3, 4}), "active")
        new_key = keyfiles.read_key(new_file, b"demo")  # the file the command registered
        assert new_key.public_key == new.public_key
        assert old.status.value == "retired"
        assert old.last_serial is not None
        assert old.last_serial >= genuine.serial

        with service.writer.begin() as session:
            producer = registry.actor_for_token(session, token=demo.info["tokens"]["producer"])
            assert producer is not None
            batch = registry.allocate_batch(
                session, actor=producer, certificate_id=genuine.certificate_id, count=3, now=NOW
            )
            assert (batch.key_index, batch.first_serial) == (new.index, 1)

        # stamps printed before the rotation stay genuine; the old key cannot sign new ones
        before = verify(demo.sample("genuine"), lists.trust_list, lists.status_list, NOW)
        assert before.verdict.value == "genuine"
        old_key = keyfiles.read_key(demo.data_dir / f"keys/{_key_file(demo, old_index)}", b"demo")
        forged = sign_payload(
            Payload(old_index, genuine.certificate_id, genuine.stars, genuine.valid_until,
                    old.last_serial + 1),
            old_key,
        )  # fmt: skip
        after = verify(forged.digits, lists.trust_list, lists.status_list, NOW)
        assert (after.verdict.value, after.reasons) == ("counterfeit", ("key_retired",))
    finally:
        service.close()

    with demo.service.sessions() as session:
        actions = session.scalars(
            select(AuditEntry.action).where(AuditEntry.actor.like("operator:%"))
        )
        assert sorted(actions) == ["key.add", "key.retire"]


def _key_file(demo: Demo, index: int) -> str:
    name: str = next(k["file"] for k in demo.info["keys"] if k["index"] == index)
    return name.removeprefix("keys/")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--authority", "VN-99"], "authority VN-99 does not exist"),
        (["--authority", "VN-01", "--not-after", "2020-01-01"], "must end after it starts"),
    ],
)
def test_keys_add_refuses_bad_input_and_changes_nothing(
    operator_env: Demo, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    demo = operator_env
    new_file = demo.data_dir / "keys" / "extra.pem"
    assert main(["keys", "generate", "--out", str(new_file)]) == 0
    version = demo.service.lists(NOW).trust_list.version
    command = ["keys", "add", "--data-dir", str(demo.data_dir), "--key", str(new_file), *args]
    assert main(command) == 2
    assert message in capsys.readouterr().err
    service = _restart(demo)
    try:
        assert service.lists(NOW).trust_list.version == version
    finally:
        service.close()


def test_keys_add_wants_the_file_inside_the_data_dir(
    operator_env: Demo, tmp_path_factory: pytest.TempPathFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "k.pem"
    assert main(["keys", "generate", "--out", str(outside)]) == 0
    command = ["keys", "add", "--data-dir", str(operator_env.data_dir), "--authority", "VN-01"]
    assert main([*command, "--key", str(outside)]) == 2
    assert "under" in capsys.readouterr().err


def test_retiring_twice_is_refused(operator_env: Demo, capsys: pytest.CaptureFixture[str]) -> None:
    index = str(parse_stamp(operator_env.sample("genuine")).payload.key_index)
    command = ["keys", "retire", "--data-dir", str(operator_env.data_dir), index]
    assert main(command) == 0
    assert main(command) == 2
    assert "is retired, not active" in capsys.readouterr().err
