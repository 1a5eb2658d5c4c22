"""Tenant slugs become PostgreSQL identifiers (`tenant_<slug>`), so they are validated strictly."""

from __future__ import annotations

import re

from control_plane.errors import InvalidInput

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
RESERVED = frozenset({
    "public", "information_schema", "control_plane", "postgres", "template0", "template1",
    "admin", "root", "default", "system", "tenant", "tenants", "catalog", "pg", "none", "null",
})
TENANT_PREFIX = "tenant_"


def validate_slug(slug: object) -> str:
    if not isinstance(slug, str) or not slug:
        raise InvalidInput("A tenant slug is required.")
    if not SLUG_PATTERN.fullmatch(slug):
        raise InvalidInput(
            f"Invalid slug {slug!r}: use 2-40 characters, lowercase letters, digits and underscores, "
            "starting with a letter."
        )
    if slug in RESERVED or slug.startswith("pg_"):
        raise InvalidInput(f"The slug {slug!r} is reserved; choose another.")
    return slug


def schema_name(slug: str) -> str:
    return TENANT_PREFIX + slug


def role_name(slug: str) -> str:
    return TENANT_PREFIX + slug
