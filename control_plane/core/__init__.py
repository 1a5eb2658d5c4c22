"""What every area's services share and nothing else: the audit log and its reads, the
permission check, alerts (stored, then published). It imports no area package (fleet, moves,
revenue, uptime, usage, archive, services), so every one of them can import it without a loop
(docs/architecture.md "Packages")."""
