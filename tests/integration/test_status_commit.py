"""The Action's record: kept on the HAProxy hosts, published to the branch with the contents API's
compare-and-swap. The GitHub adapter against the fake GitHub serving a real bare repository; the hosts are in
memory here (tests/integration/test_action_trust.py uses the real lab)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bluegreen import config
from bluegreen.adapters.github import GitHub, Written
from bluegreen.adapters.github_ledger import GitHubLedger, commit_record
from bluegreen.core.record import record_name
from bluegreen.engine.ports import Saved
from bluegreen.model import Result, Status
from tests.doubles.haproxy import FakeHaproxy
from tests.fakegithub import BOT, FakeGitHub
from tests.unit.core.test_history import outcome_of

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


@dataclass
class Host(FakeHaproxy):
    """An HAProxy host as the ledger sees it: its records. `writes_fail` drops the connection on a write."""

    writes_fail: bool = False

    async def keep(self, record: str, text: str) -> None:
        if self.writes_fail:
            raise OSError("the connection broke")
        await super().keep(record, text)


RECORD = record_name("acme/ops", STATUS)


def ledger(github: GitHub, branch: str = "main") -> GitHubLedger:
    return GitHubLedger(github, "acme/ops", STATUS, branch)


def released(record: GitHubLedger, hosts: dict[str, Host], result: Result = "success") -> Saved:
    """One release's bookkeeping: recall before the switch, record after it (what release.release does)."""
    asyncio.run(record.recall(hosts))
    return asyncio.run(record.record(hosts, outcome_of(result)))


def recalled(github: GitHub, hosts: dict[str, Host]) -> tuple[Status, str | None, GitHubLedger]:
    record = ledger(github)
    found = asyncio.run(record.recall(hosts))
    return found.status, found.refusal, record


def kept(host: Host) -> dict[str, Any]:
    """The record a host keeps, as JSON."""
    found: dict[str, Any] = json.loads(host.files[RECORD])
    return found


def test_a_record_is_kept_on_every_host_and_published_by_the_bot(origin: Path, github: GitHub) -> None:
    hosts = {"lb1": Host("lb1"), "lb2": Host("lb2")}
    saved = released(ledger(github), hosts)
    assert saved.ok, saved.detail
    assert saved.detail.startswith("recorded on lb1, lb2; published to state/status.json on main (commit ")
    assert git(origin, "log", "-1", "--format=%an <%ae>|%s", "main") == (
        f"{BOT[0]} <{BOT[1]}>|bluegreen: record success in state/status.json [skip ci]"
    )
    assert kept(hosts["lb1"])["sequence"] == 1
    assert kept(hosts["lb1"])["status"] == json.loads(shown(origin))  # the branch holds the published copy
    assert hosts["lb2"].files == hosts["lb1"].files
    status, refusal, record = recalled(github, hosts)
    assert refusal is None
    assert status.apps["theoshift"].last_release is not None
    assert record.notes == []
    released(record, hosts)
    assert kept(hosts["lb1"])["sequence"] == 2


def test_no_record_on_the_hosts_means_no_history(origin: Path, github: GitHub) -> None:
    status, refusal, record = recalled(github, {"lb1": Host("lb1")})
    assert (status, refusal) == (Status(), None)
    assert "no HAProxy host holds a record of bluegreen's yet" in record.notes[0]


