"""Create or upgrade the catalog with Alembic; idempotent, safe from several processes at once.

Alembic (~0.2 s and ~15 MB to import) is loaded only when the catalog is behind: every process
start checks the stored revision against the newest migration file first (`ensure_current`), so a
CLI command against an up-to-date catalog never imports it (docs/cli.md "Command line").
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # SQLAlchemy is loaded by the functions that take an engine: the CLI's read
    # path reads `head_revisions` without it (control_plane/db/catalog_conn.py)
    from alembic.config import Config
    from sqlalchemy import Engine

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
VERSIONS = MIGRATIONS / "versions"
# The module-level assignments Alembic reads from a revision file (`revision = "0009"`, …).
_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*(?::[^=]+)?=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    from alembic import command

    from control_plane.db import advisory_locks

    config = alembic_config()
    # Serialises concurrent upgrades (the app and the worker starting together).
    with engine.connect() as connection, advisory_locks.locked_transaction(connection, advisory_locks.DB_MIGRATE):
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def ensure_current(engine: Engine) -> bool:
    """Upgrade the catalog to head unless it is there already; True when Alembic ran. A race
    with another process starting is harmless: `upgrade` takes the lock and is idempotent."""
    if stored_revisions(engine) == head_revisions():
        return False
    upgrade(engine)
    return True


def head_revisions(versions: Path = VERSIONS) -> frozenset[str]:
    """The revisions no other revision builds on, read from the migration files as Alembic
    names them (its ScriptDirectory agrees: tests/integration/test_migrations.py)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        found = dict(_ASSIGNMENT.findall(path.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        revisions.add(ast.literal_eval(found["revision"]))
        down = ast.literal_eval(found.get("down_revision", "None"))
        parents.update([down] if isinstance(down, str) else (down or ()))
    return frozenset(revisions - parents)


def stored_revisions(engine: Engine) -> frozenset[str]:
    """What the catalog's version table holds (empty for a new catalog)."""
    from sqlalchemy import text

    with engine.connect() as connection:
        if connection.execute(text("SELECT to_regclass('control_plane.alembic_version')")).scalar() is None:
            return frozenset()
        return frozenset(connection.execute(text("SELECT version_num FROM control_plane.alembic_version")).scalars())


def current_revision(engine: Engine) -> str | None:
    from sqlalchemy import text

    with engine.connect() as connection:
        exists = connection.execute(text("SELECT to_regclass('control_plane.alembic_version')")).scalar()
        if exists is None:
            return None
        return connection.execute(text("SELECT version_num FROM control_plane.alembic_version")).scalar()
