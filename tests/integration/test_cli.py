"""The CLI contract: exit codes, one line on stderr for expected errors, formats, audit actor."""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import select

from control_plane.db.models import AuditEntry, Tenant

ROOT = Path(__file__).resolve().parents[2]


def run_process(database_url: str, *argv: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "control_plane", *argv], capture_output=True, text=True,
                          env=env, cwd=ROOT, input=stdin, timeout=120, check=False)


def test_provision_show_list_in_every_format(cli, new_slug):
    slug = new_slug()
    code, out, err = cli("tenants", "provision", slug, "--name", "Acme Corp", "--plan", "team", "--format", "json",
                         "--actor", "alice")
    assert code == 0, err
    shown = json.loads(out)
    for key in ("slug", "name", "status", "plan", "schema", "role", "cluster", "created_at"):
        assert key in shown
    assert (shown["slug"], shown["status"], shown["schema"]) == (slug, "active", f"tenant_{slug}")

    code, out, _ = cli("tenants", "show", slug, "--format", "json")
    assert code == 0 and json.loads(out)["name"] == "Acme Corp"
    code, out, _ = cli("tenants", "list", "--format", "json")
    assert [t["slug"] for t in json.loads(out)] == [slug]
    code, out, _ = cli("tenants", "list", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert rows[0]["slug"] == slug and rows[0]["plan"] == "team"
    code, out, _ = cli("tenants", "list", "--status", "suspended", "--format", "table")
    assert code == 0 and out.strip() == "(none)"


def test_mutations_record_the_actor(cli, ctx, new_slug):
    slug = new_slug()
    assert cli("tenants", "provision", slug, "--name", "A", "--plan", "free", "--actor", "alice")[0] == 0
    assert cli("tenants", "suspend", slug, "--reason", "chargeback", "--actor", "bob")[0] == 0
    assert cli("tenants", "resume", slug, "--actor", "carol")[0] == 0
    assert cli("tenants", "set-plan", slug, "team", "--actor", "dave")[0] == 0
    _, out, _ = cli("tenants", "show", slug, "--format", "json")
    assert json.loads(out)["plan"] == "team" and json.loads(out)["status"] == "active"
    with ctx.session_factory() as s:
        actors = {(a.action, a.actor) for a in s.scalars(select(AuditEntry).where(AuditEntry.tenant_slug == slug))}
    assert {("tenant.provision", "cli:alice"), ("tenant.suspend", "cli:bob"), ("tenant.resume", "cli:carol"),
            ("tenant.set_plan", "cli:dave")} <= actors


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["tenants", "provision", "Bad-Slug", "--name", "X", "--plan", "team"], 2, "Invalid slug"),
    (["tenants", "provision", "public", "--name", "X", "--plan", "team"], 2, "reserved"),
    (["tenants", "provision", "{slug}", "--name", "X", "--plan", "gold"], 2, "Unknown plan 'gold'"),
    (["tenants", "show", "{slug}"], 3, "No tenant"),
    (["tenants", "suspend", "{slug}", "--reason", "x"], 3, "No tenant"),
    (["tenants", "list", "--status", "zombie"], 2, "Unknown status"),
    (["tenants", "provision", "{slug}"], 2, "required"),
    (["tenants", "frobnicate"], 2, "invalid choice"),
])
def test_bad_input_is_one_line_and_non_zero(cli, new_slug, argv, code, message):
    slug = new_slug()
    got, _, err = cli(*[a.format(slug=slug) for a in argv])
    assert got == code
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_argparse_errors_are_one_line_in_a_real_process(database_url):
    result = run_process(database_url, "tenants", "provision", "acme")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "required" in result.stderr


def test_duplicate_in_a_real_process(ctx, database_url, new_slug):
    slug = new_slug()
    first = run_process(database_url, "tenants", "provision", slug, "--name", "A", "--plan", "team")
    assert first.returncode == 0, first.stderr
    again = run_process(database_url, "tenants", "provision", slug, "--name", "A", "--plan", "team")
    assert again.returncode == 4 and again.stderr.strip() == f"error: Tenant {slug!r} already exists (status active)."


def test_db_upgrade_is_idempotent(cli):
    for _ in range(2):
        code, out, _ = cli("db", "upgrade")
        assert code == 0 and out.startswith("catalog at revision ")


def test_provision_many_reports_every_row_and_continues_past_bad_ones(cli, tmp_path, new_slug):
    good = [new_slug() for _ in range(5)]
    path = tmp_path / "tenants.csv"
    path.write_text(
        "slug,name,plan\n"
        f"{good[0]},Good Zero,team\n"
        "Bad-Slug,Broken,team\n"
        f"{good[1]},Good One,starter\n"
        f"{good[2]},Unknown Plan,platinum\n"
        f"{good[3]},Good Three,free\n"
        f"{good[0]},Duplicate,team\n"
        f"{good[4]},,team\n"
    )
    code, out, err = cli("tenants", "provision-many", str(path), "--format", "json")
    assert code == 1
    results = {(r["line"], r["result"]) for r in json.loads(out)}
    assert results == {("2", "ok"), ("3", "error"), ("4", "ok"), ("5", "error"), ("6", "ok"), ("7", "error"),
                       ("8", "error")}
    assert "3 provisioned, 0 already existed, 4 failed" in err and "provisioning: 7/7 (100%)" in err
    _, out, _ = cli("tenants", "list", "--format", "json")
    assert sorted(t["slug"] for t in json.loads(out)) == sorted([good[0], good[1], good[3]])


