"""Demo data goes through the real services (real schemas), seeds once, and is safe when two
processes start together."""

from __future__ import annotations

import dataclasses
import random
import threading

import psycopg
import pytest
from sqlalchemy import func, select

from control_plane.adapters.clusters import libpq_url
from control_plane.auth.permissions import system_actor
from control_plane.cli import main as cli_main
from control_plane.db.models import AppMarker, AuditEntry, Tenant, User
from control_plane.demo import seed as seed_module
from control_plane.demo import startup
from control_plane.errors import Forbidden, InvalidInput
from control_plane.services import users


@pytest.fixture
def unique_seed() -> int:
    return random.randrange(1, 2**31)


@pytest.fixture
def no_area_seeders(monkeypatch):
    """Record what the per-area seeders receive (they are other areas' code, tested there)."""
    calls = []
    from control_plane.demo import revenue, uptime, usage

    for module in (revenue, uptime, usage):
        monkeypatch.setattr(module, "seed", lambda ctx, tenants, months, rng, _m=module.__name__, **_:
                            calls.append((_m.rsplit(".", 1)[1], len(tenants), months)))
    return calls


@pytest.fixture
def embedded_ctx(ctx, pg_server):
    """The test catalog seen as the embedded demo catalog (the only place demo accounts exist)."""
    return dataclasses.replace(ctx, embedded_server=pg_server)


def _schemas(ctx, slugs):
    with psycopg.connect(libpq_url(ctx.catalog_url)) as conn:
        rows = conn.execute("SELECT nspname FROM pg_namespace WHERE nspname = ANY(%s)",
                            ([f"tenant_{s}" for s in slugs],)).fetchall()
    return {r[0] for r in rows}


def test_seed_provisions_real_tenants_and_calls_every_area(embedded_ctx, unique_seed, no_area_seeders):
    ctx = embedded_ctx
    result = seed_module.seed_demo(ctx, system_actor("t"), tenants=12, months=3, seed=unique_seed)
    slugs = [t.slug for t in result.tenants]
    assert len(set(slugs)) == 12
    assert _schemas(ctx, slugs) == {f"tenant_{s}" for s in slugs}
    with ctx.session_factory() as s:
        rows = list(s.scalars(select(Tenant)))
        assert all(t.is_demo for t in rows) and len(rows) == 12
        assert {t.status for t in rows} <= {"active", "suspended"}
        # one template version behind: the demo has a pending revision to roll out (docs/migrations.md)
        assert {t.template_version for t in rows} == {seed_module.DEMO_TEMPLATE_VERSION} == {2}
        assert s.scalar(select(func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "tenant.provision")) == 12
    assert no_area_seeders == [("revenue", 12, 3), ("uptime", 12, 3), ("usage", 12, 3)]
    assert result.accounts_created == ["founder", "support", "oncall", "admin"]
    assert users.authenticate(ctx, "support", "demo").role.value == "support"


def test_seed_again_reuses_its_tenants(embedded_ctx, unique_seed, no_area_seeders):
    ctx = embedded_ctx
    first = seed_module.seed_demo(ctx, system_actor("t"), tenants=5, months=1, seed=unique_seed)
    again = seed_module.seed_demo(ctx, system_actor("t"), tenants=5, months=1, seed=unique_seed)
    assert sorted(t.slug for t in again.tenants) == sorted(t.slug for t in first.tenants)
    assert again.accounts_created == []
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count(Tenant.id))) == 5


def test_seed_is_deterministic_per_seed():
    a = seed_module._tenant_specs(random.Random(3), 50)
    b = seed_module._tenant_specs(random.Random(3), 50)
    assert a == b and len({s.slug for s in a}) == 50


def test_limits_and_permission(ctx, support):
    with pytest.raises(InvalidInput, match="between 0 and 5000"):
        seed_module.seed_demo(ctx, system_actor("t"), tenants=5001, months=1)
    with pytest.raises(Forbidden):
        seed_module.seed_demo(ctx, support, tenants=1, months=1)


