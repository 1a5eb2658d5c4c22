"""Headline revenue tiles (Overview and the Revenue page) from one control_plane.revenue.summary
Headline: MRR, ARR, paying customers, ARPA and net new MRR, each with its change against the same
days of the month before (the tile's delta) and of the year before (the line under it). The running
month is labelled month-to-date, with the days it covers and the days it is compared with."""

from __future__ import annotations

import math
from decimal import Decimal

import streamlit as st

from control_plane.revenue.reports import Dashboard
from control_plane.revenue.summary import Figure, Headline
from ui.formatting import compact_money, money

MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
               "November", "December")


def period_caption(head: Headline) -> str:
    """'December 2026, month-to-date: Dec 1–5 vs Nov 1–5 (MoM) and Dec 1–5, 2025 (YoY) …'."""
    p, mom, yoy = head.period, head.month_ago, head.year_ago
    name = f"{MONTH_NAMES[p.month % 12]} {p.month // 12}"
    scope = f" Plans: {', '.join(head.plans)}." if head.plans else ""
    if head.to_date:
        day = f"{p.label().split()[0]} {p.through.day}"
        return (f"**{name}, month-to-date**: {p.label()} vs {mom.label()} (MoM) and {yoy.label(year=True)} (YoY). "
                f"MRR, customers and ARPA as of the end of {day} (UTC); net new MRR since the 1st.{scope}")
    return f"**{name}**, whole month: vs {mom.label()} (MoM) and {yoy.label()} (YoY).{scope}"


def render_figures(head: Headline, *, border: bool = False, columns: int = 5) -> list:
    """MRR, ARR, customers, ARPA, net new in `columns` tiles per row."""
    p, mom = head.period, head.month_ago
    mrr_label = f"MRR, month-to-date ({p.label()})" if head.to_date else f"MRR ({p.month_label})"
    net_label = f"Net new MRR, month-to-date ({p.label()})" if head.to_date else f"Net new MRR ({p.month_label})"
    tiles = [
        (mrr_label, compact_money(head.mrr.now), head.mrr, True, f"Exactly {money(head.mrr.now)}"),
        ("ARR", compact_money(head.arr), head.mrr, "pct", f"12 × MRR = {money(head.arr)}"),
        ("Paying customers", f"{head.customers.now:,}", head.customers, False, None),
        ("ARPA", money(head.arpa.now), head.arpa, True, "MRR ÷ paying customers"),
        (net_label, money(head.net_new.now), head.net_new, "money", "MRR at the end of the period − MRR at the "
                                                                   "end of the month before"),
    ]
    cols = st.columns(columns)
    for i, (label, value, figure, kind, help_text) in enumerate(tiles):
        col = cols[i % columns]
        col.metric(label, value, delta=_delta(figure.mom, figure.mom_pct, kind, f"vs {mom.label()}"),
                   help=help_text, border=border)
        col.caption(_yoy(figure, kind, head))
    return cols


def render_headline(data: Dashboard, head: Headline) -> None:
    """The Revenue page's tiles for the last month of the chosen range (plan filter applied), and
    NRR from the month-end series."""
    st.markdown(period_caption(head))
    cols = render_figures(head, columns=3)
    nrr_tile(cols[2], float(data.monthly.iloc[-1]["nrr_pct"]), head)


def nrr_tile(column, nrr_pct: float, head: Headline) -> None:
    label = "NRR (12 months, to date)" if head.to_date else "NRR (12 months)"
    column.metric(label, "—" if math.isnan(nrr_pct) else f"{nrr_pct:.1f}%",  # NaN: under 12 months of data
                  help="MRR now of the customers paying 12 months earlier ÷ their MRR then (docs/revenue.md)")


def _delta(change: Decimal | int | None, pct: float | None, kind: bool | str, versus: str) -> str | None:
    """'+$1,234.00 (+5.2 %) vs Nov 1–5'; None when there is nothing to compare with."""
    if change is None:
        return None
    if kind == "pct":
        return f"{_signed_pct(pct)} vs {versus.removeprefix('vs ')}" if pct is not None else None
    if kind is False:  # a count
        text = f"{change:+,}"
    else:
        text = ("+" if change >= 0 else "") + money(change)
    if kind is True and pct is not None:
        text += f" ({_signed_pct(pct)})"
    return f"{text} {versus}"


def _yoy(figure: Figure, kind: bool | str, head: Headline) -> str:
    versus = head.year_ago.label(year=True) if head.to_date else head.year_ago.label()
    change = _delta(figure.yoy, figure.yoy_pct, kind, f"vs {versus}")
    return f"YoY {change}" if change else f"YoY: no history in {versus}"


def _signed_pct(pct: float | None) -> str:
    return "–" if pct is None else f"{pct:+.1f} %"
