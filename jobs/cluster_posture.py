"""Job `cluster_posture` (daily): `clusters check` on every registered cluster; the summary is the
run's record, and one alert (stored, and published to SNS when a topic is set) names each cluster
that fails or cannot be read, with what to run (docs/security.md "Cluster posture")."""

from __future__ import annotations

from control_plane.scheduler.context import JobContext
from control_plane.services.cluster_posture import posture_alerts


def run(context: JobContext) -> str:
    return posture_alerts(context.app, context.now()).summary()
