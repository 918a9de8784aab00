"""The rollback record as a pull request: the GitHub adapter against the fake GitHub serving a real bare repository
(the Action end to end, on the real lab, is tests/integration/test_action_rollback.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from bluegreen import config
from bluegreen.action.rollback_pr import LABEL, Moved, Opened, Where, branch_of, close_obsolete, marker, open_record
from bluegreen.adapters.github import GitHub
from bluegreen.core import rollback
from bluegreen.core.rollback import Record
from bluegreen.errors import GitHubError
from bluegreen.model import Color, Outcome
from tests.fakegithub import BOT, FakeGitHub
from tests.integration.test_status_commit import git
from tests.unit.report.test_outcome import TRIGGER, done, plan

LIVE = "state/live.json"
ASKED = {"apps": {"theoshift": {"live": "blue", "version": "2.4.1"}, "ldc-tools": {"live": "green"}}}
BRANCH = branch_of("theoshift")
WHERE = Where("main", LIVE, "https://github.example/acme/ops/actions/runs/7")


def live_json(document: Mapping[str, object]) -> str:
    return json.dumps(document, indent=2) + "\n"


@pytest.fixture
def origin(tmp_path: Path, fake_github: FakeGitHub) -> Path:
    bare, seed = tmp_path / "origin.git", tmp_path / "seed"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    (seed / "state").mkdir()
    (seed / LIVE).write_text(live_json(ASKED))
    git(seed, "add", "-A")
    git(seed, "-c", "user.name=Alice", "-c", "user.email=alice@example.test", "commit", "-qm", "seed")
    git(seed, "push", "-q", str(bare), "main")
    fake_github.git_dir = bare
    return bare


@pytest.fixture
def github(fake_github: FakeGitHub) -> Iterator[GitHub]:
    with GitHub(fake_github.token, fake_github.url, "acme/ops", retry_backoff_s=0.01, write_interval_s=0) as made:
        yield made


def switched_back() -> tuple[Record, Outcome]:
    """theoshift's release of Blue v2.4.1 switched back, and its record against the released live.json (ASKED)."""
    app = done(plan(), "rolled_back", restored=True, reason="verification failed, traffic is back on Green: boom")
    outcome = Outcome((app,), TRIGGER, "2026-11-24T12:00:00Z")
    [released] = rollback.records(outcome, config.parse_desired(live_json(ASKED), LIVE).apps)
    return released, outcome


def record(github: GitHub) -> int:
    app, outcome = switched_back()
    opened = open_record(github, app, outcome, WHERE)
    assert isinstance(opened, Opened)
    return opened.number


