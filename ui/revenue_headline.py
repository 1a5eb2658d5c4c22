"""The Revenue screen's headline tiles for the last month of the chosen range: MRR (with net new
as its change), ARR, paying customers, ARPA and NRR. Tiles are narrow: compact amounts, the exact
ones in the tile's help."""

from __future__ import annotations

import math

import streamlit as st

from control_plane.revenue.reports import Dashboard
from ui.formatting import compact_money, money


def render_headline(data: Dashboard) -> None:
    monthly = data.monthly
    last = monthly.iloc[-1]
    before = monthly.iloc[-2] if len(monthly) > 1 else None
    cols = st.columns(5)
    cols[0].metric(f"MRR ({data.end})", compact_money(last["mrr"]), help=f"Exactly {money(last['mrr'])}",
                   delta=money(last["net_new"]) if before is not None else None)
    cols[1].metric("ARR", compact_money(last["arr"]), help=f"12 × MRR = {money(last['arr'])}")
    cols[2].metric("Paying customers", int(last["customers"]),
                   delta=int(last["customers"] - before["customers"]) if before is not None else None)
    cols[3].metric("ARPA", money(last["arpa"]))
    nrr = last["nrr_pct"]
    cols[4].metric("NRR (12 months)", "—" if math.isnan(nrr) else f"{nrr:.1f}%")  # NaN: under 12 months of data
