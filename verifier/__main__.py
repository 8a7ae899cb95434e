"""The ``ocop`` command's entry point (also ``python -m verifier``).

It imports :mod:`verifier.cli` only when the command runs: the worker processes that sign a
batch start by importing the entry point of their parent, and they need none of the service.
"""

from __future__ import annotations


def main() -> int:
    """Run ``ocop`` with the process's arguments; return its exit status."""
    from verifier.cli import main as run  # noqa: PLC0415 - see the module's docstring

    return run()


if __name__ == "__main__":
    raise SystemExit(main())
