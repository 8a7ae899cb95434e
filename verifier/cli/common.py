"""What every ``ocop`` command shares: the exit statuses, the one error it reports, the data
directory's files, the deployment's settings and service, and the registry write session."""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from signing import KeyLoadError
from verifier import registry
from verifier.list_keeper import ListsUnavailable
from verifier.service import Service
from verifier.service_errors import ServiceError
from verifier.settings import Settings, SettingsError
from verifier.signer.signing_role import publish_lists_once
from verifier.store.models import Role

EXIT_GENUINE = 0
EXIT_NOT_GENUINE = 1
EXIT_USAGE = 2

# The signed lists and the root public key in a data directory, as `ocop demo` writes them and
# `ocop verify --offline` reads them.
TRUST_LIST_FILE = "trust-list.json"
STATUS_LIST_FILE = "status-list.json"


class CommandError(Exception):
    """A failure to report as one line on standard error, with exit status 2."""


def load_settings(data_dir: Path) -> Settings:
    """Return the settings of the deployment in ``data_dir``. Raises :class:`CommandError`."""
    try:
        return Settings.load(data_dir)
    except SettingsError as exc:
        raise CommandError(str(exc)) from None


def start_service(settings: Settings, now: datetime) -> Service:
    """Return the deployment's public service, started at ``now`` (close it after use): it
    opens no private key. Raises :class:`CommandError` when the root's public key cannot be
    read, or the database holds no signed lists."""
    try:
        return Service.start(settings, now)
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot load the keys of {settings.data_dir}: {exc}") from None
    except ListsUnavailable as exc:
        raise CommandError(
            f"{exc}: run `ocop signer --data-dir DIR` on the directory that holds the root key "
            "(with OCOP_KEY_PASSPHRASE set), on the same database"
        ) from None


@contextmanager
def registry_write(settings: Settings, now: datetime) -> Iterator[Session]:
    """A registry write transaction, as the service makes one. On the signer's host (it holds
    the root key) the signed lists show the write when it returns; elsewhere, once the signer
    has seen it: the last line printed says which."""
    service = start_service(settings, now)
    try:
        with service.write() as session:
            yield session
    except ServiceError as exc:
        raise CommandError(str(exc)) from None
    finally:
        service.close()
    try:
        published = publish_lists_once(settings, now)
    except (OSError, KeyLoadError) as exc:
        raise CommandError(f"cannot open the root key of {settings.data_dir}: {exc}") from None
    print("signed lists republished" if published else
          "the signed lists follow when `ocop signer` next runs (within seconds)")  # fmt: skip


def operator() -> registry.Actor:
    """The audit identity of whoever runs a registry command on the server."""
    return registry.Actor(Role.AUTHORITY, f"operator:{getpass.getuser()}")


def read_file(path: Path, what: str) -> bytes:
    """Return the content of the file ``path`` (a ``what``). Raises :class:`CommandError`."""
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read the {what} {path}: {exc.strerror}") from None
