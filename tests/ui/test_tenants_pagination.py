"""The Tenants page reads one page of 50 from the database (issue 19, 20,000 tenants): the total,
page controls, filters and search applied by the query, hostile search text taken literally, and a
CSV export of every match, not only the page shown."""

from __future__ import annotations

import csv
import io

from control_plane.db.models import Tenant
from control_plane.services import tenant_export
from tests.factories import OPERATOR
from ui.tenant_list import PAGE_SIZE

PAGE = "pages/tenants.py"


def _catalog_rows(ctx, slugs: list[str], **values) -> None:
    """Catalog rows only: the list never looks at the schemas, and 120 provisions would be slow."""
    with ctx.session_factory() as s:
        for slug in slugs:
            fields = {"name": f"{slug.title()} Ltd", "plan_code": "team", "status": "active",
                      "cluster_name": "default", "template_version": 1, **values}
            s.add(Tenant(slug=slug, **fields))
        s.commit()


def _slugs(at) -> list[str]:
    return at.dataframe[0].value["Slug"].tolist()


def test_a_page_at_a_time_with_the_total_and_page_controls(make_app, ctx, new_slug):
    slugs = sorted(new_slug("pg") for _ in range(120))
    _catalog_rows(ctx, slugs)
    at = make_app(PAGE, role="support").run()
    assert not at.exception
    assert _slugs(at) == slugs[:PAGE_SIZE]
    assert any("120 tenants" in c.value and "1–50 shown" in c.value for c in at.caption)
    assert at.button(key="tenant_page_back").disabled
    at.button(key="tenant_page_next").click().run()
    assert _slugs(at) == slugs[50:100]
    assert any("51–100 shown" in c.value for c in at.caption)
    at.number_input(key="tenant_page").set_value(3).run()
    assert _slugs(at) == slugs[100:]
    assert at.button(key="tenant_page_next").disabled and not at.button(key="tenant_page_back").disabled
    at.button(key="tenant_page_back").click().run()
    assert _slugs(at) == slugs[50:100]
    assert at.get("download_button")


def test_filters_and_search_are_applied_by_the_query_and_return_to_page_one(make_app, ctx, new_slug):
    active = sorted(new_slug("fa") for _ in range(60))
    suspended = sorted(new_slug("fs") for _ in range(55))
    _catalog_rows(ctx, active)
    _catalog_rows(ctx, suspended, status="suspended", plan_code="business")
    at = make_app(PAGE, role="founder").run()
    at.button(key="tenant_page_next").click().run()
    assert at.number_input(key="tenant_page").value == 2
    at.selectbox(key="status").select("suspended").run()
    assert at.number_input(key="tenant_page").value == 1
    assert _slugs(at) == suspended[:50]
    assert any("55 tenants match" in c.value for c in at.caption)
    at.button(key="tenant_page_next").click().run()
    assert _slugs(at) == suspended[50:]
    at.selectbox(key="status").set_value(None).run()
    at.selectbox(key="plan").select("team").run()
    assert _slugs(at) == active[:50] and any("60 tenants match" in c.value for c in at.caption)
    at.text_input(key="q").input(active[7]).run()
    assert _slugs(at) == [active[7]] and any("1 tenant match" in c.value for c in at.caption)
    assert at.button(key="tenant_page_next").disabled and at.button(key="tenant_page_back").disabled


def test_hostile_search_text_is_literal(make_app, ctx, new_slug):
    odd, plain_one = new_slug("hs"), new_slug("hs")
    _catalog_rows(ctx, [odd], name="Deal 100%_'\" off")
    _catalog_rows(ctx, [plain_one], name="Ordinary 100 off")
    at = make_app(PAGE, role="support").run()
    for text in ("%_'\"", "%", "'\""):  # the slugs have underscores: "_" alone would match them all
        at.text_input(key="q").input(text).run()
        assert not at.exception, text
        assert _slugs(at) == [odd], text
    for text in ("'; DROP TABLE control_plane.tenants; --", "\\", "%%__", "' OR '1'='1"):
        at.text_input(key="q").input(text).run()
        assert not at.exception, text
        assert not at.dataframe and "No tenant matches" in at.info[0].value, text
    at.text_input(key="q").input("").run()
    assert sorted(_slugs(at)) == sorted([odd, plain_one])


def test_empty_catalog_and_empty_match(make_app, ctx, new_slug):
    at = make_app(PAGE, role="oncall").run()
    assert "No tenants yet" in at.info[0].value
    assert not at.dataframe and not at.button  # no page controls without rows
    _catalog_rows(ctx, [new_slug("em")])
    at = make_app(PAGE, role="oncall").run()
    at.selectbox(key="status").select("archived").run()
    assert "No tenant matches" in at.info[0].value and not at.dataframe


def test_the_csv_holds_every_match_not_only_the_page(ctx, new_slug):
    slugs = sorted(new_slug("cx") for _ in range(70))
    _catalog_rows(ctx, slugs[:-1])
    _catalog_rows(ctx, slugs[-1:], name='=HYPERLINK("http://x","y")', status="suspended")
    rows = list(csv.reader(io.TextIOWrapper(tenant_export.tenants_csv(ctx, OPERATOR), encoding="utf-8")))
    assert rows[0] == list(tenant_export.COLUMNS)
    assert [r[0] for r in rows[1:]] == slugs
    assert rows[-1][1] == "'=HYPERLINK(\"http://x\",\"y\")"  # inert in a spreadsheet
    suspended = list(csv.reader(io.TextIOWrapper(tenant_export.tenants_csv(ctx, OPERATOR, status="suspended"),
                                                 encoding="utf-8")))
    assert [r[0] for r in suspended[1:]] == slugs[-1:]
