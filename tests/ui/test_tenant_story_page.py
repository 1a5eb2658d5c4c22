"""The tenant page as the tenant's story (docs/tenant-page.md "Tenant page"), per role, on a real catalog
with the app's clock fixed at 2026-12-05 09:00 UTC: billing for revenue readers, usage against the
plan with changes that agree with their sparklines, the month's uptime against the SLO, archive
facts instead of "Latest check up" for an archived tenant, notes only for support and admin and
shown as typed, empty states for a new tenant."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select

from control_plane.archive import service as archive
from control_plane.archive.purge import purge_archives
from control_plane.db.models import AuditEntry, NoisyNeighbourFlag, Tenant, UsageDaily
from control_plane.revenue import importer as revenue
from control_plane.revenue.ledger import SubscriptionState
from control_plane.uptime import importer as uptime
from control_plane.uptime.targets import schema_target
from tests import moto_server
from tests.factories import make_tenant
from ui.text import plain

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures
PAGE = "pages/tenants.py"
NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)  # the app_today fixture's clock
HOSTILE = "![p](http://127.0.0.1:9/pixel) [link](http://evil.example) <b>bold</b> :red[alert]\n$x$ **second** line"


def _detail(make_app, slug: str, role: str):
    at = make_app(PAGE, role=role)
    at.query_params["tenant"] = slug
    return at.run()


def _texts(at) -> list[str]:
    return [e.value for kind in ("markdown", "caption", "success", "warning", "info", "error", "text")
            for e in at.get(kind)]


def _metric(at, label: str):
    found = [m for m in at.metric if m.label == label]
    assert found, f"no metric {label!r} in {[m.label for m in at.metric]}"
    return found[0]


def _storied(ctx, admin, slug: str) -> None:
    """Billed on business yearly ($200.00 MRR), 31 days of rising storage with a dip today, 100
    checks this month of which three in a row failed (97.000 %, one incident: the 99.9 % SLO
    missed), and an open noisy-neighbour flag."""
    make_tenant(ctx, slug, plan="business")
    revenue.replace_histories(ctx, admin, [
        SubscriptionState(slug, date(2026, 1, 10), "team", "month", Decimal("99"), 1, Decimal("0"), "active"),
        SubscriptionState(slug, date(2026, 9, 1), "business", "year", Decimal("2400"), 1, Decimal("0"), "active"),
    ], "test")
    today = NOW.date()
    with ctx.session_factory() as session:
        for i in range(31):
            day = today - timedelta(days=30 - i)
            storage = 2_000_000 + 40_000 * i - (50_000 if i == 30 else 0)  # today dips below yesterday
            session.add(UsageDaily(tenant_slug=slug, day=day, storage_bytes=storage, requests=3_000 + 10 * i,
                                   errors=0, row_estimate=0, connections=0))
        session.commit()
    start = datetime(2026, 12, 1, tzinfo=UTC)
    rows = [(i + 1, schema_target(slug), start + timedelta(minutes=30 * i), i not in (40, 41, 42), Decimal("20"))
            for i in range(100)]
    uptime.import_rows(ctx, admin, rows, f"test-{slug}", now=NOW)
    with ctx.session_factory() as session:
        session.add(NoisyNeighbourFlag(at=NOW - timedelta(hours=2), tenant_slug=slug, metric="requests",
                                       value=Decimal("45000"), baseline=Decimal("3000"), factor=Decimal("15"),
                                       recommendation="Consider moving it to a quieter cluster."))
        session.commit()


@pytest.mark.parametrize("role", ["founder", "support", "oncall", "admin"])
def test_every_role_reads_the_story(make_app, ctx, admin, app_today, new_slug, role):
    slug = new_slug("pst")
    _storied(ctx, admin, slug)
    at = _detail(make_app, slug, role)
    assert not at.exception, at.exception
    texts = _texts(at)
    assert [m.value for m in at.metric][:3] == ["active", "business", "default"]

    reads_revenue = role in ("founder", "admin")
    assert any(m.label == "MRR now" and m.value == "$200.00" for m in at.metric) == reads_revenue
    assert any("MRR and billing are shown to roles that read revenue" in t for t in texts) != reads_revenue
    history = at.dataframe[0].value
    assert list(history["Plan"]) == ["business", "team"] and list(history["Interval"]) == ["year", "month"]
    if reads_revenue:
        assert list(history["MRR"]) == ["$200.00", "$99.00"] and list(history["Change"]) == ["+$101.00", "+$99.00"]
    else:  # the plan changes, without their money
        assert not {"Price", "MRR", "Change"} & set(history.columns)

    storage = _metric(at, "Storage")
    assert storage.value == "3.0 MiB"  # 3,150,000 bytes today
    # Against the first day the sparkline draws (+1.1 MiB), not against yesterday: that was "-9.8 KiB",
    # a red minus beside a rising curve.
    assert storage.proto.body == "3.0 MiB" and storage.proto.delta == "+1.1 MiB over 30 d"
    requests = _metric(at, "Requests / day")
    assert requests.value == "3,260" and requests.proto.delta == "+70 vs prior 7 d"
    assert any(plain("Storage: 3.0 MiB of 50.0 GiB on business") in p.proto.text for p in at.get("progress"))

    assert _metric(at, "Uptime month-to-date").value == "97.000 %"
    assert _metric(at, "SLO 99.9 %").value == "missed"
    assert _metric(at, "Error budget left").value == "-2900.0 %"
    assert _metric(at, "Incidents").value == "1"
    assert any("97 of 100 checks OK" in t for t in texts)
    [incidents] = [d.value for d in at.dataframe if "Opened" in d.value.columns]
    assert list(incidents["Opened"]) == ["2026-12-01 20:00 UTC"]
    assert list(incidents["Resolved"]) == ["2026-12-01 21:30 UTC"] and list(incidents["Minutes"]) == ["90.0"]
    assert any(plain("Noisy neighbour since 2026-12-05 07:00 UTC: requests at 15.00× its 7-day baseline") in w.value
               for w in at.warning)
    assert any("noisy neighbour" in t for t in texts)  # the badge beside the status
    assert any(re.search(r"\*\*Created\*\* \d{4}-\d\d-\d\d \d\d:\d\d UTC", t) for t in texts)

    may_note = role in ("support", "admin")
    assert bool(at.get("text_area")) == may_note
    assert any("Support and admins can add notes" in t for t in texts) != may_note


def test_support_adds_a_hostile_note_shown_as_typed(make_app, ctx, app_today, new_slug):
    slug = new_slug("pnt")
    make_tenant(ctx, slug)
    at = _detail(make_app, slug, "support")
    at.text_area(key=f"note_text_{slug}").input(HOSTILE)
    at.button(key=f"FormSubmitter:note_{slug}-Add note").click().run()
    assert not at.exception, at.exception
    assert any(plain(f"Note added to {slug}.") == s.value for s in at.success)
    assert HOSTILE in [t.value for t in at.text]  # st.text: plain text, line break kept
    for value in _texts(at):
        if value != HOSTILE:
            assert "](http" not in value and "<b>" not in value and ":red[" not in value, value
    with ctx.session_factory() as session:
        entry = session.scalar(select(AuditEntry).where(AuditEntry.action == "tenant.note",
                                                        AuditEntry.tenant_slug == slug))
    assert (entry.actor, entry.actor_role, entry.reason) == ("support-user", "support", HOSTILE)
    trail = at.dataframe[-1].value
    assert "tenant.note" in trail["Action"].tolist()


def test_an_empty_note_is_refused_next_to_the_form(make_app, ctx, app_today, new_slug):
    slug = new_slug("pne")
    make_tenant(ctx, slug)
    at = _detail(make_app, slug, "admin")
    at.button(key=f"FormSubmitter:note_{slug}-Add note").click().run()
    assert any("Write the note first" in e.value for e in at.error)


@pytest.fixture
def bucket(ctx, aws) -> str:
    aws.client("s3").create_bucket(Bucket=ctx.settings.archive_bucket)
    return ctx.settings.archive_bucket


def test_archived_tenant_shows_its_archive_not_a_live_check(make_app, ctx, aws, bucket, admin, app_today, new_slug):
    slug = new_slug("par")
    make_tenant(ctx, slug)
    start = datetime(2026, 12, 1, tzinfo=UTC)
    uptime.import_rows(ctx, admin, [(i + 1, schema_target(slug), start + timedelta(hours=i), True, Decimal("5"))
                                    for i in range(5)], f"test-{slug}", now=NOW)
    archive.archive_tenant(ctx, admin, slug)
    with ctx.session_factory() as session:
        row = session.scalar(select(Tenant).where(Tenant.slug == slug))

    at = _detail(make_app, slug, "support")
    assert not at.exception, at.exception
    texts = _texts(at)
    assert not any("Latest check" in t for t in texts)
    assert any("Not checked while archived" in t for t in texts)
    assert "Archive" in [h.value for h in at.subheader]
    key = row.archive_uri.split("/", 3)[3]
    facts = next(t for t in texts if "**Location**" in t)
    assert plain(row.archive_uri) in facts and plain(key) in facts
    assert f"**Purged after** {row.purge_after.astimezone(UTC):%Y-%m-%d %H:%M} UTC" in facts
    assert "sha256 " + plain(row.archive_sha256[:16]) in facts
    assert any(t.startswith("Archived ") and "no longer checked" in t for t in at.info.values)

    purge_archives(ctx, row.purge_after + timedelta(seconds=1))
    at = _detail(make_app, slug, "founder")
    assert not at.exception, at.exception
    texts = _texts(at)
    assert any(t.startswith("Purged: its archive was deleted") for t in at.info.values)
    facts = next(t for t in texts if "**Location**" in t)
    assert plain("deleted: the tenant was purged") in facts and "Purged after" not in facts
    assert not any("Latest check" in t for t in texts) and any("Not checked while purged" in t for t in texts)


def test_a_new_tenant_shows_empty_states(make_app, ctx, app_today, new_slug):
    slug = new_slug("pem")
    make_tenant(ctx, slug, plan="free")
    at = _detail(make_app, slug, "founder")
    assert not at.exception, at.exception
    texts = _texts(at)
    assert any("No usage recorded yet" in t for t in texts)
    assert _metric(at, "Uptime month-to-date").value == "no checks"
    assert any("No health checks recorded" in t for t in texts)
    assert any("No notes yet" in t for t in texts)
    assert any("never moved" in t for t in texts)
    assert any(plain("Storage: 0.0 B of 100.0 MiB on free") in p.proto.text for p in at.get("progress"))
