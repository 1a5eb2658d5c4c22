"""What `demo seed` states before it runs (its --help, the sign-in page): kept apart from
control_plane/demo/seed.py so that building the CLI's parser does not import the seed and the
services behind it (docs/cli.md "Command line")."""

DEMO_PASSWORD = "demo"  # noqa: S105 - published on the sign-in page on purpose, demo mode only
MAX_TENANTS = 5000
