"""Every setting, declared once: its field, environment variable, default and bounds (`_var`), read
from the environment in one place and validated at start. docs/configuration.md lists them with
what each means; tests/unit/test_settings_used.py keeps that table equal to these declarations.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from control_plane.errors import ConfigError
from control_plane.probe_guard import Network, parse_networks

_TRUE = {"1", "true", "yes", "on"}
MIN_SESSION_SECRET = 32  # characters; secrets.token_urlsafe(32) gives 43
MIN_SECRET_DISTINCT = 12  # different characters; token_urlsafe(32) has ~31, token_hex(32) ~16
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Var:
    """How a setting is read: its variable, the kind of value and the bounds it must keep."""

    env: str
    kind: str  # text | integer | number | boolean | choice | path | networks | secret | database_url
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[str, ...] = ()
    fallback_env: str | None = None  # read when `env` is unset
    embedded_only: bool = False  # the default is "on" only without DATABASE_URL (the embedded catalog)
    shown_default: str | None = None  # the default in words, when it is not a value (docs/configuration.md)


def _var(default: Any, env: str, kind: str = "text", **how: Any) -> Any:
    return field(default=default, metadata={"var": Var(env, kind, **how)})


def var_of(name: str) -> Var | None:
    """The declaration of the setting `name` (None: derived from others, not read itself)."""
    return next((f.metadata.get("var") for f in fields(Settings) if f.name == name), None)


@dataclass(frozen=True)
class Settings:
    database_url: str | None = _var(None, "DATABASE_URL", "database_url")
    # The default cluster's database (docs/operations.md "The default cluster"): None is the embedded
    # default's own `control_plane_tenants`, or the catalog database behind DATABASE_URL.
    cluster_url_default: str | None = _var(None, "CP_CLUSTER_URL_DEFAULT", "database_url",
                                           shown_default="`control_plane_tenants` on the embedded server; "
                                                         "else the catalog database")
    data_dir: Path = _var(Path(".data"), "CP_DATA_DIR", "path")  # noqa: RUF009 (an immutable Path)
    embedded_engine: str = _var("auto", "CP_EMBEDDED_ENGINE", "choice", choices=("auto", "pgserver", "binaries"))
    demo: bool = _var(True, "CP_DEMO", "boolean", embedded_only=True)
    demo_tenants: int = _var(300, "CP_DEMO_TENANTS", "integer", minimum=0, maximum=5000)
    demo_months: int = _var(18, "CP_DEMO_MONTHS", "integer", minimum=1, maximum=60)
    run_scheduler_in_app: bool = _var(True, "CP_RUN_SCHEDULER_IN_APP", "boolean", embedded_only=True)
    # How long a starting process waits for the catalog to answer.
    database_wait_seconds: float = _var(30.0, "CP_DATABASE_WAIT_SECONDS", "number", minimum=0, maximum=600)

    session_ttl_minutes: int = _var(480, "CP_SESSION_TTL_MINUTES", "integer", minimum=1)
    # Signs the sign-in cookie (control_plane/auth/session_tokens.py). None: the embedded default
    # keeps a generated one under data_dir; required when DATABASE_URL is set (check_app_settings).
    session_secret: str | None = _var(None, "CP_SESSION_SECRET", "secret", minimum=MIN_SESSION_SECRET,
                                      shown_default="generated under `CP_DATA_DIR` on the embedded default")

    aws_region: str = _var("us-east-1", "AWS_REGION", fallback_env="AWS_DEFAULT_REGION")
    aws_endpoint_url: str | None = _var(None, "AWS_ENDPOINT_URL")
    archive_bucket: str = _var("control-plane-archives", "CP_ARCHIVE_BUCKET")
    archive_retention_days: int = _var(90, "CP_ARCHIVE_RETENTION_DAYS", "integer", minimum=1)
    # Where dumps are staged (private cp-archive-*/cp-restore-* folders); None: the system temp.
    work_dir: Path | None = _var(None, "CP_WORK_DIR", "path",  # noqa: RUF009 (None or an immutable Path)
                                  shown_default="`<system temp>/control-plane-<uid>`")
    # Every AWS call is bounded: attempts x (connect + read) plus botocore's backoff, so a hung S3
    # cannot keep an archiving tenant offline for minutes.
    aws_connect_timeout_seconds: float = _var(5.0, "CP_AWS_CONNECT_TIMEOUT_SECONDS", "number", minimum=0.1,
                                              maximum=60)
    aws_read_timeout_seconds: float = _var(10.0, "CP_AWS_READ_TIMEOUT_SECONDS", "number", minimum=0.1, maximum=300)
    aws_max_attempts: int = _var(3, "CP_AWS_MAX_ATTEMPTS", "integer", minimum=1, maximum=10)
    sns_topic_arn: str | None = _var(None, "CP_SNS_TOPIC_ARN")
    cloudwatch_namespace: str = _var("SaaS/Tenants", "CP_CLOUDWATCH_NAMESPACE")
    cloudwatch_tenant_dimension: str = _var("TenantId", "CP_CLOUDWATCH_TENANT_DIMENSION")
    # The soak's error-rate comparison reads CloudWatch only when the namespace was set on purpose:
    # an unconfigured install (and the test suite) never waits on an AWS endpoint between waves.
    cloudwatch_tenant_metrics: bool = False

    health_interval_seconds: int = _var(60, "CP_HEALTH_INTERVAL_SECONDS", "integer", minimum=5)
    probe_timeout_seconds: float = _var(2.0, "CP_PROBE_TIMEOUT_SECONDS", "number", minimum=0.1)
    probe_concurrency: int = _var(50, "CP_PROBE_CONCURRENCY", "integer", minimum=1, maximum=1000)
    # Networks the endpoint probe may reach although they are not public (loopback, private,
    # link-local...): empty by default, so a tenant URL can never aim the worker at our own network.
    probe_allow_networks: tuple[Network, ...] = _var((), "CP_PROBE_ALLOW_NETWORKS", "networks", shown_default="empty")
    incident_threshold: int = _var(3, "CP_INCIDENT_THRESHOLD", "integer", minimum=1)
    raw_check_retention_days: int = _var(7, "CP_RAW_CHECK_RETENTION_DAYS", "integer", minimum=1)
    slo_target: float = _var(0.999, "CP_SLO_TARGET", "number", minimum=0.5, maximum=0.99999)
    latency_slo_ms: int = _var(200, "CP_LATENCY_SLO_MS", "integer", minimum=1)

    scaling_dry_run: bool = _var(False, "CP_SCALING_DRY_RUN", "boolean")
    scaling_cooldown_minutes: int = _var(15, "CP_SCALING_COOLDOWN_MINUTES", "integer", minimum=0)
    scaling_max_step_acu: float = _var(8.0, "CP_SCALING_MAX_STEP_ACU", "number", minimum=0.5)
    scaling_default_floor_acu: float = _var(0.5, "CP_SCALING_FLOOR_ACU", "number", minimum=0.5)
    scaling_default_ceiling_acu: float = _var(64.0, "CP_SCALING_CEILING_ACU", "number", minimum=1, maximum=256)
    noisy_neighbour_factor: float = _var(10.0, "CP_NOISY_NEIGHBOUR_FACTOR", "number", minimum=1.5)

    @property
    def embedded(self) -> bool:
        return self.database_url is None

    def check_app_settings(self) -> None:
        """What only the web app needs, checked when it starts (the CLI and the worker never sign a
        cookie, so they run without it): a shared CP_SESSION_SECRET when the catalog is reached
        through DATABASE_URL, since every app process must accept the cookies the others signed."""
        if self.session_secret is None and not self.embedded:
            raise ConfigError("Invalid configuration: CP_SESSION_SECRET is required when DATABASE_URL is set "
                              f"(at least {MIN_SESSION_SECRET} characters, the same for every app process; "
                              "e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))')")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        problems: list[str] = []
        reader = _Reader(env, problems)
        values: dict[str, Any] = {}
        for f in fields(cls):
            var = f.metadata.get("var")
            if var is not None:
                default = values.get("database_url") is None if var.embedded_only else f.default
                values[f.name] = reader.read(var, default)
        values["cloudwatch_tenant_metrics"] = bool(env.get("CP_CLOUDWATCH_NAMESPACE"))
        settings = cls(**values)
        if settings.scaling_default_floor_acu > settings.scaling_default_ceiling_acu:
            problems.append("CP_SCALING_FLOOR_ACU must not exceed CP_SCALING_CEILING_ACU")
        if problems:
            raise ConfigError("Invalid configuration: " + "; ".join(problems))
        return settings


def secret_weakness(value: str, minimum: int = MIN_SESSION_SECRET) -> str | None:
    """Why `value` cannot be a signing key (never quoting it), or None: shorter than `minimum`,
    fewer than MIN_SECRET_DISTINCT different characters, or one short piece repeated."""
    if len(value) < minimum:
        return f"got {len(value)} characters"
    if len(set(value)) < MIN_SECRET_DISTINCT:
        return f"got only {len(set(value))} different characters, at least {MIN_SECRET_DISTINCT} needed"
    if (value + value).find(value, 1) < len(value):
        return "got one piece repeated"
    return None


def _normalise_database_url(url: str, problems: list[str], name: str = "DATABASE_URL") -> str:
    for prefix in ("postgresql+psycopg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    problems.append(f"{name} must start with postgresql:// (e.g. postgresql://user:pass@host:5432/db)")
    return url


def libpq_url(sqlalchemy_url: str) -> str:
    """The form psycopg/libpq take of a URL in SQLAlchemy's form (`postgresql+psycopg://`)."""
    for prefix in ("postgresql+psycopg://", "postgres://"):
        if sqlalchemy_url.startswith(prefix):
            return "postgresql://" + sqlalchemy_url[len(prefix):]
    return sqlalchemy_url


