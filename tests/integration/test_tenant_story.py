"""A tenant's page story (services/tenant_story.py) on a real catalog: an active, a suspended, an
archived and a moved tenant, every figure checked against the rows written; the month's SLO decided
on exact values; notes only by the roles that may write them; a bounded number of statements."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest
from sqlalchemy import event, select

from control_plane.archive import service as archive
from control_plane.db.models import AuditEntry, NoisyNeighbourFlag, Tenant, UsageDaily
from control_plane.domain.plan_limits import ALLOWANCES
from control_plane.errors import Forbidden, InvalidInput, NotFound
from control_plane.moves import service as moves
from control_plane.moves.service import MoveOptions
from control_plane.revenue import importer as revenue
from control_plane.revenue.ledger import SubscriptionState
from control_plane.services import tenant_story, tenants
from control_plane.uptime import importer as uptime
from control_plane.uptime.targets import schema_target
from tests import moto_server
from tests.factories import make_tenant

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures
NOW = datetime(2031, 3, 15, 12, 0, tzinfo=UTC)
TODAY = NOW.date()
MONTH_START = datetime(2031, 3, 1, tzinfo=UTC)


def _state(slug: str, day: date, plan: str, price: str, *, interval: str = "month", seats: int = 1,
           discount: str = "0", status: str = "active") -> SubscriptionState:
    return SubscriptionState(slug, day, plan, interval, Decimal(price), seats, Decimal(discount), status)


def _usage(ctx, slug: str) -> None:
    """31 days ending today: storage 1,000,000 + 10,000 a day, requests 1,000 + 1 a day, today 5 so
    far; and one older day outside the window that must not count."""
    with ctx.session_factory() as session:
        for i in range(31):
            day = TODAY - timedelta(days=30 - i)
            session.add(UsageDaily(tenant_slug=slug, day=day, storage_bytes=1_000_000 + 10_000 * i,
                                   requests=5 if day == TODAY else 1_000 + i, errors=i % 3,
                                   row_estimate=0, connections=0))
        session.add(UsageDaily(tenant_slug=slug, day=TODAY - timedelta(days=31), storage_bytes=1, requests=9_999_999,
                               errors=0, row_estimate=0, connections=0))
        session.commit()


def _checks(ctx, admin, slug: str, total: int, failing: range, *, step_min: int = 5) -> None:
    """`total` checks of schema:<slug> from the 1st of the month, every `step_min` minutes, those at
    the indexes in `failing` failed; plus a failed run in February, outside the month."""
    target = schema_target(slug)
    rows = [(i + 1, target, MONTH_START + timedelta(minutes=step_min * i), i not in failing, Decimal("12.5"))
            for i in range(total)]
    rows += [(total + 1 + i, target, MONTH_START - timedelta(hours=2) + timedelta(minutes=5 * i), False, None)
             for i in range(4)]
    uptime.import_rows(ctx, admin, rows, f"test-{slug}", now=NOW)


@pytest.fixture
def bucket(ctx, aws) -> str:
    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    return ctx.settings.archive_bucket


def test_active_tenant_billing_usage_and_month(ctx, admin, new_slug):
    slug = new_slug("sty")
    make_tenant(ctx, slug, plan="business")
    revenue.replace_histories(ctx, admin, [
        _state(slug, date(2030, 1, 10), "team", "99"),
        _state(slug, date(2030, 6, 1), "business", "299", seats=2, discount="10"),
        _state(slug, date(2030, 9, 1), "business", "2400", interval="year"),
        _state(slug, date(2031, 4, 1), "enterprise", "999"),  # scheduled: after today
    ], "test")
    _usage(ctx, slug)
    _checks(ctx, admin, slug, 1000, range(500, 501), step_min=10)  # 999 of 1,000: exactly 99.9 %, met
    with ctx.session_factory() as session:
        session.add(NoisyNeighbourFlag(at=NOW - timedelta(hours=3), tenant_slug=slug, metric="requests",
                                       value=Decimal("15000"), baseline=Decimal("1000"), factor=Decimal("15"),
                                       recommendation="Move it"))
        session.commit()

    s = tenant_story.story(ctx, admin, slug, now=NOW)

    assert s.tenant.status == "active" and s.plan_name == "Business" and s.list_price == Decimal("299.00")
    billing = s.billing
    assert [p.mrr_cents for p in billing.history] == [9_900, 53_820, 20_000, 99_900]
    assert [p.change_cents for p in billing.history] == [9_900, 43_920, -33_820, 79_900]
    assert billing.current.effective_date == date(2030, 9, 1) and billing.mrr_cents == 20_000
    assert [p.plan for p in billing.scheduled] == ["enterprise"]

    usage = s.usage
    assert len(usage.days) == 30 and usage.days[0].day == TODAY - timedelta(days=30)
    assert usage.today.requests == 5
    assert usage.storage_now == 1_300_000 and usage.storage_change == 300_000  # the sparkline's window
    assert usage.requests_average() == Fraction(1023 + 1029, 2)  # days 23..29
    assert usage.requests_average(1) == Fraction(1016 + 1022, 2)
    assert usage.allowance == ALLOWANCES["business"]
    assert usage.requests_share == Fraction(1026, 500_000)

    month = s.month
    assert (month.start, month.end) == (MONTH_START, NOW)
    assert (month.checks, month.ok) == (1000, 999)
    assert month.uptime == Fraction(999, 10) and month.slo_met is True and month.budget_left == 0
    assert month.incidents == []  # February's incident resolved at the month's first check
    assert [f.factor for f in s.open_noisy] == [Decimal("15.00")]
    assert s.archive is None and s.moves == []
    assert "tenant.provision" in [a.action for a in s.audit]


def test_suspended_tenant_misses_the_slo_on_the_exact_value(ctx, admin, new_slug):
    slug = new_slug("sts")
    make_tenant(ctx, slug, plan="starter")
    tenants.suspend(ctx, admin, slug, "unpaid invoice")
    revenue.replace_histories(ctx, admin, [_state(slug, date(2030, 1, 1), "starter", "29"),
                                           _state(slug, date(2031, 3, 10), "starter", "29", status="paused")],
                              "test")
    _checks(ctx, admin, slug, 2999, range(100, 103))  # 2,996 of 2,999 = 99.89996 %: shown 99.900, missed

    s = tenant_story.story(ctx, admin, slug, now=NOW)

    assert s.tenant.status == "suspended" and s.tenant.status_reason == "unpaid invoice"
    assert s.billing.mrr_cents == 0 and s.billing.current.status == "paused"
    assert [p.change_cents for p in s.billing.history] == [2_900, -2_900]
    assert (s.month.checks, s.month.ok) == (2999, 2996)
    assert s.month.slo_met is False
    assert round(float(s.month.uptime), 3) == 99.9  # what a rounded comparison would have called met
    assert len(s.month.incidents) == 1
    incident = s.month.incidents[0]
    assert incident.opened_at == MONTH_START + timedelta(minutes=500) and incident.failed_checks == 3
    assert incident.resolved_at == MONTH_START + timedelta(minutes=515)
    assert s.usage.days == [] and s.usage.storage_now is None and s.usage.storage_change is None


def test_archived_tenant_shows_where_its_archive_is(ctx, aws, bucket, admin, new_slug):
    slug = new_slug("sta")
    make_tenant(ctx, slug)
    archive.archive_tenant(ctx, admin, slug)
    with ctx.session_factory() as session:
        row = session.scalar(select(Tenant).where(Tenant.slug == slug))

    s = tenant_story.story(ctx, admin, slug, now=NOW)

    assert s.is_archived
    a = s.archive
    assert a.uri == row.archive_uri and a.uri.startswith(f"s3://{bucket}/")
    assert a.bucket == bucket and a.uri.endswith(a.key)
    assert a.size_bytes == row.archive_size_bytes > 0 and a.sha256 == row.archive_sha256 and a.checksum_recorded
    assert a.purge_after == row.purge_after and a.archived_at == row.archived_at
    assert a.tables == len(row.archive_tables)
    assert "tenant.archive" in [e.action for e in s.audit]


def test_moved_tenant_has_its_move_history(ctx, admin, cluster_b, new_slug):
    slug = new_slug("stm")
    make_tenant(ctx, slug)
    moves.start(ctx, admin, slug, "b", MoveOptions(offline=True, poll_s=0.02))

    s = tenant_story.story(ctx, admin, slug, now=NOW)

    assert s.tenant.cluster == "b"
    assert [(m.source, m.target, m.status) for m in s.moves] == [("default", "b", "completed")]


def test_revenue_is_left_out_for_roles_without_revenue_read(ctx, admin, support, new_slug):
    slug = new_slug("str")
    make_tenant(ctx, slug)
    for_support = tenant_story.story(ctx, support, slug, now=NOW)
    assert for_support.billing is None
    assert [(p.plan, p.status) for p in for_support.plan_history] == [("team", "active")]  # without money
    assert tenant_story.story(ctx, admin, slug, now=NOW).billing is not None


def test_notes_support_writes_founder_and_oncall_cannot(ctx, support, new_slug):
    from control_plane.auth.permissions import Actor, Role

    slug = new_slug("stn")
    make_tenant(ctx, slug)
    hostile = "![x](https://evil.example/p.png) <script>alert(1)</script>\nsecond line :red[x]"
    note = tenant_story.add_note(ctx, support, slug, f"  {hostile}  ")
    assert note.text == hostile and note.author == support.name
    for role in (Role.FOUNDER, Role.ONCALL):
        with pytest.raises(Forbidden):
            tenant_story.add_note(ctx, Actor(f"x-{role}", role), slug, "nope")
    with pytest.raises(InvalidInput):
        tenant_story.add_note(ctx, support, slug, "   ")
    with pytest.raises(InvalidInput):
        tenant_story.add_note(ctx, support, slug, "bad\x00byte")
    with pytest.raises(NotFound):
        tenant_story.add_note(ctx, support, "no_such_tenant", "hello")

    s = tenant_story.story(ctx, support, slug, now=NOW)
    assert [n.text for n in s.notes] == [hostile]
    with ctx.session_factory() as session:
        entries = session.execute(select(AuditEntry.actor_role, AuditEntry.outcome)
                                  .where(AuditEntry.action == "tenant.note", AuditEntry.tenant_slug == slug)
                                  .order_by(AuditEntry.id)).all()
    assert [tuple(e) for e in entries] == [("support", "ok"), ("founder", "denied"), ("oncall", "denied")]


def _statements(ctx, slug, actor) -> int:
    seen: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        seen.append(statement)

    event.listen(ctx.engine, "before_cursor_execute", count)
    try:
        tenant_story.story(ctx, actor, slug, now=NOW)
    finally:
        event.remove(ctx.engine, "before_cursor_execute", count)
    return len(seen)


def test_statement_count_does_not_follow_history(ctx, admin, new_slug):
    small, big = new_slug("stc"), new_slug("stc")
    make_tenant(ctx, small)
    make_tenant(ctx, big)
    _usage(ctx, big)
    _checks(ctx, admin, big, 400, range(10, 14))
    for i in range(30):
        tenants.suspend(ctx, admin, big, f"r{i}") if i % 2 == 0 else tenants.resume(ctx, admin, big)
    assert _statements(ctx, small, admin) == _statements(ctx, big, admin) <= 12
