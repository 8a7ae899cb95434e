"""Issue "Trust under attack", finding 10: the public service holds no stamp key it never
uses. Each ``_regression`` test failed on the code before the fix."""

from __future__ import annotations

from sqlalchemy import select

from tests.conftest import NOW, Demo
from verifier.service import Service
from verifier.settings import Settings
from verifier.store.models import SigningKey


def test_a_worker_starts_without_decrypting_any_stamp_key_regression(demo: Demo) -> None:
    """Every worker decrypted every province's stamp key at start (``Service.issuers``) and
    never used them: a stamp key file it cannot read must not stop it."""
    with demo.service.sessions() as session:
        files = [k.key_file for k in session.scalars(select(SigningKey)) if k.key_file]
    assert files
    for name in files:
        (demo.data_dir / name).write_bytes(b"not a key: a worker must never need to read this")
    settings = Settings(
        data_dir=demo.data_dir, database_url=demo.service.settings.database_url,
        passphrase=b"demo",
    )  # fmt: skip
    service = Service.start(settings, NOW)
    try:
        assert not hasattr(service, "issuers")
        answer = service.verify(demo.sample("genuine"), NOW)
        assert str(answer.verdict.verdict) == "genuine"
    finally:
        service.close()
