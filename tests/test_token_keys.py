"""Keys in a PKCS#11 token, on a real SoftHSM2 token made for each test: generated inside it,
never extractable, signing batches that the normal verifier accepts, and the root key too."""

from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pkcs11
import pytest
from pkcs11 import Attribute, KeyType, Mechanism, ObjectClass
from pkcs11.exceptions import AttributeSensitive
from pkcs11.util.ec import encode_named_curve_parameters
from sqlalchemy import select

from signing import TrustList, parse_stamp, verify
from stamps.batch import PARALLEL_FROM
from tests.conftest import NOW, Demo
from verifier.cli import main
from verifier.service import Service
from verifier.settings import ROOT_PUBLIC_KEY_FILE, Settings
from verifier.signer import token_keys
from verifier.signer.signing_role import Signer
from verifier.signer.token_keys import TokenAccess, TokenError, TokenKeyRef
from verifier.store.models import AuditEntry

MODULE = os.environ.get("OCOP_TEST_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
PIN = "246810"


@dataclass(frozen=True)
class SoftToken:
    """A fresh SoftHSM2 token, and how to reach it."""

    label: str
    access: TokenAccess

    def ref(self, label: str) -> TokenKeyRef:
        return TokenKeyRef(self.label, label)


@pytest.fixture
def soft_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SoftToken]:
    """A SoftHSM2 token of its own, in ``tmp_path``; the tokens opened before are closed so
    that the module reads this test's configuration. A missing SoftHSM2 fails the test:
    ``scripts/test-env.sh`` installs it."""
    util = shutil.which("softhsm2-util")
    if not Path(MODULE).is_file() or util is None:
        pytest.fail(f"no SoftHSM2 ({MODULE}): run the tests through scripts/test-env.sh")
    (tmp_path / "tokens").mkdir()
    config = tmp_path / "softhsm2.conf"
    config.write_text(f"directories.tokendir = {tmp_path / 'tokens'}\nlog.level = ERROR\n")
    monkeypatch.setenv("SOFTHSM2_CONF", str(config))
    label = "OCOP VN-01"
    subprocess.run(
        [util, "--init-token", "--free", "--label", label,
         "--pin", PIN, "--so-pin", "13579135"],
        check=True, capture_output=True,
    )  # fmt: skip
    token_keys.close_tokens()
    yield SoftToken(label, TokenAccess(MODULE, PIN))
    token_keys.close_tokens()


@pytest.fixture
def operator_env(demo: Demo, soft_token: SoftToken, monkeypatch: pytest.MonkeyPatch) -> Demo:
    monkeypatch.setenv("OCOP_KEY_PASSPHRASE", "demo")
    monkeypatch.setenv("OCOP_DATABASE_URL", demo.service.settings.database_url)
    monkeypatch.setenv("OCOP_PKCS11_MODULE", MODULE)
    monkeypatch.setenv("OCOP_HSM_PIN", PIN)
    return demo