def test_provision_many_rerun_counts_rows_that_exist_as_asked(cli, tmp_path, new_slug):
    slugs = [new_slug() for _ in range(3)]
    rows = ["slug,name,plan,owner_email\n"] + [f"{s},Tenant {s},team,Ops@Example.com\n" for s in slugs]
    path = tmp_path / "tenants.csv"
    path.write_text("".join(rows[:3]))  # a run that was killed after its first two rows
    assert cli("tenants", "provision-many", str(path))[0] == 0
    path.write_text("".join(rows))
    code, out, err = cli("tenants", "provision-many", str(path), "--format", "json")
    assert code == 0, err
    assert sorted((r["slug"], r["result"]) for r in json.loads(out)) == sorted(
        [(slugs[0], "exists"), (slugs[1], "exists"), (slugs[2], "ok")])
    assert "1 provisioned, 2 already existed, 0 failed" in err


def test_provision_many_existing_slug_asked_differently_is_that_rows_error(cli, tmp_path, new_slug):
    same, other, fresh = new_slug(), new_slug(), new_slug()
    for slug in (same, other):
        assert cli("tenants", "provision", slug, "--name", f"Tenant {slug}", "--plan", "team")[0] == 0
    path = tmp_path / "tenants.csv"
    path.write_text(f"slug,name,plan\n{same},Tenant {same},team\n{other},Tenant {other},free\n"
                    f"{fresh},Fresh,starter\n")
    code, out, err = cli("tenants", "provision-many", str(path), "--format", "json")
    assert code == 1
    results = {r["line"]: r for r in json.loads(out)}
    assert [results[line]["result"] for line in ("2", "3", "4")] == ["exists", "error", "ok"]
    assert "plan 'team', not 'free'" in results["3"]["message"]
    assert "1 provisioned, 1 already existed, 1 failed" in err
    _, out, _ = cli("tenants", "show", other, "--format", "json")
    assert json.loads(out)["plan"] == "team"  # left as it was


def test_provision_many_checks_the_whole_file_before_provisioning_anything(cli, tmp_path, new_slug):
    slugs = [new_slug() for _ in range(5)]
    rows = [f"{s},Tenant {s},team\n".encode() for s in slugs]
    rows[4] = f"{slugs[4]},Caf\xe9,team\n".encode("latin-1")  # line 6: not UTF-8
    path = tmp_path / "tenants.csv"
    path.write_bytes(b"slug,name,plan\n" + b"".join(rows))
    code, out, err = cli("tenants", "provision-many", str(path))
    assert (code, out) == (2, "")
    assert "line 6: byte 0xe9" in err and len(err.strip().splitlines()) == 1
    _, out, _ = cli("tenants", "list", "--format", "json")
    assert json.loads(out) == []


def test_provision_many_streams_each_result_as_it_finishes(ctx, database_url, tmp_path, new_slug):
    """The first row's result is on stdout while the second row is still waiting: the test holds
    an uncommitted catalog row with the second slug, so its insert waits on the unique index."""
    first, blocked = new_slug(), new_slug()
    path = tmp_path / "tenants.csv"
    path.write_text(f"slug,name,plan\n{first},First,team\n{blocked},Blocked,team\n")
    with ctx.session_factory() as holder:
        holder.add(Tenant(slug=blocked, name="Held", plan_code="free", cluster_name="default", status="active"))
        holder.flush()
        proc = subprocess.Popen([sys.executable, "-m", "control_plane", "tenants", "provision-many", str(path),
                                 "--jobs", "1", "--format", "csv"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url})
        lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [lines.put(text) for text in proc.stdout], daemon=True).start()
        try:
            assert lines.get(timeout=60).strip() == "line,slug,result,message"
            assert lines.get(timeout=60).startswith(f"2,{first},ok,")  # empty until the end, before
            assert proc.poll() is None
        finally:
            holder.rollback()  # lets the second row go on
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
    assert lines.get(timeout=60).startswith(f"3,{blocked},ok,")


def test_provision_many_refuses_a_file_without_the_header(cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("a,b\n1,2\n")
    code, _, err = cli("tenants", "provision-many", str(path))
    assert code == 2 and "slug,name,plan" in err
    code, _, err = cli("tenants", "provision-many", str(tmp_path / "missing.csv"))
    assert code == 2 and "Cannot read" in err


def test_users_add(cli, database_url):
    result = run_process(database_url, "users", "add", "ops-admin", "--role", "admin", "--password-stdin",
                         stdin="correct horse\n")
    assert result.returncode == 0 and "added ops-admin (admin)" in result.stdout
    again = run_process(database_url, "users", "add", "ops-admin", "--role", "admin", "--no-password")
    assert again.returncode == 4 and "already exists" in again.stderr
    no_tty = run_process(database_url, "users", "add", "someone", "--role", "support", stdin="")
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
