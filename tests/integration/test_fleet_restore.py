"""An archive made at an old template version is restored at that version, its rows loaded, then
brought up to the fleet's version in the same transaction (docs/migrations.md "Restore")."""

from __future__ import annotations

import re

from control_plane.archive import service as archive
from control_plane.fleet import drift
from control_plane.tenant_schema.revisions import DEFAULT
from tests import moto_server
from tests.factories import OPERATOR, make_tenant
from tests.integration.fleet_helpers import columns, comment, raw, tables
from tests.integration.test_archive import bucket, fill, snapshot  # noqa: F401 - bucket is a fixture

aws, moto_endpoint = moto_server.aws, moto_server.moto_endpoint  # fixtures


def test_an_old_archive_comes_back_at_the_fleet_version_with_every_row(ctx, aws, bucket, new_slug):  # noqa: F811
    old, current = new_slug("r"), new_slug("r")
    make_tenant(ctx, old, template_version=1)
    make_tenant(ctx, current)  # the fleet is at the latest version
    fill(ctx, old)
    before = snapshot(ctx, old)
    archive.archive_tenant(ctx, OPERATOR, old)
    restored = archive.restore_tenant(ctx, OPERATOR, old)
    assert (restored.status, restored.template_version) == ("active", DEFAULT.latest)
    after = snapshot(ctx, old)
    assert re.search(r",\)$", after["tasks"], re.MULTILINE)  # each task has the new due_at, NULL: the last field
    after["tasks"] = re.sub(r",\)$", ")", after["tasks"], flags=re.MULTILINE)
    assert after == before  # every row of the v1 archive, in a v3 schema
    with raw(ctx) as conn:
        assert "due_at" in columns(conn, old, "tasks") and {"labels", "task_labels"} <= tables(conn, old)
        assert comment(conn, old) == f"control-plane tenant template v{DEFAULT.latest}"
    report = {r["tenant"]: r for r in drift.verify(ctx, OPERATOR)}
    assert report[old]["status"] == "ok"  # exactly the shape of a schema built at the latest version


def test_a_current_archive_is_restored_as_it_was(ctx, aws, bucket, new_slug):  # noqa: F811
    slug = new_slug("r")
    make_tenant(ctx, slug)
    fill(ctx, slug)
    before = snapshot(ctx, slug)
    archive.archive_tenant(ctx, OPERATOR, slug)
    restored = archive.restore_tenant(ctx, OPERATOR, slug)
    assert restored.template_version == DEFAULT.latest and snapshot(ctx, slug) == before
