"""Typed text shown as text (ui/text.py) and formula-safe CSV cells (control_plane/csv_safety.py):
the helpers every page, download and `--format csv` go through (docs/security.md "Untrusted input")."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from control_plane import csv_safety
from ui.text import JOINER, chart_text, plain

ROOT = Path(__file__).resolve().parents[2]
# CommonMark with raw HTML, GFM tables/strikethrough and bare-URL linkification: the most a
# renderer could make of the text.
MARKDOWN = MarkdownIt("gfm-like")

HOSTILE = [
    "![x](http://127.0.0.1:9/pixel)",
    "[link](http://127.0.0.1:9/l)",
    '<img src="http://127.0.0.1:9/i" onerror="alert(1)">',
    "<a href='http://evil.example'>x</a>",
    "http://evil.example/a www.evil.example mail@evil.example",
    "[ref]: http://evil.example\n\n[ref]",
    ":red[alert] :material/warning: :smile:",
    "$x^2$ **bold** _it_ ~~s~~ `code`",
    "# heading\n- item\n1. item\n> quote\n| a | b |\n|---|---|",
    "&lt;img src=x&gt; &#x3C;b&#x3E;",
    "back\\slash\\[not a link\\](x)",
]


def tokens(text: str):
    stack = list(MARKDOWN.parse(text))
    while stack:
        token = stack.pop()
        yield token
        stack.extend(token.children or [])


def rendered_text(text: str) -> str:
    # an indented line is a code block: still the literal text, only in a box
    return "".join(t.content for t in tokens(text) if t.type in ("text", "softbreak", "code_inline", "code_block"))


# What Streamlit's renderer does to the parsed text afterwards, where escapes no longer count (GFM
# autolink literals as mdast-util-gfm-autolink-literal finds them; emoji and icon shortcodes).
REWRITES = [re.compile(r"(https?://|www(?=\.))[-.\w]+", re.IGNORECASE | re.ASCII),
            re.compile(r"[-.\w+]+@[-\w]+(?:\.[-\w]+)+", re.ASCII),
            re.compile(r":[-+\w/]+:", re.ASCII)]


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_renders_as_the_literal_text(text):
    escaped = plain(text)
    kinds = {t.type for t in tokens(escaped)}
    assert not kinds & {"link_open", "image", "html_inline", "html_block", "code_inline", "strong_open",
                        "em_open", "s_open", "heading_open", "bullet_list_open", "ordered_list_open",
                        "blockquote_open", "table_open"}, kinds
    shown = rendered_text(escaped)
    for line in text.splitlines():
        assert line.strip() in shown.replace(JOINER, "")
    assert not any(rewrite.search(shown) for rewrite in REWRITES), shown


@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x0b\x0c"
                                     "\x1c\x1d\x1e\x85\u2028\u2029")))
def test_any_single_line_renders_exactly_as_typed(text):
    escaped = plain(text)
    kinds = {t.type for t in tokens(escaped)}
    assert not kinds & {"link_open", "image", "html_inline", "html_block"}
    shown = rendered_text(escaped)
    assert not any(rewrite.search(shown) for rewrite in REWRITES), shown
    if "\x00" not in text:  # CommonMark turns NUL into U+FFFD; services refuse NUL anyway
        assert shown.replace(JOINER, "").strip() == text.replace(JOINER, "").strip()


def test_plain_leaves_words_alone_and_handles_none():
    assert plain("Acme Analytics 42") == "Acme Analytics 42"
    assert plain(None) == ""
    assert plain("a_b") == r"a\_b"
    assert plain("ops@x.io") == "ops" + JOINER + r"\@x\.io"  # displayed as typed, never a mailto link


def test_chart_text_shows_tags_as_typed():
    assert chart_text("<a href='x'>y</a> & <b>") == "&lt;a href='x'&gt;y&lt;/a&gt; &amp; &lt;b&gt;"


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "+1+1", "-2+3", "-", "=",
                                   "\t=1", "\r=1", "\n=1", "\uff1d1+1", "-cmd|' /C calc'!A0"])
def test_formula_starts_get_a_quote(value):
    assert csv_safety.cell(value) == "'" + value


@pytest.mark.parametrize("value", ["Acme", "", "'=already quoted", " =x", "-120.00", "+5", "-1e3", ".5",
                                   Decimal("-120.00"), -120, -1.5, None, True])
def test_text_and_numbers_that_cannot_run_are_unchanged(value):
    assert csv_safety.cell(value) == value if value is not None else csv_safety.cell(value) is None


def test_frame_neutralises_text_cells_and_keeps_numeric_columns_numeric():
    frame = pd.DataFrame({
        "name": ['=HYPERLINK("http://x","y")', "Fine Ltd", None],
        "actor": pd.Series(["@SUM(1+1)", "alice", "bob"], dtype="string"),
        "change": [Decimal("-120.00"), Decimal("30.50"), Decimal("0.00")],
        "count": [-3, 4, 5],
        "rate": [-0.5, 1.0, float("nan")],
        "at": pd.to_datetime(["2025-01-01T00:00:00Z"] * 3),
        "plan": pd.Categorical(["-team", "team", "team"]),
    })
    rows = list(csv.DictReader(io.StringIO(csv_safety.frame_to_csv(frame).decode())))
    assert rows[0]["name"] == '\'=HYPERLINK("http://x","y")'
    assert rows[0]["actor"] == "'@SUM(1+1)"
    assert rows[0]["plan"] == "'-team"
    assert [r["change"] for r in rows] == ["-120.00", "30.50", "0.00"]
    assert [r["count"] for r in rows] == ["-3", "4", "5"]
    assert rows[0]["rate"] == "-0.5" and rows[2]["rate"] == ""
    assert rows[1]["name"] == "Fine Ltd" and rows[2]["name"] == ""
    assert frame.loc[0, "name"].startswith("=")  # the caller's frame is not changed


def test_every_download_and_csv_writer_goes_through_the_safe_path():
    """A new st.download_button or DataFrame.to_csv in pages/ or ui/ would bypass csv_safety."""
    offenders = []
    for path in [*ROOT.glob("pages/*.py"), *ROOT.glob("ui/*.py"), ROOT / "streamlit_app.py"]:
        text = path.read_text()
        if path.name != "feedback.py" and re.search(r"\bdownload_button\(|\.to_csv\(", text):
            offenders.append(path.name)
    for path in ROOT.glob("control_plane/**/*.py"):  # the CLI's writers pass every cell through csv_safety
        text = path.read_text()
        if path.name != "csv_safety.py" and re.search(r"\.to_csv\(|csv\.(DictWriter|writer)\(", text) \
                and "csv_safety" not in text:
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_chart_text_reaches_plotly_as_typed():
    """Plotly reads `<a href>` in titles, ticks and hover text: names and errors go in escaped."""
    from ui.aws_charts import capacity_figure
    from ui.text import chart_frame

    link = "<a href='http://127.0.0.1:9/x'>click</a>"
    frame = chart_frame(pd.DataFrame({"target": [link, None], "latency_ms": [1.5, 2.0]}), "target", "absent")
    assert frame["target"].iloc[0] == chart_text(link) and frame["target"].isna().iloc[1]
    assert frame["latency_ms"].tolist() == [1.5, 2.0]
    decisions = pd.DataFrame({
        "at": pd.to_datetime(["2025-01-01T00:00:00Z"]), "action": ["error"], "outcome": ["error"],
        "reason": [link], "error": [f"AccessDenied for {link}"], "new_max_acu": [None], "current_max_acu": [4.0]})
    figure = capacity_figure(pd.DataFrame(columns=["at", "capacity_acu", "utilisation_pct"]), decisions,
                             up_pct=80, down_pct=30)
    hover = "".join(t.hovertext[0] for t in figure.data if t.hovertext is not None)
    assert "<a " not in hover and chart_text(link) in hover


# A plan, tenant, cluster, target or job name as a hostile admin (or a billing import) could type it.
NAME = "<a href='http://127.0.0.1:9/x'>x</a> <b>bold</b>"
# Every module that builds a Plotly figure: a new one must be added here (and to the builders below).
CHART_MODULES = {"control_plane/revenue/charts.py", "ui/aws_charts.py", "ui/cluster_load.py",
                 "ui/migration_tables.py", "ui/uptime_charts.py", "ui/job_charts.py"}


def _strings(value):
    """Every string anywhere in a figure's JSON: trace names (legend), x/y categories, text, hover,
    custom data, titles, annotations, tick labels."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple) or hasattr(value, "tolist"):
        for item in (value.tolist() if hasattr(value, "tolist") else value):
            yield from _strings(item)


