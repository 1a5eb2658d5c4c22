"""Alerts: always stored (the app shows them), also published to SNS when a topic is set. Every
area that raises an alert (uptime, fleet runs, cluster posture, noisy neighbours) stores it with
add() in its own transaction and publishes it with publish() after the commit.

Publishing happens after the alert is committed, so a slow or failing SNS never holds a catalog
transaction open or loses the alert; the row records whether publishing worked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from control_plane.aws import sns
from control_plane.context import AppContext
from control_plane.db.models import Alert

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewAlert:
    kind: str  # incident_opened | incident_resolved | burn_rate | migration_halted | cluster_posture | noisy_neighbour
    severity: str  # critical | warning | info
    message: str
    target: str | None = None
    tenant_slug: str | None = None
    at: datetime | None = None  # default: the transaction's time


@dataclass(frozen=True)
class Published:
    count: int = 0
    errors: list[str] = field(default_factory=list)


def add(session: Session, alerts: list[NewAlert]) -> list[Alert]:
    rows = [Alert(kind=a.kind, severity=a.severity, target=a.target, tenant_slug=a.tenant_slug, message=a.message,
                  **({"at": a.at} if a.at is not None else {}))
            for a in alerts]
    session.add_all(rows)
    session.flush()
    return rows


def subject(alert: Alert) -> str:
    return f"[{alert.severity.upper()}] {alert.kind.replace('_', ' ')}: {alert.target or 'platform'}"


def publish(ctx: AppContext, alert_ids: list[int]) -> Published:
    """Publish the given committed alerts and record on each whether it went out."""
    topic = ctx.settings.sns_topic_arn
    if not topic or not alert_ids:
        return Published()
    client = ctx.aws.client("sns")
    errors: list[str] = []
    with ctx.session_factory() as session:
        for alert in session.scalars(select(Alert).where(Alert.id.in_(alert_ids)).order_by(Alert.id)):
            try:
                error = sns.publish(client, topic, subject(alert), alert.message)
            except Exception as exc:  # a broken client must not lose the alert or stop the sweep
                error = f"SNS publish failed: {type(exc).__name__}: {exc}"[:500]
            session.execute(update(Alert).where(Alert.id == alert.id)
                            .values(published=error is None, publish_error=error))
            if error:
                log.warning("alert %s not published: %s", alert.id, error)
                errors.append(error)
        session.commit()
    return Published(count=len(alert_ids) - len(errors), errors=errors)
