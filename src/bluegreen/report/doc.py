"""The reports' document: blocks of spans, rendered as GitHub Markdown or as terminal text.

The builders (report/outcome.py, status.py, action.py) say *what* to show; this module alone says *how*, it alone
escapes, and it alone keeps a comment under GitHub's size limit (`truncate_markdown`).
Every string a builder hands in is treated as untrusted: versions, reasons and host answers come from outside.
  Markdown   control and bidi characters shown as {U+XXXX}, newlines folded, Markdown and HTML punctuation escaped,
             so a hostile string cannot break a table, start a heading, inject HTML or a link; and a zero-width
             space where GitHub's autolinker would see a bare URL (`https://`, `www.`) or an address (`a@b.c`), so
             none becomes a link, nor an `@` a mention: only a Link or a Mention span makes one. A Details block's
             summary is HTML, not Markdown (GitHub renders no Markdown there): its text is HTML-escaped instead,
             with the same zero-width spaces, and the only tags in it are the renderer's own
  terminal   the same characters shown as {U+XXXX}, so a hostile string cannot move the cursor or recolour output
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Literal

Tone = Literal["ok", "bad", "warn", "skip"]
MARKS: dict[Tone, str] = {"ok": "✅", "bad": "❌", "warn": "⚠️", "skip": "⏭️"}
MAX_SPAN = 500  # characters of one string shown; a longer one is cut with "…"
GITHUB_COMMENT_LIMIT = 65_536


@dataclass(frozen=True)
class Bold:
    text: str


@dataclass(frozen=True)
class Code:
    text: str


@dataclass(frozen=True)
class Link:
    text: str
    url: str


@dataclass(frozen=True)
class Mention:
    """`@login`, the one place a report means to notify someone (who asked for the release)."""

    login: str


@dataclass(frozen=True)
class Toned:
    """A mark or word coloured by its tone in a terminal; plain in Markdown."""

    text: str
    tone: Tone


Span = str | Bold | Code | Link | Mention | Toned
Spans = tuple[Span, ...]


@dataclass(frozen=True)
class Heading:
    level: int
    spans: Spans


@dataclass(frozen=True)
class Para:
    spans: Spans


@dataclass(frozen=True)
class Bullets:
    items: tuple[Spans, ...]


@dataclass(frozen=True)
class Table:
    header: tuple[str, ...]
    rows: tuple[tuple[Spans, ...], ...]


@dataclass(frozen=True)
class Details:
    """A collapsible section: `summary` always shown, `blocks` behind it (open from the start with `opened`). In
    Markdown it is GitHub's `<details>`; in a terminal, a heading and its blocks."""

    summary: Spans
    blocks: tuple[Block, ...]
    opened: bool = False


Block = Heading | Para | Bullets | Table | Details
Doc = tuple[Block, ...]


def mark(tone: Tone) -> Toned:
    return Toned(MARKS[tone], tone)


def step_tone(ok: bool | None) -> Tone:
    return "skip" if ok is None else "ok" if ok else "bad"


# --- cleaning: both renderers -----------------------------------------------------------------------------------


def clean(value: str) -> str:
    cut = value if len(value) <= MAX_SPAN else value[:MAX_SPAN] + "…"
    return "".join(_clean_char(char) for char in cut)


def _clean_char(char: str) -> str:
    if char in "\r\n\t\v\f\u2028\u2029\x85":
        return " "
    if unicodedata.category(char) in ("Cc", "Cf", "Co", "Cs"):
        return f"{{U+{ord(char):04X}}}"
    return char


# --- Markdown ---------------------------------------------------------------------------------------------------