def test_a_batch_signed_in_the_token_is_genuine_to_the_normal_verifier(
    operator_env: Demo, soft_token: SoftToken, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    demo, data_dir = operator_env, str(operator_env.data_dir)
    uri = soft_token.ref("stamp 2027").uri
    assert uri == "pkcs11:token=OCOP%20VN-01;object=stamp%202027"
    command = ["keys", "token-generate", "--data-dir", data_dir, "--token", soft_token.label]
    assert main([*command, "--label", "stamp 2027"]) == 0
    generated = capsys.readouterr().out
    assert uri in generated
    assert main([*command, "--label", "stamp 2027"]) == 2  # a label is never reused
    assert "already holds 'stamp 2027'" in capsys.readouterr().err
    assert main(["keys", "token-list", "--data-dir", data_dir, "--token", soft_token.label]) == 0
    [listed] = capsys.readouterr().out.splitlines()
    assert listed.startswith(uri)
    assert listed.endswith("non-extractable")
    assert main(["keys", "add", "--data-dir", data_dir, "--authority", "VN-01", "--key", uri,
                 "--not-before", "2026-01-01", "--not-after", "2031-12-31"]) == 0  # fmt: skip

    # enough stamps for worker processes: each opens the key in the token itself
    certificate = str(parse_stamp(demo.sample("genuine")).payload.certificate_id)
    files = ["--out", str(tmp_path / "s.pdf"), "--csv", str(tmp_path / "s.csv")]
    assert main(["stamps", "batch", "--data-dir", data_dir, "--certificate", certificate,
                 "--count", str(PARALLEL_FROM), "--workers", "2", *files]) == 0  # fmt: skip
    with (tmp_path / "s.csv").open(newline="") as handle:
        manifest = list(csv.DictReader(handle))
    assert len(manifest) == PARALLEL_FROM
    demo.service.refresh()
    lists = demo.service.lists(NOW)
    token_key = max(lists.trust_list.keys.values(), key=lambda k: k.index)
    assert token_key.key_id in generated
    for row in manifest:
        verdict = verify(row["url"], lists.trust_list, lists.status_list, NOW)
        assert verdict.verdict.value == "genuine"
        assert parse_stamp(row["url"]).payload.key_index == token_key.index
    online = demo.client.get("/api/v1/verify", params={"code": manifest[-1]["url"]}).json()
    assert online["verdict"] == "genuine"

    with demo.service.sessions() as session:
        audited = session.execute(
            select(AuditEntry.action, AuditEntry.details).where(
                AuditEntry.action.in_(["key.generate", "key.add"])
            )
        ).all()
    where = [(action, details.get("where") or details["key_file"]) for action, details in audited]
    assert where == [("key.generate", uri), ("key.add", uri)]


def test_the_private_key_never_leaves_the_token(soft_token: SoftToken) -> None:
    key = token_keys.generate_key(soft_token.access, soft_token.ref("stamp"))
    library = pkcs11.lib(MODULE)
    # the process is logged in already (PKCS#11 logs in the application): a plain session sees
    # the private key, and the token still refuses its value
    with library.get_token(token_label=soft_token.label).open() as session:
        private = session.get_key(ObjectClass.PRIVATE_KEY, KeyType.EC_EDWARDS, label="stamp")
        assert private[Attribute.EXTRACTABLE] is False
        assert private[Attribute.NEVER_EXTRACTABLE] is True
        assert private[Attribute.SENSITIVE] is True
        with pytest.raises(AttributeSensitive):
            private[Attribute.VALUE]
    signature = key.sign(b"OCOP")
    assert len(signature) == 64
    assert signature == key.sign(b"OCOP")  # Ed25519 is deterministic, in a token too


def test_a_key_that_could_leave_its_token_is_refused(soft_token: SoftToken) -> None:
    token_keys.generate_key(soft_token.access, soft_token.ref("unrelated"))  # logs the process in
    library = pkcs11.lib(MODULE)
    with library.get_token(token_label=soft_token.label).open(rw=True) as session:
        session.generate_keypair(
            KeyType.EC_EDWARDS, store=True, label="loose",
            mechanism=Mechanism.EC_EDWARDS_KEY_PAIR_GEN,
            public_template={Attribute.EC_PARAMS: encode_named_curve_parameters("1.3.101.112")},
            private_template={Attribute.EXTRACTABLE: True, Attribute.SENSITIVE: False},
        )  # fmt: skip
    with pytest.raises(TokenError, match="can leave its token"):
        token_keys.open_key(soft_token.access, soft_token.ref("loose"))
    labels = {
        (i.ref.label, i.extractable)
        for i in token_keys.list_keys(soft_token.access, soft_token.label)
    }
    assert labels == {("unrelated", False), ("loose", True)}


def test_a_wrong_pin_is_a_typed_error_and_a_plain_message(
    soft_token: SoftToken, operator_env: Demo, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    wrong = TokenAccess(MODULE, "000000")
    with pytest.raises(TokenError, match="wrong PIN") as raised:
        token_keys.list_keys(wrong, soft_token.label)
    assert raised.value.code == "token_pin"
    monkeypatch.setenv("OCOP_HSM_PIN", "000000")
    command = ["keys", "token-generate", "--data-dir", str(operator_env.data_dir),
               "--token", soft_token.label, "--label", "stamp"]  # fmt: skip
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err == f"ocop: error: wrong PIN for token {soft_token.label!r}\n"
    with operator_env.service.sessions() as session:  # nothing was made, nothing audited
        assert session.scalar(select(AuditEntry).where(AuditEntry.action == "key.generate")) is None


def test_the_root_key_can_live_in_a_token(soft_token: SoftToken, demo: Demo) -> None:
    root = token_keys.generate_key(soft_token.access, soft_token.ref("root"))
    settings = Settings(
        data_dir=demo.data_dir, database_url=demo.service.settings.database_url,
        passphrase=b"demo", root_key=root.ref.uri, pkcs11_module=MODULE, token_pin=PIN,
    )  # fmt: skip
    (demo.data_dir / ROOT_PUBLIC_KEY_FILE).write_text(root.public_key.hex() + "\n")
    signer = Signer.start(settings)
    try:
        # the file root's lists do not verify with the token's root: they are signed again
        assert signer.lists.publish(NOW)
    finally:
        signer.close()
    service = Service.start(settings, NOW)
    try:
        assert service.root_public == root.public_key
        document = service.lists(NOW).trust.raw
        assert TrustList.verify(document, [root.public_key], NOW).keys
    finally:
        service.close()


@pytest.mark.parametrize(
    "text",
    [
        "keys/root.pem",
        "pkcs11:token=VN-01",
        "pkcs11:object=root",
        "pkcs11:token=VN-01;object=root;type=public",
        "pkcs11:token=VN-01;object=root;slot-id=3",
        "pkcs11:token=VN-01;object=root?pin-value=1234",
        "pkcs11:token=VN-01;token=VN-02;object=root",
    ],
)
def test_a_token_reference_names_one_private_key_and_carries_no_pin(text: str) -> None:
    with pytest.raises(TokenError):
        TokenKeyRef.parse(text)


def test_a_token_reference_reads_back_what_it_wrote() -> None:
    ref = TokenKeyRef("Sở NN&PTNT; VN-01", "stamp=2027")
    assert TokenKeyRef.parse(ref.uri) == ref
    assert TokenKeyRef.parse("pkcs11:object=root;token=VN-TW;type=private") == TokenKeyRef(
        "VN-TW", "root"
    )


def test_a_download_is_signed_in_the_token_by_the_signer(
    operator_env: Demo, soft_token: SoftToken, capsys: pytest.CaptureFixture[str]
) -> None:
    """The producer's download through the public role: ``ocop signer``, with the token's
    module and PIN (and the public role with neither), signs the codes inside the token."""
    demo, data_dir = operator_env, str(operator_env.data_dir)
    uri = soft_token.ref("stamp 2028").uri
    assert main(["keys", "token-generate", "--data-dir", data_dir, "--token", soft_token.label,
                 "--label", "stamp 2028"]) == 0  # fmt: skip
    assert main(["keys", "add", "--data-dir", data_dir, "--authority", "VN-01", "--key", uri,
                 "--not-before", "2026-01-01", "--not-after", "2031-12-31"]) == 0  # fmt: skip
    capsys.readouterr()
    assert demo.service.settings.token_pin is None  # the public role knows no PIN
    demo.signer.close()  # the fixture's signer has no token: this deployment's has
    signer = Signer.start(replace(demo.service.settings, pkcs11_module=MODULE, token_pin=PIN))
    signer.batches.answer_in_background(lambda: NOW)
    try:
        certificate = parse_stamp(demo.sample("genuine")).payload.certificate_id
        producer = demo.token("producer")
        batch = demo.client.post("/api/v1/batches", json={"certificate_id": certificate,
                                 "count": 2500}, headers=producer).json()  # fmt: skip
        answer = demo.client.get(f"/api/v1/batches/{batch['id']}/stamps.csv", headers=producer)
        assert answer.status_code == 200, answer.text
    finally:
        signer.close()
    manifest = list(csv.DictReader(io.StringIO(answer.text)))
    assert len(manifest) == 2500
    demo.service.refresh()
    token_key = max(demo.service.lists(NOW).trust_list.keys.values(), key=lambda k: k.index)
    assert batch["key_index"] == token_key.index
    for row in (manifest[0], manifest[-1]):
        assert parse_stamp(row["url"]).payload.key_index == token_key.index
        online = demo.client.get("/api/v1/verify", params={"code": row["url"]}).json()
        assert online["verdict"] == "genuine"
