"""The architecture stays visible: imports go verifier -> stamps -> signing, never back, and
one module alone touches the Ed25519 primitives."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def _imports(package: str) -> dict[Path, set[str]]:
    found: dict[Path, set[str]] = {}
    for path in (ROOT / package).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[path] = names
    return found


@pytest.mark.parametrize(
    ("package", "forbidden"),
    [("signing", ("stamps", "verifier")), ("stamps", ("verifier",))],
)
def test_no_import_goes_backwards(package: str, forbidden: tuple[str, ...]) -> None:
    for path, names in _imports(package).items():
        bad = {n for n in names if n.split(".")[0] in forbidden}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_signing_core_does_no_io_and_reads_no_clock() -> None:
    banned = {"os", "io", "pathlib", "socket", "time", "random", "secrets", "urllib", "http"}
    for path, names in _imports("signing").items():
        assert not names & banned, f"{path.relative_to(ROOT)} imports {names & banned}"
        source = path.read_text("utf-8")
        assert ".now(" not in source
        assert ".today(" not in source
        assert "open(" not in source


def test_only_one_module_touches_ed25519_primitives() -> None:
    users = sorted(
        str(path.relative_to(ROOT))
        for package in ("signing", "stamps", "verifier")
        for path, names in _imports(package).items()
        if any(n.startswith("cryptography") or n.startswith("nacl") for n in names)
    )
    assert users == ["signing/_ed25519.py"]
