"""The tenant template as an ordered list of revisions (docs/migrations.md "Revisions").

Version 1 is the template every tenant was created with before revisions existed; each later
revision moves a schema one version up (forward) and, where it can, back down (reverse). Every
statement is composed with psycopg.sql, the tenant schema always an Identifier.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from psycopg import sql

from control_plane.adapters import tenant_ddl
from control_plane.errors import InvalidInput

Step = Callable[[str], sql.Composable]  # schema name -> SQL


class Kind(StrEnum):
    EXPAND = "expand"  # backward compatible: new tables, nullable columns, indexes
    CONTRACT = "contract"  # drops, renames, tighter constraints: refused unless asked for


@dataclass(frozen=True)
class Revision:
    version: int
    name: str
    kind: Kind
    forward: Step
    reverse: Step | None = None
    # Tables this revision creates: the tenant role's grants on them follow its status.
    new_tables: tuple[str, ...] = ()
    # What the reverse step drops with its data: "table" or "table.column" (docs/migrations.md
    # "Rollback that drops data"); a rollback that would drop rows there is admin-only.
    reverse_drops: tuple[str, ...] = ()

    @property
    def reversible(self) -> bool:
        return self.reverse is not None


def _sql(text: str) -> Step:
    """A step written with {s} for the schema (formatted through sql.SQL, so always quoted)."""
    return lambda schema: sql.SQL(text).format(s=sql.Identifier(schema))


V2_TASK_DUE_AT = Revision(
    2, "tasks.due_at (timestamp with zone) and its index", Kind.EXPAND,
    forward=_sql("ALTER TABLE {s}.tasks ADD COLUMN due_at timestamptz; "
                 "CREATE INDEX tasks_due_at_idx ON {s}.tasks (due_at);"),
    reverse=_sql("DROP INDEX {s}.tasks_due_at_idx; ALTER TABLE {s}.tasks DROP COLUMN due_at;"),
    reverse_drops=("tasks.due_at",),
)

V3_LABELS = Revision(
    3, "labels and task_labels", Kind.EXPAND,
    forward=_sql("""
CREATE TABLE {s}.labels (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    color text,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.task_labels (
    task_id bigint NOT NULL REFERENCES {s}.tasks (id) ON DELETE CASCADE,
    label_id bigint NOT NULL REFERENCES {s}.labels (id) ON DELETE CASCADE,
    PRIMARY KEY (task_id, label_id)
);
CREATE INDEX task_labels_label_id_idx ON {s}.task_labels (label_id);
"""),
    reverse=_sql("DROP TABLE {s}.task_labels; DROP TABLE {s}.labels;"),
    new_tables=("labels", "task_labels"),
    reverse_drops=("task_labels", "labels"),
)

REVISIONS: tuple[Revision, ...] = (
    Revision(1, "tenant template v1", Kind.EXPAND, forward=tenant_ddl.template_v1),
    V2_TASK_DUE_AT,
    V3_LABELS,
)


@dataclass(frozen=True)
class Catalog:
    """An ordered, gap-free list of revisions (tests inject their own)."""

    revisions: tuple[Revision, ...] = REVISIONS

    def __post_init__(self) -> None:
        versions = [r.version for r in self.revisions]
        if versions != list(range(1, len(versions) + 1)):
            raise ValueError(f"revisions must be numbered 1..n without gaps, got {versions}")

    @property
    def latest(self) -> int:
        return self.revisions[-1].version

    def get(self, version: int) -> Revision:
        self.check(version)
        return self.revisions[version - 1]

    def check(self, version: int) -> int:
        if not 1 <= version <= self.latest:
            raise InvalidInput(f"Template version {version} does not exist; versions are 1 to {self.latest}.")
        return version

    def between(self, start: int, end: int) -> list[Revision]:
        """The revisions that take a schema from `start` to `end`, in the order they run (forward
        when end > start, reverse otherwise)."""
        if end >= start:
            return list(self.revisions[start:end])
        return list(reversed(self.revisions[end:start]))

    def reversible(self, start: int, end: int) -> bool:
        return all(r.reversible for r in self.between(end, start))

    def dropped_by_reverse(self, start: int, end: int) -> tuple[str, ...]:
        """What going from `start` down to `end` drops with its data (nothing going up)."""
        return tuple(o for r in self.between(start, end) for o in r.reverse_drops) if end < start else ()

    def contracts(self, start: int, end: int) -> Sequence[Revision]:
        return [r for r in self.between(start, end) if r.kind == Kind.CONTRACT]


DEFAULT = Catalog()
# The template as first shipped (adapters/tenant_ddl.py template_v1): where a tenant whose row
# predates recorded versions is.
FIRST = 1
