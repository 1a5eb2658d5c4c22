"""A catalog that cannot be reached shows one short sentence, never a traceback, a host, a port or a
path (docs/security.md "Errors in the browser"): at start and after it, on the entry point and on
every page file opened by URL, signed out or signed in, even with CP_DEMO=true and DATABASE_URL set.
The catalog is a loopback port bound with nothing listening: every connection is refused."""

from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from control_plane.config import Settings
from control_plane.db.engine import make_engine, make_session_factory

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ["streamlit_app.py", *sorted(f"pages/{p.name}" for p in (ROOT / "pages").glob("*.py"))]
PASSWORD = "hunter2-catalog-pw"


@pytest.fixture
def dead_port():
    """A loopback port that refuses every connection (bound, never listening)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.fixture
def fresh_context():
    """app_context() is cached per process: start from nothing, and leave nothing behind."""
    import streamlit as st

    from ui.context import app_context

    app_context.clear()
    st.cache_data.clear()
    yield
    app_context.clear()


def shown(at: AppTest) -> str:
    """Everything the browser was sent, as text."""
    parts: list[str] = []

    def walk(node) -> None:
        if getattr(node, "proto", None) is not None:
            parts.append(str(node.proto))
        for child in getattr(node, "children", {}).values():
            walk(child)

    walk(at._tree)
    return "\n".join(parts)


def assert_short_error(at: AppTest, port: int, caplog) -> None:
    text = shown(at)
    assert not at.exception, at.exception
    assert "The catalog database cannot be reached right now" in text
    for leak in ("127.0.0.1", str(port), PASSWORD, "Traceback", "psycopg", "sqlalchemy", str(ROOT), ".py"):
        assert leak not in text, (leak, text)
    assert any("cannot be reached" in r.getMessage() for r in caplog.records if r.name == "ui.errors")
    caplog.clear()  # logged on purpose: the server log has the details (tests/ui/conftest.py)


def test_demo_mode_with_database_url_never_shows_tracebacks_in_the_browser():
    from ui.errors import details_in_browser

    demo_url = Settings.from_env({"DATABASE_URL": "postgresql://u@127.0.0.1/cp", "CP_DEMO": "true"})
    assert demo_url.demo and not details_in_browser(demo_url)
    assert details_in_browser(Settings.from_env({}))  # demo on the embedded catalog: generated data only


@pytest.mark.parametrize("script", SCRIPTS)
def test_a_catalog_down_at_start_is_one_short_sentence(monkeypatch, dead_port, fresh_context, caplog, script):
    monkeypatch.setenv("DATABASE_URL", f"postgresql://cp:{PASSWORD}@127.0.0.1:{dead_port}/catalog")
    monkeypatch.setenv("CP_DEMO", "true")
    monkeypatch.setenv("CP_DATABASE_WAIT_SECONDS", "0.3")
    at = AppTest.from_file(str(ROOT / script), default_timeout=30).run()
    assert_short_error(at, dead_port, caplog)
    assert [t.value for t in at.title] == ["Control Plane cannot start"]


@pytest.mark.parametrize("signed_in", [False, True])
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_catalog_lost_after_start_is_one_short_sentence(monkeypatch, ctx, dead_port, fresh_context, caplog,
                                                          script, signed_in):
    """The app started; then the catalog went away (the context's engine now reaches a dead port)."""
    url = f"postgresql+psycopg://cp:{PASSWORD}@127.0.0.1:{dead_port}/catalog"
    engine = make_engine(url)
    lost = dataclasses.replace(ctx, settings=dataclasses.replace(ctx.settings, demo=True, database_url=url),
                               engine=engine, session_factory=make_session_factory(engine), catalog_url=url)
    monkeypatch.setattr("control_plane.runtime.start_runtime", lambda: lost)
    at = AppTest.from_file(str(ROOT / script), default_timeout=30)
    if signed_in:
        at.session_state["cp_auth"] = {"username": "admin-user", "role": "admin", "at": 4e9}
    at.run()
    assert_short_error(at, dead_port, caplog)
    engine.dispose()
