"""The house layout (docs/architecture.md): control_plane imports neither Streamlit nor the
packages above it (ui, pages, jobs); its packages import each other without loops, and so do its
modules; pages import no SQL driver, ORM or AWS SDK; SQL DDL lives in adapters; every job the
registry names by string exists. Checked on the import statements of every module, so it holds
for lazy and type-checking imports too."""

from __future__ import annotations

import ast
import importlib.util
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _module_name(path: Path) -> str:
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
    return name.removesuffix(".__init__")


def _module_imports(path: Path, known: set[str]) -> set[str]:
    """The modules of `known` that `path` imports: `from pkg import mod` names the module mod
    (not pkg's __init__), `from mod import name` names mod."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in known)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & known
            found.update(submodules or ({node.module} & known))
    return found


def _import_graph() -> dict[str, set[str]]:
    """control_plane's modules and what each imports of the others."""
    paths = {_module_name(p): p for p in _modules("control_plane")}
    return {name: _module_imports(path, set(paths)) - {name} for name, path in paths.items()}


def _package_of(module: str) -> str:
    """control_plane.fleet.run -> fleet; a top-level module (control_plane.config) is its own node."""
    return module.split(".")[1] if module.count(".") >= 1 else module


def _loops(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    loops: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                loops.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(loops)


def _package_graph() -> dict[str, set[str]]:
    packages: dict[str, set[str]] = defaultdict(set)
    for module, imported in _import_graph().items():
        packages[_package_of(module)].update(_package_of(m) for m in imported)
    return {package: imported - {package} for package, imported in packages.items()}


def _modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def _offenders(folder: str, forbidden: set[str]) -> dict[str, list[str]]:
    found = {}
    for path in _modules(folder):
        bad = sorted(n for n in _imports(path) if n.split(".")[0] in forbidden)
        if bad:
            found[str(path.relative_to(ROOT))] = bad
    return found


def test_control_plane_never_imports_upwards_or_streamlit():
    assert _offenders("control_plane", {"streamlit", "ui", "pages", "jobs", "tests", "bench"}) == {}


def test_packages_import_each_other_without_loops():
    """A loop means neither package can be read, tested or moved without the other: the lower
    one (core, tenant_schema, adapters, db) must not reach back up (docs/architecture.md)."""
    assert _loops(_package_graph()) == []


# A package's __init__ importing the command modules that import its helpers back is how the CLI
# registers its subcommands; no other module loop is allowed.
CLI_REGISTRATION = ["control_plane.cli", "control_plane.cli.tenants"]


def test_modules_import_each_other_without_loops():
    assert [loop for loop in _loops(_import_graph()) if loop != CLI_REGISTRATION] == []


def test_the_loop_check_finds_a_loop():
    assert _loops({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def _job_specs():
    from control_plane.scheduler import registry

    return registry.JOBS


@pytest.mark.parametrize("spec", _job_specs(), ids=lambda spec: spec.id)
def test_every_registered_job_module_exists_and_has_run(spec):
    """The registry names job modules as strings (the worker imports them when due): a typo or a
    moved module would only fail at the first run, so check each resolves to a module with run()."""
    found = importlib.util.find_spec(spec.module)
    assert found is not None and found.origin, f"{spec.id}: no module {spec.module}"
    tree = ast.parse(Path(found.origin).read_text())
    assert any(isinstance(n, ast.FunctionDef) and n.name == "run" for n in tree.body), f"{spec.module} has no run()"


def test_every_job_module_is_registered():
    registered = {spec.module for spec in _job_specs()}
    on_disk = {f"jobs.{p.stem}" for p in (ROOT / "jobs").glob("*.py") if not p.stem.startswith("__")}
    assert on_disk - registered == set()


def test_pages_never_import_sql_or_aws():
    assert _offenders("pages", {"sqlalchemy", "psycopg", "psycopg_pool", "boto3", "botocore"}) == {}


def test_ui_never_imports_sql_or_aws():
    assert _offenders("ui", {"sqlalchemy", "psycopg", "psycopg_pool", "boto3", "botocore"}) == {}


def _sql_strings(path: Path) -> list[str]:
    """String constants that are not docstrings (comments are not in the tree at all)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docstrings]


# The per-move replication role (docs/moves.md "Credentials") is the move's own SQL, not a tenant's.
MOVE_ROLE_SQL = "control_plane/moves/queries.py"


@pytest.mark.parametrize("statement", ["DROP SCHEMA", "CREATE SCHEMA", "DROP ROLE", "CREATE ROLE", "LOCK TABLE"])
def test_tenant_ddl_lives_in_adapters(statement):
    outside = [str(p.relative_to(ROOT)) for p in _modules("control_plane")
               if "adapters" not in p.parts and "migrations" not in p.parts
               and str(p.relative_to(ROOT)) != MOVE_ROLE_SQL
               and any(statement in text for text in _sql_strings(p))]
    assert outside == []
