"""Test-only job module for `linger` (see sample_jobs.py)."""

from tests.jobs.sample_jobs import linger as run

__all__ = ["run"]
