"""DDL for tenant schemas and roles. Identifiers only ever through psycopg.sql.Identifier.

The template is versioned: the version is recorded in the catalog and as the schema's comment,
so reconcile can tell an up-to-date schema from a stale or foreign one.
"""

from __future__ import annotations

import hashlib

import psycopg
from psycopg import sql

from control_plane.domain.slugs import role_name, schema_name

TEMPLATE_TABLES = ("users", "teams", "team_members", "projects", "tasks", "comments", "events")
_COMMENT_PREFIX = "control-plane tenant template v"

# Written with {s} for the tenant schema; formatted through sql.SQL, so {s} is always quoted.
_TEMPLATE_V1 = """
CREATE TABLE {s}.users (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email text NOT NULL UNIQUE,
    full_name text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.teams (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE {s}.team_members (
    team_id bigint NOT NULL REFERENCES {s}.teams (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES {s}.users (id) ON DELETE CASCADE,
    role text NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    PRIMARY KEY (team_id, user_id)
);
CREATE INDEX team_members_user_id_idx ON {s}.team_members (user_id);
CREATE TABLE {s}.projects (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    team_id bigint NOT NULL REFERENCES {s}.teams (id) ON DELETE CASCADE,
    name text NOT NULL,
    archived boolean NOT NULL DEFAULT false,
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)
);
CREATE TABLE {s}.tasks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id bigint NOT NULL REFERENCES {s}.projects (id) ON DELETE CASCADE,
    assignee_id bigint REFERENCES {s}.users (id) ON DELETE SET NULL,
    title text NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'in_progress', 'done')),
    due_date date,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tasks_project_id_status_idx ON {s}.tasks (project_id, status);
CREATE INDEX tasks_assignee_id_idx ON {s}.tasks (assignee_id);
CREATE TABLE {s}.comments (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    task_id bigint NOT NULL REFERENCES {s}.tasks (id) ON DELETE CASCADE,
    author_id bigint NOT NULL REFERENCES {s}.users (id),
    body text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX comments_task_id_idx ON {s}.comments (task_id);
CREATE TABLE {s}.events (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    occurred_at timestamptz NOT NULL DEFAULT now(),
    actor_id bigint REFERENCES {s}.users (id) ON DELETE SET NULL,
    kind text NOT NULL,
    payload jsonb NOT NULL DEFAULT '{{}}'::jsonb
);
CREATE INDEX events_occurred_at_idx ON {s}.events (occurred_at);
"""


# The data plane logs in as one of DATA_PLANE_LOGINS roles, chosen by the tenant's slug
# (docs/architecture.md "Data-plane logins"): no attributes but LOGIN, and NOINHERIT, so being a
# member of its share of the tenant roles gives it no rights until it SETs one; a RESET ROLE inside
# a tenant transaction lands on it, on nothing. Why several: PostgreSQL rebuilds a session's list of
# its user's memberships after any role change on the server, in time quadratic in that list, so
# one login member of 20,000 tenant roles stalls for seconds after every provision
# (bench/README.md "Data-plane membership cache"); 16 logins keep each list at ~1/16 of the fleet.
DATA_PLANE_LOGINS = 16
DATA_PLANE_LOGIN_PREFIX = "cp_data_plane_"
# The single login of installs before the split; its memberships are revoked when a pool opens.
LEGACY_DATA_PLANE_ROLE = "cp_data_plane"
DATA_PLANE_ROLE_PATTERN = "cp\\_data\\_plane\\_%"  # LIKE pattern of the logins (not the legacy one)
_ENSURE_DATA_PLANE_LOGIN = """
DO $cp$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname OPERATOR(pg_catalog.=) {login}::pg_catalog.name) THEN
    EXECUTE pg_catalog.format('CREATE ROLE %I LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION '
                              'NOBYPASSRLS', {login}::pg_catalog.text);
  END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL;  -- a concurrent provisioning created it first
END
$cp$;
"""


def data_plane_login(slug: str) -> str:
    """The login whose pool reaches tenant `slug`: a stable hash of the slug (the same in every
    process and release), so no catalog column and no lookup."""
    digest = hashlib.sha256(slug.encode("utf-8")).digest()
    return f"{DATA_PLANE_LOGIN_PREFIX}{int.from_bytes(digest[:8], 'big') % DATA_PLANE_LOGINS:02d}"


