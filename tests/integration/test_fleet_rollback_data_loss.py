"""A rollback whose reverse steps drop rows is admin-only, needs --allow-data-loss, and first copies
what it drops to S3 through the archive's verified path, recorded with its checksum in the catalog
(docs/migrations.md "Rollback that drops data"). Rollbacks that drop nothing stay on-call's."""

from __future__ import annotations

import hashlib

import pytest
from psycopg import sql
from sqlalchemy import select

from control_plane.aws.s3 import parse_uri
from control_plane.db.models import AuditEntry, MigrationDump
from control_plane.errors import Conflict, Forbidden
from control_plane.fleet import service
from control_plane.fleet.options import Options
from tests import moto_server
from tests.factories import OPERATOR, make_tenant
from tests.integration.fleet_helpers import catalog_version, columns, raw, tables

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures


@pytest.fixture
def bucket(ctx, aws) -> str:
    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    return ctx.settings.archive_bucket


def _completed_run(ctx, slugs) -> int:
    started = service.start(ctx, OPERATOR, Options(target=3, waves=(100,), soak_seconds=0, tenants=tuple(slugs)))
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    return started.run_id


def _label(conn, slug) -> None:
    s = sql.Identifier(f"tenant_{slug}")
    conn.execute(sql.SQL("INSERT INTO {s}.labels (name) VALUES ('bug'), ('ops'), ('p1'); "
                         "INSERT INTO {s}.teams (name) VALUES ('t'); "
                         "INSERT INTO {s}.projects (team_id, name) SELECT id, 'p' FROM {s}.teams; "
                         "INSERT INTO {s}.tasks (project_id, title, due_at) SELECT id, 'x', now() FROM {s}.projects; "
                         "INSERT INTO {s}.task_labels (task_id, label_id) SELECT t.id, l.id FROM {s}.tasks t, "
                         "{s}.labels l WHERE l.name <> 'p1'").format(s=s))


def _denied(ctx, run_id) -> list[AuditEntry]:
    with ctx.session_factory() as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == "fleet.run.rollback",
                                                       AuditEntry.outcome == "denied",
                                                       AuditEntry.target == f"migration run {run_id}")))


def test_oncall_and_admin_without_the_flag_are_refused_and_admin_with_it_keeps_a_verified_copy(
        ctx, bucket, aws, oncall, admin, new_slug):
    with_data, empty = sorted(new_slug("dl") for _ in range(2))
    for slug in (with_data, empty):
        make_tenant(ctx, slug, template_version=1)
    run_id = _completed_run(ctx, (with_data, empty))
    with raw(ctx) as conn:
        _label(conn, with_data)

    with pytest.raises(Forbidden, match=r"would drop 6 row\(s\) in 1 tenant\(s\) \(labels 3, task_labels 2, "
                                        rf"tasks.due_at 1; {with_data}\); only an admin may"):
        service.rollback(ctx, oncall, run_id)
    with pytest.raises(Forbidden):  # the flag does not make on-call an admin
        service.rollback(ctx, oncall, run_id, allow_data_loss=True)
    with pytest.raises(Conflict, match="add --allow-data-loss"):
        service.rollback(ctx, admin, run_id)
    denied = _denied(ctx, run_id)
    assert [(e.actor_role, e.detail["rows"]) for e in denied] == [("oncall", 6), ("oncall", 6), ("admin", 6)]
    with raw(ctx) as conn:  # nothing was changed by the refusals
        assert (catalog_version(conn, with_data), catalog_version(conn, empty)) == (3, 3)
        assert conn.execute(sql.SQL("SELECT count(*) FROM {}").format(
            sql.Identifier(f"tenant_{with_data}", "labels"))).fetchone()[0] == 3
    assert aws.client("s3").list_objects_v2(Bucket=bucket).get("KeyCount", 0) == 0

    assert service.rollback(ctx, admin, run_id, allow_data_loss=True).status == "rolled_back"
    with ctx.session_factory() as s:
        [dump] = s.scalars(select(MigrationDump).where(MigrationDump.run_id == run_id)).all()
        copied = s.scalar(select(AuditEntry).where(AuditEntry.action == "fleet.run.rollback.copy"))
    assert (dump.tenant_slug, dump.from_version, dump.to_version) == (with_data, 3, 1)
    assert dump.dropped == {"labels": 3, "task_labels": 2, "tasks.due_at": 1}
    assert dump.tables["labels"] == 3 and dump.tables["task_labels"] == 2 and dump.tables["tasks"] == 1
    bucket_name, key = parse_uri(dump.uri)
    body = aws.client("s3").get_object(Bucket=bucket_name, Key=key)["Body"].read()
    assert hashlib.sha256(body).hexdigest() == dump.sha256 and len(body) == dump.size_bytes
    assert copied.tenant_slug == with_data and copied.detail["sha256"] == dump.sha256
    with raw(ctx) as conn:
        for slug in (with_data, empty):
            assert catalog_version(conn, slug) == 1
            assert not {"labels", "task_labels"} & tables(conn, slug) and "due_at" not in columns(conn, slug, "tasks")


def test_a_rollback_that_drops_no_rows_stays_open_to_oncall(ctx, oncall, new_slug):
    slug = new_slug("dn")
    make_tenant(ctx, slug, template_version=1)
    run_id = _completed_run(ctx, (slug,))  # labels and due_at exist, empty: nothing is lost
    assert service.rollback_preview(ctx, oncall, run_id)["rows"] == 0
    assert service.rollback(ctx, oncall, run_id).status == "rolled_back"
    with raw(ctx) as conn:
        assert catalog_version(conn, slug) == 1
    assert _denied(ctx, run_id) == []


def test_the_cli_refuses_a_data_losing_rollback_without_the_flag_in_one_line(ctx, cli, new_slug):
    slug = new_slug("dc")
    make_tenant(ctx, slug, template_version=1)
    run_id = _completed_run(ctx, (slug,))
    with raw(ctx) as conn:
        _label(conn, slug)
    code, _out, err = cli("tenants", "migrate", "rollback", str(run_id))
    assert code == Conflict.exit_code and "--allow-data-loss" in err and len(err.strip().splitlines()) == 1
    with raw(ctx) as conn:
        assert catalog_version(conn, slug) == 3
    assert len(_denied(ctx, run_id)) == 1
