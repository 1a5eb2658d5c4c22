"""Test-only job module for `tick` (see sample_jobs.py)."""

from tests.jobs.sample_jobs import tick as run

__all__ = ["run"]
