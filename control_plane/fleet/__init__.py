"""Fleet schema migrations: the tenant template as revisions, rolled out in canary waves
(docs/migrations.md)."""
