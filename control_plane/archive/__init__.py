"""Tenant archives: PostgreSQL client tools (pg_dump, pg_restore, psql) and dump verification."""