def test_whatever_the_branch_holds_now_the_history_is_the_hosts_record(
    origin: Path, github: GitHub, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    hosts = {"lb1": Host("lb1")}
    released(ledger(github), hosts)
    person = ("Alice", "alice@example.test")
    for n in range(10):  # many versions, then a fake record on top, committed by another workflow's token
        push_as(origin, tmp_path, person, text_of({f"junk-{n}": {}}))
    other = GitHub(fake_github.token, fake_github.url, "acme/ops", write_interval_s=0)
    other.put_file(STATUS, text_of({"forged": {}}), "tidy [skip ci]", "main", other.file_sha(STATUS, "main"))
    status, refusal, record = recalled(github, hosts)
    assert refusal is None
    assert set(status.apps) == {"theoshift"}
    assert "differs from bluegreen's record (kept on the HAProxy hosts)" in record.notes[0]


def test_the_record_is_kept_even_when_github_refuses_the_copy(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.protect("main")
    hosts = {"lb1": Host("lb1")}
    record = ledger(github)
    saved = released(record, hosts)
    assert saved.ok
    assert "not published: see the warning" in saved.detail
    assert "Changes must be made through a pull request" in (record.warning or "")
    status, _, again = recalled(github, hosts)
    assert status.apps["theoshift"].last_release is not None  # nothing was lost: the hosts keep the record
    assert "differs from bluegreen's record" in again.notes[0]


def test_a_host_that_missed_a_record_is_named_and_caught_up(origin: Path, github: GitHub) -> None:
    hosts = {"lb1": Host("lb1"), "lb2": Host("lb2")}
    released(ledger(github), hosts)
    hosts["lb2"].writes_fail = True
    missed = released(ledger(github), hosts)
    assert not missed.ok
    assert "recorded on lb1; not on lb2: OSError: the connection broke" in missed.detail
    hosts["lb2"].writes_fail = False
    _, refusal, record = recalled(github, hosts)
    assert refusal is None
    assert record.memory is not None
    assert record.memory.sequence == 2
    assert "lb2 held an older record, or none" in record.notes[0]
    released(record, hosts)
    assert hosts["lb1"].files == hosts["lb2"].files


def test_a_broken_record_file_is_named_and_passed_over(origin: Path, github: GitHub) -> None:
    hosts = {"lb1": Host("lb1"), "lb2": Host("lb2")}
    released(ledger(github), hosts)
    hosts["lb2"].files[RECORD] = '{"sequence": 9, "stat'
    status, refusal, record = recalled(github, hosts)
    assert refusal is None
    assert status.apps["theoshift"].last_release is not None
    assert "lb2's record of bluegreen's cannot be read (it is not JSON)" in record.notes[0]


@pytest.mark.parametrize("rival", ["different", "broken"])
def test_a_history_that_cannot_be_told_refuses_and_records_nothing(origin: Path, github: GitHub, rival: str) -> None:
    hosts = {"lb1": Host("lb1"), "lb2": Host("lb2")}
    released(ledger(github), hosts)
    if rival == "different":  # the same count, another record
        other = kept(hosts["lb1"])
        other["status"]["apps"] = {}
        hosts["lb2"].files[RECORD] = json.dumps(other)
    else:  # no readable record anywhere
        for host in hosts.values():
            host.files[RECORD] = "garbage"
    before = {name: dict(host.files) for name, host in hosts.items()}
    head = git(origin, "rev-parse", "main")
    record = ledger(github)
    refusal = asyncio.run(record.recall(hosts)).refusal
    assert "cannot be told" in (refusal or "")
    saved = asyncio.run(record.record(hosts, outcome_of("refused")))
    assert not saved.ok
    assert saved.detail.startswith("nothing recorded")
    assert {name: host.files for name, host in hosts.items()} == before  # no fresh history written over it
    assert git(origin, "rev-parse", "main") == head


def test_a_status_branch_continues_the_history(origin: Path, github: GitHub) -> None:
    hosts = {"lb1": Host("lb1")}
    released(ledger(github), hosts)
    record = ledger(github, "bluegreen-status")
    record.start = git(origin, "rev-parse", "main")
    found = asyncio.run(record.recall(hosts))
    assert found.status.apps["theoshift"].last_release is not None  # the record is the hosts', not a branch's


class MovingUnder:
    """GitHub, but someone pushes a change of status.json right before each of bluegreen's first `times` writes."""

    def __init__(self, github: GitHub, push: Callable[[], object], times: int) -> None:
        self.github, self.push, self.times = github, push, times

    def file_sha(self, path: str, ref: str) -> str | None:
        return self.github.file_sha(path, ref)

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
    assert committed.commit == git(origin, "rev-parse", "bluegreen-status")


def test_a_branch_that_moved_while_the_commit_was_made_is_tried_again(
    origin: Path, github: GitHub, fake_github: FakeGitHub
) -> None:
    fake_github.fail_next("PUT", r"/contents/", 409, message="refs/heads/main expected to be at " + "e" * 40)
    committed = commit_record(github, STATUS, text_of({"ours": {}}), "record", "main")
    assert committed.warning is None
    assert apps_of(shown(origin)) == {"ours"}


def test_text_the_file_holds_already_is_not_committed_again(origin: Path, github: GitHub) -> None:
    committed = commit_record(github, STATUS, '{"apps": {}}\n', "record", "main")
    assert (committed.commit, committed.warning) == (None, None)
