"""st.fragment with the page guard inside it.

A fragment reruns on its own (typing in a search box, `run_every` ticks) without the page script,
so the page_guard at the top of the page never sees those runs: an account disabled, demoted or
whose session expired would go on being served data. Every fragment of the app is declared with
`guarded_fragment(permission)`, which re-validates the signed-in user against the catalog on every
run and hands the body that fresh actor (its current role), never the one captured when the page
first ran (docs/security.md "Page guard").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from control_plane.auth.permissions import Permission
from ui.auth import current_actor, render_signed_out
from ui.errors import catalog_or_stop


def guarded_fragment(permission: Permission, *, run_every: float | timedelta | str | None = None
                     ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate `body(*args, actor, **kwargs)`; call it without `actor`."""
    def decorate(body: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(body)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            with catalog_or_stop():
                actor = current_actor()  # reads the account again: disabled/removed/expired -> None
            if actor is None or not actor.can(permission):
                _signed_out()
            return body(*args, actor=actor, **kwargs)

        return st.fragment(guarded, run_every=run_every)

    return decorate


def _signed_out() -> None:
    run = get_script_run_ctx()
    if run is not None and run.fragment_ids_this_run:
        # A fragment-only run: rerun the whole page, whose page_guard then shows the sign-in page
        # (with the reason current_actor recorded) in place of everything the page had drawn.
        st.rerun(scope="app")
    render_signed_out()  # a full run (the page guard passed a moment ago): stop right here
    st.stop()
