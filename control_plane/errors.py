"""Errors a person can act on. Pages show their message; the CLI prints it on one line."""


class ControlPlaneError(Exception):
    """Base for every expected failure. `exit_code` is what the CLI returns."""

    exit_code = 1


class InvalidInput(ControlPlaneError):
    exit_code = 2


class NotFound(ControlPlaneError):
    exit_code = 3


class TenantNotFound(NotFound):
    def __init__(self, slug: str) -> None:
        super().__init__(f"No tenant {slug!r}.")


class Conflict(ControlPlaneError):
    exit_code = 4


class Forbidden(ControlPlaneError):
    exit_code = 5


class ConfigError(ControlPlaneError):
    exit_code = 6


class DatabaseRefused(ConfigError):
    """A database refused the connection for a reason waiting will not fix (URL, user, password, pg_hba)."""


class DatabaseUnavailable(ControlPlaneError):
    exit_code = 7


class ExternalServiceError(ControlPlaneError):
    """AWS or another dependency failed; the message says which and what to check."""

    exit_code = 8
