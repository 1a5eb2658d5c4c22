"""The sign-in page's demo accounts and the move form's demo caption import the demo package only
when they are drawn (the production image has none: tests/integration/test_production_image.py);
drawn in demo mode, they still show what they did."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from control_plane.demo import local_cluster
from control_plane.demo.seed import DEMO_ACCOUNTS


def _demo_accounts_panel() -> None:
    from ui.auth import _render_demo_accounts

    _render_demo_accounts()


def test_the_demo_accounts_panel_lists_every_demo_account():
    at = AppTest.from_function(_demo_accounts_panel, default_timeout=30).run()
    assert not at.exception
    assert [s.value for s in at.subheader] == ["Demo accounts"]
    assert "`demo`" in at.caption[0].value
    shown = at.table[0].value["Username"].tolist()
    assert shown == [name for name, _, _ in DEMO_ACCOUNTS]


def test_the_move_form_names_the_demo_cluster():
    from ui.tenant_move import _demo_cluster_name

    assert _demo_cluster_name() == local_cluster.NAME