def test_a_switch_back_opens_one_pull_request_that_says_what_is_live(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    tip = git(origin, "rev-parse", "main")
    number = record(github)
    pull = fake_github.pull(number)
    assert (pull["author"], pull["head_ref"], pull["base_ref"], pull["labels"]) == (BOT[0], BRANCH, "main", [LABEL])
    assert pull["title"] == "bluegreen: record the rollback of theoshift, LIVE is Green v2.4.0"
    assert pull["body"].startswith(marker("theoshift") + "\n## ↩️ Rollback record: theoshift is LIVE on Green")
    assert git(origin, "rev-parse", f"{BRANCH}~1") == tip  # one commit on the default branch's tip
    assert git(origin, "log", "-1", "--format=%an|%s", BRANCH) == (
        f"{BOT[0]}|bluegreen: record the rollback of theoshift in state/live.json"  # no [skip ci]
    )
    after = json.loads(git(origin, "show", f"{BRANCH}:{LIVE}"))
    assert after == {"apps": {"theoshift": {"live": "green", "version": "2.4.0"}, "ldc-tools": {"live": "green"}}}


def test_an_open_record_is_reused_never_a_second_one(origin: Path, github: GitHub, fake_github: FakeGitHub) -> None:
    first = record(github)
    commit = git(origin, "rev-parse", BRANCH)
    again = record(github)
    assert again == first
    assert fake_github.open_pulls() == [first]
    assert git(origin, "rev-parse", BRANCH) == commit  # live.json says so already there: no new commit
    edits = [call for call in fake_github.calls if call.method == "PATCH" and call.path.endswith(f"/pulls/{first}")]
    assert len(edits) == 1  # its description is the latest switch back's


def test_after_a_closed_record_the_branch_starts_again_at_the_tip(
    origin: Path, github: GitHub, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    first = record(github)
    fake_github.close_pull(first)
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    (clone / "README.md").write_text("ops\n")
    git(clone, "add", "-A")
    git(clone, "-c", "user.name=Alice", "-c", "user.email=alice@example.test", "commit", "-qm", "more")
    git(clone, "push", "-q", "origin", "main")
    second = record(github)
    assert second != first
    assert fake_github.open_pulls() == [second]
    assert git(origin, "rev-parse", f"{BRANCH}~1") == git(origin, "rev-parse", "main")


def test_a_default_branch_that_says_what_is_live_needs_no_record(
    origin: Path, github: GitHub, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    (clone / LIVE).write_text(live_json({"apps": {"theoshift": {"live": "green", "version": "2.4.0"}}}))
    git(clone, "-c", "user.name=Bob", "-c", "user.email=bob@example.test", "commit", "-qam", "Revert")
    git(clone, "push", "-q", "origin", "main")
    app, outcome = switched_back()
    assert open_record(github, app, outcome, WHERE) is None
    assert fake_github.open_pulls() == []
    assert not any(call.method != "GET" for call in fake_github.calls)


def test_another_change_of_the_app_merged_meanwhile_is_not_reverted(
    origin: Path, github: GitHub, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """A fixed Blue 2.4.2 pinned on the default branch after the release: a record made there would revert it."""
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    fixed = {"apps": {**ASKED["apps"], "theoshift": {"live": "blue", "version": "2.4.2"}}}
    (clone / LIVE).write_text(live_json(fixed))
    git(clone, "-c", "user.name=Bob", "-c", "user.email=bob@example.test", "commit", "-qam", "theoshift 2.4.2")
    git(clone, "push", "-q", "origin", "main")
    app, outcome = switched_back()
    moved = open_record(github, app, outcome, WHERE)
    assert isinstance(moved, Moved)
    assert (moved.now.live, moved.now.version) == (Color.BLUE, "2.4.2")
    assert fake_github.open_pulls() == []
    assert not any(call.method != "GET" for call in fake_github.calls)


def test_github_refusing_actions_pull_requests_says_which_setting(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next(
        "POST", r"/pulls$", 403, message="GitHub Actions is not permitted to create or approve pull requests."
    )
    app, outcome = switched_back()
    with pytest.raises(GitHubError) as refused:
        open_record(github, app, outcome, WHERE)
    assert "not permitted to create" in refused.value.message
    assert "Allow GitHub Actions to create and approve pull requests" in refused.value.hint
    assert "rollback_pr" in refused.value.hint
    assert record(github) > 0  # the next run, once the setting is on, reuses the branch


def test_a_persons_pull_request_from_the_branch_is_left_alone(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    git(origin, "branch", BRANCH, "main")
    fake_github.add_pull(30, "My own", "", "alice", git(origin, "rev-parse", "main"), False, None, head_ref=BRANCH)
    app, outcome = switched_back()
    with pytest.raises(GitHubError, match="is open and is not bluegreen's rollback record"):
        open_record(github, app, outcome, WHERE)
    assert fake_github.pull(30)["body"] == ""


def test_a_pull_request_github_made_already_is_found_not_made_twice(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    """A POST that GitHub carried out before an error it answered is retried: GitHub then says it exists."""
    git(origin, "update-ref", f"refs/heads/{BRANCH}", git(origin, "rev-parse", "main"))
    first = record(github)
    again = github.create_pull(BRANCH, "main", "title", f"{marker('theoshift')}\nbody")
    assert again.number == first


def test_a_label_github_refuses_leaves_the_pull_request_open(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next("POST", r"/issues/\d+/labels$", 403, message="Resource not accessible by integration")
    app, outcome = switched_back()
    opened = open_record(github, app, outcome, WHERE)
    assert isinstance(opened, Opened)
    assert "Resource not accessible by integration" in (opened.unlabelled or "")
    assert fake_github.open_pulls() == [opened.number]


def push_to(origin: Path, tmp_path: Path, branch: str, files: Mapping[str, str], message: str) -> str:
    """A person's commit of `files` pushed to `branch` of `origin`; its sha."""
    clone = tmp_path / f"clone-{len(list(tmp_path.iterdir()))}"
    git(tmp_path, "clone", "-q", "-b", branch, str(origin), str(clone))
    for path, text in files.items():
        (clone / path).write_text(text)
    git(clone, "add", "-A")
    git(clone, "-c", "user.name=Mallory", "-c", "user.email=m@example.test", "commit", "-qm", message)
    git(clone, "push", "-q", "origin", branch)
    return git(clone, "rev-parse", "HEAD")


def test_a_reused_record_is_made_again_on_the_tip_never_on_top_of_what_is_there(
    origin: Path, github: GitHub, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    first = record(github)
    wrong = {"apps": {**ASKED["apps"], "theoshift": {"live": "green", "version": "9.9.9"}}}
    push_to(origin, tmp_path, BRANCH, {LIVE: live_json(wrong)}, "a commit on the record's branch")
    push_to(origin, tmp_path, "main", {"README.md": "ops\n"}, "more on main")
    assert record(github) == first
    assert git(origin, "rev-parse", f"{BRANCH}~1") == git(origin, "rev-parse", "main")  # one commit on the tip
    assert git(origin, "log", "-1", "--format=%an", BRANCH) == BOT[0]
    after = json.loads(git(origin, "show", f"{BRANCH}:{LIVE}"))
    assert after["apps"]["theoshift"] == {"live": "green", "version": "2.4.0"}
    assert git(origin, "show", f"{BRANCH}:README.md") == "ops"


@pytest.mark.parametrize(
    "spoofed",
    [
        {"README.md": "a change a reviewer would not expect\n"},  # another file
        {LIVE: live_json({"apps": {**ASKED["apps"], "ldc-tools": {"live": "blue"}}})},  # another app's entry
    ],
)
def test_a_bots_pull_request_with_the_marker_that_changes_more_is_not_adopted(
    origin: Path, github: GitHub, fake_github: FakeGitHub, tmp_path: Path, spoofed: Mapping[str, str]
) -> None:
    git(origin, "branch", BRANCH, "main")
    head = push_to(origin, tmp_path, BRANCH, spoofed, "looks like a record")
    body = f"{marker('theoshift')}\nRollback record"
    # a workflow of the repository's own can open it as github-actions[bot]: the diff decides
    fake_github.add_pull(31, "bluegreen: record", body, "github-actions[bot]", head, False, None, head_ref=BRANCH)
    app, outcome = switched_back()
    with pytest.raises(GitHubError, match="changes more than the entry of theoshift"):
        open_record(github, app, outcome, WHERE)
    assert git(origin, "rev-parse", BRANCH) == head  # left alone: not rebuilt, not edited
    assert fake_github.pull(31)["body"] == body


def test_another_bots_pull_request_with_the_marker_is_never_bluegreens(
    origin: Path, github: GitHub, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    git(origin, "branch", BRANCH, "main")
    entry = {"theoshift": {"live": "green", "version": "2.4.0"}}  # what a record would say: only the app's entry
    head = push_to(origin, tmp_path, BRANCH, {LIVE: live_json({"apps": {**ASKED["apps"], **entry}})}, "a record")
    body = f"{marker('theoshift')}\nRollback record"
    fake_github.add_pull(31, "bluegreen: record", body, "other-app[bot]", head, False, None, head_ref=BRANCH)
    app, outcome = switched_back()
    with pytest.raises(GitHubError, match="is not bluegreen's rollback record"):
        open_record(github, app, outcome, WHERE)
    assert (git(origin, "rev-parse", BRANCH), fake_github.pull(31)["body"]) == (head, body)


def test_a_later_successful_release_closes_the_obsolete_record(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    number = record(github)
    assert close_obsolete(github, Outcome((done(plan("ldc-tools"), "success"),)), "main") == ()  # another app
    released = Outcome((done(plan(), "success"),), TRIGGER, "2026-11-25T09:00:00Z")
    assert close_obsolete(github, released, "main") == (number,)
    assert fake_github.open_pulls() == []
    [said] = fake_github.comments(number)
    assert "rollback record is obsolete" in said
    assert "Blue v2.4.1 LIVE for theoshift" in said