def data_plane_logins() -> list[str]:
    return [f"{DATA_PLANE_LOGIN_PREFIX}{i:02d}" for i in range(DATA_PLANE_LOGINS)]


def slug_of_role(role: str) -> str:
    return role[len(role_name("")):]


def ensure_data_plane_login(login: str) -> sql.Composed:
    # The name is one of data_plane_logins(), never user text; it still travels as a literal
    # and is quoted by format('%I') on the server.
    return sql.SQL(_ENSURE_DATA_PLANE_LOGIN).format(login=sql.Literal(login))


def grant_to_data_plane(slug: str) -> sql.Composed:
    """Membership lets the tenant's data-plane login SET ROLE into it (the login made first when
    this is its first tenant); it ends when the role is dropped."""
    login = data_plane_login(slug)
    return sql.Composed([
        ensure_data_plane_login(login),
        sql.SQL("GRANT {r} TO {d};").format(r=sql.Identifier(role_name(slug)), d=sql.Identifier(login)),
    ])


def grant_roles_to_login(login: str, roles: list[str]) -> sql.Composed:
    return sql.SQL("GRANT {rs} TO {d}").format(rs=sql.SQL(", ").join(map(sql.Identifier, roles)),
                                              d=sql.Identifier(login))


def revoke_roles_from_login(login: str, roles: list[str]) -> sql.Composed:
    return sql.SQL("REVOKE {rs} FROM {d}").format(rs=sql.SQL(", ").join(map(sql.Identifier, roles)),
                                                 d=sql.Identifier(login))


def create_role(slug: str) -> sql.Composed:
    # The catalog user must be a member to SET ROLE into it when it is not a superuser (Aurora);
    # its data-plane login too, so tenant_transaction works on that login's pool.
    return sql.Composed([
        sql.SQL("CREATE ROLE {r} NOLOGIN; GRANT {r} TO CURRENT_USER; ").format(r=sql.Identifier(role_name(slug))),
        grant_to_data_plane(slug),
    ])


def create_schema(slug: str) -> sql.Composed:
    return create_template_schema(schema_name(slug))


def template_v1(schema: str) -> sql.Composed:
    """Version 1 of the tenant template (revision 1 in control_plane/tenant_schema/revisions.py)."""
    return sql.SQL(_TEMPLATE_V1).format(s=sql.Identifier(schema))


def create_template_schema(schema: str, body: sql.Composable | None = None,
                           version: int = 1) -> sql.Composed:
    """The tenant template under any schema name (a restore's verification scratch schema too).
    `body` is the template at `version` (control_plane/tenant_schema/template.py builds it); without one,
    version 1."""
    s = sql.Identifier(schema)
    return sql.Composed([
        sql.SQL("CREATE SCHEMA {s}; ").format(s=s),
        body if body is not None else template_v1(schema),
        sql.SQL(" "),
        comment_schema(schema, version),
    ])


def comment_schema(schema: str, version: int) -> sql.Composed:
    """The schema's comment names its template version: reconcile and drift checks read it."""
    return sql.SQL("COMMENT ON SCHEMA {s} IS {c}; ").format(s=sql.Identifier(schema),
                                                            c=sql.Literal(f"{_COMMENT_PREFIX}{version}"))


# Rights per object of one schema, never `GRANT … ON ALL TABLES IN SCHEMA`: that form scans the
# whole of pg_class (~0.5 µs a row: 222 ms at 10,000 tenants), so its cost follows the fleet. The
# schema's tables and sequences are found through pg_depend's index on the namespace instead, and
# granted by name. {s} and {r} are the schema and role names as literals (validated slugs).
PER_OBJECT_RELATIONS = """
    SELECT c.relkind, pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
      FROM pg_catalog.pg_depend d
      JOIN pg_catalog.pg_class c ON c.oid = d.objid
      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE d.refclassid = 'pg_catalog.pg_namespace'::pg_catalog.regclass
       AND d.refobjid = (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = {s})
       AND d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype = 'n'
       AND c.relkind IN ('r', 'p', 'S')
"""
_PER_OBJECT = """
DO $cp$
DECLARE
  obj record;
BEGIN
  FOR obj IN""" + PER_OBJECT_RELATIONS + """  LOOP
    IF obj.relkind = 'S' THEN
      EXECUTE pg_catalog.format({seq}, obj.name, {r});
    ELSE
      EXECUTE pg_catalog.format({table}, obj.name, {r});
    END IF;
  END LOOP;
END
$cp$;
"""


