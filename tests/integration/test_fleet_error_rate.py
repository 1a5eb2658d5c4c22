"""The soak's CloudWatch error-rate comparison (docs/migrations.md "Soak and health"): per-tenant
Requests and Errors published to a moto server; a breach by error rate halts and reverses the wave,
no data (or a CloudWatch that cannot be read) never blocks a promotion."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from botocore.exceptions import ClientError

from control_plane.aws import cloudwatch
from control_plane.fleet import health, service
from control_plane.fleet.options import Options
from control_plane.fleet.run import Hooks
from tests import moto_server
from tests.factories import OPERATOR, make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures


@pytest.fixture
def metered(ctx, aws, monkeypatch):
    """CloudWatch per-tenant metrics configured (as CP_CLOUDWATCH_NAMESPACE set would), on moto."""
    monkeypatch.setattr(ctx, "settings", dataclasses.replace(ctx.settings, cloudwatch_tenant_metrics=True))
    return aws


def _publish(aws, ctx, slugs: list[str], requests: float, errors: float) -> None:
    client, now, namespace = aws.client("cloudwatch"), datetime.now(UTC), ctx.settings.cloudwatch_namespace
    for slug in slugs:
        dims = {ctx.settings.cloudwatch_tenant_dimension: slug}
        cloudwatch.put_series(client, namespace, "Requests", dims, [(now, requests)], unit="Count")
        cloudwatch.put_series(client, namespace, "Errors", dims, [(now, errors)], unit="Count")


def _fleet(ctx, new_slug, n: int) -> list[str]:
    slugs = [new_slug("e") for _ in range(n)]
    for slug in slugs:
        make_tenant(ctx, slug, template_version=1)
    return slugs


def _applied(ctx, run_id: int) -> list[str]:
    return [r["tenant"] for r in service.status(ctx, OPERATOR, run_id).results if r["status"] == "applied"]


def test_an_error_rate_breach_during_the_soak_halts_and_reverses_the_wave(ctx, metered, new_slug):
    slugs = _fleet(ctx, new_slug, 6)

    def errors_on_canary(run_id: int, wave: int) -> None:
        canary = _applied(ctx, run_id)
        _publish(metered, ctx, canary, requests=200, errors=40)  # 20% failing
        _publish(metered, ctx, [s for s in slugs if s not in canary], requests=200, errors=1)

    started = service.start(ctx, OPERATOR, Options(waves=(20, 100), soak_seconds=0))
    canary = [c.slug for c in started.plan.waves[0]]
    step = service.drive(ctx, OPERATOR, started.run_id, hooks=Hooks(on_soak=errors_on_canary))

    assert step.status == "halted" and "error rate 20.00%" in step.detail and "the wave was reversed" in step.detail
    status = service.status(ctx, OPERATOR, started.run_id)
    decision = status.decisions[0]
    assert decision["verdict"] == "halt" and decision["migrated"]["failed"] == 0  # the error rate alone
    assert decision["error_rate"].startswith("error rate 20.00% of")
    results = {r["tenant"]: r["status"] for r in status.results}
    assert {results[s] for s in canary} == {"reversed"}
    assert {results[s] for s in slugs if s not in canary} == {"pending"}


def test_a_similar_error_rate_promotes(ctx, metered, new_slug):
    slugs = _fleet(ctx, new_slug, 4)
    started = service.start(ctx, OPERATOR, Options(waves=(25, 100), soak_seconds=0))
    hooks = Hooks(on_soak=lambda run_id, wave: _publish(metered, ctx, slugs, requests=100, errors=1))
    assert service.drive(ctx, OPERATOR, started.run_id, hooks=hooks).status == "completed"
    decision = service.status(ctx, OPERATOR, started.run_id).decisions[0]
    assert decision["verdict"] == "promote" and decision["error_rate"].startswith("error rate 1.00% of")


def test_no_cloudwatch_data_does_not_block(ctx, metered, new_slug):
    _fleet(ctx, new_slug, 4)
    started = service.start(ctx, OPERATOR, Options(waves=(25, 100), soak_seconds=0))
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    decision = service.status(ctx, OPERATOR, started.run_id).decisions[0]
    assert (decision["verdict"], decision["error_rate"]) == ("promote", health.NO_ERROR_DATA)


class DeniedCloudWatch:
    def get_metric_data(self, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetMetricData")


def test_an_unreadable_cloudwatch_does_not_block(ctx, metered, new_slug, monkeypatch):
    _fleet(ctx, new_slug, 4)
    real = metered.client
    monkeypatch.setattr(metered, "client", lambda name: DeniedCloudWatch() if name == "cloudwatch" else real(name))
    started = service.start(ctx, OPERATOR, Options(waves=(25, 100), soak_seconds=0))
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    decision = service.status(ctx, OPERATOR, started.run_id).decisions[0]
    assert (decision["verdict"], decision["error_rate"]) == ("promote", health.NO_ERROR_DATA)


def test_not_configured_reads_no_cloudwatch(ctx, new_slug):
    _fleet(ctx, new_slug, 4)
    started = service.start(ctx, OPERATOR, Options(waves=(25, 100), soak_seconds=0))
    assert service.drive(ctx, OPERATOR, started.run_id).status == "completed"
    assert service.status(ctx, OPERATOR, started.run_id).decisions[0]["error_rate"] == health.NOT_CONFIGURED
