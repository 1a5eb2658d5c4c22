"""Every service entry point that takes typed text refuses a NUL byte (and other control
characters) with one ValidationError naming the field, before anything is written. Before this,
PostgreSQL's "A string literal cannot contain NUL" surfaced as an uncaught psycopg DataError.

Slugs, month options and cluster URL variable names go through strict patterns of their own
(InvalidInput); importers are covered by their own fuzz corpus.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select, text

from control_plane.archive import service as archive
from control_plane.auth.permissions import Actor, Role
from control_plane.core import audit_queries
from control_plane.core.audit_queries import AuditFilter
from control_plane.db.models import Incident
from control_plane.domain.text import ValidationError, clean_text, printable
from control_plane.errors import InvalidInput
from control_plane.revenue import plans, reports
from control_plane.scheduler import service as jobs
from control_plane.services import clusters, tenants, users
from control_plane.uptime import importer, incidents, maintenance, views
from tests.factories import make_tenant

ADMIN = Actor("text-admin", Role.ADMIN)
T0 = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
PASSWORD = "a long enough password"

Call = Callable[[SimpleNamespace, str], object]

# (entry point and field, call with the hostile text in that field)
ENTRY_POINTS: list[tuple[str, Call]] = [
    ("tenants.provision name", lambda f, v: tenants.provision(f.ctx, ADMIN, f.new_slug(), v, "team")),
    ("tenants.provision owner_email", lambda f, v: tenants.provision(f.ctx, ADMIN, f.new_slug(), "Acme", "team",
                                                                     owner_email=f"a{v}@example.com")),
    ("tenants.provision endpoint_url", lambda f, v: tenants.provision(f.ctx, ADMIN, f.new_slug(), "Acme", "team",
                                                                      endpoint_url=f"https://example.com/{v}")),
    ("tenants.provision plan", lambda f, v: tenants.provision(f.ctx, ADMIN, f.new_slug(), "Acme", f"team{v}")),
    ("tenants.provision cluster", lambda f, v: tenants.provision(f.ctx, ADMIN, f.new_slug(), "Acme", "team",
                                                                 cluster=f"default{v}")),
    ("tenants.suspend reason", lambda f, v: tenants.suspend(f.ctx, ADMIN, f.slug, f"unpaid{v}")),
    ("tenants.resume reason", lambda f, v: tenants.resume(f.ctx, ADMIN, f.slug, f"paid{v}")),
    ("tenants.set_plan plan", lambda f, v: tenants.set_plan(f.ctx, ADMIN, f.slug, f"business{v}")),
    ("tenants.set_plan reason", lambda f, v: tenants.set_plan(f.ctx, ADMIN, f.slug, "team", f"same{v}")),
    ("tenants.update_details name", lambda f, v: tenants.update_details(f.ctx, ADMIN, f.slug, name=f"Acme{v}")),
    ("tenants.update_details owner_email",
     lambda f, v: tenants.update_details(f.ctx, ADMIN, f.slug, owner_email=f"b{v}@example.com")),
    ("tenants.update_details endpoint_url",
     lambda f, v: tenants.update_details(f.ctx, ADMIN, f.slug, endpoint_url=f"https://example.com/{v}")),
    ("tenants.list_tenants search", lambda f, v: tenants.list_tenants(f.ctx, ADMIN, search=f"ac{v}")),
    ("tenants.list_tenants plan", lambda f, v: tenants.list_tenants(f.ctx, ADMIN, plan=f"team{v}")),
    ("tenants.list_tenants cluster", lambda f, v: tenants.list_tenants(f.ctx, ADMIN, cluster=f"default{v}")),
    ("archive.request_archive reason", lambda f, v: archive.request_archive(f.ctx, ADMIN, f.slug, f"done{v}")),
    ("audit.search actor", lambda f, v: audit_queries.search(f.ctx, ADMIN, AuditFilter(actor=f"x{v}"))),
    ("audit.search tenant_slug", lambda f, v: audit_queries.search(f.ctx, ADMIN, AuditFilter(tenant_slug=f"x{v}"))),
    ("audit.search text", lambda f, v: audit_queries.search(f.ctx, ADMIN, AuditFilter(text=f"x{v}"))),
    ("audit.search actions", lambda f, v: audit_queries.search(f.ctx, ADMIN, AuditFilter(actions=(f"x{v}",)))),
    ("users.add_user username", lambda f, v: users.add_user(f.ctx, ADMIN, f"nina{v}", "support", PASSWORD)),
    ("users.add_user display_name", lambda f, v: users.add_user(f.ctx, ADMIN, "nina", "support", PASSWORD,
                                                                display_name=f"Nina{v}")),
    ("users.add_user email", lambda f, v: users.add_user(f.ctx, ADMIN, "nina", "support", PASSWORD,
                                                         email=f"n{v}@example.com")),
    ("users.get_user username", lambda f, v: users.get_user(f.ctx, f"sam{v}")),
    ("users.actor_for username", lambda f, v: users.actor_for(f.ctx, f"sam{v}")),
    ("users.set_role username", lambda f, v: users.set_role(f.ctx, ADMIN, f"sam{v}", "founder")),
    ("users.set_disabled username", lambda f, v: users.set_disabled(f.ctx, ADMIN, f"sam{v}", True)),
    ("users.set_password username", lambda f, v: users.set_password(f.ctx, ADMIN, f"sam{v}", PASSWORD)),
    ("clusters.add_cluster name", lambda f, v: clusters.add_cluster(f.ctx, ADMIN, f"eu{v}", "DATABASE_URL",
                                                                    verify=False)),
    ("clusters.add_cluster aurora_cluster_id",
     lambda f, v: clusters.add_cluster(f.ctx, ADMIN, "eu1", "DATABASE_URL", aurora_cluster_id=f"db{v}",
                                       verify=False)),
    ("jobs.recent_runs job_id", lambda f, v: jobs.recent_runs(f.ctx, ADMIN, job_id=f"health{v}")),
    ("jobs.run_now job_id", lambda f, v: jobs.run_now(f.ctx, ADMIN, f"health{v}")),
    ("incidents.acknowledge note", lambda f, v: incidents.acknowledge(f.ctx, ADMIN, f.incident_id, f"on it{v}")),
    ("incidents.set_note note", lambda f, v: incidents.set_note(f.ctx, ADMIN, f.incident_id, f"dns{v}")),
    ("maintenance.declare reason", lambda f, v: maintenance.declare(f.ctx, ADMIN, T0, T0 + timedelta(hours=1),
                                                                    f"patch{v}")),
    ("maintenance.declare target", lambda f, v: maintenance.declare(f.ctx, ADMIN, T0, T0 + timedelta(hours=1),
                                                                    "patch", target=f"api{v}")),
    ("maintenance.declare tenant_slug", lambda f, v: maintenance.declare(f.ctx, ADMIN, T0, T0 + timedelta(hours=1),
                                                                         "patch", tenant_slug=f"{f.slug}{v}")),
    ("plans.save_plan code", lambda f, v: plans.save_plan(f.ctx, ADMIN, f"gold{v}", name="Gold", list_price="9")),
    ("plans.save_plan name", lambda f, v: plans.save_plan(f.ctx, ADMIN, "gold", name=f"Gold{v}", list_price="9")),
    ("uptime.check_history target", lambda f, v: views.check_history(f.ctx, ADMIN, f"api{v}", now=T0)),
]

# Already refused by a strict pattern of their own (slugs, months): InvalidInput, nothing written.
STRICT: list[tuple[str, Call]] = [
    ("tenants.provision slug", lambda f, v: tenants.provision(f.ctx, ADMIN, f"acme{v}", "Acme", "team")),
    ("tenants.show slug", lambda f, v: tenants.show(f.ctx, ADMIN, f"{f.slug}{v}")),
    ("tenants.suspend slug", lambda f, v: tenants.suspend(f.ctx, ADMIN, f"{f.slug}{v}", "unpaid")),
    ("archive.archive_tenant slug", lambda f, v: archive.archive_tenant(f.ctx, ADMIN, f"{f.slug}{v}")),
    ("uptime.sla_report slug", lambda f, v: views.sla_report(f.ctx, ADMIN, f"{f.slug}{v}", now=T0)),
    ("revenue.mrr_table start", lambda f, v: reports.mrr_table(f.ctx, ADMIN, f"2029-01{v}")),
    ("clusters.add_cluster url_env", lambda f, v: clusters.add_cluster(f.ctx, ADMIN, "eu1", f"DATABASE_URL{v}",
                                                                       verify=False)),
]

HOSTILE = ["\x00", "\x1b[31m", "\ud800", "\u202e", "\x7f"]


@pytest.fixture
def world(ctx, new_slug):
    """One of everything the entry points act on: a tenant, an account, an open incident."""
    slug = new_slug("txt")
    make_tenant(ctx, slug)
    users.add_user(ctx, ADMIN, "sam", "support", PASSWORD)
    rows = [(i + 2, "api", T0 + i * timedelta(minutes=1), False, None) for i in range(3)]
    importer.import_rows(ctx, ADMIN, rows, source="test")
    with ctx.session_factory() as s:
        incident_id = s.scalar(select(Incident.id))
    assert incident_id is not None
    return SimpleNamespace(ctx=ctx, slug=slug, new_slug=lambda: new_slug("txn"), incident_id=incident_id)


def _fingerprint(ctx) -> dict[str, str]:
    """Every catalog table's content, so "nothing written" covers every table at once."""
    with ctx.engine.connect() as conn:
        tables = conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'control_plane' "
                                   "ORDER BY 1")).scalars().all()
        return {t: conn.execute(text(f'SELECT md5(coalesce(string_agg(x::text, \'|\' ORDER BY x::text), \'\')) '
                                     f'FROM control_plane."{t}" x')).scalar_one() for t in tables}


