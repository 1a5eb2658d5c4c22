"""Backups of the catalog and of tenant schemas (docs/operations.md "Backups")."""
