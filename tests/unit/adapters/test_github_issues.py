"""The sticky drift issue against the fake GitHub: found by its marker and label, opened once, edited, closed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bluegreen.adapters.github import COMMENT_LIMIT, GitHub, IssueInfo
from bluegreen.errors import GitHubError
from tests.fakegithub import FakeGitHub

MARKER, LABEL = "<!-- bluegreen:drift -->", "bluegreen-drift"


@pytest.fixture
def github(fake_github: FakeGitHub) -> Iterator[GitHub]:
    with GitHub(fake_github.token, fake_github.url, "acme/ops", retry_backoff_s=0.01, write_interval_s=0) as made:
        yield made


def writes(fake: FakeGitHub) -> list[str]:
    return [f"{call.method} {call.path.removeprefix('/repos/acme/ops')}" for call in fake.calls if call.method != "GET"]


def test_the_issue_is_opened_once_with_its_label_then_edited(fake_github: FakeGitHub, github: GitHub) -> None:
    opened, created = github.upsert_issue(MARKER, LABEL, "bluegreen: drift in theoshift", "lb1 routes to Blue")
    again, created_again = github.upsert_issue(MARKER, LABEL, "bluegreen: drift in theoshift, ldc", "both drift")
    assert (created, created_again, again) == (True, False, opened)
    assert opened == IssueInfo(100, f"{fake_github.web_url}/acme/ops/issues/100")
    [issue] = fake_github.issues()
    assert (issue["title"], issue["body"]) == ("bluegreen: drift in theoshift, ldc", f"{MARKER}\nboth drift")
    assert [label["name"] for label in issue["labels"]] == [LABEL]
    assert issue["user"]["login"] == "github-actions[bot]"
    assert writes(fake_github) == ["POST /issues", "PATCH /issues/100"]
    listed = [call.query for call in fake_github.calls if call.method == "GET"]
    assert listed[0] == {"state": "open", "labels": LABEL, "sort": "created", "direction": "asc"}


def test_closing_comments_then_closes_and_then_has_nothing_to_do(fake_github: FakeGitHub, github: GitHub) -> None:
    opened, _ = github.upsert_issue(MARKER, LABEL, "bluegreen: drift in theoshift", "drift")
    assert github.close_issues(MARKER, LABEL, "No drift any more") == (opened,)
    [issue] = fake_github.issues()
    assert (issue["state"], issue["state_reason"]) == ("closed", "completed")
    assert fake_github.comments(opened.number) == [f"{MARKER}\nNo drift any more"]
    assert github.close_issues(MARKER, LABEL, "No drift any more") == ()
    assert writes(fake_github) == ["POST /issues", "POST /issues/100/comments", "PATCH /issues/100"]


def test_drift_after_a_closed_issue_opens_a_new_one(fake_github: FakeGitHub, github: GitHub) -> None:
    first, _ = github.upsert_issue(MARKER, LABEL, "drift", "drift")
    github.close_issues(MARKER, LABEL, "gone")
    second, created = github.upsert_issue(MARKER, LABEL, "drift", "drift again")
    assert created
    assert second.number != first.number
    assert [issue["state"] for issue in fake_github.issues()] == ["closed", "open"]


def test_a_persons_issue_quoting_the_marker_is_never_taken_over(fake_github: FakeGitHub, github: GitHub) -> None:
    mine = fake_github.add_issue("Why this marker?", f"{MARKER}\nwhat is this", author="mallory", labels=(LABEL,))
    opened, created = github.upsert_issue(MARKER, LABEL, "drift", "drift")
    assert (created, opened.number == mine) == (True, False)
    assert github.close_issues(MARKER, LABEL, "gone") == (opened,)
    assert [issue["state"] for issue in fake_github.issues()] == ["open", "closed"]


def test_another_bots_issue_with_the_marker_is_never_taken_over(fake_github: FakeGitHub, github: GitHub) -> None:
    planted = fake_github.add_issue("drift", f"{MARKER}\nuser text", author="someapp[bot]", labels=(LABEL,))
    opened, created = github.upsert_issue(MARKER, LABEL, "drift", "drift")
    assert created
    assert opened.number != planted
    assert github.close_issues(MARKER, LABEL, "gone") == (opened,)
    assert [issue["state"] for issue in fake_github.issues()] == ["open", "closed"]


def test_an_unlabelled_issue_or_another_kind_is_not_ours(fake_github: FakeGitHub, github: GitHub) -> None:
    fake_github.add_issue("drift", f"{MARKER}\nold", author="github-actions[bot]")  # its label was removed
    fake_github.add_issue("other", "<!-- bluegreen:other -->\nx", author="github-actions[bot]", labels=(LABEL,))
    _, created = github.upsert_issue(MARKER, LABEL, "drift", "drift")
    assert created
    assert len(fake_github.issues("open")) == 3


def test_a_copy_left_by_a_retried_creation_is_closed(fake_github: FakeGitHub, github: GitHub) -> None:
    older = fake_github.add_issue("drift", f"{MARKER}\nold", author="github-actions[bot]", labels=(LABEL,))
    younger = fake_github.add_issue("drift", f"{MARKER}\nold", author="github-actions[bot]", labels=(LABEL,))
    opened, created = github.upsert_issue(MARKER, LABEL, "drift", "new")
    assert (opened.number, created) == (older, False)
    states = {issue["number"]: (issue["state"], issue["state_reason"]) for issue in fake_github.issues()}
    assert states == {older: ("open", None), younger: ("closed", "not_planned")}


def test_pull_requests_among_the_listed_issues_are_left_alone(fake_github: FakeGitHub, github: GitHub) -> None:
    fake_github.add_pull(7, "Flip", f"{MARKER}\nnot an issue", "github-actions[bot]", "b" * 40, False, None)
    assert github.close_issues(MARKER, "", "gone") == ()  # no label asked: GitHub lists the pull request too
    assert writes(fake_github) == []


def test_a_forbidden_write_names_the_issues_permission(fake_github: FakeGitHub, github: GitHub) -> None:
    fake_github.fail_next("POST", "/issues$", 403, message="Resource not accessible by integration")
    with pytest.raises(GitHubError, match="403 Resource not accessible by integration") as caught:
        github.upsert_issue(MARKER, LABEL, "drift", "drift")
    assert "permissions: issues: write" in caught.value.hint


def test_a_body_too_long_for_github_is_refused_before_any_request(fake_github: FakeGitHub, github: GitHub) -> None:
    with pytest.raises(GitHubError, match="over GitHub's 65,536"):
        github.upsert_issue(MARKER, LABEL, "drift", "x" * COMMENT_LIMIT)
    with pytest.raises(ValueError, match="not a marker"):
        github.close_issues("bluegreen:drift", LABEL, "gone")
    assert fake_github.calls == []


def test_a_long_title_is_cut_to_githubs_limit(fake_github: FakeGitHub, github: GitHub) -> None:
    github.upsert_issue(MARKER, LABEL, "bluegreen: drift in " + "app, " * 100, "drift")
    assert len(fake_github.issues()[0]["title"]) == 256
