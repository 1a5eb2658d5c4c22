"""`uptime inbox` and `uptime handle` (docs/runbook.md "Command line"): the inbox at --at in each
format, and one action on an incident through the audited service."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

from sqlalchemy import select

from control_plane.db.models import AuditEntry, Incident
from control_plane.services import users
from tests.integration.test_oncall_inbox import NOW, OPERATOR, fleet, healthy, load, tenants


def test_inbox_formats_and_all_clear(cli, ctx, new_slug):
    [slug] = tenants(ctx, new_slug, 1)
    load(ctx, healthy(slug))
    code, out, err = cli("uptime", "inbox", "--at", NOW.isoformat(), "--format", "json")
    assert code == 0, err
    assert json.loads(out) == {"at": NOW.isoformat(), "all_clear": True, "items": [], "counts": {
        "open_incidents": 0, "alerts_critical": 0, "alerts_warning": 0, "targets_down": 0,
        "tenants_out_of_budget": 0}}
    code, out, err = cli("uptime", "inbox", "--at", NOW.isoformat())
    assert code == 0 and out.strip() == "(none)" and err.startswith("all clear at ")

    slugs = fleet(ctx, new_slug, 0)
    code, out, err = cli("uptime", "inbox", "--at", NOW.isoformat(), "--format", "json")
    found = json.loads(out)
    assert found["all_clear"] is False
    assert found["counts"] == {"open_incidents": 1, "alerts_critical": 1, "alerts_warning": 1, "targets_down": 1,
                               "tenants_out_of_budget": 4}
    incident = next(i for i in found["items"] if i["kind"] == "incident")
    assert incident["tenant"] == slugs["down"] and incident["runbook"] == "docs/runbook.md#target-down"
    assert incident["since"] == (NOW - timedelta(minutes=4)).isoformat()

    code, out, err = cli("uptime", "inbox", "--at", NOW.isoformat(), "--format", "csv")
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 8 and rows[0]["kind"] == "incident" and "needs attention" not in out
    code, out, err = cli("uptime", "inbox", "--at", NOW.isoformat(), "--format", "table")
    assert code == 0 and err.startswith("needs attention at ") and "open_incidents 1" in err
    assert "docs/runbook.md#fast-burn" in out


def test_handle_an_incident(cli, ctx, new_slug):
    fleet(ctx, new_slug, 0)
    with ctx.session_factory() as session:
        incident_id = session.scalar(select(Incident.id))
    users.add_user(ctx, OPERATOR, "pager-pat", "oncall", "pw-long-enough-1234")
    code, out, err = cli("uptime", "handle", "incident", str(incident_id), "ack", "--actor", "sam",
                         "--note", "<b>looking</b> [here](http://x)")
    assert code == 0, err
    assert json.loads(out)["acknowledged_by"] == "cli:sam"
    code, out, err = cli("uptime", "handle", "incident", str(incident_id), "assign", "--to", "pager-pat")
    assert code == 0 and json.loads(out)["assigned_to"] == "pager-pat"
    code, _, err = cli("uptime", "handle", "incident", str(incident_id), "assign")
    assert code != 0 and err.startswith("error: assign needs --to")
    code, _, err = cli("uptime", "handle", "incident", "999999", "resolve")
    assert code != 0 and "No incident #999999" in err
    code, out, err = cli("uptime", "handle", "incident", str(incident_id), "resolve", "--actor", "sam")
    assert code == 0 and json.loads(out)["closed_by"] == "cli:sam"
    code, out, _ = cli("uptime", "inbox", "--at", NOW.isoformat(), "--format", "json")
    assert json.loads(out)["counts"]["open_incidents"] == 0
    with ctx.session_factory() as session:
        assert session.get(Incident, incident_id).note == "<b>looking</b> [here](http://x)"  # stored as typed
        actions = set(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == "cli:sam")))
    assert {"incident.acknowledge", "incident.resolve"} <= actions
