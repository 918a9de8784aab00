"""The Action's record on GitHub: status.json written with the contents API's compare-and-swap, and the history
read back from exactly the version the HAProxy hosts remember. The GitHub adapter against the fake GitHub serving a
real bare repository; the hosts are in memory here (tests/integration/test_action_trust.py uses the real lab)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bluegreen import config
from bluegreen.github_api import GitHub, Written
from bluegreen.ledger import memory_path
from bluegreen.model import Endpoint, HaproxyHost, Result, Status
from bluegreen.release import Saved
from bluegreen.ssh import Streams
from bluegreen.status_commit import GitHubLedger, commit_record
from tests.fakegithub import BOT, FakeGitHub
from tests.unit.test_recording import outcome_of

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


def text_of(apps: dict[str, object]) -> str:
    return config.dump_status(config.parse_status(json.dumps({"apps": apps}), STATUS))


def apps_of(text: str | None) -> set[str] | None:
    """The apps a status.json records, by name."""
    return set(json.loads(text)["apps"]) if text else None


class Host:
    """An HAProxy host reduced to its files (what the ledger reads and writes over SFTP)."""

    def __init__(self, name: str) -> None:
        self.host = HaproxyHost(name, Endpoint("127.0.0.1", 22, "deploy"), "/run/admin.sock", "/tmp/bluegreen.lock")
        self.files: dict[str, str] = {}
        self.down = False

    async def runtime(self, command: str) -> str:
        raise AssertionError("the ledger sends no runtime command")

    async def read_file(self, path: str) -> str | None:
        return self.files.get(path)

    async def write_file(self, path: str, text: str) -> None:
        if self.down:
            raise OSError("the connection broke")
        self.files[path] = text

    async def open_tcp(self, host: str, port: int) -> Streams:
        raise AssertionError("the ledger opens no TCP channel")


def ledger(github: GitHub, branch: str = "main") -> GitHubLedger:
    return GitHubLedger(github, "acme/ops", STATUS, branch)


def released(record: GitHubLedger, hosts: dict[str, Host], result: Result = "success") -> Saved:
    """One release's bookkeeping: recall, save, remember (what release.release does around the switch)."""
    asyncio.run(record.recall(hosts))
    saved = record.save(outcome_of(result))
    return asyncio.run(record.remember(hosts, saved))


def recalled(github: GitHub, hosts: dict[str, Host]) -> tuple[Status, str | None, GitHubLedger]:
    record = ledger(github)
    found = asyncio.run(record.recall(hosts))
    return found.status, found.refusal, record


def test_a_record_is_committed_by_the_bot_and_remembered_by_every_host(origin: Path, github: GitHub) -> None:
    hosts = {"lb1": Host("lb1"), "lb2": Host("lb2")}
    saved = released(ledger(github), hosts)
    assert saved.ok, saved.detail
    assert saved.record == git(origin, "rev-parse", f"main:{STATUS}")
    assert git(origin, "log", "-1", "--format=%an <%ae>|%s", "main") == (
        f"{BOT[0]} <{BOT[1]}>|bluegreen: record success in state/status.json [skip ci]"
    )
    path = memory_path(hosts["lb1"].host, "acme/ops", STATUS)
    memory = json.loads(hosts["lb1"].files[path])
    assert memory == {"sequence": 1, "blob": saved.record, "commit": git(origin, "rev-parse", "main")}
    assert hosts["lb2"].files == hosts["lb1"].files
    status, refusal, record = recalled(github, hosts)
    assert refusal is None
    assert status.apps["theoshift"].last_release is not None
    assert record.notes == []
    released(record, hosts)
    assert json.loads(hosts["lb1"].files[path])["sequence"] == 2


def test_no_memory_means_no_history(origin: Path, github: GitHub) -> None:
    status, refusal, record = recalled(github, {"lb1": Host("lb1")})
    assert (status, refusal) == (Status(), None)
    assert "no HAProxy host remembers a record of bluegreen's yet" in record.notes[0]


