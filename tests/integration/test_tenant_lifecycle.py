"""Every lifecycle path on a real PostgreSQL, including crashes at each step and retries."""

from __future__ import annotations

import psycopg
import pytest
from sqlalchemy import select

from control_plane.adapters import tenant_ddl
from control_plane.adapters.cluster_catalog import inspect_tenant
from control_plane.adapters.clusters import libpq_url
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.db.models import AuditEntry, Tenant
from control_plane.errors import Conflict, Forbidden, InvalidInput, NotFound
from control_plane.services import tenants
from control_plane.tenant_schema import revisions, template
from tests.factories import make_tenant
from tests.faults import Crash, crash_at

LATEST = revisions.DEFAULT.latest


@pytest.fixture
def raw(ctx):
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as conn:
        yield conn


def audit_actions(ctx, slug):
    with ctx.session_factory() as s:
        return [(a.action, a.outcome) for a in s.scalars(
            select(AuditEntry).where(AuditEntry.tenant_slug == slug).order_by(AuditEntry.id))]


def catalog_row(ctx, slug):
    with ctx.session_factory() as s:
        return s.scalar(select(Tenant).where(Tenant.slug == slug))


def test_provision_creates_schema_role_template_and_audit(ctx, admin, raw, new_slug):
    slug = new_slug()
    view = tenants.provision(ctx, admin, slug, "Acme Corp", "team", owner_email="Ops@Acme.example")
    assert (view.status, view.plan, view.schema, view.role, view.cluster) == (
        "active", "team", f"tenant_{slug}", f"tenant_{slug}", "default")
    assert view.owner_email == "ops@acme.example" and view.template_version == LATEST  # new tenants: the latest
    found = inspect_tenant(raw, slug)
    assert found.complete and found.role_can_read and found.template_version == LATEST
    assert set(tenant_ddl.TEMPLATE_TABLES) <= found.tables and len(found.tables) >= 6
    fks = raw.execute("SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace "
                      "WHERE n.nspname = %s AND c.contype = 'f'", (f"tenant_{slug}",)).fetchone()[0]
    assert fks >= 6
    rolcanlogin = raw.execute("SELECT rolcanlogin FROM pg_roles WHERE rolname = %s", (f"tenant_{slug}",)).fetchone()
    assert rolcanlogin == (False,)
    assert audit_actions(ctx, slug) == [("tenant.provision", "ok")]
    with ctx.session_factory() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "tenant.provision")).one()
        assert entry.actor == admin.name and entry.actor_role == "admin"
        assert entry.after == {"status": "active", "plan": "team", "cluster": "default", "template_version": LATEST}


