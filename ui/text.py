"""Text that people typed (tenant names, reasons, notes, user names, service messages quoting
them), made safe to put into anything Streamlit renders as Markdown (docs/security.md "Untrusted input").

Streamlit renders Markdown in st.markdown/st.write/st.caption/st.title/st.info/st.error/..., in
widget labels, metric values and page links: an image there is fetched by every viewer's browser,
a link goes anywhere. Backslash-escaping every ASCII punctuation character (CommonMark allows an
escape before any of them) turns images, links, HTML, emphasis, Streamlit's `:color[...]`
directives and `$` maths into the literal characters typed. Streamlit also rewrites the parsed
text afterwards, where escapes no longer count: bare URLs (`http://`, `www.`) and e-mail addresses
become links, `:name:` becomes an emoji or icon. An invisible U+2060 WORD JOINER after every `:`,
before every `@` and inside `www.` breaks those patterns without changing what is displayed.
Plain-text sinks (st.text, st.code, dataframes, selectbox options) need none of this.
"""

from __future__ import annotations

import re
import string

import pandas as pd

from control_plane.chart_text import chart_text

__all__ = ["JOINER", "advice", "chart_frame", "chart_text", "plain"]

_SIGNIFICANT = re.compile("([" + re.escape(string.punctuation) + "])")
JOINER = "\u2060"
_INDENT = re.compile(r"^[ \t]+", re.MULTILINE)  # shown as nothing in a paragraph anyway
_REWRITTEN = re.compile(r"(?<=:)|(?=@)|(?<=\bwww)(?=\.)", re.IGNORECASE)  # URL, e-mail, emoji/icon starts


def plain(value: object) -> str:
    """`value` as literal text inside Markdown: every punctuation character backslash-escaped, and
    a word joiner where Streamlit would otherwise make a link, an emoji or an icon of it."""
    text = _INDENT.sub("", "" if value is None else str(value))  # an indented line would be a code block
    return _SIGNIFICANT.sub(r"\\\1", _REWRITTEN.sub(JOINER, text))


def advice(value: object) -> str:
    """Advice the app wrote with `command` spans in it (the noisy-neighbour recommendation): each
    span shown as code, everything else as plain() text. A span holds no backtick by construction,
    and nothing inside a code span is read as Markdown, a link or an emoji; an unpaired backtick is
    shown as typed."""
    parts = ("" if value is None else str(value)).split("`")
    if len(parts) % 2 == 0:  # unpaired: no spans at all
        return plain(value)
    return "".join(f"`{part}`" if i % 2 and part.strip() else plain(part) for i, part in enumerate(parts))


def chart_frame(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """A copy of `frame` whose text `columns` (target names, errors, summaries) Plotly will show
    as typed; numbers and missing values are left alone."""
    return frame.assign(**{c: frame[c].map(lambda v: chart_text(v) if isinstance(v, str) else v)
                           for c in columns if c in frame.columns})
