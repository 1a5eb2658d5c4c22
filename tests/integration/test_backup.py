"""`backup catalog` and `backup tenants` against real PostgreSQL and moto S3 (server mode): what is
written, its checksums, a catalog restored into a fresh database, one tenant restored from its part,
and refusals of hostile names and destinations (docs/operations.md "Backups")."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import stat
import subprocess

import psycopg
import pytest
from psycopg import sql

from control_plane.adapters.clusters import libpq_url
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.archive import pgtools
from control_plane.backup import service as backup
from control_plane.db.models import AuditEntry, Cluster
from control_plane.db.privileged import SEARCH_PATH
from control_plane.errors import Forbidden
from tests import moto_server
from tests.conftest import create_database
from tests.factories import make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures

BUCKET = "cp-backups"


@pytest.fixture
def bucket(aws, moto_endpoint, monkeypatch) -> str:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)  # the CLI's own context
    aws.client("s3").create_bucket(Bucket=BUCKET)
    return BUCKET


def _objects(aws, prefix: str) -> dict[str, bytes]:
    s3 = aws.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])]
    return {k: s3.get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in keys}


def _fill(ctx, slug: str, users: int) -> None:
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as c, tenant_transaction(c, slug) as t:
        t.execute("INSERT INTO users (email, full_name) SELECT 'u' || g || '@x.io', 'User ' || g "
                  "FROM generate_series(1, %s) g", (users,))


def _count(url: str, schema: str, table: str = "users") -> int:
    with psycopg.connect(libpq_url(url)) as c:
        return c.execute(sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema),
                                                                      sql.Identifier(table))).fetchone()[0]


def _tool(ctx, name: str):
    with psycopg.connect(libpq_url(ctx.catalog_url)) as c:
        major = int(c.execute("SHOW server_version_num").fetchone()[0]) // 10000
    return str(pgtools.find_tool(name, major))


def test_catalog_backup_to_s3_is_verified_and_restores(cli, ctx, bucket, aws, pg_server, new_slug):
    slug = new_slug("bkc")
    make_tenant(ctx, slug)
    code, out, err = cli("backup", "catalog", f"s3://{BUCKET}/nightly", "--format", "json", "--actor", "alice")
    assert code == 0, err
    result = json.loads(out)
    assert result["kind"] == "catalog" and result["location"].startswith(f"s3://{BUCKET}/nightly/catalog/")
    objects = _objects(aws, "nightly/catalog/")
    manifest_key = result["location"].removeprefix(f"s3://{BUCKET}/")
    manifest = json.loads(objects[manifest_key])
    folder = manifest_key.rsplit("/", 1)[0]
    dump = objects[f"{folder}/catalog.dump"]
    assert manifest["files"][0]["sha256"] == hashlib.sha256(dump).hexdigest()
    assert objects[f"{folder}/SHA256SUMS"].decode() == f"{hashlib.sha256(dump).hexdigest()}  catalog.dump\n"

    # Restored into an empty database, it is the catalog: the tenant row is there, and no tenant schema.
    target = create_database(pg_server, "cp_restore")
    path = ctx.settings.data_dir / "catalog-restore.dump"
    path.write_bytes(dump)
    subprocess.run([_tool(ctx, "pg_restore"), "--no-owner", f"--dbname={libpq_url(pg_server.url(target))}",
                    str(path)], check=True, capture_output=True)
    with psycopg.connect(libpq_url(pg_server.url(target))) as c:
        assert c.execute("SELECT slug FROM control_plane.tenants").fetchall() == [(slug,)]
        assert c.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'tenant\\_%'").fetchone()[0] == 0
    with ctx.session_factory() as session:
        entry = session.query(AuditEntry).filter_by(action="backup.catalog").one()
        assert entry.outcome == "ok" and entry.actor == "cli:alice" and entry.detail["files"] == 1


def test_tenant_backup_in_parts_and_one_tenant_restored(cli, ctx, bucket, aws, new_slug):
    slugs = sorted(new_slug("bkt") for _ in range(3))
    for i, slug in enumerate(slugs):
        make_tenant(ctx, slug)
        _fill(ctx, slug, 10 + i)
    code, out, err = cli("backup", "tenants", f"s3://{BUCKET}/fleet", "--cluster", "default", "--per-file", "2",
                         "--format", "json")
    assert code == 0, err
    [result] = json.loads(out)
    assert [f["schemas"] for f in result["files"]] == [[f"tenant_{s}" for s in slugs[:2]], [f"tenant_{slugs[2]}"]]
    assert result["missing"] == [] and "default: part 2/2" in err

    part = result["files"][0]  # two tenants in one part: restore only the second, by its TOC entries
    dump = _objects(aws, "fleet/")[result["location"].removeprefix(f"s3://{BUCKET}/").rsplit("/", 1)[0]
                                   + "/" + part["name"]]
    assert hashlib.sha256(dump).hexdigest() == part["sha256"]
    _lose_and_restore(ctx, slugs[1], dump, batched=True)

    code, out, err = cli("backup", "tenants", f"s3://{BUCKET}/one", "--per-file", "1", "--jobs", "2",
                         "--format", "json")
    assert code == 0, err
    [result] = json.loads(out)
    assert len(result["files"]) == 3
    prefix = result["location"].removeprefix(f"s3://{BUCKET}/").rsplit("/", 1)[0]
    part = next(f for f in result["files"] if f["schemas"] == [f"tenant_{slugs[2]}"])
    dump = _objects(aws, prefix)[f"{prefix}/{part['name']}"]
    assert hashlib.sha256(dump).hexdigest() == part["sha256"]
    _lose_and_restore(ctx, slugs[2], dump, batched=False)


def _lose_and_restore(ctx, slug: str, dump: bytes, *, batched: bool) -> None:
    """The schema is dropped (its role stays, as after a bad migration by hand); the steps of
    docs/operations.md "Restoring a tenant" bring back every row and the role's rights."""
    schema, url = f"tenant_{slug}", libpq_url(ctx.catalog_url)
    before = _count(url, schema)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
    path = ctx.settings.data_dir / f"{schema}.dump"
    path.write_bytes(dump)
    argv = [_tool(ctx, "pg_restore"), "--exit-on-error", "--single-transaction", f"--dbname={url}"]
    if batched:  # the part's table of contents, narrowed to this schema's entries
        toc = subprocess.run([_tool(ctx, "pg_restore"), "--list", str(path)], capture_output=True, text=True,
                             check=True).stdout
        listing = path.with_suffix(".list")
        listing.write_text("".join(line + "\n" for line in toc.splitlines()
                                   if re.search(rf" {re.escape(schema)}( |$)", line)))
        argv.append(f"--use-list={listing}")
    restored = subprocess.run([*argv, str(path)], check=False, capture_output=True, text=True)
    assert restored.returncode == 0, restored.stderr
    assert _count(url, schema) == before > 0
    with psycopg.connect(url, autocommit=True) as c, tenant_transaction(c, slug) as t:  # its role's rights too
        assert t.execute("SELECT count(*) FROM users").fetchone()[0] == before
        t.execute("INSERT INTO users (email, full_name) VALUES ('new@x.io', 'New')")


