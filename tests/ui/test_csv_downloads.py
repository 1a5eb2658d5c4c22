"""Every CSV download of the app is formula-safe (docs/security.md "Untrusted input"): a tenant named
`=HYPERLINK(...)`, an owner e-mail, a reason, a display name, or a user name typed at the sign-in
form (the audit log records it) come out behind a `'`; amounts stay numbers, negative ones too."""

from __future__ import annotations

import csv
import io
import time
from decimal import Decimal

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

from control_plane.auth.permissions import Actor, Role
from control_plane.errors import ControlPlaneError
from control_plane.revenue import importer
from control_plane.services import tenants, users
from tests.factories import make_tenant

PASSWORD = "long-enough-password-1"
LINK = '=HYPERLINK("http://127.0.0.1:9/x","click")'
SUM = "@SUM(1+1)"
TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


@pytest.fixture
def downloads(monkeypatch) -> dict[str, str]:
    """file name -> text of every file a download button of the run handed to Streamlit, or would
    hand it when clicked."""
    seen: dict[str, str] = {}
    original = MemoryMediaFileStorage.load_and_get_id

    def spy(self, path_or_data, mimetype, kind, filename=None):
        if isinstance(path_or_data, bytes) and filename:
            seen[filename] = path_or_data.decode()
        return original(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", spy)
    deferred = MediaFileManager.add_deferred

    def clicked(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        """A file built on the click (the Tenants page's whole-fleet CSV): built here, as a click would."""
        if file_name:
            data = data_callable()
            data = data.read() if hasattr(data, "read") else data
            seen[file_name] = data.decode() if isinstance(data, bytes) else data
        return deferred(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", clicked)
    return seen


def signed_in(make_app, ctx, script: str, role: str) -> AppTest:
    at = make_app(script)
    name = f"{role}-exporter"
    users.add_user(ctx, Actor("test", Role.ADMIN), name, role, PASSWORD)
    at.session_state["cp_auth"] = {"username": name, "role": role, "at": time.time()}
    return at


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def assert_no_formula(text: str) -> None:
    """No cell starts a formula, unless it is a plain number."""
    for row in csv.reader(io.StringIO(text)):
        for cell in row:
            if cell.startswith(TRIGGERS):
                Decimal(cell)  # raises for anything but a number


def test_tenant_list_and_tenant_audit_trail(make_app, ctx, new_slug, admin, downloads):
    slug = new_slug("csv")
    make_tenant(ctx, slug, name=LINK, owner_email="=cmd@evil.example")
    tenants.suspend(ctx, admin, slug, "-2+3 " + SUM)
    at = signed_in(make_app, ctx, "pages/tenants.py", "founder").run()
    assert not at.exception, at.exception
    [row] = [r for r in rows(downloads["tenants.csv"]) if r["slug"] == slug]
    assert (row["name"], row["owner_email"], row["status_reason"]) == ("'" + LINK, "'=cmd@evil.example",
                                                                     "'-2+3 " + SUM)
    assert_no_formula(downloads["tenants.csv"])

    at.query_params["tenant"] = slug
    at.run()
    trail = rows(downloads[f"audit_{slug}.csv"])
    assert "'-2+3 " + SUM in [r["reason"] for r in trail]
    assert_no_formula(downloads[f"audit_{slug}.csv"])


def test_audit_log_with_a_user_name_typed_at_sign_in(make_app, ctx, downloads):
    try:
        users.authenticate(ctx, SUM, "not-the-password-at-all")
    except ControlPlaneError:
        pass  # refused either way; what matters is the audit entry it wrote
    at = signed_in(make_app, ctx, "pages/audit.py", "admin").run()
    assert not at.exception, at.exception
    text = downloads["audit_log.csv"]
    assert "'" + SUM in [r["actor"] for r in rows(text)]
    assert_no_formula(text)


def test_users_list(make_app, ctx, downloads):
    users.add_user(ctx, Actor("test", Role.ADMIN), "formula-user", "support", PASSWORD, display_name=LINK,
                   email="+1@evil.example")
    at = signed_in(make_app, ctx, "pages/users.py", "admin").run()
    assert not at.exception, at.exception
    [row] = [r for r in rows(downloads["users.csv"]) if r["username"] == "formula-user"]
    assert (row["display_name"], row["email"]) == ("'" + LINK, "'+1@evil.example")
    assert_no_formula(downloads["users.csv"])


def test_revenue_tables_quote_names_and_keep_negative_amounts_numeric(make_app, ctx, admin, tmp_path, downloads):
    path = tmp_path / "ledger.csv"
    path.write_text("tenant,effective_date,plan,interval,price,seats,discount_percent,status\n"
                    f'"{LINK.replace(chr(34), chr(34) * 2)}",2025-01-10,team,month,40,3,0,active\n'
                    f'"{LINK.replace(chr(34), chr(34) * 2)}",2025-02-10,team,month,40,1,0,active\n'
                    "=1+1,2025-01-05,team,month,10,1,0,active\n"
                    "=1+1,2025-02-05,team,month,10,1,0,canceled\n")
    importer.import_file(ctx, admin, path)
    at = signed_in(make_app, ctx, "streamlit_app.py", "founder").run()
    at = at.switch_page("pages/revenue.py").run()
    at.select_slider(key="rev_range").set_range("2025-01", "2025-02").run()
    for tab in ("Top movers", "Monthly table"):
        at.session_state["rev_tab"] = tab
        at.run()
        assert not at.exception, at.exception
    movers = rows(downloads["movers-2025-02.csv"])
    assert {r["tenant"] for r in movers} == {"'" + LINK, "'=1+1"}
    assert {r["tenant"]: r["change"] for r in movers} == {"'" + LINK: "-80.00", "'=1+1": "-10.00"}
    monthly = rows(downloads["revenue-2025-01-2025-02.csv"])
    assert [(r["month"], r["contraction"], r["churn"]) for r in monthly][-1] == ("2025-02", "-80.00", "-10.00")
    for name in ("movers-2025-02.csv", "revenue-2025-01-2025-02.csv", "tenants-by-mrr-2025-02.csv"):
        assert_no_formula(downloads[name])