class _Reader:
    def __init__(self, env: dict[str, str], problems: list[str]) -> None:
        self.env = env
        self.problems = problems

    def read(self, var: Var, default: Any) -> Any:
        name = var.env
        if var.fallback_env and not self.env.get(name):
            name = var.fallback_env
        raw = self.env.get(name) or None
        match var.kind:
            case "boolean":
                return self.boolean(name, default)
            case "integer":
                return self.integer(name, default, var.minimum, var.maximum)
            case "number":
                return self.number(name, default, var.minimum, var.maximum)
            case "choice":
                return self.choice(name, default, set(var.choices))
            case "networks":
                return self.networks(name)
            case "secret":
                return self.secret(name, int(var.minimum or 0))
            case "path":
                return Path(raw).resolve() if raw else (default.resolve() if default is not None else None)
            case "database_url":
                return _normalise_database_url(raw, self.problems, var.env) if raw else None
        return raw or default

    def boolean(self, name: str, default: bool) -> bool:
        raw = self.env.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in _TRUE:
            return True
        if value in _FALSE:
            return False
        self.problems.append(f"{name} must be true or false, got {raw!r}")
        return default

    def integer(self, name: str, default: int, minimum: int | None = None, maximum: int | None = None) -> int:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            self.problems.append(f"{name} must be a whole number, got {raw!r}")
            return default
        return self._bounded(name, value, default, minimum, maximum)

    def number(self, name: str, default: float, minimum: float | None = None, maximum: float | None = None) -> float:
        raw = self.env.get(name)
        if raw is None or raw.strip() == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{name} must be a number, got {raw!r}")
            return default
        return self._bounded(name, value, default, minimum, maximum)

    def networks(self, name: str) -> tuple[Network, ...]:
        try:
            return parse_networks(self.env.get(name) or "")
        except ValueError as exc:
            self.problems.append(f"{name}: {exc}")
            return ()

    def secret(self, name: str, minimum: int) -> str | None:
        """A signing key: unset or empty is None; a short or placeholder one is refused (never quoted)."""
        raw = (self.env.get(name) or "").strip()
        if not raw:
            return None
        weakness = secret_weakness(raw, minimum)
        if weakness is not None:
            self.problems.append(f"{name} must be a random string of at least {minimum} characters "
                                 f"({weakness})")
            return None
        return raw

    def choice(self, name: str, default: str, allowed: set[str]) -> str:
        raw = (self.env.get(name) or default).strip().lower()
        if raw not in allowed:
            self.problems.append(f"{name} must be one of {', '.join(sorted(allowed))}, got {raw!r}")
            return default
        return raw

    def _bounded(self, name, value, default, minimum, maximum):
        if minimum is not None and value < minimum:
            self.problems.append(f"{name} must be at least {minimum}, got {value}")
            return default
        if maximum is not None and value > maximum:
            self.problems.append(f"{name} must be at most {maximum}, got {value}")
            return default
        return value
