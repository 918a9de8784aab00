"""bluegreen's own record on GitHub: status.json read back from the commits bluegreen made, and written with the
contents API's compare-and-swap. The GitHub adapter against the fake GitHub, serving a real bare repository."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bluegreen.github_api import GitHub, PathCommit, RepoFile, Written
from bluegreen.status_commit import commit_record, read_record
from tests.fakegithub import BOT, FakeGitHub

STATUS = "state/status.json"


def git(cwd: Path, *args: str) -> str:
    env = {"PATH": os.environ["PATH"], "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull, "HOME": str(cwd)}
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=True)
    return done.stdout.strip()


@pytest.fixture
def origin(tmp_path: Path, fake_github: FakeGitHub) -> Path:
    bare, seed = tmp_path / "origin.git", tmp_path / "seed"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(tmp_path, "init", "-q", "-b", "main", str(seed))
    (seed / "state").mkdir()
    (seed / STATUS).write_text('{"apps": {}}\n')
    (seed / "README.md").write_text("ops\n")
    git(seed, "add", "-A")
    git(seed, "-c", "user.name=Alice", "-c", "user.email=alice@example.test", "commit", "-qm", "seed")
    git(seed, "push", "-q", str(bare), "main")
    fake_github.git_dir = bare
    fake_github.accounts["alice@example.test"] = "alice"
    return bare


@pytest.fixture
def github(fake_github: FakeGitHub) -> Iterator[GitHub]:
    with GitHub(fake_github.token, fake_github.url, "acme/ops", retry_backoff_s=0.01, write_interval_s=0) as made:
        yield made


def push_as(origin: Path, tmp_path: Path, who: tuple[str, str], text: str, message: str = "edit") -> str:
    """Someone pushes a change of status.json with git (their name and address may be anyone's)."""
    clone = tmp_path / f"clone-{len(list(tmp_path.iterdir()))}"
    git(tmp_path, "clone", "-q", str(origin), str(clone))
    (clone / STATUS).write_text(text)
    git(clone, "-c", f"user.name={who[0]}", "-c", f"user.email={who[1]}", "commit", "-qam", message)
    git(clone, "push", "-q", "origin", "main")
    return git(clone, "rev-parse", "HEAD")


def shown(origin: Path, ref: str = "main") -> str:
    return git(origin, "show", f"{ref}:{STATUS}") + "\n"


def test_a_record_is_committed_by_the_bot_signed_and_read_back(origin: Path, github: GitHub) -> None:
    assert read_record(github, STATUS, "main").text is None  # only a person's commit holds it yet
    committed = commit_record(github, STATUS, '{"apps": {"a": {}}}\n', "bluegreen: record success", "main")
    assert committed.warning is None
    assert committed.verified
    assert committed.commit == git(origin, "rev-parse", "main")
    assert (
        git(origin, "log", "-1", "--format=%an <%ae>|%s", "main")
        == f"{BOT[0]} <{BOT[1]}>|bluegreen: record success [skip ci]"
    )
    record = read_record(github, STATUS, "main")
    assert (record.text, record.note) == ('{"apps": {"a": {}}}\n', None)


def test_the_same_text_is_not_committed_twice(origin: Path, github: GitHub) -> None:
    first = commit_record(github, STATUS, '{"apps": {"a": {}}}\n', "record", "main")
    again = commit_record(github, STATUS, '{"apps": {"a": {}}}\n', "record", "main")
    assert first.commit is not None
    assert (again.commit, again.warning) == (None, None)


def test_a_hand_edit_after_the_record_is_named_and_not_believed(origin: Path, github: GitHub, tmp_path: Path) -> None:
    commit_record(github, STATUS, '{"apps": {"own": {}}}\n', "record", "main")
    edit = push_as(origin, tmp_path, ("Alice", "alice@example.test"), '{"apps": {"fake": {}}}\n')
    record = read_record(github, STATUS, "main")
    assert record.text == '{"apps": {"own": {}}}\n'
    assert record.note is not None
    assert f"commit {edit[:12]} by alice" in record.note


def test_a_commit_that_only_claims_to_be_the_bot_is_not_believed(origin: Path, github: GitHub, tmp_path: Path) -> None:
    commit_record(github, STATUS, '{"apps": {"own": {}}}\n', "record", "main")
    push_as(origin, tmp_path, BOT, '{"apps": {"forged": {}}}\n', "bluegreen: record success [skip ci]")
    record = read_record(github, STATUS, "main")
    assert record.text == '{"apps": {"own": {}}}\n'  # the bot's name and address, but not GitHub's signature
    assert record.note is not None
    assert "by github-actions[bot]" in record.note


def test_no_record_of_bluegreen_at_all(origin: Path, github: GitHub) -> None:
    record = read_record(github, STATUS, "main")
    assert record.text is None
    assert "no commit of state/status.json on `main` is bluegreen's own" in (record.note or "")
    assert read_record(github, STATUS, "no-such-branch") == type(record)(None)


class MovingUnder:
    """GitHub, but someone pushes a change of status.json right before each of bluegreen's first `times` writes."""

    def __init__(self, github: GitHub, push: Callable[[], object], times: int) -> None:
        self.github, self.push, self.times = github, push, times

    def file(self, path: str, ref: str) -> RepoFile | None:
        return self.github.file(path, ref)

    def path_commits(self, path: str, branch: str, limit: int = 20) -> list[PathCommit]:
        return self.github.path_commits(path, branch, limit)

    def put_file(self, path: str, text: str, message: str, branch: str, sha: str | None) -> Written:
        if self.times:
            self.times -= 1
            self.push()
        return self.github.put_file(path, text, message, branch, sha)

    def branch_exists(self, branch: str) -> bool:
        return self.github.branch_exists(branch)

    def create_branch(self, branch: str, sha: str) -> None:
        self.github.create_branch(branch, sha)


def test_a_file_that_changed_since_it_was_read_is_read_again_then_written(
    origin: Path, github: GitHub, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    person = ("Alice", "alice@example.test")
    moving = MovingUnder(github, lambda: push_as(origin, tmp_path, person, '{"apps": {"theirs": {}}}\n'), times=1)
    committed = commit_record(moving, STATUS, '{"apps": {"ours": {}}}\n', "record", "main")
    assert committed.warning is None
    assert shown(origin) == '{"apps": {"ours": {}}}\n'  # bluegreen's record wins over the edit
    puts = [call for call in fake_github.calls if call.method == "PUT"]
    assert len(puts) == 2  # the first named a stale blob (409), the second the new one
    assert puts[0].json_body["sha"] != puts[1].json_body["sha"]


def test_a_file_that_keeps_changing_gives_up_with_a_warning(origin: Path, github: GitHub, tmp_path: Path) -> None:
    person = ("Alice", "alice@example.test")
    moving = MovingUnder(
        github, lambda: push_as(origin, tmp_path, person, f'{{"n": {len(list(tmp_path.iterdir()))}}}\n'), times=9
    )
    committed = commit_record(moving, STATUS, '{"apps": {"ours": {}}}\n', "record", "main", attempts=2)
    assert committed.commit is None
    assert "changed on `main` during each of 2 attempts" in (committed.warning or "")


def test_a_protected_branch_is_a_warning_with_the_fix(origin: Path, github: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.protect("main")
    before = git(origin, "rev-parse", "main")
    committed = commit_record(github, STATUS, '{"apps": {}, "x": 1}\n', "record", "main")
    assert committed.commit is None
    assert "Changes must be made through a pull request" in (committed.warning or "")
    assert "`status_branch`" in (committed.warning or "")
    assert git(origin, "rev-parse", "main") == before


def test_a_token_without_write_access_gets_the_permission_fix(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next("PUT", r"/contents/", 403, message="Resource not accessible by integration")
    committed = commit_record(github, STATUS, '{"apps": {}, "x": 1}\n', "record", "main")
    assert "`permissions: contents: write`" in (committed.warning or "")


def test_a_status_branch_is_started_at_the_released_commit(origin: Path, github: GitHub) -> None:
    main = git(origin, "rev-parse", "main")
    committed = commit_record(github, STATUS, '{"apps": {"a": {}}}\n', "record", "bluegreen-status", start=main)
    assert committed.warning is None
    assert git(origin, "rev-parse", "bluegreen-status~1") == main
    assert git(origin, "rev-parse", "main") == main  # the released branch is left alone
    assert json.loads(shown(origin, "bluegreen-status")) == {"apps": {"a": {}}}
    assert read_record(github, STATUS, "bluegreen-status").text == '{"apps": {"a": {}}}\n'


def test_a_branch_that_moved_while_the_commit_was_made_is_tried_again(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next("PUT", r"/contents/", 409, message="refs/heads/main expected to be at " + "e" * 40)
    committed = commit_record(github, STATUS, '{"apps": {"ours": {}}}\n', "record", "main")
    assert committed.warning is None
    assert shown(origin) == '{"apps": {"ours": {}}}\n'