def test_local_folder_backup_private_with_checksums(ctx, admin, tmp_path, new_slug):
    slug = new_slug("bkl")
    make_tenant(ctx, slug)
    [result] = backup.backup_tenants(ctx, admin, str(tmp_path / "backups"))
    [result_catalog] = [backup.backup_catalog(ctx, admin, str(tmp_path / "backups"))]
    for r in (result, result_catalog):
        folder = (tmp_path / "backups").joinpath(*r.location.removeprefix(str(tmp_path / "backups") + "/")
                                                 .split("/")[:-1])
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        check = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], check=False, cwd=folder, capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        assert json.loads((folder / "manifest.json").read_text())["files"] == r.files
    assert stat.S_IMODE((tmp_path / "backups").stat().st_mode) == 0o700


def test_tools_get_no_password_and_a_pinned_search_path(ctx, admin, tmp_path, monkeypatch, database_url, new_slug):
    """The password reaches pg_dump only through its environment; the conninfo pins search_path."""
    url = libpq_url(database_url) + ("&" if "?" in database_url else "?") + "password=hunter2-not-on-argv"
    monkeypatch.setenv("CP_CLUSTER_URL_PW", url)
    with ctx.session_factory() as session:
        session.add(Cluster(name="pw", url_env="CP_CLUSTER_URL_PW", accepts_tenants=False))
        session.commit()
    from control_plane.services import tenants
    from tests.factories import OPERATOR

    tenants.provision(ctx, OPERATOR, new_slug("bkp"), "Pw Ltd", "team", cluster="pw")
    seen: list[tuple[list[str], dict]] = []
    real = pgtools.run

    def spy(argv, env, what):
        seen.append((list(argv), dict(env)))
        return real(argv, env, what)

    monkeypatch.setattr(pgtools, "run", spy)
    [result] = backup.backup_tenants(ctx, admin, str(tmp_path / "b"), cluster="pw")
    assert result.schemas == 1
    dumps = [(argv, env) for argv, env in seen if os.path.basename(argv[0]) == "pg_dump"]
    assert dumps
    for argv, env in dumps:
        assert not any("hunter2" in a for a in argv)
        assert env.get("PGPASSWORD") == "hunter2-not-on-argv"
        assert any(a.startswith("--dbname=") and f"search_path={SEARCH_PATH}" in a for a in argv)


@pytest.mark.parametrize("cluster", ["../default", "default; DROP TABLE x", "de\x00fault", "A", "x" * 200,
                                     "default\n", "défault"])
