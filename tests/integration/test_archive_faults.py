"""An archive never strands a tenant (docs/operations.md "Archive, restore, purge"): objects lost from S3 right
after verification are made again while the schema exists, a stopped or hung S3 fails within the
configured bounds, and `tenants archive cancel SLUG` brings an `archiving` tenant back as it was."""

from __future__ import annotations

import dataclasses
import json
import socket
import threading
import time
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import select

from control_plane.adapters.clusters import libpq_url
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.archive import service as archive
from control_plane.aws.clients import AwsClients
from control_plane.aws.errors import AwsUnavailable
from control_plane.aws.s3 import parse_uri
from control_plane.config import Settings
from control_plane.db.models import AuditEntry, Tenant
from control_plane.errors import ConfigError, Conflict
from control_plane.services import tenants
from tests import moto_server
from tests.factories import make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures


@pytest.fixture
def bucket(ctx, aws) -> str:
    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    return ctx.settings.archive_bucket


@pytest.fixture
def hung_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections and never answers (a hung S3)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for s in held:
        s.close()
    server.close()


def quick_aws(ctx, endpoint: str) -> AwsClients:
    """AWS clients with tight bounds, as CP_AWS_* would set them."""
    settings = dataclasses.replace(ctx.settings, aws_connect_timeout_seconds=1.0, aws_read_timeout_seconds=1.0,
                                   aws_max_attempts=2)
    return AwsClients(settings, endpoint_url=endpoint)


def conn(ctx) -> psycopg.Connection:
    return psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True)


def fill(ctx, slug: str) -> None:
    with conn(ctx) as c, tenant_transaction(c, slug) as t:
        t.execute("INSERT INTO users (email, full_name) SELECT 'u' || g || '@x.io', 'U' FROM generate_series(1, 5) g")
        t.execute("INSERT INTO teams (name) VALUES ('core')")


def can_write(ctx, slug: str) -> bool:
    try:
        with conn(ctx) as c, tenant_transaction(c, slug) as t:
            t.execute("INSERT INTO teams (name) VALUES (gen_random_uuid()::text)")
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


def row(ctx, slug: str) -> Tenant:
    with ctx.session_factory() as session:
        return session.scalar(select(Tenant).where(Tenant.slug == slug))


def actions(ctx, slug: str) -> list[tuple[str, str]]:
    with ctx.session_factory() as session:
        return list(session.execute(select(AuditEntry.action, AuditEntry.outcome)
                                    .where(AuditEntry.tenant_slug == slug).order_by(AuditEntry.id)).all())


def delete_objects(aws, bucket: str) -> list[str]:
    s3 = aws.client("s3")
    gone = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    for key in gone:
        s3.delete_object(Bucket=bucket, Key=key)
    return gone


class Crash(Exception):
    pass


def test_objects_lost_right_after_verification_are_made_again(ctx, aws, bucket, admin, new_slug):
    slug = new_slug("lost")
    make_tenant(ctx, slug)
    fill(ctx, slug)
    lost: list[str] = []

    def lose_them(step: str) -> None:
        if step == "verified_recorded" and not lost:
            lost.extend(delete_objects(aws, bucket))

    assert archive.archive_tenant(ctx, admin, slug, fault=lose_them).status == "archived"

    assert len(lost) == 2
    archived = row(ctx, slug)
    _, key = parse_uri(archived.archive_uri)
    head = aws.client("s3").head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == archived.archive_size_bytes
    assert ("tenant.archive.redo", "error") in actions(ctx, slug)
    assert archive.restore_tenant(ctx, admin, slug).status == "active"
    with conn(ctx) as c, tenant_transaction(c, slug) as t:
        assert t.execute("SELECT count(*) FROM users").fetchone()[0] == 5


def test_rerun_after_crash_redoes_missing_objects(ctx, aws, bucket, admin, new_slug):
    slug = new_slug("rerun")
    make_tenant(ctx, slug)
    fill(ctx, slug)

    def crash(step: str) -> None:
        if step == "verified_recorded":
            raise Crash(step)

    with pytest.raises(Crash):
        archive.archive_tenant(ctx, admin, slug, fault=crash)
    delete_objects(aws, bucket)

    assert archive.archive_tenant(ctx, admin, slug).status == "archived"
    assert archive.restore_tenant(ctx, admin, slug).status == "active"


