"""A fast command line (docs/cli.md "Command line"): read commands load only what they use.

Each command runs in a child process against an embedded catalog of its own (CP_DATA_DIR, the
default path: embedded server, catalog already at head), through a wrapper that reports which
packages ended up in sys.modules. No timing is asserted; bench/cli_startup.py measures.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

from control_plane.auth.permissions import Actor, Permission, Role, system_actor
from control_plane.cli.common import read_connection
from control_plane.db import embedded, migrate
from control_plane.db.engine import make_engine

ROOT = Path(__file__).resolve().parents[2]
# What a read command has no use for: dataframes and charts, AWS, migrations, the UI, HTTP.
HEAVY = {"pandas", "numpy", "pyarrow", "plotly", "boto3", "alembic", "mako", "streamlit", "httpx"}
# Runs `python -m control_plane ARGV` and prints, last on stderr, the top-level packages loaded.
WRAPPER = """
import json, runpy, sys
sys.argv = ["control_plane", *sys.argv[1:]]
code = 0
try:
    runpy.run_module("control_plane", run_name="__main__", alter_sys=True)
except SystemExit as exc:
    code = exc.code
sys.stderr.write("\\nloaded: " + json.dumps(sorted({m.split(".")[0] for m in sys.modules})) + "\\n")
sys.exit(code)
"""
SLUG = "startup_acme"


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """An embedded catalog with one tenant, its server kept up (as a running app keeps it)."""
    folder = Path(tempfile.mkdtemp(prefix="cp-test-cli-startup-"))
    server = embedded.start(folder)
    try:
        code, _, err, _ = run(folder, "tenants", "provision", SLUG, "--name", "Acme", "--plan", "team")
        assert code == 0, err
        yield folder
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


def run(data_dir: Path, *argv: str) -> tuple[int, str, str, set[str]]:
    """(exit code, stdout, stderr without the report, packages loaded)."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "XDG_RUNTIME_DIR")}
    env.update(CP_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, "-c", WRAPPER, *argv], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=120, check=False)
    err, _, report = done.stderr.rpartition("\nloaded: ")
    return done.returncode, done.stdout, err, set(json.loads(report))


@pytest.mark.parametrize("argv", [
    ["tenants", "show", SLUG],
    ["tenants", "show", SLUG, "--format", "table"],
    ["tenants", "list", "--format", "json"],
    ["tenants", "list", "--status", "active", "--format", "csv"],
    ["clusters", "list", "--format", "json"],
    ["billing", "plans", "list", "--format", "json"],
    ["db", "upgrade"],
])
def test_read_commands_load_no_heavy_package_and_print_no_warning(data_dir, argv):
    code, out, err, loaded = run(data_dir, *argv)
    assert code == 0, err
    assert SLUG in out or argv[0] != "tenants"
    assert loaded & HEAVY == set()
    assert "RuntimeDirWarning" not in err and "Warning" not in err
    assert err.strip() == ""


def test_a_missing_tenant_is_still_one_line_and_exit_3(data_dir):
    code, out, err, loaded = run(data_dir, "tenants", "show", "nobody_here")
    assert (code, out) == (3, "")
    assert err.strip() == "error: No tenant 'nobody_here'." and loaded & HEAVY == set()


@pytest.mark.parametrize("group", [None, "db", "tenants", "users", "billing", "uptime", "clusters", "scaling", "demo"])
def test_help_loads_no_service_and_no_database_driver(data_dir, group):
    """Building the parser imports no service: `--help` needs neither SQLAlchemy nor psycopg."""
    code, out, err, loaded = run(data_dir, *([group] if group else []), "--help")
    assert code == 0 and "usage:" in out and err.strip() == ""
    assert loaded & (HEAVY | {"sqlalchemy", "psycopg", "pgserver", "argon2"}) == set()


def test_bad_arguments_fail_in_one_line_before_loading_anything(data_dir):
    code, _, err, loaded = run(data_dir, "tenants", "show")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "sqlalchemy" not in loaded


TENANT_READS = (("tenants", "show", SLUG), ("tenants", "list", "--format", "json"))


@pytest.mark.parametrize("argv", TENANT_READS)
def test_tenant_reads_on_a_current_catalog_never_load_sqlalchemy(data_dir, argv):
    """Server up and catalog at head: one psycopg connection, no bootstrap (docs/cli.md "Command line")."""
    code, out, err, loaded = run(data_dir, *argv)
    assert (code, err.strip()) == (0, "") and SLUG in out
    assert loaded & (HEAVY | {"sqlalchemy", "pgserver", "tenacity", "psycopg_pool", "argon2"}) == set()


@pytest.mark.parametrize("argv", TENANT_READS)
def test_tenant_reads_on_a_behind_catalog_take_the_service_path_and_answer_the_same(data_dir, argv):
    code, fast, err, _ = run(data_dir, *argv)
    assert code == 0, err
    _downgrade_latest_revision(data_dir)
    code, out, err, loaded = run(data_dir, *argv)
    assert (code, err.strip()) == (0, "")
    assert {"sqlalchemy", "alembic"} <= loaded  # the full bootstrap, which migrated
    assert out == fast
    engine = make_engine(_catalog_url(data_dir))
    try:
        assert migrate.stored_revisions(engine) == migrate.head_revisions()
    finally:
        engine.dispose()


def test_the_fast_path_is_only_for_an_actor_holding_the_permission(data_dir, monkeypatch):
    """A refusal goes through the service, which audits it (control_plane/core/authorization.py)."""
    monkeypatch.setenv("CP_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    conn = read_connection(system_actor("cli:test"), Permission.TENANTS_READ)
    assert conn is not None
    conn.close()
    assert read_connection(Actor("someone", Role.FOUNDER), Permission.USERS_MANAGE) is None


def _catalog_url(data_dir: Path) -> str:
    found = embedded.running_server(data_dir)
    assert found is not None
    return f"postgresql+psycopg://postgres@/{embedded.DATABASE_NAME}?host={found[0]}&port={found[1]}"


def _downgrade_latest_revision(data_dir: Path) -> None:
    from alembic import command

    engine = make_engine(_catalog_url(data_dir))
    try:
        config = migrate.alembic_config()
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.downgrade(config, "-1")
        assert migrate.stored_revisions(engine) != migrate.head_revisions()
    finally:
        engine.dispose()


def test_migration_heads_read_from_the_files_agree_with_alembic():
    script = ScriptDirectory.from_config(migrate.alembic_config())
    assert migrate.head_revisions() == frozenset(script.get_heads())


def test_ensure_current_upgrades_a_new_catalog_once_and_then_only_checks(pg_server):
    import psycopg

    name = "cp_test_ensure_current"
    with psycopg.connect(host=str(pg_server.socket_dir), port=pg_server.port, user="postgres",
                         dbname="postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = make_engine(pg_server.url(name))
    try:
        assert migrate.stored_revisions(engine) == frozenset()
        assert migrate.ensure_current(engine) is True  # a new catalog: Alembic ran
        assert migrate.stored_revisions(engine) == migrate.head_revisions()
        assert migrate.ensure_current(engine) is False  # at head: one check, no Alembic
    finally:
        engine.dispose()