_MD_ESCAPES = str.maketrans(
    {
        **{char: "\\" + char for char in "\\`*_[]|~$"},
        "<": "&lt;",
        ">": "&gt;",
        "&": "&amp;",
        "@": "@\u200b",  # a version or a name from elsewhere must not ping anyone: only a Mention does
    }
)
_ZWSP = "\u200b"  # zero width space: invisible, and none that clean() lets through (it shows {U+200B})
# Where GitHub's autolinker (cmark-gfm's autolink extension) starts a link, whatever the escapes (it reads past
# them): `:` followed by `//` (it wants `//` right after the colon, and takes any character that is neither space
# nor punctuation, a zero-width one too, as a host's first: so the break goes before the slashes, for any scheme),
# `www.` (it wants those four characters; any case, to be sure), and an `@` after a character an address holds
# (the escape table breaks its other side)
_AUTOLINK_STARTS = re.compile(r":(?=//)|(?i:www)(?=\.)|(?<=[A-Za-z0-9._+-])(?=@)")
_LOGIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})(?:\[bot\])?")
_LINE_START = re.compile(r"^(\d{1,9}(?=[.)](?:\s|$)))?([#+.)-])")  # a heading, a bullet, `1.` or `1)`
_SAFE_URL = re.compile(r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%+=?#-]*)?")  # nothing ends a link early
_SAFE_CODE = re.compile(r"[A-Za-z0-9._:/@+ -]+")


def md_escape(value: str) -> str:
    return _AUTOLINK_STARTS.sub(_unlinked, clean(value).translate(_MD_ESCAPES))


def _unlinked(start: re.Match[str]) -> str:
    """What starts an autolink, a zero-width space after it: `https:` ZWSP `//`, `www` ZWSP `.`, `a` ZWSP `@` (the
    escape table puts another after the `@`)."""
    return start[0] + _ZWSP


def markdown(doc: Doc) -> str:
    return "\n\n".join(_md_block(block) for block in doc) + "\n"


def _md_block(block: Block) -> str:
    match block:
        case Heading(level, spans):
            return "#" * level + " " + _md_spans(spans)
        case Para(spans):
            return _md_line(spans)
        case Bullets(items):
            return "\n".join("- " + _md_line(item) for item in items)
        case Table(header, rows):
            lines = [_md_row(md_escape(name) for name in header), _md_row("---" for _ in header)]
            return "\n".join(lines + [_md_row(tuple(_md_spans(cell) for cell in row)) for row in rows])
        case Details(summary, blocks, opened):
            # the blank lines end the HTML block, so that GitHub renders the blocks inside as Markdown again
            head = f"<details{' open' if opened else ''}>\n<summary>{_html_spans(summary)}</summary>"
            return "\n\n".join([head, *(_md_block(inner) for inner in blocks), "</details>"])


def _md_row(cells: Iterable[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _md_line(spans: Spans) -> str:
    """A paragraph or list item: what would start a heading, a list or a code block there is escaped."""
    return _LINE_START.sub(lambda start: (start[1] or "") + "\\" + start[2], _md_spans(spans).lstrip())


def _md_spans(spans: Spans) -> str:
    return "".join(_md_span(span) for span in spans)


def _md_span(span: Span) -> str:
    match span:
        case str():
            return md_escape(span)
        case Bold(text):
            return f"**{md_escape(text)}**"
        case Code(text):
            return f"`{text}`" if _SAFE_CODE.fullmatch(text) else md_escape(text)
        case Link(text, url):
            return f"[{md_escape(text)}]({url})" if _SAFE_URL.fullmatch(url) else md_escape(text)
        case Mention(login):
            return f"@{login}" if _LOGIN.fullmatch(login) else md_escape(f"@{login}")
        case Toned(text):
            return md_escape(text)


_HTML_ESCAPES = str.maketrans({"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "@": "@\u200b"})


def html_escape(value: str) -> str:
    """Text inside an HTML element of a comment (a summary): escaped as HTML, with the autolink breaks of Markdown."""
    return _AUTOLINK_STARTS.sub(_unlinked, clean(value).translate(_HTML_ESCAPES))


def _html_spans(spans: Spans) -> str:
    return "".join(_html_span(span) for span in spans)


def _html_span(span: Span) -> str:
    match span:
        case str():
            return html_escape(span)
        case Bold(text):
            return f"<b>{html_escape(text)}</b>"
        case Code(text):
            return f"<code>{html_escape(text)}</code>"
        case Link(text, url):
            return f'<a href="{url}">{html_escape(text)}</a>' if _SAFE_URL.fullmatch(url) else html_escape(text)
        case Mention(login):
            return f"@{login}" if _LOGIN.fullmatch(login) else html_escape(f"@{login}")
        case Toned(text):
            return html_escape(text)


# --- terminal ---------------------------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_TONE_CODES: dict[Tone, str] = {"ok": "32", "bad": "31", "warn": "33", "skip": "2"}


def text(doc: Doc, color: bool = False) -> str:
    doc = tuple(_unfolded(doc))
    parts: list[str] = []
    for index, block in enumerate(doc):
        if index:
            both_paras = isinstance(block, Para) and isinstance(doc[index - 1], Para)
            parts.append("\n" if both_paras else "\n\n")
        parts.append(_text_block(block, color))
    return "".join(parts) + "\n"


def _unfolded(doc: Doc) -> Iterator[Block]:
    """A terminal shows every section open: a Details block is its summary as a heading, then its blocks."""
    for block in doc:
        if isinstance(block, Details):
            yield Heading(3, block.summary)
            yield from _unfolded(block.blocks)
        else:
            yield block


def _text_block(block: Block, color: bool) -> str:
    match block:
        case Heading(level, spans):
            line = "".join(_text_span(Bold(span) if isinstance(span, str) else span, color) for span in spans)
            return line + "\n" + ("=" if level <= 2 else "-") * display_width(line)
        case Para(spans):
            return _text_spans(spans, color)
        case Bullets(items):
            return "\n".join("  - " + _text_spans(item, color) for item in items)
        case Table(header, rows):
            cells = [[clean(name) for name in header]]
            return _text_table(cells + [[_text_spans(cell, color) for cell in row] for row in rows])
        case Details():
            return "\n\n".join(_text_block(inner, color) for inner in _unfolded((block,)))


def _text_table(rows: list[list[str]]) -> str:
    widths = [max(display_width(row[column]) for row in rows) for column in range(len(rows[0]))]
    return "\n".join(_text_row(row, widths) for row in rows)


def _text_row(row: list[str], widths: list[int]) -> str:
    padded = [cell + " " * (width - display_width(cell)) for cell, width in zip(row[:-1], widths, strict=False)]
    return "  ".join([*padded, row[-1]]).rstrip()


def _text_spans(spans: Spans, color: bool) -> str:
    return "".join(_text_span(span, color) for span in spans)


def _text_span(span: Span, color: bool) -> str:
    match span:
        case str():
            return clean(span)
        case Bold(text):
            return _style(clean(text), "1", color)
        case Code(text) | Link(text):
            return clean(text)
        case Mention(login):
            return clean(f"@{login}")
        case Toned(text, tone):
            return _style(clean(text), _TONE_CODES[tone], color)


def _style(value: str, code: str, color: bool) -> str:
    return f"\x1b[{code}m{value}\x1b[0m" if color else value


def display_width(value: str) -> int:
    """Terminal columns: wide characters count two, an emoji's variation selector makes it wide."""
    return sum(_char_width(char) for char in _ANSI.sub("", value))


def _char_width(char: str) -> int:
    if char == "\ufe0f":
        return 1
    if unicodedata.combining(char):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


# --- GitHub's comment limit -------------------------------------------------------------------------------------


_SECTION_STARTS = ("#", "<details")
_CLOSE_DETAILS = "\n\n</details>"


def truncate_markdown(text: str, limit: int = 65_000) -> str:
    """Cut whole lines at the end (back to a section's start when one is near) and say so; the header stays. A
    collapsible section cut open is closed, so that the notice is not hidden inside it."""
    if len(text) <= limit:
        return text
    lines = text.splitlines()
    room = limit - len(_cut_notice(len(lines))) - 2
    kept = _without_trailing_blanks(_back_to_section(_lines_within(lines, room)))
    while kept and len(_closed(kept)) > room:  # the closing tags need room too
        kept = _without_trailing_blanks(kept[:-1])
    body = _closed(kept) if kept else text[: max(room, 0)]
    return (body.rstrip("\n") + "\n\n" + _cut_notice(len(lines) - len(kept)))[:limit]


def _closed(kept: list[str]) -> str:
    return "\n".join(kept) + _CLOSE_DETAILS * _open_details(kept)


def _open_details(kept: list[str]) -> int:
    opened = sum(1 for line in kept if line.startswith("<details"))
    return max(opened - sum(1 for line in kept if line == "</details>"), 0)


def _lines_within(lines: list[str], budget: int) -> list[str]:
    kept: list[str] = []
    used = 0
    for line in lines:
        used += len(line) + 1
        if used > budget:
            break
        kept.append(line)
    return kept


def _back_to_section(kept: list[str]) -> list[str]:
    """Rather than show a section's first lines, drop them, when that loses at most a quarter of what is kept."""
    starts = [index for index, line in enumerate(kept) if index > 0 and line.startswith(_SECTION_STARTS)]
    return kept[: starts[-1]] if starts and starts[-1] >= len(kept) * 3 // 4 else kept


def _without_trailing_blanks(kept: list[str]) -> list[str]:
    while kept and not kept[-1].strip():
        kept = kept[:-1]
    return kept


def _cut_notice(lines_cut: int) -> str:
    return (
        f"_✂️ Report cut here: {lines_cut} more lines would exceed GitHub's "
        f"{GITHUB_COMMENT_LIMIT:,}-character comment limit._"
    )
