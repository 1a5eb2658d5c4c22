"""Simulated AWS for the embedded default (moto server on a local port; AWS area owns this)."""

from __future__ import annotations

from control_plane.context import AppContext


def start_simulated_aws(ctx: AppContext) -> str | None:
    """Start (once per process) a local moto server with a demo Aurora cluster, CloudWatch metrics,
    an S3 bucket and an SNS topic; point ctx.aws at it and return its endpoint URL."""
    return None
