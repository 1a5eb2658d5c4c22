"""The tenant schema's definition: its revisions (docs/migrations.md) and the template built
from them. Below every area that creates or migrates a schema (tenants, fleet, archive, moves),
so each can use it without importing another."""
