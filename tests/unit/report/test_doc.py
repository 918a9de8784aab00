"""The reports' document: escaping, Markdown and terminal rendering, and GitHub's comment limit."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluegreen.core.versions import label as version_label
from bluegreen.report.doc import (
    MAX_SPAN,
    Bold,
    Bullets,
    Code,
    Details,
    Doc,
    Heading,
    Link,
    Mention,
    Para,
    Table,
    Toned,
    display_width,
    mark,
    markdown,
    md_escape,
    text,
    truncate_markdown,
)


@pytest.mark.parametrize(
    ("version", "label"),
    [
        ("2.4.1", "v2.4.1"),
        ("v2.4.1", "v2.4.1"),
        ("V2.4.1", "v2.4.1"),
        ("2.5.0-rc.1+build.7", "v2.5.0-rc.1+build.7"),
        ("latest", "latest"),
        ("vnext", "vnext"),
        ("", "version unknown"),
        (None, "version unknown"),
    ],
)
def test_version_label_has_one_leading_v(version: str | None, label: str) -> None:
    assert version_label(version) == label


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("2.4.1-rc.1+build", "2.4.1-rc.1+build"),
        ("a|b", "a\\|b"),
        ("a\nb\r\nc\td", "a b  c d"),
        ("`x`", "\\`x\\`"),
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"),
        ("[a](https://evil.test)", "\\[a\\](https:\u200b//evil.test)"),
        ("**b** _i_ ~s~ $m$", "\\*\\*b\\*\\* \\_i\\_ \\~s\\~ \\$m\\$"),
        ("a\\|b", "a\\\\\\|b"),
        ("R&D &lt;", "R&amp;D &amp;lt;"),
        ("\x1b[31mred", "{U+001B}\\[31mred"),
        ("\u202eevil\u2066", "{U+202E}evil{U+2066}"),
        ("a\u2028b\x00c", "a b{U+0000}c"),
    ],
)
def test_markdown_escape_neutralises_markup_and_control_characters(raw: str, escaped: str) -> None:
    assert md_escape(raw) == escaped


Z = "\u200b"  # the zero-width space that breaks an autolink


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        # bare URLs, any scheme GitHub links (http, https, ftp) and any other: broken between `:` and `//`
        ("https://evil.example/login", f"https:{Z}//evil.example/login"),
        ("http://10.0.0.1:8080/", f"http:{Z}//10.0.0.1:8080/"),
        ("HTTPS://EVIL.EXAMPLE", f"HTTPS:{Z}//EVIL.EXAMPLE"),
        ("ftp://files.example/x", f"ftp:{Z}//files.example/x"),
        ("2.4.1 (https://evil.example)", f"2.4.1 (https:{Z}//evil.example)"),
        ("x https://a.test https://b.test", f"x https:{Z}//a.test https:{Z}//b.test"),
        ("https:/evil.example", "https:/evil.example"),  # no autolink without `//`: left as it is
        # `www.`, in any case, wherever it stands
        ("www.evil.example", f"www{Z}.evil.example"),
        ("WWW.Evil.Example/x", f"WWW{Z}.Evil.Example/x"),
        ("(www.evil.example)", f"(www{Z}.evil.example)"),
        ("https://www.evil.example", f"https:{Z}//www{Z}.evil.example"),
        ("www", "www"),
        # addresses: a zero-width space on both sides of the `@` (the one after it also stops a mention)
        ("admin@evil.example", f"admin{Z}@{Z}evil.example"),
        ("mailto:admin@evil.example", f"mailto:admin{Z}@{Z}evil.example"),
        ("xmpp:bot@evil.example/res", f"xmpp:bot{Z}@{Z}evil.example/res"),
        ("a.b+c-d_e@x.test", f"a.b+c-d\\_e{Z}@{Z}x.test"),
        ("@acme/oncall", f"@{Z}acme/oncall"),  # a mention, not an address: only its far side
        ("see @alice", f"see @{Z}alice"),
        # hostile: what looks like our own break is shown, not taken for one; markup and links stay text
        (f"https:{Z}//evil.example", "https:{U+200B}//evil.example"),
        ("https:\u200d//evil.example", "https:{U+200D}//evil.example"),
        ("<https://evil.example>", f"&lt;https:{Z}//evil.example&gt;"),
        ("[x](https://evil.example)", f"\\[x\\](https:{Z}//evil.example)"),
        ("https\\://evil.example", f"https\\\\:{Z}//evil.example"),
        ("https&#58;//evil.example", "https&amp;#58;//evil.example"),
        # normal text reads as before
        ("2.4.1-rc.1+build.7", "2.4.1-rc.1+build.7"),
        ("checked at 10:30, next at 11:00", "checked at 10:30, next at 11:00"),
        ("a / b // c", "a / b // c"),
        ("swww", "swww"),
    ],
)
def test_markdown_escape_breaks_autolinks(raw: str, escaped: str) -> None:
    assert md_escape(raw) == escaped


def autolink_starts(markdown_text: str) -> list[str]:
    """What GitHub's autolinker would start a link (or an address) at, read past Markdown's backslash escapes."""
    unescaped = re.sub(r"\\(.)", r"\1", markdown_text)
    return re.findall(r"[A-Za-z]+://|(?i:www)\.|[A-Za-z0-9._+-]@|@[A-Za-z0-9]", unescaped)


FRAGMENTS = [
    "https://",
    "http:",
    "//",
    "www",
    ".",
    "WwW",
    "@",
    "mailto:",
    "a",
    "evil.example",
    "\\",
    "_",
    " ",
    "\u200b",
]


@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=3), max_size=12).map("".join))
def test_no_escaped_string_starts_an_autolink(raw: str) -> None:
    assert autolink_starts(md_escape(raw)) == []


def test_a_long_string_is_cut() -> None:
    assert md_escape("x" * (MAX_SPAN * 10)) == "x" * MAX_SPAN + "…"


@pytest.mark.parametrize(
    ("block", "rendered"),
    [
        (Para(("# heading",)), "\\# heading"),
        (Para(("- item",)), "\\- item"),
        (Para(("+ item",)), "\\+ item"),
        (Para(("12. item",)), "12\\. item"),
        (Para(("3) item",)), "3\\) item"),
        (Para(("    indented code",)), "indented code"),
        (Para(("2.4.1 is fine",)), "2.4.1 is fine"),
        (Bullets((("# a",), ("b",))), "- \\# a\n- b"),
        (Heading(3, ("app: release Green → Blue",)), "### app: release Green → Blue"),
        (Para((Bold("Next step:"), " go")), "**Next step:** go"),
        (Para((Code("abc1234"),)), "`abc1234`"),
        (Para((Code("a`b"),)), "a\\`b"),
        (Para((Link("PR #1", "https://github.com/o/r/pull/1"),)), "[PR #1](https://github.com/o/r/pull/1)"),
        (Para((Link("PR #1", "javascript:alert(1)"),)), "PR #1"),
        (Para((Link("PR #1", "https://x.test/a) [b](https://evil.test"),)), "PR #1"),
        (Para((Link("PR #1", "https://x.test/<script>"),)), "PR #1"),
        (Para((mark("warn"), " careful")), "⚠️ careful"),
        # the module's own links and mentions still are links and mentions; a bare URL or address beside them is not
        (
            Para((Link("PR #1", "https://github.com/o/r/pull/1"), " by ", Mention("alice"), " https://evil.example")),
            "[PR #1](https://github.com/o/r/pull/1) by @alice https:\u200b//evil.example",
        ),
        (
            Para((Link("https://evil.example", "https://github.com/o/r/pull/1"),)),
            "[https:\u200b//evil.example](https://github.com/o/r/pull/1)",
        ),
        (Para((Bold("www.evil.example"),)), "**www\u200b.evil.example**"),
        (Heading(2, ("v2 from https://evil.example/login",)), "## v2 from https:\u200b//evil.example/login"),
        (Bullets((("root@evil.example",),)), "- root\u200b@\u200bevil.example"),
        (Para((Code("https://evil.example"),)), "`https://evil.example`"),  # a code span: never autolinked
        (
            Table(("version", "URL https://x.test"), ((("https://evil.example/login",), ("www.evil.example",)),)),
            "| version | URL https:\u200b//x.test |\n| --- | --- |\n"
            "| https:\u200b//evil.example/login | www\u200b.evil.example |",
        ),
        (Table(("A", "B"), (((("x|y",), (Toned("✅", "ok"), " z"))),)), "| A | B |\n| --- | --- |\n| x\\|y | ✅ z |"),
    ],
)
def test_markdown_blocks(block: Heading | Para | Bullets | Table, rendered: str) -> None:
    assert markdown((block,)) == rendered + "\n"


DOC: Doc = (
    Heading(2, (mark("ok"), " Done")),
    Para(("one",)),
    Para(("two",)),
    Table(("#", "Step"), ((("1",), (mark("bad"), " Switch")), (("10",), ("Confirm",)))),
    Bullets((("a",),)),
)


def test_text_rendering_underlines_headings_keeps_lines_together_and_aligns_tables() -> None:
    assert text(DOC) == ("✅ Done\n=======\n\none\ntwo\n\n#   Step\n1   ❌ Switch\n10  Confirm\n\n  - a\n")


def test_text_in_color_styles_marks_and_headings_only_when_asked() -> None:
    colored = text(DOC, color=True)
    assert colored.startswith("\x1b[32m✅\x1b[0m\x1b[1m Done\x1b[0m\n=======\n")
    assert "\x1b[31m❌\x1b[0m Switch" in colored
    assert "\x1b" not in text(DOC)


def test_text_shows_hostile_control_characters_instead_of_obeying_them() -> None:
    rendered = text((Para(("\x1b[2J\x1b]0;title\x07\u202ex\nnext",)),))
    assert rendered == "{U+001B}[2J{U+001B}]0;title{U+0007}{U+202E}x next\n"


@pytest.mark.parametrize(
    ("value", "width"),
    [("abc", 3), ("✅", 2), ("❌", 2), ("⚠️", 2), ("⏭️", 2), ("→", 1), ("e\u0301", 1), ("\x1b[31mab\x1b[0m", 2)],
)
def test_display_width_counts_terminal_columns(value: str, width: int) -> None:
    assert display_width(value) == width


# --- GitHub's comment limit -------------------------------------------------------------------------------------


def sections(count: int, lines_each: int) -> str:
    body = [
        f"### section {number}\n" + "\n".join(f"line {number}.{line}" for line in range(lines_each))
        for number in range(count)
    ]
    return "## ✅ Header\n\n" + "\n\n".join(body) + "\n"


def test_text_under_the_limit_is_unchanged() -> None:
    report = sections(3, 3)
    assert truncate_markdown(report) == report
    assert truncate_markdown(report, limit=len(report)) == report


@pytest.mark.parametrize("limit", [200, 1_000, 5_000, 65_000])
def test_cut_keeps_the_header_whole_lines_and_stays_under_the_limit(limit: int) -> None:
    report = sections(2_000, 10)
    cut = truncate_markdown(report, limit)
    kept = cut.splitlines()
    assert len(cut) <= limit
    assert kept[0] == "## ✅ Header"
    assert set(kept[:-1]) <= set(report.splitlines())
    assert kept[-1].startswith("_✂️ Report cut here: ")
    assert f"{len(report.splitlines()) - len(kept) + 2} more lines" in kept[-1]


def test_cut_goes_back_to_a_sections_start_when_one_is_near() -> None:
    report = sections(100, 10)
    kept = truncate_markdown(report, 1_000).splitlines()
    assert kept[-3].startswith("line ")
    assert kept[-2] == ""
    section_starts = [line for line in kept if line.startswith("### ")]
    assert f"line {len(section_starts) - 1}.9" in kept


def test_one_huge_line_is_cut_by_characters() -> None:
    cut = truncate_markdown("x" * 100_000, limit=1_000)
    assert len(cut) <= 1_000
    assert cut.startswith("x" * 500)
    assert cut.endswith("limit._")


def test_only_a_mention_can_ping_someone() -> None:
    doc = (Para(("version 2.4.1 @acme/oncall by ", Mention("alice"), " and ", Mention("evil @x"))),)
    rendered = markdown(doc)
    assert "@\u200bacme/oncall" in rendered  # a version naming a team pings nobody
    assert " by @alice and " in rendered
    assert "@\u200bx" in rendered  # not a login: escaped like any text


# --- collapsible sections ---------------------------------------------------------------------------------------


def test_a_details_block_is_githubs_details_with_markdown_inside() -> None:
    doc = (Details((mark("ok"), " theoshift: ", Bold("release")), (Para(("one",)), Bullets((("a",),))), opened=True),)
    assert (
        markdown(doc) == "<details open>\n<summary>✅ theoshift: <b>release</b></summary>\n\none\n\n- a\n\n</details>\n"
    )
    assert markdown((Details(("closed",), ()),)) == "<details>\n<summary>closed</summary>\n\n</details>\n"


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("</summary></details><script>x</script>", "&lt;/summary&gt;&lt;/details&gt;&lt;script&gt;x&lt;/script&gt;"),
        ("a\n\n# not a heading", "a  # not a heading"),  # no blank line can end the HTML block early
        ('"quoted" & <b>', "&quot;quoted&quot; &amp; &lt;b&gt;"),
        ("@alice https://evil.test", "@\u200balice https:\u200b//evil.test"),  # no mention, no link
        ("**not bold** `x`", "**not bold** `x`"),  # GitHub renders no Markdown in a summary: nothing to escape
        ("\x1b[31m\u202e", "{U+001B}[31m{U+202E}"),
    ],
)
def test_a_summary_is_escaped_as_html(raw: str, escaped: str) -> None:
    assert markdown((Details((raw,), ()),)).splitlines()[1] == f"<summary>{escaped}</summary>"


def test_a_summary_links_and_codes_only_what_is_safe() -> None:
    spans = (Link("run", "https://github.com/acme/ops/actions/runs/1"), Link("x", "javascript:alert(1)"), Code("<a>"))
    rendered = markdown((Details(spans, ()),)).splitlines()[1]
    assert (
        rendered
        == '<summary><a href="https://github.com/acme/ops/actions/runs/1">run</a>x<code>&lt;a&gt;</code></summary>'
    )


def test_a_terminal_shows_every_section_open_as_a_heading() -> None:
    doc = (Para(("top",)), Details((mark("warn"), " theoshift"), (Para(("inside",)), Para(("more",)))))
    assert text(doc) == "top\n\n⚠️ theoshift\n------------\n\ninside\nmore\n"


def test_a_cut_inside_a_section_closes_it_before_the_notice() -> None:
    body = tuple(Para((f"line {n}",)) for n in range(400))
    report = markdown((Heading(2, ("Header",)), Details(("theoshift",), body, opened=True)))
    cut = truncate_markdown(report, 1_000)
    assert len(cut) <= 1_000
    lines = cut.splitlines()
    assert lines[-3:-1] == ["</details>", ""]
    assert lines[-1].startswith("_✂️ Report cut here: ")


def test_a_cut_goes_back_to_the_start_of_a_section_when_one_is_near() -> None:
    apps = tuple(Details((f"app {n}",), tuple(Para((f"line {n}.{m}",)) for m in range(8))) for n in range(60))
    cut = truncate_markdown(markdown((Heading(2, ("Header",)), *apps)), 2_000).splitlines()
    assert cut.count("</details>") == sum(1 for line in cut if line.startswith("<details"))
    assert cut[-3] == "</details>"  # the last section shown is whole
    assert "line" in cut[-5]
