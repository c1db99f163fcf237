"""Safe-by-default HTML for the local-only pages: every value is escaped unless it is already `Html`.

The buyer simulator shows documents that came from elsewhere (a deployed gateway, a buyer's cart), so
nothing dynamic may reach a page unescaped; building pages only through `render` makes that the
default instead of something each call site must remember.
"""

from __future__ import annotations

import html
import secrets
import string
from collections.abc import Iterable
from typing import Final


class Html(str):
    """Markup that is safe to insert as it is (built by `render`, `join` or `escape`)."""

    __slots__ = ()


def escape(value: object) -> Html:
    if isinstance(value, Html):
        return value
    return Html(html.escape("" if value is None else str(value), quote=True))


def render(template: str, /, **values: object) -> Html:
    """`template` with `{name}` fields filled by escaped values (`Html` values go in unchanged)."""
    fields = {name for _, name, _, _ in string.Formatter().parse(template) if name}
    missing = fields - values.keys()
    if missing:
        raise KeyError(f"template fields without a value: {sorted(missing)}")
    return Html(template.format_map({name: escape(values[name]) for name in fields}))


def join(parts: Iterable[Html], separator: str = "") -> Html:
    return Html(separator.join(escape(part) for part in parts))


def counted(count: int, noun: str) -> str:
    """`1 line`, `0 lines`, `2 lines`: a count with its noun in the right number (regular plurals only)."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def new_nonce() -> str:
    return secrets.token_urlsafe(18)


_STYLE: Final = """
body{font-family:system-ui,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:.6rem 1.2rem}
header nav{display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;align-items:baseline}
header a{color:#fff}header strong{font-size:1.1rem}
main{max-width:72rem;margin:0 auto;padding:1rem 1.2rem 3rem;overflow-wrap:break-word}
section{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:.8rem 1.2rem;margin:1rem 0}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:.2rem}
table{border-collapse:collapse;width:100%}th,td{border-bottom:1px solid #d0d7de;padding:.3rem .4rem;text-align:left;
vertical-align:top}td.num,th.num{text-align:right}
label{display:inline-block;margin:.2rem 1rem .2rem 0}input[type=text],input[type=url],input[type=password],select{
padding:.25rem;font-size:.95rem;max-width:100%}input.narrow{width:6rem}
fieldset{border:1px solid #d0d7de;border-radius:6px;margin:.5rem 0}
button{font-size:.95rem;padding:.35rem .9rem;margin:.2rem .3rem .2rem 0;cursor:pointer}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:.6rem;overflow:auto;max-height:28rem;font-size:.8rem;
white-space:pre-wrap;word-break:break-all}
.ok{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.muted{color:#57606a}
.notice{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem .8rem;border-radius:6px}
.error{background:#ffebe9;border:1px solid #cf222e;padding:.5rem .8rem;border-radius:6px}
iframe{width:100%;height:38rem;border:2px solid #0969da;border-radius:6px;background:#fff}
.scroll{overflow-x:auto;position:relative}
.vh{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;
border:0}
"""


def scrolling(table: Html, label: str) -> Html:
    """A wide table in a region of its own that scrolls sideways (the page does not, at 200 % zoom and
    on narrow screens); focusable, so that it scrolls from the keyboard too, and named for screen readers."""
    return render(
        '<div class="scroll" role="region" tabindex="0" aria-label="{label}">{table}</div>', label=label, table=table
    )


def page(title: str, body: Html, *, nonce: str, nav: Html | None = None, script: str | None = None) -> bytes:
    """A whole page; `script` (trusted, written here) runs with the page's CSP nonce."""
    script_tag = render('<script nonce="{nonce}">{code}</script>', nonce=nonce, code=Html(script)) if script else ""
    document = render(
        """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><link rel="icon" href="data:,"><style nonce="{nonce}">{style}</style></head>
<body>{header}<main>{body}</main>{script}</body></html>
""",
        title=title,
        nonce=nonce,
        style=Html(_STYLE),
        header=render('<header><nav aria-label="Local pages">{nav}</nav></header>', nav=nav) if nav else Html(""),
        body=body,
        script=script_tag,
    )
    return document.encode("utf-8")
