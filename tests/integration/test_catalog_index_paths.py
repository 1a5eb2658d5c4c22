"""Every catalog read about one tenant's schema reaches its rows through an index that picks that
schema's rows, never through a scan of a catalog whose size follows the fleet (docs/architecture.md
"Catalog reads of one schema"; issue 19: ~100k pg_class rows at 2,000 tenants, ~1M at 20,000).

Each query is EXPLAINed for a real tenant schema with `enable_seqscan = off`. That alone is not
enough: where no index serves a condition, the planner then reads a whole index instead of the
table (`pg_class_relname_nsp_index` with `Index Cond: (relnamespace = n.oid)` scans every relation
of the database just the same). So every scan of a growing catalog must be an index scan whose
condition fixes the index's leading columns."""

from __future__ import annotations

import re
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from control_plane.adapters import cluster_catalog, tenant_ddl
from control_plane.adapters.clusters import libpq_url
from control_plane.archive import queries as archive_queries
from control_plane.domain.slugs import role_name, schema_name
from control_plane.fleet import dataloss
from control_plane.moves import queries as move_queries
from tests.factories import make_tenant

# Catalogs with rows per tenant object: a read of one of them that is not bounded by an index
# costs in proportion to the whole fleet.
GROWING = ("pg_class", "pg_depend", "pg_attribute", "pg_constraint", "pg_namespace", "pg_authid")
# Per index of those catalogs, the leading columns a scan must fix to read a bounded slice: a
# scan of pg_depend_reference_index by refclassid alone would read every schema's dependencies.
# An index not listed here fails the test until someone decides what bounds it.
BOUNDED_BY = {
    "pg_class_oid_index": ("oid",),
    "pg_class_relname_nsp_index": ("relname", "relnamespace"),
    "pg_depend_depender_index": ("classid", "objid"),
    "pg_depend_reference_index": ("refclassid", "refobjid"),
    "pg_attribute_relid_attnum_index": ("attrelid",),
    "pg_attribute_relid_attnam_index": ("attrelid",),
    "pg_constraint_oid_index": ("oid",),
    "pg_constraint_conrelid_contypid_conname_index": ("conrelid",),
    "pg_constraint_conname_nsp_index": ("conname", "connamespace"),
    "pg_namespace_oid_index": ("oid",),
    "pg_namespace_nspname_index": ("nspname",),
    "pg_authid_oid_index": ("oid",),
    "pg_authid_rolname_index": ("rolname",),
}


def _schema(schema: str, role: str, slug: str) -> tuple:
    return (schema,)


# (name, statement, its parameters from (schema, role, slug)): every per-tenant catalog read.
PER_TENANT = [
    ("tenant_ddl.SCHEMA_RELATIONS", tenant_ddl.SCHEMA_RELATIONS, _schema),
    ("tenant_ddl.PER_OBJECT_RELATIONS (grants, revokes)",
     lambda schema: sql.SQL(tenant_ddl.PER_OBJECT_RELATIONS).format(s=sql.Literal(schema)), lambda *_: ()),
    ("cluster_catalog.INSPECT_TENANT", cluster_catalog.INSPECT_TENANT,
     lambda schema, role, slug: (schema, schema, schema, role)),
    ("moves.SCHEMA_EXISTS", move_queries.SCHEMA_EXISTS, _schema),
    ("moves.SEQUENCES", move_queries.SEQUENCES, _schema),
    ("moves.TERMINATE_SCHEMA_SESSIONS", move_queries.TERMINATE_SCHEMA_SESSIONS, _schema),
    ("moves.SUBSCRIPTION_TABLES", move_queries.SUBSCRIPTION_TABLES, lambda *_: ("cp_move_1",)),
    ("archive.TABLES (table_counts)", archive_queries.TABLES, _schema),
    ("archive.TEMPLATE_COLUMNS", archive_queries.TEMPLATE_COLUMNS, _schema),
    ("archive.FOREIGN_KEYS (load_order)", archive_queries.FOREIGN_KEYS, _schema),
    ("archive.IDENTITY_SEQUENCES", archive_queries.IDENTITY_SEQUENCES, _schema),
    ("dataloss._EXISTING", dataloss._EXISTING,
     lambda schema, role, slug: (["title"], [schema], ["tasks", "projects"])),
]
# The shape main had before (a join on relnamespace): the check must see it.
OLD_SHAPE = ("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
             "WHERE n.nspname = %s AND c.relkind = 'S' ORDER BY 1")


