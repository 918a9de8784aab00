"""bluegreen's own record on GitHub: status.json read back from the commits bluegreen made, and written with the
contents API's compare-and-swap. The GitHub adapter against the fake GitHub, serving a real bare repository."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bluegreen import config
from bluegreen.github_api import GitHub, PathCommit, RepoFile, Written
from bluegreen.seal import Seal
from bluegreen.status_commit import Render, commit_record, read_record
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


KEY = b"k" * 32  # the record key (derived from the deploy key in a run)


def sealed(apps: dict[str, object], sequence: int, key: bytes = KEY) -> Render:
    """A render that seals `apps` as record number `sequence`, naming the version it replaces."""
    return lambda replaced: config.dump_status(
        config.parse_status(json.dumps({"apps": apps}), STATUS), key, Seal(sequence, replaced)
    )


def record(github: GitHub, apps: dict[str, object], sequence: int) -> str:
    committed = commit_record(github, STATUS, sealed(apps, sequence), "bluegreen: record success", "main")
    assert committed.commit is not None, committed.warning
    return committed.commit


def apps_of(text: str | None) -> set[str] | None:
    """The apps a status.json records, by name."""
    return set(json.loads(text)["apps"]) if text else None


def test_a_record_is_committed_by_the_bot_sealed_and_read_back(origin: Path, github: GitHub) -> None:
    assert read_record(github, STATUS, "main", KEY).text is None  # only a person's commit holds it yet
    commit = record(github, {"theoshift": {}}, 1)
    assert commit == git(origin, "rev-parse", "main")
    assert (
        git(origin, "log", "-1", "--format=%an <%ae>|%s", "main")
        == f"{BOT[0]} <{BOT[1]}>|bluegreen: record success [skip ci]"
    )
    found = read_record(github, STATUS, "main", KEY)
    assert (apps_of(found.text), found.sequence, found.note) == ({"theoshift"}, 1, None)
    assert json.loads(shown(origin))["seal"]["previous"] == git(origin, "rev-parse", f"main~1:{STATUS}")


def test_the_same_text_is_not_committed_twice(origin: Path, github: GitHub) -> None:
    first = commit_record(github, STATUS, lambda _: '{"apps": {}}\n', "record", "main")
    assert (first.commit, first.warning) == (None, None)  # the seed already holds exactly that


def test_a_later_edit_is_named_and_not_believed(origin: Path, github: GitHub, tmp_path: Path) -> None:
    record(github, {"own": {}}, 1)
    edit = push_as(origin, tmp_path, ("Alice", "alice@example.test"), '{"apps": {"fake": {}}}\n')
    found = read_record(github, STATUS, "main", KEY)
    assert (apps_of(found.text), found.sequence) == ({"own"}, 1)
    assert f"commit {edit[:12]} by alice" in (found.note or "")


def test_a_record_another_workflow_wrote_is_not_believed(origin: Path, github: GitHub) -> None:
    """Any workflow's token commits as github-actions[bot], signed by GitHub: only the seal tells bluegreen's."""
    record(github, {"own": {}}, 1)
    forged = commit_record(github, STATUS, sealed({"forged": {}}, 9, key=b"another key, or none" * 2), "x", "main")
    assert forged.commit is not None
    found = read_record(github, STATUS, "main", KEY)
    assert apps_of(found.text) == {"own"}
    assert "by github-actions[bot]" in (found.note or "")


def test_an_old_record_put_back_on_top_is_a_replay(origin: Path, github: GitHub, tmp_path: Path) -> None:
    record(github, {"first": {}}, 1)
    first_text = shown(origin)
    record(github, {"second": {}}, 2)
    # the file that record 1 replaced, then record 1 itself: a chain that looks whole, but counts lower
    replaced = git(origin, "show", f"main~2:{STATUS}") + "\n"
    person = ("Alice", "alice@example.test")
    push_as(origin, tmp_path, person, replaced)
    push_as(origin, tmp_path, person, first_text)
    found = read_record(github, STATUS, "main", KEY)
    assert (apps_of(found.text), found.sequence) == ({"second"}, 2)
    assert found.note is not None


def test_a_sealed_record_moved_onto_another_version_is_not_believed(
    origin: Path, github: GitHub, tmp_path: Path
) -> None:
    record(github, {"first": {}}, 1)
    first_text = shown(origin)
    push_as(origin, tmp_path, ("Alice", "alice@example.test"), '{"apps": {"other": {}}}\n')
    push_as(origin, tmp_path, ("Alice", "alice@example.test"), first_text)  # its seal names another version
    found = read_record(github, STATUS, "main", KEY)
    assert apps_of(found.text) == {"first"}  # the original commit of it still counts
    assert found.note is not None


def test_no_record_of_bluegreen_at_all(origin: Path, github: GitHub) -> None:
    found = read_record(github, STATUS, "main", KEY)
    assert found.text is None
    assert "no version of state/status.json on `main` is sealed by this deploy key" in (found.note or "")
    assert read_record(github, STATUS, "no-such-branch", KEY) == type(found)(None)


def test_a_version_too_large_to_read_is_passed_over(origin: Path, github: GitHub, tmp_path: Path) -> None:
    record(github, {"own": {}}, 1)
    push_as(origin, tmp_path, ("Alice", "alice@example.test"), '{"apps": {}, "x": "' + "y" * 1_100_000 + '"}\n')
    found = read_record(github, STATUS, "main", KEY)
    assert apps_of(found.text) == {"own"}


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
    committed = commit_record(moving, STATUS, sealed({"ours": {}}, 1), "record", "main")
    assert committed.warning is None
    assert apps_of(shown(origin)) == {"ours"}  # bluegreen's record wins over the edit
    puts = [call for call in fake_github.calls if call.method == "PUT"]
    assert len(puts) == 2  # the first named a stale blob (409), the second the new one
    assert puts[0].json_body["sha"] != puts[1].json_body["sha"]


def test_a_file_that_keeps_changing_gives_up_with_a_warning(origin: Path, github: GitHub, tmp_path: Path) -> None:
    person = ("Alice", "alice@example.test")
    moving = MovingUnder(
        github, lambda: push_as(origin, tmp_path, person, f'{{"n": {len(list(tmp_path.iterdir()))}}}\n'), times=9
    )
    committed = commit_record(moving, STATUS, sealed({"ours": {}}, 1), "record", "main", attempts=2)
    assert committed.commit is None
    assert "changed on `main` during each of 2 attempts" in (committed.warning or "")


def test_a_protected_branch_is_a_warning_with_the_fix(origin: Path, github: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.protect("main")
    before = git(origin, "rev-parse", "main")
    committed = commit_record(github, STATUS, sealed({"x": {}}, 1), "record", "main")
    assert committed.commit is None
    assert "Changes must be made through a pull request" in (committed.warning or "")
    assert "`status_branch`" in (committed.warning or "")
    assert git(origin, "rev-parse", "main") == before


def test_a_token_without_write_access_gets_the_permission_fix(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next("PUT", r"/contents/", 403, message="Resource not accessible by integration")
    committed = commit_record(github, STATUS, sealed({"x": {}}, 1), "record", "main")
    assert "`permissions: contents: write`" in (committed.warning or "")


def test_a_status_branch_is_started_at_the_released_commit(origin: Path, github: GitHub) -> None:
    main = git(origin, "rev-parse", "main")
    committed = commit_record(github, STATUS, sealed({"a": {}}, 1), "record", "bluegreen-status", start=main)
    assert committed.warning is None
    assert git(origin, "rev-parse", "bluegreen-status~1") == main
    assert git(origin, "rev-parse", "main") == main  # the released branch is left alone
    assert apps_of(shown(origin, "bluegreen-status")) == {"a"}
    assert apps_of(read_record(github, STATUS, "bluegreen-status", KEY).text) == {"a"}


def test_a_branch_that_moved_while_the_commit_was_made_is_tried_again(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next("PUT", r"/contents/", 409, message="refs/heads/main expected to be at " + "e" * 40)
    committed = commit_record(github, STATUS, sealed({"ours": {}}, 1), "record", "main")
    assert committed.warning is None
    assert apps_of(shown(origin)) == {"ours"}
