"""The ``ocop`` command: ``main(argv) -> int``, so tests run it in-process.

One module per family of commands, each adding its sub-commands to the parser with the
handler each runs (``args.run(args, now)``):
:mod:`~verifier.cli.key_commands` (``keys``), :mod:`~verifier.cli.stamp_batches`
(``stamps batch``), :mod:`~verifier.cli.records` (``audit verify``, ``backup``, ``restore``,
``scans prune``), :mod:`~verifier.cli.deployment` (``demo``, ``serve``),
:mod:`~verifier.cli.stamp_check` (``verify``) and :mod:`~verifier.cli.traceability`
(``traceability export``). This module builds the parser and dispatches;
:mod:`~verifier.cli.common` holds what the families share.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

from signing import OcopError
from verifier.cli import (
    deployment,
    key_commands,
    records,
    stamp_batches,
    stamp_check,
    traceability,
)
from verifier.cli.common import EXIT_USAGE, CommandError


def _now() -> datetime:
    """The one clock the commands read, once as they start (tests pin it)."""
    return datetime.now(UTC)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocop", description="OCOP stamp: signed QR stamps for OCOP products."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    key_commands.add_parsers(commands)
    stamp_batches.add_parsers(commands)
    records.add_parsers(commands)
    deployment.add_parsers(commands)
    stamp_check.add_parsers(commands)
    traceability.add_parsers(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ocop`` command with ``argv`` (default: ``sys.argv[1:]``); return the exit
    status: 0 success (for ``verify``: genuine), 1 a verdict other than genuine, 2 an error."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return int(args.run(args, _now()))
    except (CommandError, OcopError) as exc:
        print(f"ocop: error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
