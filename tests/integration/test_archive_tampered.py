"""A tampered archive must not run code (docs/operations.md "Archive, restore, purge").

The attacker replaces a tenant's dump and manifest in S3 with a dump of the same schema whose
`users` table has a CHECK calling a plpgsql function (it writes a marker row and makes a catalog
account admin when it runs) and which adds a SECURITY DEFINER function that runs any SQL, a
trigger, and grants. (a) The catalog's recorded checksum refuses it; (b) even when the attacker
could match the recorded checksum, restore loads rows only: no function, trigger or grant of the
dump exists afterwards, the marker never changes, and the tenant role can call no definer function.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import update

from control_plane.adapters import tenant_ddl
from control_plane.adapters.clusters import libpq_url
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.archive import dumps, pgtools
from control_plane.archive import service as archive
from control_plane.aws.s3 import parse_uri
from control_plane.db.models import Tenant
from control_plane.errors import Conflict
from tests import moto_server
from tests.factories import make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures

EVIL = """
CREATE FUNCTION {s}.evil(v text) RETURNS boolean LANGUAGE plpgsql AS $f$
BEGIN
  INSERT INTO public.{marker} VALUES ('check ran as ' || current_user);
  UPDATE control_plane.users SET role = 'admin' WHERE username = {victim};
  RETURN true;
END $f$;
ALTER TABLE {s}.users ADD CONSTRAINT users_evil CHECK ({s}.evil(email));
CREATE FUNCTION {s}.run_as_owner(q text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER AS $f$
BEGIN EXECUTE q; END $f$;
GRANT EXECUTE ON FUNCTION {s}.run_as_owner(text) TO PUBLIC;
CREATE FUNCTION {s}.on_team() RETURNS trigger LANGUAGE plpgsql AS $f$
BEGIN PERFORM {s}.evil('trigger'); RETURN NEW; END $f$;
CREATE TRIGGER team_evil BEFORE INSERT ON {s}.teams FOR EACH ROW EXECUTE FUNCTION {s}.on_team();
GRANT ALL ON SCHEMA {s} TO PUBLIC;
"""


@pytest.fixture
def bucket(ctx, aws) -> str:
    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    return ctx.settings.archive_bucket


def connect(ctx) -> psycopg.Connection:
    return psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True)


def fill(c: psycopg.Connection, schema: str) -> None:
    s = sql.Identifier(schema)
    for statement in (
        "INSERT INTO {s}.users (email, full_name) SELECT 'u' || g || '@x.io', 'User ' || g "
        "FROM generate_series(1, 6) g",
        "INSERT INTO {s}.teams (name) VALUES ('core'), ('ops')",
        "INSERT INTO {s}.team_members (team_id, user_id) VALUES (1, 2), (2, 3)",
        "INSERT INTO {s}.projects (team_id, name) VALUES (1, 'alpha')",
        "INSERT INTO {s}.tasks (project_id, assignee_id, title) SELECT 1, g, 'task ' || g FROM generate_series(1, 4) g",
        "INSERT INTO {s}.comments (task_id, author_id, body) VALUES (1, 1, 'hello')",
        "INSERT INTO {s}.events (actor_id, kind) VALUES (1, 'login')",
    ):
        c.execute(sql.SQL(statement).format(s=s))


@pytest.fixture
def attack(ctx, aws, bucket, admin, new_slug, tmp_path):
    """An archived tenant, a victim account, a marker table, and a way to build hostile dumps."""
    slug = new_slug("evil")
    schema, marker, victim = f"tenant_{slug}", f"cp_marker_{slug}", f"mallory_{slug}"
    make_tenant(ctx, slug)
    with connect(ctx) as c:
        fill(c, schema)
        c.execute(sql.SQL("CREATE TABLE public.{} (what text)").format(sql.Identifier(marker)))
        c.execute("INSERT INTO control_plane.users (username, role) VALUES (%s, 'support')", (victim,))
    archive.archive_tenant(ctx, admin, slug)
    with ctx.session_factory() as session:
        tenant = session.query(Tenant).filter_by(slug=slug).one()
        uri, recorded = tenant.archive_uri, tenant.archive_sha256
    _, key = parse_uri(uri)

    class Attack:
        pass

    a = Attack()
    a.slug, a.schema, a.marker, a.victim, a.key, a.recorded = slug, schema, marker, victim, key, recorded

    def build(extra: str = EVIL, source_schema: str = schema) -> Path:
        """The tenant's schema rebuilt by hand with the same rows plus `extra`, dumped, then dropped."""
        with connect(ctx) as c:
            c.execute(tenant_ddl.create_template_schema(source_schema))
            fill(c, source_schema)
            c.execute(sql.SQL(extra).format(s=sql.Identifier(source_schema), marker=sql.Identifier(marker),
                                            victim=sql.Literal(victim)))
        out = tmp_path / f"{source_schema}-{hashlib.sha256(extra.encode()).hexdigest()[:8]}.dump"
        dumps.dump_schema(libpq_url(ctx.catalog_url), source_schema, out)
        with connect(ctx) as c:
            c.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(source_schema)))
            c.execute(sql.SQL("TRUNCATE public.{}").format(sql.Identifier(marker)))  # ADD CONSTRAINT ran it
            c.execute("UPDATE control_plane.users SET role = 'support' WHERE username = %s", (victim,))
        return out

    def upload(dump: bytes) -> str:
        """Replace dump and manifest in S3 (the manifest is made to match: it proves nothing)."""
        s3 = aws.client("s3")
        manifest_key = key.replace(".dump", ".manifest.json")
        manifest = json.loads(s3.get_object(Bucket=bucket, Key=manifest_key)["Body"].read())
        manifest.update(sha256=hashlib.sha256(dump).hexdigest(), size_bytes=len(dump))
        s3.put_object(Bucket=bucket, Key=key, Body=dump)
        s3.put_object(Bucket=bucket, Key=manifest_key, Body=json.dumps(manifest).encode())
        return manifest["sha256"]

    def match_checksum(sha: str) -> None:
        """What an attacker who could also write the catalog would do."""
        with ctx.session_factory() as session:
            session.execute(update(Tenant).where(Tenant.slug == slug).values(archive_sha256=sha))
            session.commit()

    a.build, a.upload, a.match_checksum = build, upload, match_checksum
    return a


