"""Every setting is read somewhere outside config.py, and docs/configuration.md's table is what
config.py declares (variable, default, bounds), row for row: no setting that is validated and
documented but ignored, and no default written one way in the code and another in the docs."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from control_plane.config import Settings, Var

ROOT = Path(__file__).resolve().parents[2]
CODE = [p for folder in ("control_plane", "jobs", "ui", "pages") for p in (ROOT / folder).rglob("*.py")
        if p.name != "config.py"] + [ROOT / "streamlit_app.py"]


def test_every_setting_is_used():
    text = "\n".join(p.read_text() for p in CODE)
    unused = [f.name for f in dataclasses.fields(Settings)
              if not re.search(rf"\.{f.name}\b|\b{f.name}=|[\"']{f.name}[\"']", text)]
    assert unused == []


def shown_default(f: dataclasses.Field) -> str:
    """A declared default as docs/configuration.md writes it."""
    var: Var = f.metadata["var"]
    if var.shown_default:
        return var.shown_default
    if var.embedded_only:
        return "on when `DATABASE_URL` is unset"
    if f.default is None:
        return "unset"
    if isinstance(f.default, bool):
        return "`true`" if f.default else "`false`"
    if isinstance(f.default, float):
        return f"`{f.default:g}`"
    return f"`{f.default}`"


def shown_bounds(var: Var) -> str:
    if var.choices:
        return ", ".join(f"`{c}`" for c in var.choices)
    low, high = (None if b is None else f"{b:g}" for b in (var.minimum, var.maximum))
    unit = " characters" if var.kind == "secret" else ""
    if low and high:
        return f"{low}–{high}{unit}"
    return f"≥ {low}{unit}" if low else (f"≤ {high}{unit}" if high else "")


def _documented() -> dict[str, tuple[str, str]]:
    page = (ROOT / "docs" / "configuration.md").read_text()
    table = page[page.index("| Variable |"):page.index("\n\n", page.index("| Variable |"))]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    return {row[0].strip("`"): (row[1], row[2]) for row in rows}


def test_the_documented_table_is_what_config_declares():
    declared = {f.metadata["var"].env: (shown_default(f), shown_bounds(f.metadata["var"]))
                for f in dataclasses.fields(Settings) if "var" in f.metadata}
    assert _documented() == declared


def test_every_variable_config_reads_is_declared():
    """A variable read in config.py outside a declaration would be undocumented: the only one is
    the namespace, whose presence also turns the soak's error-rate comparison on."""
    config = (ROOT / "control_plane" / "config.py").read_text()
    variables = set(re.findall(r"\"((?:CP|AWS)_[A-Z0-9_]+)\"", config)) | {"DATABASE_URL"}
    declared = {f.metadata["var"].env for f in dataclasses.fields(Settings) if "var" in f.metadata}
    fallbacks = {f.metadata["var"].fallback_env for f in dataclasses.fields(Settings) if "var" in f.metadata}
    assert sorted(variables - declared - fallbacks - {"CP_SCALING_FLOOR_ACU"}) == []


def test_the_health_interval_drives_the_sweep_schedule():
    from control_plane.scheduler import registry

    specs = {s.id: s for s in registry.for_settings(Settings.from_env({"CP_HEALTH_INTERVAL_SECONDS": "30"}))}
    assert specs["health_sweep"].interval_seconds == 30 and specs["health_sweep"].timeout_seconds < 30
    default = {s.id: s for s in registry.for_settings(Settings.from_env({}))}
    assert default["health_sweep"].interval_seconds == 60 and default["health_sweep"].timeout_seconds == 55
    assert specs["reconcile"] == default["reconcile"]
