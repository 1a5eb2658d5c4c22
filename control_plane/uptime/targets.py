"""Names of health-check targets. A target is a plain string so imported history from another
monitor fits too; the sweep's own targets carry their kind and tenant in the name."""

from __future__ import annotations

SCHEMA = "schema"
HTTP = "http"
AURORA = "aurora"
DATABASE = "db"
TENANT_KINDS = (SCHEMA, HTTP)


def schema_target(slug: str) -> str:
    return f"{SCHEMA}:{slug}"


def http_target(slug: str) -> str:
    return f"{HTTP}:{slug}"


def aurora_target(cluster_name: str) -> str:
    return f"{AURORA}:{cluster_name}"


def database_target(cluster_name: str) -> str:
    return f"{DATABASE}:{cluster_name}"


def kind_of(target: str) -> str:
    prefix, sep, _ = target.partition(":")
    return prefix if sep else "imported"


def tenant_of(target: str) -> str | None:
    """The tenant slug a sweep target belongs to; None for platform and foreign targets."""
    prefix, sep, rest = target.partition(":")
    return rest if sep and prefix in TENANT_KINDS and rest else None


def tenant_targets(slug: str) -> list[str]:
    """Every target name that belongs to a tenant (an imported target may be the bare slug)."""
    return [schema_target(slug), http_target(slug), slug]
