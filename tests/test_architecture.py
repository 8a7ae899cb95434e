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


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _verifier_imports() -> dict[str, set[str]]:
    """Each verifier module's name -> the verifier modules it imports (``from verifier.x import
    y`` counts as importing ``verifier.x.y`` when that is a module)."""
    modules = {_module_name(p): p for p in (ROOT / "verifier").rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                targets.update(a.name for a in node.names if a.name in modules)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                if node.module not in modules:
                    continue
                targets.add(node.module)
                targets.update(
                    f"{node.module}.{a.name}"
                    for a in node.names
                    if f"{node.module}.{a.name}" in modules
                )
        graph[name] = targets - {name}
    return graph


def test_no_import_cycles_between_verifier_modules() -> None:
    graph = _verifier_imports()
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            cycle = [*path[path.index(name) :], name]
            pytest.fail("import cycle: " + " -> ".join(cycle))
        if name in done:
            return
        for target in sorted(graph.get(name, ())):
            if target.startswith("verifier."):
                visit(target, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])


def _role(module: str) -> str:
    """``verifier.web.routes.desk_page`` -> ``web``; a top-level module is its own role."""
    return module.split(".")[1] if module.count(".") else module


# Who may import whom among verifier's roles: the web and the command are the outside (nothing
# inner imports them); the registry, the lists, the scans, the claims and traceability are domain
# code that knows no process (no service, settings, signer); the store knows only the database.
_OUTER = {"web", "cli", "__main__"}
_DOMAIN = {"registry", "lists", "scans", "claims", "traceability"}
_FORBIDDEN: dict[str, set[str]] = {
    **dict.fromkeys(("store", *_DOMAIN, "signer", "i18n"), _OUTER),
    **dict.fromkeys(("service", "settings", "errors", "provinces"), _OUTER),
    "store": {*_OUTER, *_DOMAIN, "signer", "service", "settings"},
    **{role: {*_OUTER, "signer", "service", "settings"} for role in _DOMAIN},
    "web": {"cli", "__main__"},
}


def test_roles_import_inwards_only() -> None:
    bad = [
        f"{name} imports {target}"
        for name, targets in _verifier_imports().items()
        if name.startswith("verifier.")
        for target in targets
        if _role(target.removeprefix("verifier."))
        in _FORBIDDEN.get(_role(name.removeprefix("verifier.")), set())
    ]
    assert not bad


def test_web_never_opens_the_database_itself() -> None:
    """Pages and routes reach the database through the service's sessions, never an engine of
    their own."""
    for path, names in _imports("verifier/web").items():
        opened = {
            n for n in names if n == "verifier.store.database" or n.startswith("sqlalchemy.engine")
        }
        assert not opened, f"{path.relative_to(ROOT)} imports {opened}"
        assert "create_engine" not in path.read_text("utf-8"), path


def test_no_two_modules_share_a_name() -> None:
    seen: dict[str, Path] = {}
    for package in ("signing", "stamps", "verifier"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.name in {"__init__.py", "__main__.py"} or "migrations" in path.parts:
                continue
            other = seen.setdefault(path.name, path)
            assert other == path, f"{path.relative_to(ROOT)} and {other.relative_to(ROOT)}"


# One writer per concept: each of these is written in one place, and a second copy (which
# drifted before, issue 16) fails here.
_ONE_WRITER = {
    "STAMP_DIGITS = ": "signing/stamp.py",  # the stamp number's length
    "REASON_VERDICTS[": "signing/verdict.py",  # reasons -> verdict (signing.verdict._decide)
    "def verdict_json(": "verifier/web/views.py",  # the verdict JSON, API and `ocop verify`
    '.post("/sign-in")': "verifier/web/signin.py",  # the desk's and the producer page's
    "Phiên đăng nhập đã kết thúc": "verifier/i18n/messages.py",  # their "session ended"
    "Không tìm thấy mã QR trong ảnh": "verifier/i18n/messages.py",  # API and scanner page
}


@pytest.mark.parametrize(("text", "home"), _ONE_WRITER.items())
def test_one_writer_per_concept(text: str, home: str) -> None:
    places = [
        f"{path.relative_to(ROOT)} ({path.read_text('utf-8').count(text)})"
        for package in ("signing", "stamps", "verifier")
        for path in sorted((ROOT / package).rglob("*"))
        if path.suffix in {".py", ".html"} and text in path.read_text("utf-8")
    ]
    assert places == [f"{home} (1)"]


LONG_MODULE_LINES = 400


def test_a_long_module_says_why_in_its_docstring() -> None:
    """A module over LONG_MODULE_LINES lines is a place to split unless its docstring says why
    not ("Over 400 lines because ...")."""
    unexplained = []
    for package in ("signing", "stamps", "verifier"):
        for path in (ROOT / package).rglob("*.py"):
            source = path.read_text("utf-8")
            if "migrations" in path.parts or source.count("\n") <= LONG_MODULE_LINES:
                continue
            docstring = ast.get_docstring(ast.parse(source)) or ""
            if f"Over {LONG_MODULE_LINES} lines because" not in " ".join(docstring.split()):
                unexplained.append(str(path.relative_to(ROOT)))
    assert not unexplained


# The public role (issue 19): what ``ocop serve`` runs, from its workers' entry.
_PUBLIC_ENTRIES = ("verifier.web.asgi", "verifier.service", "verifier.list_keeper")
# what opens private keys or signs stamps and lists: none of it may reach the public role
_KEY_MODULES = ("verifier.signer", "stamps.batch", "pkcs11")
_KEY_NAMES = {"PrivateKey", "StampIssuer", "sign_document", "sign_payload", "Ed25519Signer",
              "FileKeySource", "KeySource", "signed_chunks"}  # fmt: skip


def _public_role() -> set[str]:
    """Return the verifier modules the public role's entries import, directly or not."""
    graph = _verifier_imports()
    reached: set[str] = set()
    waiting = list(_PUBLIC_ENTRIES)
    while waiting:
        name = waiting.pop()
        if name not in reached:
            reached.add(name)
            waiting.extend(t for t in graph.get(name, ()) if t.startswith("verifier."))
    return reached


def test_the_public_role_never_imports_key_loading_or_signing() -> None:
    """``ocop serve`` answers the internet: no module it runs opens a private key or signs a
    stamp or a list (the signer, ``ocop signer``, does, and the two meet only in the
    database). An import added anywhere in the public role's graph that reaches them fails."""
    public = _public_role()
    assert {"verifier.web.routes.batch_api", "verifier.web.stamp_downloads"} <= public
    bad = sorted(m for m in public if m.startswith(_KEY_MODULES))
    for name in sorted(public):
        path = ROOT / Path(*name.split("."))
        path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                if node.module.startswith(_KEY_MODULES):
                    bad.append(f"{name} imports {node.module}")
                bad.extend(f"{name} imports {a.name}" for a in node.names if a.name in _KEY_NAMES)
            elif isinstance(node, ast.Import):
                bad.extend(f"{name} imports {a.name}" for a in node.names
                           if a.name.startswith(_KEY_MODULES))  # fmt: skip
    assert not bad
