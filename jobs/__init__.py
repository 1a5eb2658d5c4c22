"""Scheduled jobs and the worker (`python -m jobs`)."""