def _per_object(slug: str, table_right: str, sequence_right: str) -> sql.Composed:
    return sql.SQL(_PER_OBJECT).format(s=sql.Literal(schema_name(slug)), r=sql.Literal(role_name(slug)),
                                       table=sql.Literal(table_right), seq=sql.Literal(sequence_right))


def grant_access(slug: str) -> sql.Composed:
    s, r = sql.Identifier(schema_name(slug)), sql.Identifier(role_name(slug))
    return sql.Composed([
        sql.SQL("GRANT USAGE ON SCHEMA {s} TO {r}; ").format(s=s, r=r),
        _per_object(slug, "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE %s TO %I",
                    "GRANT USAGE, SELECT ON SEQUENCE %s TO %I"),
    ])


def provision_script(slug: str, schema_script: sql.Composable | None = None) -> sql.Composed:
    """Everything a new tenant needs, as one script: one round trip, one transaction.
    `schema_script` creates the schema at the wanted version (default: template version 1)."""
    return sql.Composed([create_role(slug), sql.SQL(" "), schema_script or create_schema(slug), grant_access(slug)])


def revoke_access(slug: str) -> sql.Composed:
    """Suspension: the role keeps USAGE on its schema (so queries fail with "permission denied"
    rather than "relation does not exist") but loses every table and sequence privilege."""
    return _per_object(slug, "REVOKE ALL ON TABLE %s FROM %I", "REVOKE ALL ON SEQUENCE %s FROM %I")


def comment_version(comment: str | None) -> int | None:
    if comment and comment.startswith(_COMMENT_PREFIX):
        try:
            return int(comment[len(_COMMENT_PREFIX):])
        except ValueError:
            return None
    return None


# A schema's own relations through pg_depend's index on the referenced object: pg_class has no
# index on relnamespace, so `relnamespace = …` reads every relation of the database (22 ms at
# 2,000 tenants, ten times that at 20,000) where this reads the schema's few.
SCHEMA_RELATIONS = """
SELECT c.oid, c.relname, c.relkind FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_class c ON c.oid OPERATOR(pg_catalog.=) d.objid
 WHERE d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_namespace'::pg_catalog.regclass
   AND d.refobjid OPERATOR(pg_catalog.=) (SELECT n.oid FROM pg_catalog.pg_namespace n
                                           WHERE n.nspname OPERATOR(pg_catalog.=) %s::pg_catalog.name)
   AND d.classid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
   AND d.deptype OPERATOR(pg_catalog.=) 'n'::pg_catalog."char"
"""


def schema_tables(conn: psycopg.Connection, schema: str) -> list[str]:
    """The tables (plain and partitioned) of `schema`, by name."""
    return sorted(name for _, name, kind in conn.execute(SCHEMA_RELATIONS, (schema,)) if kind in ("r", "p"))


def lock_schema_tables(conn: psycopg.Connection, schema: str) -> None:
    """ACCESS EXCLUSIVE on every table of `schema`: no reader or writer until the transaction ends."""
    tables = schema_tables(conn, schema)
    if tables:
        conn.execute(sql.SQL("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE").format(
            sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables)))


def drop_schema(conn: psycopg.Connection, schema: str) -> None:
    conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def drop_schema_and_role(conn: psycopg.Connection, slug: str) -> None:
    """The tenant's schema, then its role (with whatever it still owns or was granted)."""
    drop_schema(conn, schema_name(slug))
    if conn.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = %s", (role_name(slug),)).fetchone():
        role = sql.Identifier(role_name(slug))
        conn.execute(sql.SQL("DROP OWNED BY {r}; DROP ROLE {r}").format(r=role))


def lock_tables_share(schema: str, tables: list[str]) -> sql.Composed:
    """SHARE: waits for every open writer of these tables and lets none start; readers go on
    (a move's cut-over, docs/moves.md "Cut-over")."""
    return sql.SQL("LOCK TABLE {} IN SHARE MODE").format(sql.SQL(", ").join(sql.Identifier(schema, t) for t in tables))


def drop_role_if_unused(conn: psycopg.Connection, slug: str) -> bool:
    """The tenant's role on a server it has left, unless something there still uses it (a schema
    of another database of that server, a grant): then PostgreSQL refuses and the role stays."""
    role = sql.Identifier(role_name(slug))
    try:
        with conn.transaction():
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {r}").format(r=role))
    except psycopg.errors.DependentObjectsStillExist:
        return False
    return True
