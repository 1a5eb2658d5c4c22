"""The last line of defence for a page run: an unexpected exception (a bug; the expected ones are
ControlPlaneError and shown by the pages) reaches the browser only as an error id, unless the app
runs in demo mode on its own embedded catalog (generated data, no host or credential to give
away). The traceback, which can hold SQL, its parameters, hosts and paths, goes to the server log
under that id. A catalog that cannot be reached is always one short sentence and an error id, in
every mode and on every page, signed in or not (docs/security.md "Errors in the browser").
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import streamlit as st

from control_plane.config import Settings
from control_plane.db.connect_errors import is_connection_lost
from control_plane.errors import DatabaseRefused, DatabaseUnavailable

log = logging.getLogger(__name__)

CATALOG_DOWN = ("The catalog database cannot be reached right now, so the Control Plane cannot show this page. "
                "Try again in a minute; whoever runs the app finds the details in the server log under error id {}.")


def details_in_browser(settings: Settings) -> bool:
    """Tracebacks in the browser: only in demo mode on the embedded catalog. With DATABASE_URL
    (even with CP_DEMO=true) a traceback would show a signed-out visitor the catalog's host, port
    and the server's paths."""
    return settings.demo and settings.embedded


def show_error_details(settings: Settings) -> None:
    """Streamlit's own handler (fragments, page files opened by URL) follows the same rule
    (.streamlit/config.toml defaults to "none")."""
    st.set_option("client.showErrorDetails", "full" if details_in_browser(settings) else "none")


def catalog_unreachable(exc: BaseException) -> bool:
    """The catalog (or its connection) is gone: refused, unreachable, or the server went away."""
    return isinstance(exc, DatabaseUnavailable | DatabaseRefused) or is_connection_lost(exc)


def show_catalog_unreachable(exc: BaseException) -> None:
    error_id = secrets.token_hex(4)
    log.error("the catalog database cannot be reached (error id %s)", error_id, exc_info=exc)
    st.error(CATALOG_DOWN.format(error_id), icon=":material/cloud_off:")


@contextmanager
def catalog_or_stop() -> Iterator[None]:
    """Around a page's first catalog reads (the sign-in check): when the catalog cannot be reached,
    the short message and the script stops."""
    try:
        yield
    except Exception as exc:
        if not catalog_unreachable(exc):
            raise
        show_catalog_unreachable(exc)
        st.stop()


def run_guarded(body: Callable[[], None], *, details: bool) -> None:
    try:
        body()
    except Exception as exc:  # st.stop()/st.rerun() are BaseException and pass through
        if catalog_unreachable(exc):
            show_catalog_unreachable(exc)
            return
        if details:
            raise  # demo mode on the embedded catalog shows the full traceback: it helps whoever tries the app
        error_id = secrets.token_hex(4)
        log.error("unexpected error %s while running the page", error_id, exc_info=exc)
        st.error(f"Something went wrong (error id {error_id}). Nothing more is shown here; whoever runs "
                 "the app finds the details in the server log under that id.")