def _figures():
    """Each chart builder fed NAME in every text column it draws."""
    from control_plane.revenue import charts as revenue
    from ui import aws_charts, cluster_load, job_charts, migration_tables, uptime_charts

    months = [NAME, "2025-02"]
    numbers = [1.0, 2.0]
    monthly = pd.DataFrame({"month": months, **{c: numbers for c in (
        "mrr", "arr", "net_new", "customers", "new", "reactivation", "expansion", "contraction", "churn", "arpa",
        "logo_churn_pct", "gross_revenue_churn_pct", "net_revenue_churn_pct", "nrr_pct", "grr_pct")}})
    by_plan = pd.DataFrame({"plan": [NAME, "team"], "month": months, "mrr": [Decimal("10.00"), Decimal("5.00")]})
    cohorts = pd.DataFrame({"cohort": [NAME, NAME], "age": [0, 1], "revenue_retention_pct": [100.0, 90.0],
                            "logo_retention_pct": [100.0, 80.0], "cohort_customers": [3, 3]})
    at = pd.to_datetime(["2025-01-01T00:00:00Z", "2025-01-01T01:00:00Z"])
    yield "revenue.mrr_trend", revenue.mrr_trend(monthly)
    yield "revenue.movements", revenue.movements(monthly)
    yield "revenue.customers_arpa", revenue.customers_arpa(monthly)
    yield "revenue.churn_rates", revenue.churn_rates(monthly)
    yield "revenue.retention", revenue.retention(monthly)
    yield "revenue.cohort_heatmap", revenue.cohort_heatmap(cohorts, "revenue_retention_pct")
    yield "revenue.plan_mix", revenue.plan_mix(by_plan)
    decisions = pd.DataFrame({"at": at, "action": ["scale_up", "error"], "outcome": ["applied", NAME],
                              "reason": [NAME, NAME], "error": [None, NAME], "new_max_acu": [8.0, None],
                              "current_max_acu": [4.0, 4.0]})
    history = pd.DataFrame({"at": at, "capacity_acu": numbers, "utilisation_pct": numbers})
    yield "aws_charts.capacity_figure", aws_charts.capacity_figure(history, decisions, up_pct=80, down_pct=30)
    yield "aws_charts.usage_figure", aws_charts.usage_figure(pd.DataFrame({"day": at, "rows": numbers}), "rows",
                                                             NAME)
    yield "cluster_load.figure", cluster_load.figure(pd.DataFrame({
        "cluster": [NAME, "b"], "tenants": [1, 2], "storage_bytes": [1e9, 2e9], "requests_7d": [5, 6]}))
    yield "migration_tables.versions_chart", migration_tables.versions_chart(
        [{"version": 1, "status": NAME, "tenants": 3}, {"version": 2, "status": "current", "tenants": 1}])
    yield "uptime_charts.slowest_targets", uptime_charts.slowest_targets(pd.DataFrame({
        "target": [NAME, "b"], "p95_latency_ms": [300.0, 20.0], "within_slo": [False, True]}), 200)
    yield "uptime_charts.incident_timeline", uptime_charts.incident_timeline(pd.DataFrame({
        "target": [NAME, "b"], "status": [NAME, "resolved"], "opened_at": at, "resolved_at": [None, at[1]],
        "duration_min": numbers, "failed_checks": [3, 4], "last_error": [NAME, "timeout"]}), now=at[1])
    yield "uptime_charts.check_history", uptime_charts.check_history(NAME, pd.DataFrame({
        "at": at, "latency_ms": numbers, "uptime_pct": [100.0, 0.0], "error": [None, NAME]}))
    yield "job_charts.run_durations", job_charts.run_durations(pd.DataFrame({
        "job_id": [NAME, "reconcile"], "status": [NAME, "ok"], "summary": [NAME, "done"], "error": [NAME, None],
        "started_at": at, "seconds": numbers}))


def test_every_chart_builder_shows_names_as_typed():
    """A plan named `<a href=…>` once drew a live link in the Revenue page's legend: no text from
    the data reaches any figure (legend, categories, ticks, hover, titles) as markup."""
    shown_escaped = chart_text("<b>bold</b>")
    for name, figure in _figures():
        strings = list(_strings(figure.to_plotly_json()))
        markup = [s for s in strings if re.search(r"<a\b|<b>", s, re.IGNORECASE)]
        assert markup == [], (name, markup)
        assert any(shown_escaped in s for s in strings), name  # the name is there, as text


def test_every_module_drawing_plotly_is_covered():
    drawing = {str(p.relative_to(ROOT)) for folder in ("control_plane", "ui", "pages")
               for p in (ROOT / folder).rglob("*.py")
               if re.search(r"^\s*(import|from) plotly\b", p.read_text(), re.MULTILINE)}
    drawing |= {"streamlit_app.py"} if "plotly" in (ROOT / "streamlit_app.py").read_text() else set()
    assert drawing == CHART_MODULES
