"""Service settings, from the data directory and the environment.

The service refuses to start with the demo passphrase unless the data directory is a demo
(``demo.json`` present), so a production deployment cannot run on a placeholder secret.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from verifier.db import sqlite_url
from verifier.keyfiles import PASSPHRASE_VARIABLE

DEMO_PASSPHRASE = "demo"  # noqa: S105 (the documented demo-only passphrase)
DEFAULT_HOST = "ocop.vn"


class SettingsError(Exception):
    """The service cannot start with these settings; the message says what to fix."""


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the service needs to start."""

    data_dir: Path
    database_url: str
    passphrase: bytes
    public_host: str = DEFAULT_HOST
    max_body_bytes: int = 64 * 1024
    max_upload_bytes: int = 8 * 1024 * 1024
    list_refresh_seconds: float = 2.0
    scanner_list_age_hours: int = 48  # older signed lists turn the scanner's notice amber

    @property
    def is_demo(self) -> bool:
        return (self.data_dir / "demo.json").is_file()

    @classmethod
    def load(cls, data_dir: Path, environ: dict[str, str] | None = None) -> Settings:
        """Return settings for ``data_dir``, reading ``OCOP_DATABASE_URL``,
        ``OCOP_KEY_PASSPHRASE``, ``OCOP_PUBLIC_HOST`` and ``OCOP_SCANNER_LIST_AGE_HOURS``.

        Raises :class:`SettingsError` when the data directory is missing, no passphrase is
        set, the demo passphrase is used outside a demo, or a number is not one.
        """
        env = dict(os.environ) if environ is None else environ
        if not data_dir.is_dir():
            raise SettingsError(f"{data_dir} is not a directory; run `ocop demo --data-dir DIR`")
        demo = (data_dir / "demo.json").is_file()
        passphrase = env.get(PASSPHRASE_VARIABLE) or (DEMO_PASSPHRASE if demo else "")
        if not passphrase:
            raise SettingsError(f"set {PASSPHRASE_VARIABLE} to the passphrase of the key files")
        if passphrase == DEMO_PASSPHRASE and not demo:
            raise SettingsError(
                f"{PASSPHRASE_VARIABLE} is the demo passphrase; choose a real one for production"
            )
        age = env.get("OCOP_SCANNER_LIST_AGE_HOURS") or "48"
        if not age.isdigit() or not 1 <= int(age) <= 24 * 90:
            raise SettingsError("OCOP_SCANNER_LIST_AGE_HOURS must be a whole number of hours")
        return cls(
            data_dir=data_dir,
            database_url=env.get("OCOP_DATABASE_URL") or sqlite_url(data_dir),
            passphrase=passphrase.encode(),
            public_host=env.get("OCOP_PUBLIC_HOST") or DEFAULT_HOST,
            scanner_list_age_hours=int(age),
        )
