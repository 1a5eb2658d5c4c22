"""Noisy neighbours: a 10x jump over the trailing 7-day baseline is flagged once, alerted over SNS
(moto) with a recommendation, and cleared when usage is back to normal."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from control_plane.db.models import Alert, NoisyNeighbourFlag, UsageDaily
from control_plane.scheduler.context import JobContext
from control_plane.usage.noisy import detect_noisy_neighbours
from control_plane.usage.queries import noisy_flags
from jobs import noisy_neighbours
from tests import moto_server
from tests.factories import make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures


def history(ctx, slug: str, today, daily: list[int], storage: int = 10 * 2**20) -> None:
    """daily[-1] is today's requests, daily[-2] yesterday's, ..."""
    with ctx.session_factory() as session:
        for back, requests in enumerate(reversed(daily)):
            session.add(UsageDaily(tenant_slug=slug, day=today - timedelta(days=back), requests=requests,
                                   errors=0, storage_bytes=storage, row_estimate=0, connections=0))
        session.commit()


def sns_queue(aws) -> tuple[str, str]:
    topic = aws.client("sns").create_topic(Name="cp-alerts")["TopicArn"]
    sqs = aws.client("sqs")
    queue_url = sqs.create_queue(QueueName="cp-alerts-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws.client("sns").subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, queue_url


def test_jump_is_flagged_alerted_and_cleared(ctx, aws, admin, new_slug):
    noisy, calm, fresh = new_slug("noisy"), new_slug("calm"), new_slug("fresh")
    for slug in (noisy, calm, fresh):
        make_tenant(ctx, slug)
    now = datetime.now(UTC)
    today = now.date()
    history(ctx, noisy, today, [2000, 2100, 1900, 2000, 2050, 1950, 2000, 2000, 25_000])
    history(ctx, calm, today, [5000] * 9)
    history(ctx, fresh, today, [3000, 90_000])  # no baseline yet: not judged
    topic, queue_url = sns_queue(aws)
    app = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, sns_topic_arn=topic))

    summary = noisy_neighbours.run(JobContext(app=app, now=lambda: now))

    assert summary.startswith("1 new noisy-neighbour flags")
    flags = noisy_flags(ctx, admin)
    assert list(flags["slug"]) == [noisy]
    flag = flags.iloc[0]
    assert flag["metric"] == "requests" and flag["factor"] >= 10
    assert flag["recommendation"].startswith(f"Move {noisy} to its own cluster")
    assert f"tenants move {noisy} --to CLUSTER" in flag["recommendation"]  # the move exists: not a dead end
    with ctx.session_factory() as session:
        alert = session.scalar(select(Alert).where(Alert.kind == "noisy_neighbour"))
    assert alert.tenant_slug == noisy and alert.published and alert.publish_error is None
    messages = aws.client("sqs").receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10)["Messages"]
    assert noisy in json.loads(messages[0]["Body"])["Message"]

    # the next run keeps the one flag and alerts no more
    again = detect_noisy_neighbours(app, now + timedelta(hours=1))
    assert (len(again.opened), again.still_open) == (0, 1)

    # usage back to normal: the flag clears
    with ctx.session_factory() as session:
        session.execute(update(UsageDaily).where(UsageDaily.tenant_slug == noisy, UsageDaily.day == today)
                        .values(requests=2000))
        session.commit()
    cleared = detect_noisy_neighbours(app, now + timedelta(hours=2))
    assert cleared.cleared == [f"{noisy}:requests"]
    assert noisy_flags(ctx, admin).empty
    assert len(noisy_flags(ctx, admin, include_cleared=True)) == 1


def test_storage_jump_and_small_tenants(ctx, new_slug):
    grower, tiny = new_slug("grow"), new_slug("tiny")
    make_tenant(ctx, grower)
    make_tenant(ctx, tiny)
    today = datetime.now(UTC).date()
    history(ctx, grower, today, [100] * 8, storage=200 * 2**20)
    with ctx.session_factory() as session:
        session.execute(update(UsageDaily).where(UsageDaily.tenant_slug == grower, UsageDaily.day == today)
                        .values(storage_bytes=3 * 2**30))
        session.commit()
    history(ctx, tiny, today, [3, 4, 3, 5, 2, 3, 4, 400])  # 100x, but 400 requests a day is nothing

    result = detect_noisy_neighbours(ctx, datetime.now(UTC))

    assert [(j.slug, j.metric) for j in result.opened] == [(grower, "storage_bytes")]
    with ctx.session_factory() as session:
        flag = session.scalar(select(NoisyNeighbourFlag))
    assert "storage" in flag.recommendation and "GiB" in flag.recommendation
