"""Moving a tenant to another cluster, online by logical replication or offline (docs/moves.md)."""
