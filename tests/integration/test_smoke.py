import psycopg
import pytest

from control_plane.adapters.clusters import libpq_url
from control_plane.adapters.tenant_context import tenant_transaction
from control_plane.services import tenants
from tests.factories import make_tenant


def test_provision_suspend_resume(ctx, admin, new_slug):
    slug = new_slug()
    t = make_tenant(ctx, slug)
    assert t.status == "active"
    with psycopg.connect(libpq_url(ctx.catalog_url), autocommit=True) as conn:
        with tenant_transaction(conn, slug) as c:
            c.execute("INSERT INTO users (email, full_name) VALUES ('a@b.c', 'A')")
        tenants.suspend(ctx, admin, slug, "unpaid")
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
            with tenant_transaction(conn, slug) as c:
                c.execute("SELECT count(*) FROM users")
        tenants.resume(ctx, admin, slug)
        with tenant_transaction(conn, slug) as c:
            assert c.execute("SELECT count(*) FROM users").fetchone()[0] == 1
