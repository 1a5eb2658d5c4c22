"""Test-only job module for `boom` (see sample_jobs.py)."""

from tests.jobs.sample_jobs import boom as run

__all__ = ["run"]