@pytest.mark.parametrize("previous", ["active", "suspended"])
def test_s3_stopped_after_verification_then_cancel(ctx, aws, bucket, admin, new_slug, cli, previous):
    slug = new_slug("stop")
    make_tenant(ctx, slug)
    fill(ctx, slug)
    if previous == "suspended":
        tenants.suspend(ctx, admin, slug, "unpaid")

    def crash(step: str) -> None:
        if step == "verified_recorded":
            raise Crash(step)

    with pytest.raises(Crash):
        archive.archive_tenant(ctx, admin, slug, fault=crash)
    working = ctx.aws
    ctx.aws = quick_aws(ctx, f"http://127.0.0.1:{moto_server.free_port()}")  # S3 stopped: nothing listens
    started = time.monotonic()
    with pytest.raises(AwsUnavailable, match=rf"stays archiving.*tenants archive cancel {slug}") as stopped:
        archive.archive_tenant(ctx, admin, slug)
    assert time.monotonic() - started < 30
    assert stopped.value.exit_code == 8
    assert row(ctx, slug).status == "archiving" and not can_write(ctx, slug)

    code, out, err = cli("tenants", "archive", "cancel", slug, "--format", "json", "--actor", "oncall-amy")

    assert (code, err) == (0, "") and json.loads(out)["status"] == previous
    assert row(ctx, slug).archive_uri is None and row(ctx, slug).archive_sha256 is None
    assert can_write(ctx, slug) is (previous == "active")
    with ctx.session_factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "tenant.archive.cancel"))
    assert (entry.actor, entry.tenant_slug, entry.before["status"], entry.after["status"]) == (
        "cli:oncall-amy", slug, "archiving", previous)
    assert cli("tenants", "archive", "cancel", slug)[0] == 0  # again: nothing to do

    ctx.aws = working  # S3 is back: archiving works from scratch
    assert archive.archive_tenant(ctx, admin, slug).status == "archived"


def test_cancel_refuses_what_it_cannot_undo(ctx, aws, bucket, admin, new_slug, cli):
    slug = new_slug("cx")
    make_tenant(ctx, slug)
    archive.archive_tenant(ctx, admin, slug)
    code, _, err = cli("tenants", "archive", "cancel", slug)
    assert code == 4 and err.count("\n") == 1 and f"use `tenants restore {slug}`" in err
    assert cli("tenants", "archive", "one", "two", "three")[0] == 2
    assert cli("tenants", "archive", "cancel")[0:2] == (3, "")  # one word: the tenant called "cancel"
    with pytest.raises(Conflict, match="already dropped"):
        with ctx.session_factory() as session:  # the schema dropped but the catalog not yet updated
            session.execute(Tenant.__table__.update().where(Tenant.slug == slug).values(status="archiving"))
            session.commit()
        archive.cancel_archive(ctx, admin, slug)


def test_hung_s3_fails_within_bounds_and_puts_the_tenant_back(ctx, aws, bucket, admin, new_slug, hung_endpoint):
    slug = new_slug("hung")
    make_tenant(ctx, slug)
    fill(ctx, slug)
    ctx.aws = quick_aws(ctx, hung_endpoint)

    started = time.monotonic()
    with pytest.raises(AwsUnavailable, match="timeout"):
        archive.archive_tenant(ctx, admin, slug)
    elapsed = time.monotonic() - started
    print(f"hung S3: archive failed and put the tenant back after {elapsed:.1f} s")

    # the upload (2 attempts, each waiting up to 1 s for "100 Continue" and 1 s for the answer), the
    # tenant put back, then the clean-up delete (2 attempts x 1 s), plus backoff
    assert elapsed < 20, elapsed
    assert row(ctx, slug).status == "active" and can_write(ctx, slug)


def test_aws_bounds_are_settings():
    settings = Settings.from_env({"CP_AWS_CONNECT_TIMEOUT_SECONDS": "2", "CP_AWS_READ_TIMEOUT_SECONDS": "7.5",
                                  "CP_AWS_MAX_ATTEMPTS": "4"})
    _, config = AwsClients(settings)._session_and_config()
    assert (config.connect_timeout, config.read_timeout, config.retries["max_attempts"]) == (2.0, 7.5, 4)
    with pytest.raises(ConfigError, match=r"CP_AWS_READ_TIMEOUT_SECONDS must be at most 300.*CP_AWS_MAX_ATTEMPTS"):
        Settings.from_env({"CP_AWS_READ_TIMEOUT_SECONDS": "3600", "CP_AWS_MAX_ATTEMPTS": "0"})