def test_whatever_the_branch_holds_now_the_history_is_the_remembered_version(
    origin: Path, github: GitHub, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    hosts = {"lb1": Host("lb1")}
    released(ledger(github), hosts)
    person = ("Alice", "alice@example.test")
    for n in range(10):  # more versions than any window, then a fake record on top, signed by whoever
        push_as(origin, tmp_path, person, text_of({f"junk-{n}": {}}))
    other = GitHub(fake_github.token, fake_github.url, "acme/ops", write_interval_s=0)  # another workflow's token
    other.put_file(STATUS, text_of({"forged": {}}), "tidy [skip ci]", "main", other.file_sha(STATUS, "main"))
    status, refusal, record = recalled(github, hosts)
    assert refusal is None
    assert set(status.apps) == {"theoshift"}
    assert "is not the record bluegreen last wrote" in record.notes[0]


def test_a_record_gone_from_github_refuses(origin: Path, github: GitHub, fake_github: FakeGitHub) -> None:
    hosts = {"lb1": Host("lb1")}
    saved = released(ledger(github), hosts)
    fake_github.forget_blob(str(saved.record))  # the branch was rewritten and GitHub collected the blob
    status, refusal, _ = recalled(github, hosts)
    assert status == Status()
    assert "is not on GitHub any more" in (refusal or "")
    assert "`<lock path>.record-*`" in (refusal or "")


def test_a_host_that_missed_a_record_is_named_and_caught_up(origin: Path, github: GitHub) -> None:
    hosts = {"lb1": Host("lb1"), "lb2": Host("lb2")}
    released(ledger(github), hosts)
    hosts["lb2"].down = True
    missed = released(ledger(github), hosts)
    assert not missed.ok
    assert "not every HAProxy host remembers it (lb2: OSError: the connection broke)" in missed.detail
    hosts["lb2"].down = False
    _, refusal, record = recalled(github, hosts)
    assert refusal is None
    assert record.memory is not None
    assert record.memory.sequence == 2
    assert record.notes[0].startswith("lb2 remembered an older record")
    released(record, hosts)
    assert hosts["lb1"].files == hosts["lb2"].files


def test_two_hosts_that_remember_different_records_under_one_count_refuse(origin: Path, github: GitHub) -> None:
    hosts = {"lb1": Host("lb1"), "lb2": Host("lb2")}
    released(ledger(github), hosts)
    path = memory_path(hosts["lb2"].host, "acme/ops", STATUS)
    hosts["lb2"].files[path] = json.dumps({"sequence": 1, "blob": "e" * 40, "commit": None})
    _, refusal, _ = recalled(github, hosts)
    assert "remember different records of bluegreen's as number 1 (lb1 " in (refusal or "")


def test_a_status_branch_continues_the_history(origin: Path, github: GitHub) -> None:
    hosts = {"lb1": Host("lb1")}
    released(ledger(github), hosts)
    record = ledger(github, "bluegreen-status")
    record.start = git(origin, "rev-parse", "main")
    found = asyncio.run(record.recall(hosts))
    assert found.status.apps["theoshift"].last_release is not None  # the memory follows the record, not the branch


class MovingUnder:
    """GitHub, but someone pushes a change of status.json right before each of bluegreen's first `times` writes."""

    def __init__(self, github: GitHub, push: Callable[[], object], times: int) -> None:
        self.github, self.push, self.times = github, push, times

    def file_sha(self, path: str, ref: str) -> str | None:
        return self.github.file_sha(path, ref)

    def blob_text(self, sha: str) -> str | None:
        return self.github.blob_text(sha)

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
    committed = commit_record(moving, STATUS, text_of({"ours": {}}), "record", "main")
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
    committed = commit_record(moving, STATUS, text_of({"ours": {}}), "record", "main", attempts=2)
    assert committed.commit is None
    assert "changed on `main` during each of 2 attempts" in (committed.warning or "")


def test_a_protected_branch_is_a_warning_with_the_fix(origin: Path, github: GitHub, fake_github: FakeGitHub) -> None:
    fake_github.protect("main")
    before = git(origin, "rev-parse", "main")
    committed = commit_record(github, STATUS, text_of({"x": {}}), "record", "main")
    assert committed.commit is None
    assert "Changes must be made through a pull request" in (committed.warning or "")
    assert "`status_branch`" in (committed.warning or "")
    assert git(origin, "rev-parse", "main") == before


def test_a_token_without_write_access_gets_the_permission_fix(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next("PUT", r"/contents/", 403, message="Resource not accessible by integration")
    committed = commit_record(github, STATUS, text_of({"x": {}}), "record", "main")
    assert "`permissions: contents: write`" in (committed.warning or "")


def test_a_status_branch_is_started_at_the_released_commit(origin: Path, github: GitHub) -> None:
    main = git(origin, "rev-parse", "main")
    committed = commit_record(github, STATUS, text_of({"a": {}}), "record", "bluegreen-status", start=main)
    assert committed.warning is None
    assert git(origin, "rev-parse", "bluegreen-status~1") == main
    assert git(origin, "rev-parse", "main") == main  # the released branch is left alone
    assert apps_of(shown(origin, "bluegreen-status")) == {"a"}
    assert committed.blob == git(origin, "rev-parse", f"bluegreen-status:{STATUS}")


def test_a_branch_that_moved_while_the_commit_was_made_is_tried_again(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next("PUT", r"/contents/", 409, message="refs/heads/main expected to be at " + "e" * 40)
    committed = commit_record(github, STATUS, text_of({"ours": {}}), "record", "main")
    assert committed.warning is None
    assert apps_of(shown(origin)) == {"ours"}


def test_text_the_file_holds_already_is_not_committed_again(origin: Path, github: GitHub) -> None:
    committed = commit_record(github, STATUS, '{"apps": {}}\n', "record", "main")
    assert (committed.commit, committed.blob) == (None, git(origin, "rev-parse", f"main:{STATUS}"))
