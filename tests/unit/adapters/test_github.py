"""The GitHub adapter against the fake GitHub REST API, over real HTTP on loopback."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from bluegreen.adapters.github import COMMENT_LIMIT, GitHub, PullInfo, fit_line
from bluegreen.errors import GitHubError, InputError
from tests.fakegithub import FakeGitHub

MERGE, HEAD, OTHER = "a" * 40, "b" * 40, "c" * 40
MARKER = "<!-- bluegreen:plan -->"
MakeGitHub = Callable[..., GitHub]


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_github(fake_github: FakeGitHub, sleeps: list[float]) -> Iterator[MakeGitHub]:
    """An adapter on the fake: fast retries, no pause between writes, sleeps recorded instead of slept."""
    made: list[GitHub] = []

    def make(*, token: str | None = None, api_url: str | None = None, **options: Any) -> GitHub:
        settings: dict[str, Any] = {"retry_backoff_s": 0.01, "write_interval_s": 0, "sleep": sleeps.append}
        github = GitHub(token or fake_github.token, api_url or fake_github.url, "acme/ops", **(settings | options))
        made.append(github)
        return github

    yield make
    for github in made:
        github.close()


@pytest.fixture
def github(make_github: MakeGitHub) -> GitHub:
    return make_github()


def add_pull(fake: FakeGitHub, number: int = 7, **fields: Any) -> None:
    """A merged pull request by alice (head HEAD, merged as MERGE) unless `fields` say otherwise."""
    pull: dict[str, Any] = {"title": "Flip theoshift to blue", "body": "", "author": "alice", "head_sha": HEAD}
    fake.add_pull(number, **(pull | {"merged": True, "merge_commit_sha": MERGE} | fields))


# --- pull requests ---------------------------------------------------------------------------------------------


def test_pull_reads_what_github_says(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, body="Blue has 2.4.1")
    assert github.pull(7) == PullInfo(
        number=7, title="Flip theoshift to blue", body="Blue has 2.4.1", author="alice",
        url=f"{fake_github.web_url}/acme/ops/pull/7", merged=True, merge_commit_sha=MERGE, head_sha=HEAD,
        head_repo="acme/ops", base_repo="acme/ops", base_ref="main", head_ref="release",
    )  # fmt: skip
    assert not github.pull(7).is_fork


@pytest.mark.parametrize(
    ("head_repo", "fork_deleted", "expected_head", "is_fork"),
    [("acme/ops", False, "acme/ops", False), ("mallory/ops", False, "mallory/ops", True), (None, True, None, True)],
)
def test_fork_pulls_are_told_apart(
    fake_github: FakeGitHub,
    github: GitHub,
    head_repo: str | None,
    fork_deleted: bool,
    expected_head: str | None,
    is_fork: bool,
) -> None:
    add_pull(fake_github, merged=False, merge_commit_sha=None, head_repo=head_repo, fork_deleted=fork_deleted)
    pull = github.pull(7)
    assert (pull.head_repo, pull.is_fork, pull.merged) == (expected_head, is_fork, False)


@pytest.mark.parametrize(
    ("pulls", "expected"),
    [
        pytest.param([{"merge_commit_sha": MERGE}], 7, id="merge or squash: the merge commit"),
        pytest.param([{"head_sha": MERGE, "merge_commit_sha": OTHER}], 7, id="rebase: the head commit"),
        pytest.param([{"merged": False, "merge_commit_sha": MERGE}], None, id="open: not merged"),
        pytest.param([{"head_sha": MERGE, "merge_commit_sha": OTHER, "base_ref": "dev"}], None, id="rebased elsewhere"),
        pytest.param([{"merged": False, "head_sha": MERGE}, {"merge_commit_sha": MERGE}], 8, id="the merged one"),
        pytest.param([{"head_sha": MERGE, "merge_commit_sha": OTHER}, {}], 8, id="merge commit first"),
    ],
)
def test_merged_pull_for_commit(
    fake_github: FakeGitHub, github: GitHub, pulls: list[dict[str, Any]], expected: int | None
) -> None:
    for number, fields in enumerate(pulls, start=7):
        add_pull(fake_github, number, **fields)
        fake_github.associate(MERGE, number)
    found = github.merged_pull_for_commit(MERGE)
    assert (found.number if found else None) == expected


def test_merged_pull_is_asked_again_while_github_lags(
    fake_github: FakeGitHub, github: GitHub, sleeps: list[float]
) -> None:
    add_pull(fake_github)
    fake_github.associate(MERGE, 7, after_calls=2)
    found = github.merged_pull_for_commit(MERGE)
    assert found is not None
    assert found.number == 7
    assert sleeps == [2.0, 2.0]
    assert [c.path for c in fake_github.calls] == [f"/repos/acme/ops/commits/{MERGE}/pulls"] * 3


def test_direct_push_has_no_pull(fake_github: FakeGitHub, make_github: MakeGitHub, sleeps: list[float]) -> None:
    github = make_github(lag_attempts=3, lag_delay_s=0.5)
    assert github.merged_pull_for_commit(MERGE) is None
    assert sleeps == [0.5, 0.5]
    assert len(fake_github.calls) == 3


# --- the sticky comment ----------------------------------------------------------------------------------------


def test_sticky_comment_is_created_once_then_edited(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github)
    fake_github.add_comment(7, "Looks good to me")
    first = github.upsert_comment(7, MARKER, "plan: switch to blue")
    second = github.upsert_comment(7, MARKER, "plan: switch to green")
    assert first == second
    assert fake_github.comments(7) == ["Looks good to me", f"{MARKER}\nplan: switch to green"]
    writes = [c.method for c in fake_github.calls if c.method != "GET"]
    assert writes == ["POST", "PATCH"]


def test_sticky_comment_is_found_beyond_the_first_page(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github)
    for n in range(40):
        fake_github.add_comment(7, f"comment {n}")
    mine = fake_github.add_comment(7, f"{MARKER}\nold plan", author="github-actions[bot]")
    assert github.upsert_comment(7, MARKER, "new plan") == mine
    assert fake_github.comments(7)[-41:] == [f"comment {n}" for n in range(40)] + [f"{MARKER}\nnew plan"]
    pages = [c.query.get("page", "1") for c in fake_github.calls if c.method == "GET"]
    assert pages == ["1", "2"]
    assert [c.method for c in fake_github.calls if c.method != "GET"] == ["PATCH"]


def test_a_creation_that_landed_before_its_5xx_leaves_one_comment_at_the_next_edit(
    fake_github: FakeGitHub, github: GitHub
) -> None:
    """GitHub created the comment but answered 502, so the retry created a second one: the next edit keeps the
    first and deletes the copy, and the pull request shows one comment, the latest."""
    add_pull(fake_github)
    fake_github.fail_next("POST", r"/issues/7/comments$", 502, landed=True)
    github.upsert_comment(7, MARKER, "switching…")
    assert fake_github.comments(7) == [f"{MARKER}\nswitching…"] * 2
    github.upsert_comment(7, MARKER, "released")
    assert fake_github.comments(7) == [f"{MARKER}\nreleased"]
    assert [c.method for c in fake_github.calls if c.method != "GET"] == ["POST", "POST", "PATCH", "DELETE"]


def test_a_comment_quoting_the_marker_is_not_ours(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github)
    fake_github.add_comment(7, f"why does the bot write {MARKER}?", author="mallory")
    github.upsert_comment(7, MARKER, "plan")
    assert fake_github.comments(7) == [f"why does the bot write {MARKER}?", f"{MARKER}\nplan"]


def test_a_comment_too_long_for_github_is_refused_before_any_request(fake_github: FakeGitHub, github: GitHub) -> None:
    """The report layer cuts a report to fit (report.truncate_markdown): a longer body here is a bug, not sent."""
    add_pull(fake_github)
    before = len(fake_github.calls)
    with pytest.raises(GitHubError, match="over GitHub's 65,536"):
        github.upsert_comment(7, MARKER, "x" * COMMENT_LIMIT)
    assert len(fake_github.calls) == before
    assert fake_github.comments(7) == []


@pytest.mark.parametrize(
    "marker", ["bluegreen:plan", "<!-- -->", "<!-- a --> <script>", "<!-- a -->\n", "<!-- a --><!-- b -->", ""]
)
def test_a_marker_must_be_one_plain_html_comment(github: GitHub, fake_github: FakeGitHub, marker: str) -> None:
    with pytest.raises(ValueError, match="not a marker"):
        github.upsert_comment(7, marker, "plan")
    assert fake_github.calls == []


# --- statuses, approvals, deployments --------------------------------------------------------------------------


def test_status_has_its_context_and_a_short_description(fake_github: FakeGitHub, github: GitHub) -> None:
    github.set_status(HEAD, "pending", "Planning\n" + "theoshift: blue -> green, " * 10, target_url="http://ci/1")
    github.set_status(HEAD, "success", "released", context="bluegreen/release")
    first, second = fake_github.statuses(HEAD)
    assert (first["state"], first["context"], first["target_url"]) == ("pending", "bluegreen/plan", "http://ci/1")
    assert first["description"] == ("Planning " + "theoshift: blue -> green, " * 10)[:139] + "…"
    assert (second["state"], second["context"], second["description"]) == ("success", "bluegreen/release", "released")


@pytest.mark.parametrize(("text", "expected"), [("ok", "ok"), ("a\nb\t c", "a b c"), ("x" * 141, "x" * 139 + "…")])
def test_fit_line(text: str, expected: str) -> None:
    assert fit_line(text) == expected


def test_approved_by_other_reads_the_reviews_in_order(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, 7)
    add_pull(fake_github, 8)
    for user, state in [("alice", "APPROVED"), ("bob", "APPROVED"), ("bob", "CHANGES_REQUESTED")]:
        fake_github.add_review(7, user, state)
    fake_github.add_review(8, "carol", "APPROVED")
    assert github.approved_by_other(7) == (
        False,
        "no approval that counts; not counted: alice is its author; changes requested by bob",
    )
    assert github.approved_by_other(8) == (True, "approved by carol")


def sha(n: int) -> str:
    return f"{n:040x}"


def permission_calls(fake: FakeGitHub) -> list[str]:
    return [c.path.split("/")[-2] for c in fake.calls if c.path.endswith("/permission")]


def test_a_pushers_approval_does_not_count(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, 7)
    fake_github.add_pull_commit(7, sha(1), "alice", "alice")
    fake_github.add_pull_commit(7, HEAD, "mallory", "mallory")  # mallory pushed the last commit, then approved it
    fake_github.add_review(7, "mallory", "APPROVED", association="COLLABORATOR")
    assert github.approved_by_other(7) == (False, "no approval that counts; not counted: mallory pushed commits to it")
    add_pull(fake_github, 8)
    fake_github.add_pull_commit(8, HEAD, "alice", "dave")  # dave only committed it (a rebase, a cherry-pick)
    fake_github.add_review(8, "dave", "APPROVED")
    fake_github.add_review(8, "bob", "APPROVED")
    assert github.approved_by_other(8) == (True, "approved by bob; not counted: dave pushed commits to it")
    assert permission_calls(fake_github) == ["bob"]  # a pusher's access is never asked: it cannot matter


def test_a_read_only_collaborators_approval_does_not_count(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, 7)
    fake_github.set_permission("reader", "read")  # an organisation member (MEMBER) without write access
    fake_github.set_permission("triager", "triage")
    fake_github.set_permission("gone", None)  # no longer a collaborator: GitHub answers 404
    fake_github.add_review(7, "reader", "APPROVED", association="MEMBER")
    fake_github.add_review(7, "triager", "APPROVED", association="COLLABORATOR")
    fake_github.add_review(7, "gone", "APPROVED", association="COLLABORATOR")
    fake_github.add_review(7, "drive-by", "APPROVED", association="NONE")  # anyone, on a public repository
    assert github.approved_by_other(7) == (
        False,
        "no approval that counts; not counted: drive-by has no access to the repository, gone has no access to the "
        "repository, reader has read access only, triager has triage (read) access only",
    )
    assert sorted(permission_calls(fake_github)) == ["drive-by", "gone", "reader", "triager"]


@pytest.mark.parametrize(
    ("role", "permission"), [("write", None), ("maintain", None), ("admin", None), ("ship", "write")]
)
def test_a_writers_approval_counts(fake_github: FakeGitHub, github: GitHub, role: str, permission: str | None) -> None:
    add_pull(fake_github, 7)
    fake_github.set_permission("wendy", role, permission=permission)
    fake_github.add_review(7, "wendy", "APPROVED", association="CONTRIBUTOR")  # the association does not matter
    assert github.approved_by_other(7) == (True, "approved by wendy")


def test_commits_linked_to_no_account_exclude_no_one(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, 7)
    fake_github.add_pull_commit(7, sha(1), None, None)  # an address GitHub links to no account
    fake_github.add_pull_commit(7, HEAD, "alice", None)
    fake_github.add_review(7, "bob", "APPROVED")
    assert github.approved_by_other(7) == (
        True,
        "approved by bob; 2 commits have an author or committer GitHub links to no account, who could not be excluded",
    )


def test_the_commits_are_read_page_by_page(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, 7)
    for n in range(1, 70):
        fake_github.add_pull_commit(7, sha(n), "alice", "alice")
    fake_github.add_pull_commit(7, HEAD, "mallory", "web-flow")  # the 70th commit: on the third page of 30
    fake_github.add_review(7, "mallory", "APPROVED")
    assert github.approved_by_other(7) == (False, "no approval that counts; not counted: mallory pushed commits to it")
    pages = [c.query.get("page", "1") for c in fake_github.calls if c.path == "/repos/acme/ops/pulls/7/commits"]
    assert pages == ["1", "2", "3"]


def test_more_commits_than_github_lists_are_never_approved(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, 7)
    for n in range(1, 251):
        fake_github.add_pull_commit(7, sha(n), "alice", "alice")
    fake_github.add_pull_commit(7, HEAD, "mallory", "mallory")  # the 251st: GitHub does not list it
    fake_github.add_review(7, "mallory", "APPROVED")
    assert github.approved_by_other(7) == (
        False,
        "it has 251 commits, more than GitHub lists (250): who made them cannot be told",
    )
    assert permission_calls(fake_github) == []


def test_a_permission_github_refuses_to_tell_fails_the_check(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, 7)
    fake_github.add_review(7, "bob", "APPROVED")
    fake_github.fail_next("GET", r"/collaborators/bob/permission$", 403, message="Resource not accessible")
    with pytest.raises(
        GitHubError, match="reading the permission of bob on the repository: GitHub answered 403"
    ) as caught:
        github.approved_by_other(7)
    assert "metadata: read" in caught.value.hint


def test_deployment_and_its_statuses(fake_github: FakeGitHub, github: GitHub) -> None:
    # our own pending status must not block the deployment (GitHub answers 409 unless required_contexts is [])
    github.set_status(MERGE, "pending", "releasing", context="bluegreen/release")
    deployment = github.create_deployment(MERGE, "production", "theoshift to blue")
    github.deployment_status(deployment, "in_progress", "switching")
    github.deployment_status(deployment, "success", "live", environment_url="https://shop.test", log_url="http://ci/9")
    (created,) = fake_github.deployments()
    assert (created["id"], created["ref"], created["environment"]) == (deployment, MERGE, "production")
    sent = next(c.json_body for c in fake_github.calls if c.path == "/repos/acme/ops/deployments")
    assert sent == {
        "ref": MERGE, "auto_merge": False, "required_contexts": [], "environment": "production",
        "description": "theoshift to blue", "transient_environment": False, "production_environment": True,
    }  # fmt: skip
    first, last = fake_github.deployment_statuses(deployment)
    assert (first["state"], first["description"]) == ("in_progress", "switching")
    assert (last["state"], last["environment_url"], last["log_url"]) == ("success", "https://shop.test", "http://ci/9")


# --- reverts ---------------------------------------------------------------------------------------------------


def test_a_revert_pull_says_what_it_reverts(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, 9, title='Revert "Flip theoshift to blue"', body="Reverts acme/ops#7", merged=False)
    assert github.pull(9).reverts == 7


# --- failures --------------------------------------------------------------------------------------------------


def test_a_server_error_is_retried(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github)
    fake_github.fail_next("GET", r"/pulls/7$", 502, times=2)
    fake_github.fail_next("POST", r"/issues/7/comments$", 502, times=1)
    assert github.pull(7).number == 7
    github.upsert_comment(7, MARKER, "plan")
    assert [c.path.rsplit("/", 2)[-2:] for c in fake_github.calls] == [["pulls", "7"]] * 3 + [["7", "comments"]] * 3
    assert fake_github.comments(7) == [f"{MARKER}\nplan"]


def test_a_server_error_that_lasts_becomes_a_github_error(fake_github: FakeGitHub, make_github: MakeGitHub) -> None:
    fake_github.fail_next("POST", "/statuses/", 503, times=10, message="Service Unavailable")
    with pytest.raises(GitHubError, match="GitHub answered 503 Service Unavailable") as caught:
        make_github(retry_total=2).set_status(HEAD, "success", "ok")
    assert "run the job again later" in caught.value.hint
    assert caught.value.exit_code == 6
    assert len(fake_github.calls) == 3


@pytest.mark.parametrize(
    ("call", "permission"),
    [
        (lambda g: g.upsert_comment(7, MARKER, "plan"), "pull-requests: write"),
        (lambda g: g.set_status(HEAD, "success", "ok"), "statuses: write"),
        (lambda g: g.create_deployment("main", "production", "go"), "deployments: write"),
    ],
)
def test_a_forbidden_call_names_the_permission(
    fake_github: FakeGitHub, github: GitHub, call: Callable[[GitHub], object], permission: str
) -> None:
    add_pull(fake_github)
    fake_github.fail_next("POST", ".", 403, message="Resource not accessible by integration")
    with pytest.raises(GitHubError, match="403 Resource not accessible by integration") as caught:
        call(github)
    assert f"permissions: {permission}" in caught.value.hint
    assert "fork" in caught.value.hint
    assert fake_github.token not in str(caught.value)


def test_a_refused_token_is_never_shown(fake_github: FakeGitHub, make_github: MakeGitHub) -> None:
    token = "ghp_wrong0123456789"
    with pytest.raises(GitHubError, match="401 Bad credentials") as caught:
        make_github(token=token).pull(7)
    assert "token" in caught.value.hint
    shown = f"{caught.value}{caught.value.hint}{caught.value!r}{make_github(token=token)!r}"
    assert token not in shown
    assert fake_github.calls[0].headers["authorization"] == f"token {token}"


def test_an_unknown_pull_is_not_found(fake_github: FakeGitHub, github: GitHub) -> None:
    with pytest.raises(GitHubError, match="reading pull request #404: GitHub answered 404 Not Found") as caught:
        github.pull(404)
    assert "pull-requests: read" in caught.value.hint


def test_an_unreachable_api_becomes_a_github_error(make_github: MakeGitHub) -> None:
    with FakeGitHub() as gone:
        url = gone.url
    with pytest.raises(GitHubError, match=f"no answer from {url}") as caught:
        make_github(api_url=url, retry_total=0).pull(7)
    assert "GITHUB_API_URL" in caught.value.hint


def test_enterprise_server_api_under_a_path() -> None:
    with FakeGitHub(prefix="/api/v3") as enterprise, GitHub(enterprise.token, enterprise.url, "acme/ops") as github:
        add_pull(enterprise, head_sha=MERGE, merge_commit_sha=OTHER)
        enterprise.associate(MERGE, 7)
        found = github.merged_pull_for_commit(MERGE)
        assert found is not None
        assert found.number == 7
        assert [c.path for c in enterprise.calls] == [f"/repos/acme/ops/commits/{MERGE}/pulls", "/repos/acme/ops"]


@pytest.mark.parametrize(
    ("token", "api_url", "repository", "problem"),
    [
        ("", "https://api.github.com", "acme/ops", "no GitHub token"),
        ("t", "api.github.com", "acme/ops", "not a GitHub API URL"),
        ("t", "file:///etc/passwd", "acme/ops", "not a GitHub API URL"),
        ("t", "https://api.github.com x", "acme/ops", "not a GitHub API URL"),
        ("t", "https://api.github.com", "acme", "not a repository name"),
        ("t", "https://api.github.com", "acme/ops/extra", "not a repository name"),
        ("t", "https://api.github.com", "../..", "not a repository name"),
        ("t", "https://api.github.com", "acme/ops?x=1", "not a repository name"),
    ],
)
def test_inputs_are_checked(token: str, api_url: str, repository: str, problem: str) -> None:
    with pytest.raises(InputError, match=problem):
        GitHub(token, api_url, repository)


@pytest.mark.parametrize("sha", ["HEAD", "main", "abc123", "A" * 40, "a" * 39, "a" * 40 + "\n", "a" * 40 + "/../x"])
def test_a_commit_is_a_full_sha(fake_github: FakeGitHub, github: GitHub, sha: str) -> None:
    with pytest.raises(InputError, match="not a full commit sha"):
        github.merged_pull_for_commit(sha)
    with pytest.raises(InputError, match="not a full commit sha"):
        github.set_status(sha, "success", "ok")
    assert fake_github.calls == []


def test_the_fake_answers_like_github(fake_github: FakeGitHub) -> None:
    bearer = {"Authorization": f"Bearer {fake_github.token}"}
    fake_github.expect_undeclared("GET", "/repos/acme/ops/teleport")  # GitHub has no such path: its 404 is the point
    unknown = httpx.get(f"{fake_github.url}/repos/acme/ops/teleport", headers=bearer)
    other_repo = httpx.get(f"{fake_github.url}/repos/acme/other", headers=bearer)
    anonymous = httpx.get(f"{fake_github.url}/repos/acme/ops")
    repo = httpx.get(f"{fake_github.url}/repos/ACME/ops", headers=bearer)
    assert [r.status_code for r in (unknown, other_repo, anonymous, repo)] == [404, 404, 401, 200]
    assert unknown.json()["message"] == "Not Found"
    assert "documentation_url" in unknown.json()
    assert anonymous.json()["message"] == "Bad credentials"
    assert (repo.json()["full_name"], repo.json()["default_branch"]) == ("acme/ops", "main")
    assert [c.method for c in fake_github.calls] == ["GET"] * 4


def test_only_approvals_of_the_merged_head_by_writers_count(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, 9)
    fake_github.add_review(9, "bob", "APPROVED", commit_id="1" * 40)  # an older head, before the last push
    fake_github.add_review(9, "drive-by", "APPROVED", association="NONE")  # anyone, on a public repository
    assert github.approved_by_other(9) == (
        False,
        "no approval that counts; not counted: drive-by has no access to the repository, bob approved an older push",
    )
    fake_github.add_review(9, "carol", "APPROVED", association="COLLABORATOR")
    assert github.approved_by_other(9) == (
        True,
        "approved by carol; not counted: drive-by has no access to the repository, bob approved an older push",
    )


def test_a_persons_comment_with_the_marker_is_never_taken_over(fake_github: FakeGitHub, github: GitHub) -> None:
    add_pull(fake_github, 10)
    fake_github.add_comment(10, "<!-- bluegreen:report -->\nlooks fine to me, merge it", author="mallory")
    github.upsert_comment(10, "<!-- bluegreen:report -->", "the plan")
    bodies = fake_github.comments(10)
    assert bodies[0] == "<!-- bluegreen:report -->\nlooks fine to me, merge it"
    assert bodies[1] == "<!-- bluegreen:report -->\nthe plan"


# --- the retry, chosen on purpose (RETRY_STATUSES, RETRY_METHODS, RATE_LIMIT_WAIT_S) ------------------------------


def test_an_edit_of_the_sticky_comment_is_tried_again_after_a_server_error(
    fake_github: FakeGitHub, github: GitHub
) -> None:
    add_pull(fake_github)
    github.upsert_comment(7, MARKER, "plan")
    fake_github.fail_next("PATCH", r"/issues/comments/\d+$", 502)
    github.upsert_comment(7, MARKER, "release")
    assert [call.method for call in fake_github.calls].count("PATCH") == 2
    assert fake_github.comments(7) == [f"{MARKER}\nrelease"]


def test_a_429_is_waited_for_as_retry_after_says_then_tried_again(fake_github: FakeGitHub, github: GitHub) -> None:
    fake_github.fail_next("POST", "/statuses/", 429, message="You have exceeded a secondary rate limit.", headers={
        "Retry-After": "1"
    })  # fmt: skip
    start = time.monotonic()
    github.set_status(HEAD, "success", "ok")
    assert time.monotonic() - start >= 0.9
    assert [call.method for call in fake_github.calls].count("POST") == 2
    assert fake_github.statuses(HEAD)[-1]["state"] == "success"


def test_a_rate_limit_longer_than_the_bound_is_an_error_at_once_not_a_wait(
    fake_github: FakeGitHub, make_github: MakeGitHub
) -> None:
    """An hour to the reset: a release holding its locks must not sit that out; the error says why."""
    reset = str(int(time.time()) + 3600)
    fake_github.fail_next(
        "POST", "/statuses/", 403, times=5, message="API rate limit exceeded for installation ID 1.",
        headers={"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
    )  # fmt: skip
    start = time.monotonic()
    with pytest.raises(GitHubError):
        make_github(rate_limit_wait_s=5).set_status(HEAD, "success", "ok")
    assert time.monotonic() - start < 5
    assert fake_github.statuses(HEAD) == []


def test_a_client_error_is_not_tried_again(fake_github: FakeGitHub, github: GitHub) -> None:
    fake_github.fail_next("POST", "/statuses/", 422, message="Validation Failed")
    with pytest.raises(GitHubError, match="422"):
        github.set_status(HEAD, "success", "ok")
    assert [call.method for call in fake_github.calls].count("POST") == 1
