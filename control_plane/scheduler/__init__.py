"""Scheduled jobs: the registry, the leader lock, the stored schedule, the runner and worker loop,
the in-process scheduler of the embedded app, and the Jobs page's read model and "run now". The
job modules themselves and the worker's entry point live in the top-level `jobs` package."""
