"""The Action's own reports: every text they quote is escaped by the document model, like any report's."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from bluegreen.errors import GitHubError, InputError, Location, UnreachableError
from bluegreen.model import Color, Desired, DesiredApp, Outcome, Plan
from bluegreen.report import action as reports
from bluegreen.report import outcome_markdown, truncate_markdown
from tests.unit.report.test_outcome import NOOP, SUCCESS

HOSTILE = "@octocat <img src=x> [x](javascript:1)\n# heading"
DESIRED = Desired({"theoshift": DesiredApp("theoshift", Color.BLUE)})


def unsafe(markdown: str) -> list[str]:
    """What would make the hostile text more than text: a tag, a link, a mention, a heading of its own."""
    found = ["<img"] if "<img" in markdown else []
    found += re.findall(r"(?<!\\)\]\(", markdown) + re.findall(r"@octocat", markdown)
    return found + [line for line in markdown.splitlines() if line.startswith("# heading")]


@pytest.mark.parametrize(
    "render",
    [
        lambda: reports.failure_markdown("plan", GitHubError(HOSTILE, hint=HOSTILE)),
        lambda: reports.failure_markdown("release", UnreachableError(HOSTILE, location=Location(HOSTILE, 3, HOSTILE))),
        lambda: reports.plan_markdown(Outcome((SUCCESS,), dry_run=True), [HOSTILE]),
        lambda: reports.release_markdown(Outcome((SUCCESS,)), [HOSTILE], HOSTILE),
        lambda: reports.static_plan_markdown(DESIRED, HOSTILE, HOSTILE),
        lambda: reports.approval_refused_markdown(HOSTILE),
        lambda: reports.switching_markdown(Plan((SUCCESS.plan,)), f"https://x.test/{HOSTILE}"),
    ],
)
def test_hostile_text_stays_text(render: Callable[[], str]) -> None:
    markdown = render()
    assert "&lt;img src=x&gt;" in markdown or "Follow the run" in markdown
    assert unsafe(markdown) == []


def test_a_failure_says_what_where_and_what_to_do() -> None:
    error = InputError("no app named 'nope'", hint="list apps of live.json", location=Location("state/live.json", 4))
    assert reports.failure_markdown("plan", error) == (
        "## ❌ bluegreen plan failed\n\n"
        "**invalid input**: `state/live.json:4`: no app named 'nope'\n\n"
        "**What to do:** list apps of live.json\n"
    )


def test_notes_follow_the_report_one_paragraph_each() -> None:
    outcome = Outcome((NOOP,))
    markdown = reports.release_markdown(outcome, ["first", "second"], "not committed")
    assert markdown == outcome_markdown(outcome) + "\nℹ️ first\n\nℹ️ second\n\n⚠️ not committed\n"
    assert reports.release_markdown(outcome, [], None) == outcome_markdown(outcome)


@pytest.mark.parametrize(
    ("url", "link"),
    [
        ("https://github.com/acme/ops/actions/runs/7", "[Follow the run](https://github.com/acme/ops/actions/runs/7)"),
        (
            "https://ghe.example:8443/acme/ops/actions/runs/7",
            "[Follow the run](https://ghe.example:8443/acme/ops/actions/runs/7)",
        ),
        ("javascript:alert(1)", "Follow the run"),
        (None, None),
    ],
)
def test_switching_links_the_run_when_its_address_is_safe(url: str | None, link: str | None) -> None:
    markdown = reports.switching_markdown(Plan((SUCCESS.plan,)), url)
    assert markdown.splitlines()[0] == "## ⏳ bluegreen is switching: theoshift Green → Blue"
    assert markdown.splitlines()[2:] == ([link] if link else [])


def test_static_plan_names_the_apps_why_and_the_refusal() -> None:
    markdown = reports.static_plan_markdown(DESIRED, "the base commit is missing", "this PR changes status.json")
    assert markdown.splitlines()[2:] == [
        "The state files are valid (theoshift → Blue). The base commit is missing",
        "",
        "**Refused:** this PR changes status.json",
    ]


def test_one_truncation_keeps_a_comment_under_githubs_limit() -> None:
    notes = [f"note {n} " + "x" * 400 for n in range(400)]
    cut = truncate_markdown(reports.plan_markdown(Outcome((SUCCESS,), dry_run=True), notes))
    assert len(cut) <= 65_000
    assert cut.splitlines()[-1].startswith("_✂️ Report cut here: ")