def harm(ctx, a) -> dict:
    """Everything the attack would change, read as the catalog user."""
    with connect(ctx) as c:
        marker = sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(a.marker))
        return {
            "marker": c.execute(marker).fetchone()[0],
            "victim_role": c.execute("SELECT role FROM control_plane.users WHERE username = %s",
                                     (a.victim,)).fetchone()[0],
            "functions": c.execute("SELECT count(*) FROM pg_proc WHERE proname IN ('evil', 'run_as_owner', 'on_team')"
                                   ).fetchone()[0],
            "definer_functions": c.execute("SELECT count(*) FROM pg_proc WHERE prosecdef").fetchone()[0],
        }


SAFE = {"marker": 0, "victim_role": "support", "functions": 0}


def schema_state(ctx, schema: str) -> dict:
    with connect(ctx) as c:
        return {
            "schema": c.execute("SELECT count(*) FROM pg_namespace WHERE nspname = %s", (schema,)).fetchone()[0],
            "role": c.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (schema,)).fetchone()[0],
        }


def test_hostile_dump_really_carries_code(ctx, attack):
    """The fixture is what the issue describes: pg_restore would run the CHECK inside CREATE TABLE."""
    dump = attack.build()
    with connect(ctx) as c:
        tool = str(pgtools.find_tool("pg_restore", dumps.server_major(c)))
    listing = pgtools.run([tool, "--list", str(dump)], {}, "list").stdout.decode()
    script = pgtools.run([tool, "--schema-only", "--file=-", str(dump)], {}, "script").stdout.decode()
    assert "FUNCTION" in listing and "TRIGGER" in listing and "ACL" in listing
    assert f"CONSTRAINT users_evil CHECK ({attack.schema}.evil(email))" in script


