"""The articles' limited markup, rendered safely: everything is escaped first.

    ## A heading
    A paragraph: lines until a blank line are joined. **Bold** works inside.

    - a bullet
    - another bullet

Phone numbers are wrapped in ``<span dir="ltr">`` so they read left to right inside Arabic or
Farsi text. Nothing else (no links, no HTML) is allowed: coordinators edit these texts, and a
page that everyone is told to trust must not carry someone's script.
"""

from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_PHONE = re.compile(r"(?<![\w])(\+?\d[\d\s().-]{6,}\d)(?![\w])")


def _inline(text: str) -> str:
    html = str(escape(text))
    html = _BOLD.sub(r"<strong>\1</strong>", html)
    return _PHONE.sub(r'<span dir="ltr" class="ltr">\1</span>', html)


def _block(lines: list[str]) -> list[tuple[str, list[str]]]:
    out: list[tuple[str, list[str]]] = []
    para: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if para:
            out.append(("p", [" ".join(para)]))
            para.clear()
        if items:
            out.append(("ul", list(items)))
            items.clear()

    for line in lines:
        if line.startswith("## "):
            flush()
            out.append(("h", [line[3:].strip()]))
        elif line.startswith(("- ", "* ")):
            if para:
                out.append(("p", [" ".join(para)]))
                para.clear()
            items.append(line[2:].strip())
        elif items and not para:
            items[-1] += " " + line  # a wrapped bullet
        else:
            para.append(line)
    flush()
    return out


def blocks(body: str) -> list[tuple[str, list[str]]]:
    """[(kind, lines)]: kind is "h", "ul" or "p"."""
    out: list[tuple[str, list[str]]] = []
    for chunk in re.split(r"\n\s*\n", (body or "").replace("\r\n", "\n").strip()):
        lines = [line.strip() for line in chunk.split("\n") if line.strip()]
        out.extend(_block(lines))
    return out


def render(body: str) -> SafeString:
    parts = []
    for kind, lines in blocks(body):
        if kind == "h":
            parts.append(f"<h2>{_inline(lines[0])}</h2>")
        elif kind == "ul":
            parts.append("<ul>" + "".join(f"<li>{_inline(li)}</li>" for li in lines) + "</ul>")
        else:
            parts.append(f"<p>{_inline(lines[0])}</p>")
    return mark_safe("\n".join(parts))  # noqa: S308  (every piece went through escape())


def plain(body: str) -> str:
    """The text without markup (for voice and SMS)."""
    out = []
    for kind, lines in blocks(body):
        out.extend(lines if kind != "ul" else [f"- {li}" for li in lines])
    return _BOLD.sub(r"\1", "\n".join(out))
