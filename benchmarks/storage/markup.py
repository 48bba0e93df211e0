"""Escaping for every string that reaches a page, a Markdown file or a file name.

Metric, task, proxy and device names come from users and imported files. In HTML they are escaped
(text and attributes); in Markdown they are shown as code spans, or as escaped ``<code>`` where a
backtick, a pipe or a line break would end the span or the table cell; file names are derived from a
safe slug plus a short hash of the raw name, so two names never share a file.
"""

from __future__ import annotations

import hashlib
import html
import re

_SLUG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
_MD_SPECIAL = re.compile(r"[`|\n\r<>&\\]")


def html_text(value: object) -> str:
    """``value`` as HTML text or a quoted attribute value (``& < > " '`` escaped)."""
    return html.escape(str(value), quote=True)


_MD_INLINE = re.compile(r"[*\[\]~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")
"""Markdown punctuation that can start inline markup; ``_`` only at a word edge (GFM ignores
intraword underscores, so ``bn_mode`` stays readable)."""


def _inline_html(value: object) -> str:
    """``value`` on one line, HTML-escaped, with pipes, backticks and backslashes as entities."""
    text = " ".join(str(value).split())
    return html.escape(text, quote=True).replace("|", "&#124;").replace("`", "&#96;").replace("\\", "&#92;")


def md_text(value: object) -> str:
    """``value`` as Markdown text (a table cell, a heading): HTML-escaped, pipes escaped, on one line,
    and the punctuation that opens emphasis, links or strikethrough backslash-escaped (``_0_`` stays text)."""
    return _MD_INLINE.sub(r"\\\g<0>", _inline_html(value))


def md_code(value: object) -> str:
    """``value`` as inline code: a backtick span, or escaped ``<code>`` if the span could be broken."""
    text = str(value)
    if not _MD_SPECIAL.search(text):
        return f"`{text}`"
    return f"<code>{_inline_html(text)}</code>"


def slug(value: object, limit: int = 40) -> str:
    """A file-name-safe form of ``value``: ``[A-Za-z0-9_.-]`` only, plus 8 hex digits of its SHA-256.

    The hash keeps distinct names apart after unsafe characters are dropped (``a/b`` and ``a_b``).
    """
    text = str(value)
    safe = _SLUG_UNSAFE.sub("_", text).strip("._")[:limit] or "x"
    return f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:8]}"
