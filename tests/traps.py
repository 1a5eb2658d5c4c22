"""Search-path traps, planted as a tenant would (docs/security.md "The database is a trust boundary").

Where PUBLIC may create in `public`, a tenant can add an overload of a pg_catalog function or
operator whose argument types match a call better than pg_catalog's own (an `integer` where
pg_catalog takes `bigint`, a `name` where it takes `text`, …). A session whose search_path reaches
`public` then runs the tenant's code with its own rights. Each trap here does what the original
does (so every path still works) and, when it runs as anything but a tenant role, counts itself in
a sequence (not rolled back with the caller's transaction) and logs who ran what.

Which functions: every pg_catalog function whose name appears as a word in our own code
(control_plane/, jobs/), so a new call is trapped without editing this list; which operators: the
ones our SQL writes. Overloads are made for argument types one implicit cast narrower than
pg_catalog's, one argument at a time and both at once.
"""

from __future__ import annotations

import re
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
# An argument type -> narrower types that reach it by an implicit cast (pg_cast castcontext 'i').
NARROWER: dict[str, tuple[str, ...]] = {
    "bigint": ("integer", "smallint"),
    "integer": ("smallint",),
    "numeric": ("integer", "bigint"),
    "double precision": ("integer", "bigint", "numeric", "real"),
    "text": ("name", "character varying", "character"),
    "name": ("text", "character varying"),
    "timestamp with time zone": ("timestamp without time zone", "date"),
    "oid": ("integer",),
    "jsonb": (),
}
OPERATORS = ("||", "=", "<>", "<", "<=", ">", ">=", "~~", "!~~", "~~*", "+", "-", "*", "/", "@>", "<@", "&&",
             "->>", "->", "~", "!~")
_WORD = re.compile(r"\b([a-z_][a-z0-9_]*)\s*\(")


def words_called_in_code() -> set[str]:
    """Every `name(` in our code: a superset of the SQL functions it calls."""
    found: set[str] = set()
    for folder in ("control_plane", "jobs"):
        for path in (ROOT / folder).rglob("*.py"):
            found.update(m.group(1) for m in _WORD.finditer(path.read_text(encoding="utf-8").lower()))
    return found


_FUNCTIONS = """
SELECT p.proname, array(SELECT pg_catalog.format_type(t, NULL) FROM unnest(p.proargtypes::oid[]) t),
       pg_catalog.format_type(p.prorettype, NULL)
  FROM pg_catalog.pg_proc p
 WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f' AND NOT p.proretset
   AND p.pronargs BETWEEN 1 AND 3 AND p.proname = ANY(%s)
   AND p.prorettype NOT IN ('void'::regtype, 'record'::regtype, 'trigger'::regtype, 'internal'::regtype)
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proargtypes::oid[]) t
                    JOIN pg_catalog.pg_type ty ON ty.oid = t WHERE ty.typtype = 'p')
   AND pg_catalog.format_type(p.prorettype, NULL) NOT LIKE 'any%%'
"""
_OPERATORS = """
SELECT o.oprname, pg_catalog.format_type(o.oprleft, NULL), pg_catalog.format_type(o.oprright, NULL),
       pg_catalog.format_type(o.oprresult, NULL)
  FROM pg_catalog.pg_operator o
  JOIN pg_catalog.pg_type l ON l.oid = o.oprleft JOIN pg_catalog.pg_type r ON r.oid = o.oprright
 WHERE o.oprnamespace = 'pg_catalog'::regnamespace AND o.oprname = ANY(%s)
   AND l.typtype <> 'p' AND r.typtype <> 'p'
"""


def _variants(types: list[str]) -> list[tuple[str, ...]]:
    """Argument lists one narrower type away: each argument alone, then all at once."""
    out: list[tuple[str, ...]] = []
    for i, t in enumerate(types):
        for n in NARROWER.get(t, ()):
            out.append((*types[:i], n, *types[i + 1:]))
    if len(types) > 1 and all(NARROWER.get(t) for t in types):
        out.append(tuple(NARROWER[t][0] for t in types))
    return out


def _body(label: str, call: str) -> str:
    return (f"BEGIN IF current_user::text NOT LIKE 'tenant\\_%' THEN "
            f"PERFORM pg_catalog.nextval('public.trap_hits'); "
            f"INSERT INTO public.trap_log (who, trap) VALUES (current_user, {sql.quote(label)}); "
            f"END IF; RETURN {call}; END")


def plant(admin: psycopg.Connection, tenant_role: str) -> int:
    """Open `public` to PUBLIC (as PostgreSQL 14 did) and plant the traps as `tenant_role`;
    `admin` is a superuser connection to the database (autocommit). Returns how many."""
    admin.execute("GRANT CREATE ON SCHEMA public TO PUBLIC")
    names = sorted(words_called_in_code())
    functions = admin.execute(_FUNCTIONS, (names,)).fetchall()
    operators = admin.execute(_OPERATORS, (list(OPERATORS),)).fetchall()
    statements: list[str] = [
        "CREATE SEQUENCE public.trap_hits",
        "CREATE TABLE public.trap_log (who text, trap text, at timestamptz DEFAULT pg_catalog.now())",
        "GRANT USAGE, UPDATE ON SEQUENCE public.trap_hits TO PUBLIC",
        "GRANT INSERT ON public.trap_log TO PUBLIC",
    ]
    made: set[tuple[str, tuple[str, ...]]] = set()
    for name, args, result in functions:
        for variant in _variants(list(args)):
            if (name, variant) in made:
                continue
            made.add((name, variant))
            params = ", ".join(variant)
            call = f"pg_catalog.{sql.Identifier(name).as_string()}(" + ", ".join(
                f"${i + 1}::{t}" for i, t in enumerate(args)) + ")"
            statements.append(
                f"CREATE FUNCTION public.{sql.Identifier(name).as_string()}({params}) RETURNS {result} "
                f"LANGUAGE plpgsql AS {sql.quote(_body(f'{name}({params})', call))}")
    for n, (op, left, right, result) in enumerate(operators):
        for variant in _variants([left, right]):
            if (op, variant) in made:
                continue
            made.add((op, variant))
            fn = f"public.trap_op_{n}_{len(made)}"
            call = f"$1::{left} OPERATOR(pg_catalog.{op}) $2::{right}"
            statements.append(f"CREATE FUNCTION {fn}({variant[0]}, {variant[1]}) RETURNS {result} "
                              f"LANGUAGE plpgsql AS {sql.quote(_body(f'{left} {op} {right} as {variant}', call))}")
            statements.append(f"CREATE OPERATOR public.{op} (LEFTARG = {variant[0]}, RIGHTARG = {variant[1]}, "
                              f"FUNCTION = {fn})")
    with admin.transaction():
        admin.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(tenant_role)))
        for statement in statements:
            admin.execute(statement)
    return len(made)


def hits(admin: psycopg.Connection) -> tuple[int, list[tuple[str, str]]]:
    """(times a trap ran as a non-tenant role, the logged (who, trap) pairs that survived)."""
    count = admin.execute("SELECT last_value - 1 + (CASE WHEN is_called THEN 1 ELSE 0 END) "
                          "FROM public.trap_hits").fetchone()[0]
    log = admin.execute("SELECT DISTINCT who, trap FROM public.trap_log ORDER BY 1, 2").fetchall()
    return int(count), log


def remove(admin: psycopg.Connection) -> None:
    """Drop every trap and close `public` again."""
    admin.execute("DROP SCHEMA public CASCADE")
    admin.execute("CREATE SCHEMA public")
    admin.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
