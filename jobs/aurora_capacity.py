"""Job `aurora_capacity` (every 5 minutes): Serverless v2 min/max from CloudWatch utilisation."""

from __future__ import annotations

from control_plane.scaling.service import run_capacity_pass, summarise
from control_plane.scheduler.context import JobContext


def run(context: JobContext) -> str:
    return summarise(run_capacity_pass(context.app, context.now()))
