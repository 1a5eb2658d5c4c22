"""Catalog reads of one tenant schema for dumps and loads (control_plane/archive/dumps.py).

Each starts from the schema's own relations (tenant_ddl.SCHEMA_RELATIONS: pg_depend's index on
the namespace) and reaches columns, constraints and owning tables through their own indexes:
pg_class has no index on relnamespace, so a `relnamespace = …` join reads every relation of the
database, a cost that follows the fleet rather than the schema (docs/architecture.md "Catalog
reads of one schema"). tests/integration/test_catalog_index_paths.py checks the plans."""

from __future__ import annotations

from control_plane.adapters.tenant_ddl import SCHEMA_RELATIONS

_RELATIONS = f"WITH rel AS ({SCHEMA_RELATIONS})"

# The schema's plain tables, by name.
TABLES = f"{_RELATIONS} SELECT rel.relname FROM rel WHERE rel.relkind = 'r' ORDER BY 1"

# (table, column) of every live column of the schema's plain tables, in column order.
TEMPLATE_COLUMNS = f"""{_RELATIONS}
SELECT rel.relname, a.attname FROM rel
  JOIN pg_attribute a ON a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE rel.relkind = 'r' ORDER BY rel.relname, a.attnum
"""

# (table, referenced table) of every foreign key between two different tables of the schema.
FOREIGN_KEYS = f"""{_RELATIONS}
SELECT rel.relname, f.relname FROM rel
  JOIN pg_constraint k ON k.conrelid = rel.oid
  JOIN pg_class f ON f.oid = k.confrelid
 WHERE k.contype = 'f' AND k.conrelid <> k.confrelid
"""

# (sequence, table, column) of every identity or serial column: the sequence's own pg_depend row
# ('i' identity, 'a' serial) names the column it feeds. Sequences do have a namespace row.
IDENTITY_SEQUENCES = f"""{_RELATIONS}
SELECT rel.relname, t.relname, a.attname FROM rel
  JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = rel.oid
   AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
  JOIN pg_class t ON t.oid = d.refobjid
  JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = d.refobjsubid
 WHERE rel.relkind = 'S' ORDER BY 1
"""
