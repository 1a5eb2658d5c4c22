"""Job `cluster_posture` (daily): every cluster checked, the run recorded with a summary, and an
alert stored and published over SNS (moto) for each cluster that fails or cannot be read."""

from __future__ import annotations

import dataclasses
import json

from sqlalchemy import select

from control_plane.db.models import Alert, Cluster, JobRun
from control_plane.scheduler import registry, runner
from tests import moto_server
from tests.integration.test_cluster_posture import URL_ENV, loose_database
from tests.jobs.test_noisy_neighbours import sns_queue

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures


def test_a_failing_cluster_is_recorded_and_alerted(ctx, aws, pg_server, monkeypatch):
    _, url = loose_database(pg_server)
    monkeypatch.setenv(URL_ENV, url)
    with ctx.session_factory() as session:
        session.add_all([Cluster(name="loose", url_env=URL_ENV, accepts_tenants=False),
                         Cluster(name="gone", url_env="CP_CLUSTER_URL_POSTURE_UNSET", accepts_tenants=False)])
        session.commit()
    topic, queue_url = sns_queue(aws)
    app = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, sns_topic_arn=topic))

    outcome = runner.execute(app, registry.get("cluster_posture"), trigger="manual")

    assert outcome.status == "succeeded", outcome.error
    with ctx.session_factory() as session:
        run = session.get(JobRun, outcome.run_id)
        alerts = {a.target: a for a in session.scalars(select(Alert).where(Alert.kind == "cluster_posture"))}
    assert run.status == "succeeded" and run.summary == outcome.summary
    assert "3 cluster(s) checked: 1 failing" in run.summary and "loose (public_create, temporary)" in run.summary
    assert "unreadable: gone" in run.summary and "2 alert(s), 2 published" in run.summary
    assert set(alerts) == {"loose", "gone"}  # the default cluster (the test catalog) passes
    loose = alerts["loose"]
    assert loose.severity == "critical" and loose.published
    assert 'REVOKE CREATE ON SCHEMA "public" FROM PUBLIC;' in loose.message
    assert "CP_CLUSTER_URL_POSTURE_UNSET" in alerts["gone"].message
    bodies = [json.loads(m["Body"])["Message"] for m in
              aws.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]]
    assert any("clusters check loose --fix" in body for body in bodies)


def test_all_passing_clusters_raise_no_alert(ctx):
    outcome = runner.execute(ctx, registry.get("cluster_posture"), trigger="manual")
    assert outcome.status == "succeeded" and "0 failing" in outcome.summary and "alert" not in outcome.summary
    with ctx.session_factory() as session:
        assert session.scalar(select(Alert).where(Alert.kind == "cluster_posture")) is None
