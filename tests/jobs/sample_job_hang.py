"""Test-only job module for `hang` (see sample_jobs.py)."""

from tests.jobs.sample_jobs import hang as run

__all__ = ["run"]
