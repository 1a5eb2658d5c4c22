"""Plans in the catalog: code, name, list price, interval. New subscriptions made in the app
start at the list price; changing a price never rewrites recorded subscriptions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from sqlalchemy import select

from control_plane.auth.permissions import Actor, Permission
from control_plane.context import AppContext
from control_plane.core import audit
from control_plane.core.authorization import authorize
from control_plane.db.models import Plan, Tenant
from control_plane.domain.text import CODE_MAX, clean_text
from control_plane.errors import InvalidInput
from control_plane.revenue.money import INTERVALS

_CODE = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")


@dataclass(frozen=True)
class PlanView:
    code: str
    name: str
    list_price: Decimal
    interval: str
    sort_order: int
    active: bool
    tenants: int


def list_plans(ctx: AppContext, actor: Actor) -> list[PlanView]:
    authorize(ctx, actor, Permission.REVENUE_READ, "plan.list")
    with ctx.session_factory() as session:
        counts: dict[str, int] = {}
        for code in session.scalars(select(Tenant.plan_code)):
            counts[code] = counts.get(code, 0) + 1
        plans = session.scalars(select(Plan).order_by(Plan.sort_order, Plan.code))
        return [_view(p, counts.get(p.code, 0)) for p in plans]


def save_plan(ctx: AppContext, actor: Actor, code: str, *, name: str | None = None,
              list_price: Decimal | str | None = None, interval: str | None = None,
              active: bool | None = None, sort_order: int | None = None) -> PlanView:
    """Create a plan (name and price required) or change the given fields of an existing one."""
    code = clean_text(code, "Plan code", CODE_MAX).lower()
    name = None if name is None else clean_text(name, "Plan name", 200)
    authorize(ctx, actor, Permission.PLANS_MANAGE, "plan.save", target=code)
    if not _CODE.match(code):
        raise InvalidInput(f"Plan code {code!r} must be lowercase letters, digits, '_' or '-', starting with a letter.")
    price = _price(list_price) if list_price is not None else None
    if interval is not None and interval not in INTERVALS:
        raise InvalidInput(f"Interval {interval!r} must be month or year.")
    if name is not None and not name.strip():
        raise InvalidInput("A plan name cannot be empty.")
    with ctx.session_factory() as session:
        plan = session.get(Plan, code, with_for_update=True)
        before = None if plan is None else _snapshot(plan)
        if plan is None:
            if name is None or price is None:
                raise InvalidInput(f"Plan {code!r} is new: give it a name and a list price.")
            plan = Plan(code=code, name=name.strip(), list_price=price, interval=interval or "month",
                        sort_order=100 if sort_order is None else sort_order,
                        active=True if active is None else active)
            session.add(plan)
        else:
            for attr, value in (("name", name.strip() if name else None), ("list_price", price),
                                ("interval", interval), ("active", active), ("sort_order", sort_order)):
                if value is not None:
                    setattr(plan, attr, value)
        session.flush()
        after = _snapshot(plan)
        audit.record(session, actor, "plan.create" if before is None else "plan.update", target=code,
                     outcome="noop" if before == after else "ok", before=before, after=after)
        session.commit()
        count = len(session.scalars(select(Tenant.id).where(Tenant.plan_code == code)).all())
        return _view(plan, count)


def _price(value: Decimal | str) -> Decimal:
    try:
        price = Decimal(str(value).strip())
    except InvalidOperation:
        price = None
    if price is None or not price.is_finite() or price < 0 or price >= Decimal("1e10"):
        raise InvalidInput(f"List price {value!r} must be a decimal amount ≥ 0, like 49 or 49.90.")
    if price != price.quantize(Decimal("0.01")):
        raise InvalidInput(f"List price {value} has more than 2 decimals.")
    return price.quantize(Decimal("0.01"))


def _snapshot(plan: Plan) -> dict[str, object]:
    return {"name": plan.name, "list_price": str(plan.list_price), "interval": plan.interval,
            "active": plan.active, "sort_order": plan.sort_order}


def _view(plan: Plan, tenants: int) -> PlanView:
    return PlanView(plan.code, plan.name, plan.list_price, plan.interval, plan.sort_order, plan.active, tenants)