def test_checksum_mismatch_is_refused_and_changes_nothing(ctx, attack, cli, moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    attack.upload(attack.build().read_bytes())
    before = harm(ctx, attack)

    code, out, err = cli("tenants", "restore", attack.slug)

    assert code == 4 and out == ""
    assert err.count("\n") == 1 and "is not the one recorded when" in err and "stays archived" in err
    assert harm(ctx, attack) == before and before["marker"] == 0 and before["victim_role"] == "support"
    assert schema_state(ctx, attack.schema) == {"schema": 0, "role": 0}
    with ctx.session_factory() as session:
        assert session.query(Tenant).filter_by(slug=attack.slug).one().status == "archived"


def test_matching_checksum_still_loads_rows_only(ctx, attack, admin, cli, moto_endpoint, monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    attack.match_checksum(attack.upload(attack.build().read_bytes()))
    before = harm(ctx, attack)

    code, out, err = cli("tenants", "restore", attack.slug, "--format", "json")

    assert (code, err) == (0, "") and json.loads(out)["status"] == "active"
    after = harm(ctx, attack)
    assert after == before and {k: after[k] for k in SAFE} == SAFE  # the CHECK never ran, nothing was created
    with connect(ctx) as c:
        oid = c.execute("SELECT oid FROM pg_namespace WHERE nspname = %s", (attack.schema,)).fetchone()[0]
        assert c.execute("SELECT count(*) FROM pg_proc WHERE pronamespace = %s", (oid,)).fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM pg_trigger t JOIN pg_class r ON r.oid = t.tgrelid "
                         "WHERE r.relnamespace = %s AND NOT t.tgisinternal", (oid,)).fetchone()[0] == 0
        checks = [r[0] for r in c.execute("SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass "
                                          "AND contype = 'c'", (f"{attack.schema}.users",))]
        assert checks == []  # the template's users table has no CHECK; the dump's is gone
        assert c.execute("SELECT has_schema_privilege('public', %s, 'CREATE')", (attack.schema,)).fetchone()[0] \
            is False  # the dump's GRANT ALL ON SCHEMA ... TO PUBLIC was not applied
        owners = {r[0] for r in c.execute("SELECT DISTINCT pg_get_userbyid(relowner) FROM pg_class "
                                          "WHERE relnamespace = %s", (oid,))}
        assert attack.schema not in owners  # the tenant role owns nothing
        # The tenant role can execute no SECURITY DEFINER function outside the system catalogs.
        callable_definers = c.execute(
            "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.prosecdef AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND has_function_privilege(%s, p.oid, 'EXECUTE')", (attack.schema,)).fetchone()[0]
        assert callable_definers == 0
        with tenant_transaction(c, attack.slug) as t:  # the data came back, and the role works
            assert t.execute("SELECT count(*) FROM users").fetchone()[0] == 6
            t.execute("INSERT INTO teams (name) VALUES ('after restore')")  # the dump's trigger is not there
        with pytest.raises(psycopg.errors.UndefinedFunction), tenant_transaction(c, attack.slug) as t:
            t.execute("SELECT run_as_owner('ALTER ROLE CURRENT_USER SUPERUSER')")
    assert harm(ctx, attack)["marker"] == 0


HOSTILE_COLUMN = "ALTER TABLE {s}.users ADD COLUMN is_admin boolean DEFAULT FN()"


@pytest.mark.parametrize("variant", ["default_calls_function", "garbage", "truncated", "other_schema",
                                     "extra_table"])
def test_hostile_dumps_with_matching_checksum_change_nothing(ctx, attack, admin, variant):
    """More crafted archives, each with the recorded checksum made to match: refused with exit 4
    and nothing created, or (extra table) loaded without the extra table."""
    if variant == "default_calls_function":
        with connect(ctx) as c:
            c.execute(sql.SQL("CREATE FUNCTION public.{} () RETURNS boolean LANGUAGE plpgsql AS $f$ BEGIN "
                              "INSERT INTO public.{} VALUES ('default ran'); RETURN true; END $f$").format(
                sql.Identifier(f"{attack.marker}_fn"), sql.Identifier(attack.marker)))
        dump = attack.build(HOSTILE_COLUMN.replace("FN", f"public.{attack.marker}_fn")).read_bytes()
    elif variant == "garbage":
        dump = b"PGDMP" + bytes(range(256)) * 40
    elif variant == "truncated":
        whole = attack.build().read_bytes()
        dump = whole[: len(whole) * 2 // 3]
    elif variant == "other_schema":
        dump = attack.build(source_schema=f"{attack.schema}_x").read_bytes()
    else:
        dump = attack.build(EVIL + "CREATE TABLE {s}.loot (secret text); INSERT INTO {s}.loot VALUES ('x');"
                            ).read_bytes()
    attack.match_checksum(attack.upload(dump))

    if variant == "extra_table":
        assert archive.restore_tenant(ctx, admin, attack.slug).status == "active"
        with connect(ctx) as c:
            assert c.execute("SELECT to_regclass(%s)", (f"{attack.schema}.loot",)).fetchone()[0] is None
    else:
        with pytest.raises(dumps.ArchiveRejected if variant != "other_schema" else Conflict) as raised:
            archive.restore_tenant(ctx, admin, attack.slug)
        assert raised.value.exit_code == 4 and "\n" not in str(raised.value)
        assert schema_state(ctx, attack.schema) == {"schema": 0, "role": 0}
    with connect(ctx) as c:
        assert c.execute(sql.SQL("SELECT count(*) FROM public.{}").format(sql.Identifier(attack.marker))
                         ).fetchone()[0] == 0
        assert c.execute("SELECT role FROM control_plane.users WHERE username = %s", (attack.victim,)
                         ).fetchone()[0] == "support"
