"""The house layout (docs/architecture.md "Architecture"): control_plane imports neither Streamlit nor the
packages above it (ui, pages, jobs); pages import no SQL driver, ORM or AWS SDK; SQL DDL lives in
adapters. Checked on the import statements of every module, so it holds for lazy imports too."""

from __future__ import annotations

import ast
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