@pytest.mark.parametrize(("entry", "call"), ENTRY_POINTS, ids=[e for e, _ in ENTRY_POINTS])
def test_nul_is_one_validation_error_and_nothing_is_written(world, entry, call):
    before = _fingerprint(world.ctx)
    with pytest.raises(ValidationError, match="control character") as caught:
        call(world, "\x00")
    assert "NUL" in str(caught.value)
    assert _fingerprint(world.ctx) == before


@pytest.mark.parametrize(("entry", "call"), ENTRY_POINTS[:6] + ENTRY_POINTS[20:23],
                         ids=[e for e, _ in ENTRY_POINTS[:6] + ENTRY_POINTS[20:23]])
@pytest.mark.parametrize("hostile", HOSTILE[1:], ids=["escape", "surrogate", "bidi", "del"])
def test_other_control_characters_are_refused_too(world, entry, call, hostile):
    before = _fingerprint(world.ctx)
    with pytest.raises(ValidationError, match="control character"):
        call(world, hostile)
    assert _fingerprint(world.ctx) == before


@pytest.mark.parametrize(("entry", "call"), STRICT, ids=[e for e, _ in STRICT])
def test_strict_patterns_refuse_nul_without_a_database_error(world, entry, call):
    before = _fingerprint(world.ctx)
    with pytest.raises(InvalidInput):
        call(world, "\x00")
    assert _fingerprint(world.ctx) == before


def test_clean_text_rules():
    assert clean_text("  Acme  ", "Name", 10) == "Acme"
    assert clean_text(None, "Name", 10) == ""
    assert clean_text("line 1\nline 2\ttab", "Note", 40, multiline=True) == "line 1\nline 2\ttab"
    with pytest.raises(ValidationError, match="Name contains a control character \\(line break at position 2\\)"):
        clean_text("a\nb", "Name", 10)
    with pytest.raises(ValidationError, match="Note contains a control character \\(NUL at position 1\\)"):
        clean_text("\x00", "Note", 10, multiline=True)
    with pytest.raises(ValidationError, match="11 characters long; at most 10"):
        clean_text("x" * 11, "Name", 10)
    with pytest.raises(ValidationError, match="must be text"):
        clean_text(5, "Name", 10)
    assert printable("a\x00b" + "x" * 50, 10) == "a\\x00bxxx…"