def test_prepare_demo_seeds_once_even_when_two_start_together(embedded_ctx, unique_seed, no_area_seeders,
                                                              monkeypatch):
    from control_plane.demo import aws

    ctx = embedded_ctx

    order = []
    monkeypatch.setattr(aws, "start_simulated_aws", lambda c: order.append("aws"))
    small = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, demo_tenants=6, demo_months=2))
    results, errors = [], []

    def start():
        try:
            results.append(startup.prepare_demo(small, seed=unique_seed))
        except Exception as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert sorted(results) == [False, True]
    assert order == ["aws", "aws"]  # simulated AWS first, in every process
    assert no_area_seeders.count(("revenue", 6, 2)) == 1
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count(Tenant.id))) == 6
        assert s.scalar(select(func.count(User.id))) == 4
        marker = s.get(AppMarker, "demo_seeded")
        assert marker.detail["tenants"] == 6
    assert startup.prepare_demo(small, seed=unique_seed) is False


def test_no_demo_accounts_in_a_catalog_behind_database_url(ctx, unique_seed, no_area_seeders, monkeypatch,
                                                          caplog):
    """CP_DEMO=true with DATABASE_URL: demo data if asked, never the accounts with the published password."""
    from control_plane.demo import aws

    monkeypatch.setattr(aws, "start_simulated_aws", lambda c: None)
    assert ctx.embedded_server is None  # the test catalog is reached by URL, as with DATABASE_URL
    remote = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, demo=True, demo_tenants=2,
                                                                   demo_months=1))
    assert startup.prepare_demo(remote, seed=unique_seed) is True
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count(Tenant.id))) == 2
        assert s.scalar(select(func.count(User.id))) == 0
    assert "no demo accounts" in caplog.text
    with pytest.raises(InvalidInput, match="only in demo mode on the embedded catalog"):
        seed_module.ensure_demo_accounts(remote, system_actor("t"))
    with pytest.raises(InvalidInput, match="only in demo mode on the embedded catalog"):
        users.add_user(remote, system_actor("t"), "founder", "founder", "demo", demo_account=True)
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count(User.id))) == 0


def test_cli_demo_seed_with_progress(ctx, unique_seed, no_area_seeders, capsys, monkeypatch):
    from control_plane.cli import common

    monkeypatch.setattr(common, "_context", ctx)
    monkeypatch.setattr(common, "close_context", lambda: None)
    import control_plane.cli as cli_pkg

    monkeypatch.setattr(cli_pkg, "close_context", lambda: None)
    code = cli_main(["demo", "seed", "--tenants", "4", "--months", "2", "--seed", str(unique_seed)])
    out, err = capsys.readouterr()
    assert code == 0
    assert "seeded 4 demo tenants, 2 months" in out
    assert "tenants: 4/4 (100%)" in err
    with ctx.session_factory() as s:
        assert s.scalar(select(func.count(User.id))) == 0  # accounts only with --accounts


def test_cli_rejects_too_many(capsys):
    assert cli_main(["demo", "seed", "--tenants", "6000"]) == 2
    assert "between 0 and 5000" in capsys.readouterr().err


def test_demo_creation_dates_follow_billing_history(ctx, unique_seed, monkeypatch):
    """With the real revenue seeder, a demo tenant is created no later than its first subscription."""
    from control_plane.db.models import SubscriptionChange
    from control_plane.demo import uptime, usage

    for module in (uptime, usage):
        monkeypatch.setattr(module, "seed", lambda *args, **kwargs: None)
    seed_module.seed_demo(ctx, system_actor("t"), tenants=8, months=6, seed=unique_seed, accounts=False)
    with ctx.session_factory() as s:
        rows = s.execute(select(Tenant.created_at, func.min(SubscriptionChange.effective_date))
                         .join(SubscriptionChange, SubscriptionChange.tenant == Tenant.slug)
                         .group_by(Tenant.id)).all()
    assert len(rows) == 8
    assert all(created.date() <= first for created, first in rows)
    assert len({created.date() for created, _ in rows}) > 1  # spread over the history, not all today
