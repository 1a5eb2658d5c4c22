"""The one caching convention (ui/cache.py, docs/architecture.md "Architecture"): answers are keyed by the
actor's role and name and every other argument, the AppContext is never hashed, each read has its
own cache, and no page or ui/ module calls st.cache_data any other way."""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select

from control_plane.auth.permissions import Actor, Role
from control_plane.db.models import AuditEntry
from ui import cached_reads as reads
from ui.cache import CachedRead, cached

TODAY = date(2026, 12, 5)

ROOT = Path(__file__).resolve().parents[2]
CALLS: list[tuple[str, ...]] = []


class Unhashable:
    """Stands in for the AppContext: hashing it would fail, so it must go unhashed."""

    def __reduce__(self):
        raise TypeError("an AppContext is never hashed")


@cached(ttl=60, spinner="Answering…")
def whoami(ctx: object, actor: Actor, tenant: str, months: int) -> str:
    CALLS.append(("whoami", actor.role.value, actor.name, tenant, str(months)))
    return f"{actor.role.value}:{actor.name}:{tenant}:{months}"


@cached(ttl=60, spinner="Answering again…")
def whoami_too(ctx: object, actor: Actor, tenant: str, months: int) -> str:
    CALLS.append(("whoami_too", actor.role.value, actor.name, tenant, str(months)))
    return f"too:{actor.role.value}"


@pytest.fixture(autouse=True)
def _fresh():
    st.cache_data.clear()
    CALLS.clear()


def test_two_roles_never_share_an_answer():
    ctx = Unhashable()
    founder, admin = Actor("sam", Role.FOUNDER), Actor("sam", Role.ADMIN)  # same name, two roles
    assert whoami(ctx, founder, "acme", 3) == "founder:sam:acme:3"
    assert whoami(ctx, admin, "acme", 3) == "admin:sam:acme:3"
    assert whoami(ctx, founder, "acme", 3) == "founder:sam:acme:3"  # a hit, not recomputed
    assert len(CALLS) == 2


def test_people_tenants_and_ranges_are_in_the_key():
    ctx = Unhashable()
    answers = {whoami(ctx, Actor(name, Role.SUPPORT), tenant, months)
               for name in ("ann", "bob") for tenant in ("acme", "beta") for months in (1, 12)}
    assert len(answers) == len(CALLS) == 8


def test_each_read_has_its_own_cache_and_clear():
    ctx, oncall = Unhashable(), Actor("olive", Role.ONCALL)
    assert whoami(ctx, oncall, "acme", 1) != whoami_too(ctx, oncall, "acme", 1)
    whoami_too.clear()
    whoami(ctx, oncall, "acme", 1)
    whoami_too(ctx, oncall, "acme", 1)
    assert [c[0] for c in CALLS] == ["whoami", "whoami_too", "whoami_too"]


def test_a_refused_role_is_not_served_an_allowed_roles_figures(ctx):
    """Real services: the founder's MRR is cached; the same name as support is refused (and the
    refusal audited) rather than handed the founder's cached figures."""
    assert reads.revenue_headline(ctx, Actor("pat", Role.FOUNDER), TODAY) is not None
    assert reads.revenue_headline(ctx, Actor("pat", Role.SUPPORT), TODAY) is None
    with ctx.session_factory() as session:
        denied = session.scalars(select(AuditEntry.actor_role).where(
            AuditEntry.actor == "pat", AuditEntry.outcome == "denied")).all()
    assert denied == ["support"]


def test_every_cached_read_says_what_it_computes():
    found = [v for v in vars(reads).values() if isinstance(v, CachedRead)]
    assert len(found) >= 10
    assert all(read.spinner.strip() for read in found)


def _cache_data_uses(path: Path) -> list[int]:
    tree = ast.parse(path.read_text(), str(path))
    lines = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "cache_data"]
    lines += [n.lineno for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)
              and any(a.name == "cache_data" for a in n.names)]
    lines += [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id == "cache_data"]
    return lines


def test_pages_and_ui_cache_only_through_ui_cache():
    files = [ROOT / "streamlit_app.py", *sorted((ROOT / "pages").glob("*.py")), *sorted((ROOT / "ui").glob("*.py"))]
    offenders = {str(f.relative_to(ROOT)): _cache_data_uses(f) for f in files if f.name != "cache.py"
                 or f.parent.name != "ui"}
    assert {f: lines for f, lines in offenders.items() if lines} == {}
    assert _cache_data_uses(ROOT / "ui" / "cache.py")  # the one place (the scan does see it)
