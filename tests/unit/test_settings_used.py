"""Every setting is read somewhere outside config.py, and every environment variable config.py reads
is in docs/configuration.md: no setting that is validated and documented but ignored."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from control_plane.config import Settings

ROOT = Path(__file__).resolve().parents[2]
CODE = [p for folder in ("control_plane", "jobs", "ui", "pages") for p in (ROOT / folder).rglob("*.py")
        if p.name != "config.py"] + [ROOT / "streamlit_app.py"]


def test_every_setting_is_used():
    text = "\n".join(p.read_text() for p in CODE)
    unused = [f.name for f in dataclasses.fields(Settings)
              if not re.search(rf"\.{f.name}\b|\b{f.name}=|[\"']{f.name}[\"']", text)]
    assert unused == []


def test_every_variable_is_documented():
    config = (ROOT / "control_plane" / "config.py").read_text()
    variables = set(re.findall(r"\"((?:CP|AWS)_[A-Z0-9_]+)\"", config)) | {"DATABASE_URL"}
    table = "\n".join(line for line in (ROOT / "docs" / "configuration.md").read_text().splitlines()
                      if line.startswith("| `"))
    assert sorted(v for v in variables if f"`{v}`" not in table) == []


def test_the_health_interval_drives_the_sweep_schedule():
    from control_plane.scheduler import registry

    specs = {s.id: s for s in registry.for_settings(Settings.from_env({"CP_HEALTH_INTERVAL_SECONDS": "30"}))}
    assert specs["health_sweep"].interval_seconds == 30 and specs["health_sweep"].timeout_seconds < 30
    default = {s.id: s for s in registry.for_settings(Settings.from_env({}))}
    assert default["health_sweep"].interval_seconds == 60 and default["health_sweep"].timeout_seconds == 55
    assert specs["reconcile"] == default["reconcile"]