def test_tenant_data_plane_round_trip_and_suspend_keeps_every_row(ctx, admin, raw, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    with tenant_transaction(raw, slug) as conn:
        conn.execute("INSERT INTO users (email, full_name) "
                     "SELECT 'u' || g || '@x.io', 'U' FROM generate_series(1, 50) g")
        conn.execute("INSERT INTO teams (name) VALUES ('core')")
    view = tenants.suspend(ctx, admin, slug, "invoice overdue")
    assert view.status == "suspended" and view.status_reason == "invoice overdue"
    for query in ("SELECT count(*) FROM users", "INSERT INTO teams (name) VALUES ('x')"):
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            with tenant_transaction(raw, slug) as conn:
                conn.execute(query)
    # Every row still there (checked as the catalog owner).
    assert raw.execute(f'SELECT count(*) FROM "tenant_{slug}".users').fetchone()[0] == 50
    view = tenants.resume(ctx, admin, slug)
    assert view.status == "active" and view.status_reason is None
    with tenant_transaction(raw, slug) as conn:
        assert conn.execute("SELECT count(*) FROM users").fetchone()[0] == 50
        conn.execute("INSERT INTO teams (name) VALUES ('after-resume')")  # sequences usable again
    actions = audit_actions(ctx, slug)
    assert ("tenant.suspend", "ok") in actions and ("tenant.resume", "ok") in actions


def test_suspend_and_resume_are_idempotent(ctx, admin, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    tenants.suspend(ctx, admin, slug, "abuse")
    again = tenants.suspend(ctx, admin, slug, "abuse")
    assert again.status == "suspended"
    tenants.resume(ctx, admin, slug)
    assert tenants.resume(ctx, admin, slug).status == "active"
    outcomes = [o for a, o in audit_actions(ctx, slug) if a in ("tenant.suspend", "tenant.resume")]
    assert outcomes == ["ok", "noop", "ok", "noop"]


def test_suspend_needs_a_reason(ctx, admin, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    with pytest.raises(InvalidInput, match="reason"):
        tenants.suspend(ctx, admin, slug, "  ")
    assert tenants.show(ctx, admin, slug).status == "active"


def test_set_plan(ctx, admin, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug, plan="starter")
    assert tenants.set_plan(ctx, admin, slug, "business").plan == "business"
    assert tenants.set_plan(ctx, admin, slug, "business").plan == "business"  # no-op, audited
    with pytest.raises(InvalidInput, match=r"Unknown plan 'gold'.*free, starter, team, business, enterprise"):
        tenants.set_plan(ctx, admin, slug, "gold")
    with ctx.session_factory() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "tenant.set_plan",
                                                   AuditEntry.outcome == "ok")).one()
        assert entry.before["plan"] == "starter" and entry.after["plan"] == "business"


def test_bad_requests_leave_nothing_behind(ctx, admin, raw, new_slug):
    slug = new_slug()
    with pytest.raises(InvalidInput, match="Unknown plan"):
        tenants.provision(ctx, admin, slug, "X", "platinum")
    with pytest.raises(InvalidInput, match="Unknown cluster"):
        tenants.provision(ctx, admin, slug, "X", "team", cluster="nowhere")
    with pytest.raises(InvalidInput, match="name is required"):
        tenants.provision(ctx, admin, slug, " ", "team")
    with pytest.raises(InvalidInput, match="e-mail"):
        tenants.provision(ctx, admin, slug, "X", "team", owner_email="not-an-email")
    with pytest.raises(InvalidInput, match="reserved"):
        tenants.provision(ctx, admin, "public", "X", "team")
    assert catalog_row(ctx, slug) is None
    assert not inspect_tenant(raw, slug).schema_exists and not inspect_tenant(raw, slug).role_exists


def test_duplicate_provision_is_a_conflict(ctx, admin, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    with pytest.raises(Conflict, match="already exists"):
        tenants.provision(ctx, admin, slug, "Again", "team")


def test_unknown_tenant(ctx, admin, new_slug):
    for call in (lambda s: tenants.show(ctx, admin, s), lambda s: tenants.suspend(ctx, admin, s, "r"),
                 lambda s: tenants.resume(ctx, admin, s), lambda s: tenants.set_plan(ctx, admin, s, "team")):
        with pytest.raises(NotFound, match="No tenant"):
            call(new_slug())


def test_schema_existing_outside_the_catalog_is_reported_as_drift(ctx, admin, raw, new_slug):
    slug = new_slug()
    raw.execute(f'CREATE SCHEMA "tenant_{slug}"')
    with pytest.raises(Conflict, match="drift"):
        tenants.provision(ctx, admin, slug, "X", "team")
    assert catalog_row(ctx, slug) is None  # nothing recorded, nothing created
    assert inspect_tenant(raw, slug).tables == frozenset() and not inspect_tenant(raw, slug).role_exists
    raw.execute(f'DROP SCHEMA "tenant_{slug}"')
    assert tenants.provision(ctx, admin, slug, "X", "team").status == "active"


@pytest.mark.parametrize("step", ["catalog_recorded", "schema_created", "before_commit"])
def test_crash_during_provision_leaves_nothing_and_retry_succeeds(ctx, admin, raw, new_slug, step):
    """On the catalog database the row, the DDL and the audit entry share one transaction."""
    slug = new_slug()
    with pytest.raises(Crash):
        tenants.provision(ctx, admin, slug, "Crashy", "team", fault=crash_at(step))
    assert catalog_row(ctx, slug) is None
    assert not inspect_tenant(raw, slug).schema_exists and not inspect_tenant(raw, slug).role_exists
    assert audit_actions(ctx, slug) == []
    view = tenants.provision(ctx, admin, slug, "Crashy", "team")
    assert view.status == "active" and inspect_tenant(raw, slug).complete


def _schema_shape(raw, slug):
    """Relations, kinds, privileges, memberships and the version comment of a tenant, its slug blanked."""
    rows = raw.execute(
        "SELECT c.relname, c.relkind::text, coalesce(c.relacl::text, '') FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s ORDER BY 1", (f"tenant_{slug}",)).fetchall()
    rows += raw.execute(
        "SELECT 'schema', obj_description(n.oid, 'pg_namespace'), coalesce(n.nspacl::text, '') FROM pg_namespace n "
        "WHERE n.nspname = %s", (f"tenant_{slug}",)).fetchall()
    rows += raw.execute(
        "SELECT 'member', m.rolname, '' FROM pg_auth_members a JOIN pg_roles r ON r.oid = a.roleid "
        "JOIN pg_roles m ON m.oid = a.member WHERE r.rolname = %s ORDER BY 2", (f"tenant_{slug}",)).fetchall()
    login = tenant_ddl.data_plane_login(slug)  # one of 16, by the slug's hash
    return [tuple(str(v).replace(slug, "X").replace(login, "LOGIN") for v in row) for row in rows]


def test_the_benches_raw_script_builds_what_the_service_builds(ctx, admin, raw, new_slug):
    """bench/provisioning.py and bench/fleet_scale.py compare the service with
    template.provision_script sent raw: it must be the same DDL, at the same (latest) version."""
    by_service, by_script = new_slug(), new_slug()
    tenants.provision(ctx, admin, by_service, "Service", "team")
    raw.execute(template.provision_script(by_script))
    assert inspect_tenant(raw, by_script).template_version == LATEST
    shape = _schema_shape(raw, by_script)
    assert len(shape) > 10 and ("member", "LOGIN", "") in shape
    assert _schema_shape(raw, by_service) == shape


def _stuck_provisioning_row(ctx, slug):
    """A row left in `provisioning` (e.g. by a crash while the cluster was remote)."""
    with ctx.session_factory() as s:
        s.add(Tenant(slug=slug, name="Stuck", plan_code="team", status="provisioning", cluster_name="default"))
        s.commit()


def test_stuck_row_with_complete_objects_is_just_marked_active(ctx, admin, raw, new_slug):
    slug = new_slug()
    _stuck_provisioning_row(ctx, slug)
    raw.execute(tenant_ddl.provision_script(slug))
    view = tenants.provision(ctx, admin, slug, "Stuck", "team")
    assert view.status == "active" and view.template_version == 1 and inspect_tenant(raw, slug).role_can_read
    assert audit_actions(ctx, slug) == [("tenant.provision", "ok")]


def test_stuck_row_when_only_the_role_survived(ctx, admin, raw, new_slug):
    slug = new_slug()
    _stuck_provisioning_row(ctx, slug)
    raw.execute(tenant_ddl.create_role(slug))
    assert tenants.provision(ctx, admin, slug, "Stuck", "team").status == "active"
    assert inspect_tenant(raw, slug).complete


def test_stuck_row_with_nothing_on_the_cluster(ctx, admin, raw, new_slug):
    slug = new_slug()
    _stuck_provisioning_row(ctx, slug)
    assert tenants.provision(ctx, admin, slug, "Stuck", "team").status == "active"
    assert inspect_tenant(raw, slug).complete


def test_crash_during_suspend_changes_nothing_and_retry_works(ctx, admin, raw, new_slug):
    slug = new_slug()
    make_tenant(ctx, slug)
    with pytest.raises(Crash):
        tenants.suspend(ctx, admin, slug, "unpaid", fault=crash_at("access_revoked"))
    assert catalog_row(ctx, slug).status == "active" and inspect_tenant(raw, slug).role_can_read
    tenants.suspend(ctx, admin, slug, "unpaid")
    assert catalog_row(ctx, slug).status == "suspended" and not inspect_tenant(raw, slug).role_can_read
    with pytest.raises(Crash):
        tenants.resume(ctx, admin, slug, fault=crash_at("access_granted"))
    assert catalog_row(ctx, slug).status == "suspended" and not inspect_tenant(raw, slug).role_can_read
    tenants.resume(ctx, admin, slug)
    assert inspect_tenant(raw, slug).role_can_read


def test_tenant_role_reads_nothing_outside_its_schema(ctx, raw, new_slug):
    a, b = new_slug(), new_slug()
    make_tenant(ctx, a)
    make_tenant(ctx, b)
    with tenant_transaction(raw, b) as conn:
        conn.execute("INSERT INTO users (email, full_name) VALUES ('secret@b.io', 'B')")
    forbidden = [
        f'SELECT * FROM "tenant_{b}".users',
        f'INSERT INTO "tenant_{b}".users (email, full_name) VALUES (\'x@a.io\', \'A\')',
        "SELECT * FROM control_plane.tenants",
        "SELECT * FROM control_plane.users",
        "SELECT * FROM control_plane.audit_log",
        f'CREATE TABLE "tenant_{a}".sneaky (id int)',
        "CREATE TABLE public.sneaky (id int)",
    ]
    for query in forbidden:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            with tenant_transaction(raw, a) as conn:
                conn.execute(query)


def test_permissions_are_checked_in_the_service_and_refusals_audited(ctx, founder, oncall, support, new_slug):
    slug = new_slug()
    with pytest.raises(Forbidden, match="not allowed"):
        tenants.provision(ctx, founder, slug, "X", "team")
    make_tenant(ctx, slug)
    for actor in (founder, oncall):
        with pytest.raises(Forbidden):
            tenants.suspend(ctx, actor, slug, "r")
        with pytest.raises(Forbidden):
            tenants.set_plan(ctx, actor, slug, "free")
    assert tenants.suspend(ctx, support, slug, "support can").status == "suspended"
    denied = [a for a, o in audit_actions(ctx, slug) if o == "denied"]
    assert denied == ["tenant.provision", "tenant.suspend", "tenant.set_plan", "tenant.suspend", "tenant.set_plan"]


def test_list_filters_and_search(ctx, admin, new_slug):
    a, b, c = new_slug("alpha"), new_slug("beta"), new_slug("gamma")
    make_tenant(ctx, a, plan="free", name="Alpha Widgets")
    make_tenant(ctx, b, plan="team", owner_email="boss@betacorp.io")
    make_tenant(ctx, c, plan="team", name="100% Gamma_Co")
    tenants.suspend(ctx, admin, c, "r")
    assert [t.slug for t in tenants.list_tenants(ctx, admin)] == sorted([a, b, c])
    assert [t.slug for t in tenants.list_tenants(ctx, admin, plan="team")] == sorted([b, c])
    assert [t.slug for t in tenants.list_tenants(ctx, admin, status="suspended")] == [c]
    assert [t.slug for t in tenants.list_tenants(ctx, admin, search="WIDGET")] == [a]
    assert [t.slug for t in tenants.list_tenants(ctx, admin, search="betacorp")] == [b]
    assert [t.slug for t in tenants.list_tenants(ctx, admin, search="100%")] == [c]
    assert tenants.list_tenants(ctx, admin, search="alpha%widgets") == []  # wildcards are literal
    with pytest.raises(InvalidInput, match="Unknown status"):
        tenants.list_tenants(ctx, admin, status="zombie")


def test_concurrent_provisions_of_one_slug_make_exactly_one_tenant(ctx, admin, raw, new_slug):
    from concurrent.futures import ThreadPoolExecutor

    slug = new_slug()

    def attempt(_):
        try:
            return tenants.provision(ctx, admin, slug, "Racer", "team").status
        except Conflict as exc:
            return str(exc)

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(attempt, range(4)))
    assert results.count("active") == 1, results
    assert all("already exists" in r for r in results if r != "active")
    assert inspect_tenant(raw, slug).complete
    assert audit_actions(ctx, slug).count(("tenant.provision", "ok")) == 1


def test_a_catalog_user_without_rights_gets_a_clear_error(ctx, admin, raw, new_slug, database_url):
    """Production catalogs run as a non-superuser; without CREATEROLE provisioning says what is missing."""
    from control_plane.adapters.clusters import ClusterConnections
    from control_plane.context import AppContext
    from control_plane.db.engine import make_engine, make_session_factory
    from control_plane.errors import ConfigError

    weak = f"weak_{new_slug()}"
    raw.execute(f'CREATE ROLE "{weak}" LOGIN')
    raw.execute(f'GRANT USAGE ON SCHEMA control_plane TO "{weak}"')
    raw.execute(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA control_plane TO "{weak}"')
    raw.execute(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA control_plane TO "{weak}"')
    url = database_url.replace("postgresql+psycopg://postgres@", f"postgresql+psycopg://{weak}@")
    engine = make_engine(url)
    weak_ctx = AppContext(settings=ctx.settings, engine=engine, session_factory=make_session_factory(engine),
                          clusters=ClusterConnections(url), aws=ctx.aws, catalog_url=url)
    slug = new_slug()
    try:
        with pytest.raises(ConfigError, match="needs CREATEROLE"):
            tenants.provision(weak_ctx, admin, slug, "X", "team")
    finally:
        weak_ctx.close()
    assert catalog_row(ctx, slug) is None
