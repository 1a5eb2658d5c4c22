"""Text that people typed (tenant names, reasons, notes, user names, service messages quoting
them), made safe to put into anything Streamlit renders as Markdown (README "Trust boundaries").

Streamlit renders Markdown in st.markdown/st.write/st.caption/st.title/st.info/st.error/..., in
widget labels, metric values and page links: an image there is fetched by every viewer's browser,
a link goes anywhere. Backslash-escaping every ASCII punctuation character (CommonMark allows an
escape before any of them) turns images, links, autolinks (`http:`, `www.`, `a@b.c`), HTML,
emphasis, Streamlit's `:color[...]` and `:material/...:` directives and `$` maths into the literal
characters typed. Plain-text sinks (st.text, st.code, dataframes, selectbox options) need none.
"""

from __future__ import annotations

import html
import re
import string

_SIGNIFICANT = re.compile("([" + re.escape(string.punctuation) + "])")


def plain(value: object) -> str:
    """`value` as literal text inside Markdown: every punctuation character backslash-escaped."""
    text = "" if value is None else str(value)
    return _SIGNIFICANT.sub(r"\\\1", text)


def chart_text(value: object) -> str:
    """`value` as literal text in a Plotly title, axis label or hover text, which read a subset
    of HTML (`<a href>`, `<b>`, `<br>`) and decode entities: escaping `<`, `>` and `&` shows the
    tags as typed."""
    return html.escape("" if value is None else str(value), quote=False)
