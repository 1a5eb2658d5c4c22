"""Test-only job module for `held` (see sample_jobs.py)."""

from tests.jobs.sample_jobs import held as run

__all__ = ["run"]
