"""The health sweep against real tenants on PostgreSQL, a local HTTP server (up, down, slow,
hanging) and moto (Aurora status, SNS): results, incidents, alerts."""

from __future__ import annotations

from dataclasses import replace

import boto3
import psycopg
import pytest
from moto import mock_aws
from sqlalchemy import select

from control_plane.adapters import tenant_ddl
from control_plane.adapters.clusters import libpq_url
from control_plane.aws.clients import AwsClients
from control_plane.db.models import Alert, Cluster, Incident
from control_plane.services import tenants
from control_plane.uptime.sweep import run_sweep
from tests import raw_checks
from tests.factories import make_tenant
from tests.jobs.http_targets import ALLOW_LOOPBACK, Targets


@pytest.fixture
def aws(ctx):
    with mock_aws():
        rds = boto3.client("rds", region_name="us-east-1")
        rds.create_db_cluster(DBClusterIdentifier="prod-aurora", Engine="aurora-postgresql",
                              MasterUsername="cp", MasterUserPassword="password-123",
                              ServerlessV2ScalingConfiguration={"MinCapacity": 0.5, "MaxCapacity": 8})
        topic = boto3.client("sns", region_name="us-east-1").create_topic(Name="oncall")["TopicArn"]
        yield topic


@pytest.fixture
def sweep_ctx(ctx, aws):
    # The endpoints are this machine's loopback server: allowed explicitly, as an operator would.
    settings = replace(ctx.settings, probe_timeout_seconds=1.0, incident_threshold=2, sns_topic_arn=aws,
                       probe_allow_networks=ALLOW_LOOPBACK)
    with ctx.session_factory() as s:
        s.add_all([Cluster(name="aurora", url_env=None, aurora_cluster_id="prod-aurora", accepts_tenants=False),
                   Cluster(name="ghost", url_env=None, aurora_cluster_id="missing-aurora", accepts_tenants=False)])
        s.commit()
    return replace(ctx, settings=settings, aws=AwsClients(settings))


def latest(ctx) -> dict:
    with ctx.session_factory() as s:
        rows = raw_checks.stored(s)
    return {r.target: r for r in rows}


def test_sweep_probes_every_kind_and_manages_incidents(sweep_ctx, new_slug, admin):
    ctx = sweep_ctx
    with Targets() as http:
        up, down, slow, hang, paused = (new_slug(p) for p in ("up", "down", "slow", "hang", "paused"))
        for slug, path in ((up, "/up"), (down, "/down"), (slow, "/slow"), (hang, "/hang"), (paused, "/up")):
            make_tenant(ctx, slug, endpoint_url=http.url(path))
        tenants.suspend(ctx, admin, paused, "unpaid")

        first = run_sweep(ctx)
        seen = latest(ctx)
        for slug in (up, down, slow, hang):
            assert seen[f"schema:{slug}"].ok, seen[f"schema:{slug}"].error
            assert seen[f"schema:{slug}"].tenant_slug == slug
        assert f"schema:{paused}" not in seen and f"http:{paused}" not in seen  # suspended: not probed
        assert seen[f"http:{up}"].ok
        assert (seen[f"http:{down}"].ok, seen[f"http:{down}"].error) == (False, "HTTP 503")
        assert seen[f"http:{slow}"].ok and seen[f"http:{slow}"].latency_ms >= 300
        assert (seen[f"http:{hang}"].ok, seen[f"http:{hang}"].error) == (False, "timeout")
        assert seen["aurora:aurora"].ok
        assert not seen["aurora:ghost"].ok and "not found" in seen["aurora:ghost"].error
        assert seen["db:default"].ok
        assert first.failed == 3 and first.opened == 0  # threshold 2: not yet

        second = run_sweep(ctx)
        assert second.opened == 3
        with ctx.session_factory() as s:
            opened = {i.target: i for i in s.scalars(select(Incident))}
            assert set(opened) == {f"http:{down}", f"http:{hang}", "aurora:ghost"}
            assert opened[f"http:{down}"].opened_at == seen[f"http:{down}"].checked_at  # the first failure
            assert opened[f"http:{down}"].tenant_slug == down and opened[f"http:{down}"].failed_checks == 2
            alerts = s.scalars(select(Alert).where(Alert.kind == "incident_opened")).all()
            assert len(alerts) == 3 and all(a.published and a.publish_error is None for a in alerts)

        http.down_status = 200
        third = run_sweep(ctx)
        assert third.resolved == 1
        with ctx.session_factory() as s:
            incident = s.scalar(select(Incident).where(Incident.target == f"http:{down}"))
            assert incident.resolved_at == latest(ctx)[f"http:{down}"].checked_at
            assert s.scalar(select(Incident).where(Incident.target == f"http:{hang}")).failed_checks == 3
            resolved = s.scalars(select(Alert).where(Alert.kind == "incident_resolved")).all()
            assert [a.target for a in resolved] == [f"http:{down}"]


def test_schema_probe_goes_through_the_tenant_role_with_a_statement_timeout(sweep_ctx, new_slug):
    ctx = sweep_ctx
    revoked, locked = new_slug("rev"), new_slug("lock")
    make_tenant(ctx, revoked)
    make_tenant(ctx, locked)
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as conn:
        conn.execute(tenant_ddl.revoke_access(revoked))  # as if suspended behind the catalog's back
        with psycopg.connect(libpq_url(ctx.catalog_url)) as blocker:
            blocker.execute(f'LOCK TABLE "tenant_{locked}".users IN ACCESS EXCLUSIVE MODE')
            run_sweep(ctx)
            blocker.rollback()
    seen = latest(ctx)
    assert not seen[f"schema:{revoked}"].ok and "permission denied" in seen[f"schema:{revoked}"].error
    assert not seen[f"schema:{locked}"].ok and "statement timeout" in seen[f"schema:{locked}"].error


def test_alerts_are_kept_when_sns_fails(sweep_ctx, new_slug):
    ctx = replace(sweep_ctx, settings=replace(sweep_ctx.settings, incident_threshold=1,
                                              sns_topic_arn="arn:aws:sns:us-east-1:123456789012:nope"))
    ctx = replace(ctx, aws=AwsClients(ctx.settings))
    run_sweep(ctx)  # aurora:ghost fails once: threshold 1 opens an incident
    with ctx.session_factory() as s:
        (alert,) = s.scalars(select(Alert)).all()
    assert alert.target == "aurora:ghost" and not alert.published and "SNS" in alert.publish_error


def test_flapping_target_raises_one_burn_rate_alert(sweep_ctx, new_slug):
    """Failures that never reach the incident threshold still burn the error budget."""
    ctx = replace(sweep_ctx, settings=replace(sweep_ctx.settings, incident_threshold=5, sns_topic_arn=None))
    with Targets() as http:
        slug = new_slug("flap")
        make_tenant(ctx, slug, endpoint_url=http.url("/down"))
        for status in (503, 200, 503, 200):
            http.down_status = status
            run_sweep(ctx)
    with ctx.session_factory() as s:
        burns = s.scalars(select(Alert).where(Alert.kind == "burn_rate", Alert.target == f"http:{slug}")).all()
        assert s.scalars(select(Incident).where(Incident.target == f"http:{slug}")).all() == []
    assert len(burns) == 1  # the most urgent window, not repeated on the next sweeps
    assert burns[0].message.startswith("[1h/5m ≥ 14.4×]") and burns[0].severity == "critical"
    assert "1000.0× over 1h" in burns[0].message  # raised at the first failure: 100% / 0.1% budget
