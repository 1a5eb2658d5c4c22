"""Units shown to people, shared by services' messages and the pages."""

from __future__ import annotations


def human_bytes(value: float) -> str:
    """1,536 → "1.5 KiB": binary units up to TiB, one decimal."""
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024:
            return f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} TiB"