def test_hostile_cluster_names_refused(cli, ctx, tmp_path, cluster):
    code, _, err = cli("backup", "tenants", str(tmp_path / "b"), "--cluster", cluster)
    assert code == 2, err
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("dest", ["s3://Bad_Bucket/x", "s3://ok-bucket/../etc", "s3://ok-bucket/a/./b",
                                  "s3://ok-bucket/a\x1bb", "ftp://host/x", "s3://ok-bucket/a b", "", "x\x00y",
                                  "s3://../x"])
def test_hostile_destinations_refused(cli, ctx, dest):
    code, _, err = cli("backup", "catalog", dest)
    assert code == 2, err
    assert err.startswith("error: ") and "\x1b" not in err and "\x00" not in err


def test_symlinked_or_foreign_folder_refused(ctx, admin, tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real)
    with pytest.raises(Exception, match="not a folder owned by this user"):
        backup.backup_catalog(ctx, admin, str(tmp_path / "link"))
    assert list(real.iterdir()) == []


def test_unknown_cluster_and_bad_per_file(cli, ctx, tmp_path):
    code, _, err = cli("backup", "tenants", str(tmp_path / "b"), "--cluster", "nowhere")
    assert code == 3 and "Unknown cluster 'nowhere'" in err
    for flag, value in (("--per-file", "0"), ("--per-file", "1001"), ("--jobs", "0"), ("--jobs", "9")):
        code, _, err = cli("backup", "tenants", str(tmp_path / "b"), flag, value)
        assert code == 2 and flag in err


def test_parts_follow_the_lock_table(cli, ctx, tmp_path, new_slug):
    """Left out, --per-file is what half the server's lock table holds for the parts running at
    once; asked for more than that, the command refuses and names what fits."""
    make_tenant(ctx, new_slug("bkk"))
    with psycopg.connect(libpq_url(ctx.catalog_url)) as c:
        slots = c.execute("SELECT current_setting('max_locks_per_transaction')::int * "
                          "(current_setting('max_connections')::int + "
                          "current_setting('max_prepared_transactions')::int)").fetchone()[0]
    code, out, err = cli("backup", "tenants", str(tmp_path / "b"), "--jobs", "2", "--format", "json")
    assert code == 0, err
    assert json.loads(out)[0]["per_file"] == backup.part_size(slots, 2) == min(1000, slots // 2 // (8 * 2))
    code, _, err = cli("backup", "tenants", str(tmp_path / "c"), "--per-file", "1000", "--jobs", "8")
    assert code == 2 and f"use --per-file {backup.part_size(slots, 8)} or less" in err
    assert "max_locks_per_transaction" in err


def test_backups_are_admin_only(ctx, support, oncall, tmp_path):
    for who in (support, oncall):
        with pytest.raises(Forbidden):
            backup.backup_catalog(ctx, who, str(tmp_path / "b"))
        with pytest.raises(Forbidden):
            backup.backup_tenants(ctx, who, str(tmp_path / "b"))
    assert not (tmp_path / "b").exists()


def test_clusters_check_names_the_locks_a_whole_dump_needs(cli, ctx):
    """`clusters check` counts what a whole-database dump locks against the lock table and, when
    it would not fit, names the max_locks_per_transaction to set (docs/security.md "Cluster posture")."""
    from control_plane.adapters import cluster_posture as adapter
    from control_plane.services import cluster_posture

    code, out, err = cli("clusters", "check", "default", "--format", "json")
    assert code == 0, err
    [item] = [i for i in json.loads(out)["items"] if i["key"] == "max_locks"]
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as c:
        raw = adapter.read(c)
    slots = raw.max_connections + raw.max_prepared_transactions
    # The test database holds whatever tenants earlier tests left: the CLI's verdict follows its size.
    fits = raw.dumped_relations * cluster_posture.LOCK_HEADROOM <= raw.max_locks_per_transaction * slots
    assert item["status"] == ("ok" if fits else "warn"), item

    [small] = [i for i in cluster_posture.evaluate("default", dataclasses.replace(raw, dumped_relations=100)).items
               if i.key == "max_locks"]
    assert small.status == "ok" and "enough for a whole-database pg_dump" in small.explanation
    grown = dataclasses.replace(raw, dumped_relations=20_000 * 52)  # the fleet of issue 19
    needed = -(-(20_000 * 52 * 5 // 4) // slots)
    needed = -(-needed // 64) * 64
    [item] = [i for i in cluster_posture.evaluate("default", grown).items if i.key == "max_locks"]
    assert item.status == "warn" and "1,040,000 tables, sequences and indexes" in item.explanation
    assert item.sql == (f"ALTER SYSTEM SET max_locks_per_transaction = {needed}; -- then restart the server "
                        "(Aurora: the cluster parameter group)",)
