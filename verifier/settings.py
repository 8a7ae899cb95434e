"""Service settings, from the data directory and the environment.

The service refuses to start with the demo passphrase unless the data directory is a demo
(``demo.json`` present), so a production deployment cannot run on a placeholder secret.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from verifier.clones import RULES, CloneRules
from verifier.db import sqlite_url
from verifier.keyfiles import PASSPHRASE_VARIABLE

DEMO_PASSPHRASE = "demo"  # noqa: S105 (the documented demo-only passphrase)
DEFAULT_HOST = "ocop.vn"
_HOST = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?", re.ASCII)


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
    photo_threads: int = 1  # threads decoding uploaded photos, in each worker
    photo_queue: int = 4  # photos waiting for a thread; beyond, a photo is answered 503
    clone_rules: CloneRules = RULES

    @property
    def is_demo(self) -> bool:
        return (self.data_dir / "demo.json").is_file()

    @classmethod
    def load(cls, data_dir: Path, environ: dict[str, str] | None = None) -> Settings:
        """Return settings for ``data_dir``, reading ``OCOP_DATABASE_URL``,
        ``OCOP_KEY_PASSPHRASE``, ``OCOP_PUBLIC_HOST``, ``OCOP_SCANNER_LIST_AGE_HOURS``,
        ``OCOP_PHOTO_THREADS``, ``OCOP_PHOTO_QUEUE`` and the clone rules' ``OCOP_CLONE_*``
        thresholds (see :data:`CLONE_VARIABLES`).

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
        host = env.get("OCOP_PUBLIC_HOST") or DEFAULT_HOST
        if _HOST.fullmatch(host) is None:
            raise SettingsError(
                f"OCOP_PUBLIC_HOST must be the host name printed in the stamps' URLs, "
                f"like {DEFAULT_HOST}, not {host!r}"
            )
        return cls(
            clone_rules=_clone_rules(env),
            data_dir=data_dir,
            database_url=env.get("OCOP_DATABASE_URL") or sqlite_url(data_dir),
            passphrase=passphrase.encode(),
            public_host=host,
            scanner_list_age_hours=int(age),
            **_photo_pool(env),
        )


#: The photo decoding pool's sizes: variable -> (setting, lowest value allowed).
PHOTO_VARIABLES = {
    "OCOP_PHOTO_THREADS": ("photo_threads", 1),
    "OCOP_PHOTO_QUEUE": ("photo_queue", 0),
}


def _photo_pool(env: dict[str, str]) -> dict[str, int]:
    """The photo pool's sizes that the environment sets. Raises :class:`SettingsError` when
    one is not a whole number from its lowest value to 64."""
    sizes = {}
    for variable, (setting, lowest) in PHOTO_VARIABLES.items():
        value = env.get(variable)
        if not value:
            continue
        if not value.isdigit() or not lowest <= int(value) <= 64:
            raise SettingsError(f"{variable} must be a whole number from {lowest} to 64")
        sizes[setting] = int(value)
    return sizes


CLONE_VARIABLES = {
    "OCOP_CLONE_MAX_DEVICES": "max_devices",
    "OCOP_CLONE_MAX_PLACES": "max_places",
    "OCOP_CLONE_MAX_SPEED_KMH": "max_speed_kmh",
    "OCOP_CLONE_MIN_DISTANCE_KM": "min_distance_km",
    "OCOP_CLONE_MARKET_KM": "market_km",
    "OCOP_CLONE_BATCH_SERIALS": "batch_serials",
}


def _clone_rules(env: dict[str, str]) -> CloneRules:
    """The clone rules, with any threshold the environment sets in place of the default."""
    changes: dict[str, Any] = {}
    for variable, field in CLONE_VARIABLES.items():
        value = env.get(variable)
        if not value:
            continue
        kind = type(getattr(RULES, field))
        try:
            changes[field] = kind(value)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise SettingsError(f"{variable} must be {what}") from None
    try:
        return replace(RULES, **changes)
    except ValueError as exc:
        raise SettingsError(f"the clone rules: {exc}") from None
