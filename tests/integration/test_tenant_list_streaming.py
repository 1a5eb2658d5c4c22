"""`tenants list` written as the rows come (issue 19, 20,000 tenants): the output is byte for byte
what the whole list rendered at once gave, in every format and through both read paths, and the
rows come from a server-side cursor, a batch at a time."""

from __future__ import annotations

import contextlib
import io

import psycopg
import pytest

from control_plane.adapters import tenant_reads as reads_adapter
from control_plane.cli import tenants as tenants_cli
from control_plane.cli.common import emit
from control_plane.core.records import record
from control_plane.services import tenant_reads
from control_plane.services import tenants as service
from tests.factories import OPERATOR, make_tenant

HOSTILE = ['=HYPERLINK("http://x","y")', 'Quote "me", then, comma', "Ünïcødé — ünïcode", "-42", "plain"]


def _all_at_once(ctx, fmt: str, **filters) -> str:
    """What `tenants list` wrote before it streamed: the whole list through emit()."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        emit([record(t) for t in service.list_tenants(ctx, OPERATOR, **filters)], fmt, tenants_cli.LIST_COLUMNS)
    return out.getvalue()


@pytest.mark.parametrize("fmt", ["json", "csv", "table"])
def test_streamed_output_is_what_the_whole_list_gave(cli, ctx, new_slug, monkeypatch, fmt):
    monkeypatch.setattr(reads_adapter, "STREAM_BATCH", 2)  # several batches out of five tenants
    for name in HOSTILE:
        make_tenant(ctx, new_slug("ls"), name=name)
    code, out, err = cli("tenants", "list", "--format", fmt)
    assert code == 0, err
    assert out == _all_at_once(ctx, fmt)
    code, out, _ = cli("tenants", "list", "--search", "quote", "--format", fmt)
    assert code == 0 and out == _all_at_once(ctx, fmt, search="quote")
    code, out, _ = cli("tenants", "list", "--status", "suspended", "--format", fmt)
    assert code == 0 and out == _all_at_once(ctx, fmt, status="suspended")
    assert out in ("[]\n", ",".join(tenants_cli.LIST_COLUMNS) + "\n", "(none)\n")


def test_the_service_path_streams_the_same(cli, ctx, new_slug, monkeypatch):
    """Without the fast read path (a catalog not at head, say) the service answers, the same bytes."""
    monkeypatch.setattr(tenants_cli, "read_connection", lambda who, permission: None)
    for name in HOSTILE[:3]:
        make_tenant(ctx, new_slug("ls"), name=name)
    for fmt in ("json", "csv"):
        code, out, err = cli("tenants", "list", "--format", fmt)
        assert code == 0, err
        assert out == _all_at_once(ctx, fmt)


def test_rows_come_from_a_server_side_cursor(ctx, new_slug, monkeypatch):
    monkeypatch.setattr(reads_adapter, "STREAM_BATCH", 2)
    slugs = sorted(new_slug("ls") for _ in range(5))
    for slug in slugs:
        make_tenant(ctx, slug)
    with psycopg.connect(ctx.clusters.catalog_url, autocommit=True) as conn:
        rows = tenant_reads.stream_tenants(conn, tenant_reads.filters())
        first = next(rows)
        open_cursors = [r[0] for r in conn.execute("SELECT name FROM pg_catalog.pg_cursors")]
        assert open_cursors == ["tenant_list"]
        assert [first.slug, *(t.slug for t in rows)] == slugs
        assert conn.execute("SELECT count(*) FROM pg_catalog.pg_cursors").fetchone()[0] == 0