def _nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def _catalog_of(index: str) -> str | None:
    return next((c for c in GROWING if index.startswith(c + "_")), None)


def unbounded_reads(conn: psycopg.Connection, statement, params: tuple) -> list[str]:
    """The plan's reads of a growing catalog that are not bounded by an index condition."""
    with conn.transaction():
        conn.execute("SET LOCAL enable_seqscan = off")
        query = sql.SQL("EXPLAIN (FORMAT JSON) {}").format(
            statement if isinstance(statement, sql.Composable) else sql.SQL(statement))
        (doc,) = conn.execute(query, params or None).fetchone()
    found = []
    for node in _nodes(doc[0]["Plan"]):
        kind, relation, index = node["Node Type"], node.get("Relation Name"), node.get("Index Name")
        if kind == "Seq Scan" and relation in GROWING:
            found.append(f"Seq Scan on {relation}")
        if index and _catalog_of(index):
            cond = node.get("Index Cond", "")
            needed = BOUNDED_BY.get(index)
            if needed is None:
                found.append(f"{kind} using {index} (an index this test does not know to be bounded)")
            elif not all(re.search(rf"(?<![\w.]){col} = ", cond) for col in needed):
                found.append(f"{kind} using {index} with condition {cond or 'none'}: "
                             f"a whole-catalog read (needs {', '.join(needed)})")
    return found


@pytest.fixture
def tenant_conn(ctx, new_slug) -> Iterator[tuple[psycopg.Connection, str, str, str]]:
    slug = new_slug("idx")
    make_tenant(ctx, slug)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as conn:
        yield conn, schema_name(slug), role_name(slug), slug


def test_every_per_tenant_catalog_read_goes_through_an_index(tenant_conn):
    conn, schema, role, slug = tenant_conn
    failures = {}
    for name, statement, params in PER_TENANT:
        text = statement(schema) if callable(statement) else statement
        found = unbounded_reads(conn, text, params(schema, role, slug))
        if found:
            failures[name] = found
    assert failures == {}


def test_the_check_sees_a_join_on_relnamespace(tenant_conn):
    """With seqscan off the old shape reads the whole of pg_class_relname_nsp_index instead of the
    table: the check must call that what it is."""
    conn, schema, _, _ = tenant_conn
    found = unbounded_reads(conn, OLD_SHAPE, (schema,))
    assert found and all("pg_class" in f for f in found), found


def test_relations_found_through_pg_depend_are_the_schemas_own(tenant_conn):
    """Tables, views and sequences (identity and serial too) have a namespace row in pg_depend, so the index
    path finds what the relnamespace join found; indexes have none (they depend on their table)."""
    conn, schema, _, _ = tenant_conn
    s = sql.Identifier(schema)
    conn.execute(sql.SQL("CREATE TABLE {}.extra (id serial PRIMARY KEY, n int GENERATED ALWAYS AS IDENTITY)")
                 .format(s))
    conn.execute(sql.SQL("CREATE SEQUENCE {}.free_standing").format(s))
    conn.execute(sql.SQL("CREATE TABLE {}.parted (k int) PARTITION BY RANGE (k)").format(s))
    conn.execute(sql.SQL("CREATE VIEW {}.a_view AS SELECT 1 AS one").format(s))
    by_depend = {(name, kind) for _, name, kind in conn.execute(tenant_ddl.SCHEMA_RELATIONS, (schema,))}
    by_namespace = set(conn.execute(
        "SELECT c.relname::text, c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relkind NOT IN ('i', 'I')", (schema,)).fetchall())
    assert by_depend == by_namespace
    assert {("extra_id_seq", "S"), ("extra_n_seq", "S"), ("free_standing", "S"), ("parted", "p"),
            ("a_view", "v")} <= by_depend
    identity = {tuple(r) for r in conn.execute(archive_queries.IDENTITY_SEQUENCES, (schema,))}
    assert {("extra_id_seq", "extra", "id"), ("extra_n_seq", "extra", "n")} <= identity
    assert [r[0] for r in conn.execute(move_queries.SEQUENCES, (schema,))] == sorted(
        name for name, kind in by_namespace if kind == "S")
