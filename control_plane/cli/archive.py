"""`tenants archive SLUG` and `tenants restore SLUG` (AWS area owns this module)."""

from __future__ import annotations


def register_tenant_commands(commands) -> None:
    """Add the archive/restore sub-commands to the `tenants` group."""
