"""What "readable" means on a screen (docs/pages.md "Display conventions"), checked on an AppTest run:
no snake_case header, no "+00:00" offset, no "None"/"nan"/"NaT" cell, no True/False cell."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

SNAKE = re.compile(r"^[a-z0-9]+(_[a-z0-9]+)+$")
RAW = {"None", "nan", "NaN", "NaT", "<NA>", "True", "False"}


def unreadable(at: AppTest) -> list[str]:
    """Everything on the screen that breaks the display conventions (empty when none does)."""
    found = []
    for frame in (d.value for d in at.dataframe):
        found += [f"header {c!r}" for c in frame.columns if SNAKE.match(str(c))]
        for column in frame.columns:
            for value in frame[column]:
                text = str(value)
                if "+00:00" in text or text in RAW:
                    found.append(f"{column}: {text!r}")
    texts = [e.value for kind in ("markdown", "caption", "subheader", "info", "success", "warning", "error")
             for e in at.get(kind)]
    texts += [str(m.value) for m in at.metric]
    found += [f"text {t!r}" for t in texts if "+00:00" in str(t) or str(t).strip() in RAW]
    return found


def assert_readable(at: AppTest) -> None:
    assert not at.exception
    bad = unreadable(at)
    assert not bad, bad[:10]
