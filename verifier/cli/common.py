"""What every ``ocop`` command shares: the clock, the exit statuses, the one error it reports,
the deployment's settings and the registry write session."""

from __future__ import annotations

import argparse
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from signing import KeyLoadError
from verifier import registry
from verifier.service import Service
from verifier.service_errors import ServiceError
from verifier.settings import Settings, SettingsError
from verifier.store.models import Role

EXIT_GENUINE = 0
EXIT_NOT_GENUINE = 1
EXIT_USAGE = 2

# A family's handlers by (command, action): each takes the arguments and the time the command
# started, and returns the exit status.
Commands = dict[tuple[str, str | None], Callable[[argparse.Namespace, datetime], int]]


class CommandError(Exception):
    """A failure to report as one line on standard error, with exit status 2."""


def load_settings(data_dir: Path) -> Settings:
    try:
        return Settings.load(data_dir)
    except SettingsError as exc:
        raise CommandError(str(exc)) from None


@contextmanager
def registry_write(settings: Settings, now: datetime) -> Iterator[Session]:
    """A registry write transaction that republishes the trust list, as the service does."""
    try:
        service = Service.start(settings, now)
    except (OSError, KeyLoadError) as exc:
        raise CommandError(f"cannot load the keys of {settings.data_dir}: {exc}") from None
    try:
        with service.write(now, keys_changed=True) as session:
            yield session
    except ServiceError as exc:
        raise CommandError(str(exc)) from None
    finally:
        service.close()


def operator() -> registry.Actor:
    """The audit identity of whoever runs a registry command on the server."""
    return registry.Actor(Role.AUTHORITY, f"operator:{getpass.getuser()}")


def read_file(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise CommandError(f"cannot read the {what} {path}: {exc.strerror}") from None
