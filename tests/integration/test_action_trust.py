"""Hostile pull requests and hostile files against the Action, end to end: the real lab, real git, the fake GitHub.

Merging is the only approval: whatever a pull request changes besides live.json must not move traffic, skip a
rule, choose where the deploy key connects, or make the Action print a secret. Each test is one way a pull
request (or a mistaken input) tried, as found by the review in issue 6.
"""

from __future__ import annotations

import json
import re
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bluegreen.adapters.github import GitHub
from bluegreen.model import Color
from bluegreen_lab import Sandbox
from tests import events
from tests.integration.actionrig import BOT_EMAIL, ActionRun, Rig, git
from tests.integration.test_action import FLIP, merge_pr, open_pr, pr_event, push_run, revert_pr
from tests.integration.test_release import ldc_states, theoshift_route

pytestmark = pytest.mark.integration

AT = "2026-11-01T00:00:00Z"


def secrets_of(rig: Rig) -> list[str]:
    return [*rig.lab.private_key.splitlines()[1:-1], rig.github.token]


def leaks(rig: Rig, ran: ActionRun, number: int | None = None) -> list[str]:
    """The secrets that reached the log, the summary, the outputs or the PR's comments."""
    shown = ran.log + ran.summary + json.dumps(ran.outputs) + "".join(rig.github.comments(number or 0))
    return [secret for secret in secrets_of(rig) if secret in shown]


def untouched(workspace: Path, added: tuple[str, ...] = ()) -> bool:
    """Nothing written into the checkout: no pinned-key copies, no temporary files, no status.json (the release
    commits it through the API). Compared with the commit's tree by plumbing that runs no filter or fsmonitor."""
    safe = ("-c", f"safe.directory={workspace}")
    tracked = git(workspace, *safe, "ls-tree", "-r", "--name-only", "HEAD").splitlines()
    files = [p for p in workspace.rglob("*") if (p.is_file() or p.is_symlink()) and ".git" not in p.parts]
    same = all(_content(workspace / name) == _blob(workspace, name) for name in tracked)
    return same and sorted(str(p.relative_to(workspace)) for p in files) == sorted([*tracked, *added])


def _content(path: Path) -> bytes:
    return str(path.readlink()).encode() if path.is_symlink() else path.read_bytes()


def _blob(workspace: Path, name: str) -> bytes:
    return subprocess.run(
        ["git", "-c", f"safe.directory={workspace}", "cat-file", "blob", f"HEAD:{name}"],
        cwd=workspace, capture_output=True, check=True,
    ).stdout  # fmt: skip


def plain(markdown: str) -> str:
    """Markdown as a reader sees it: the report's escapes (`\\_`, `\\``) undone, for asserting on words."""
    return re.sub(r"\\(.)", r"\1", markdown)


def comment(rig: Rig, number: int) -> str:
    return plain(rig.github.comments(number)[0])


def fake_release(from_color: str, to_color: str, from_version: str, to_version: str) -> dict[str, Any]:
    return {
        "result": "success", "kind": "release", "at": AT, "from": from_color, "to": to_color,
        "from_version": from_version, "to_version": to_version, "actor": "mallory", "pr": 3, "commit": "a" * 40,
    }  # fmt: skip


def commit_link(rig: Rig, branch: str, path: str, target: str, live: dict[str, Any]) -> str:
    """A commit on `branch` that turns `path` into a symbolic link to `target` (and sets live.json)."""
    git(rig.dev, "checkout", "-q", "-B", branch, "origin/main")
    (rig.dev / path).unlink()
    (rig.dev / path).symlink_to(target)
    (rig.dev / "state" / "live.json").write_text(json.dumps({"apps": live}, indent=2) + "\n")
    git(rig.dev, "add", "-A")
    git(rig.dev, "commit", "-qm", f"Link {path}")
    git(rig.dev, "push", "-q", "-f", "origin", f"HEAD:refs/heads/{branch}")
    return git(rig.dev, "rev-parse", "HEAD")


@pytest.fixture
def listener() -> Iterator[list[str]]:
    """A TCP port on 127.0.0.99 that records every connection: where a PR would have the deploy key go."""
    server = socket.socket()
    server.bind(("127.0.0.99", 0))
    server.listen(8)
    server.settimeout(0.2)
    seen: list[str] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, peer = server.accept()
            except OSError:
                continue
            seen.append(f"{peer[0]}:{peer[1]}")
            conn.close()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    seen.append(str(server.getsockname()[1]))  # seen[0] is the port; connections follow
    yield seen
    stop.set()
    thread.join(timeout=2)
    server.close()


def elsewhere(rig: Rig, port: int) -> dict[str, Any]:
    environments: dict[str, Any] = json.loads((rig.dev / "state" / "environments.json").read_text())
    environments["haproxy"]["hosts"][0]["ssh"].update(host="127.0.0.99", port=port)
    return environments


# --- 1. the rollback rule reads reviewed history only ----------------------------------------------------------


def test_a_pull_request_cannot_turn_a_downgrade_into_a_rollback(rig: Rig, sandbox: Sandbox) -> None:
    sandbox.set_app("ldc-tools", Color.GREEN, version="1.0.0")  # the STANDBY is older than the LIVE 1.7.2
    status = json.loads((rig.dev / "state" / "status.json").read_text())
    fake = fake_release("green", "blue", "1.0.0", "1.7.2")  # "green 1.0.0 was LIVE before": back would be a rollback
    status["apps"]["ldc-tools"].update(last_release=fake, history=[fake])
    downgrade = {"theoshift": {"live": "green"}, "ldc-tools": {"live": "green"}}
    head = open_pr(rig, 50, downgrade, branch="downgrade", more={"state/status.json": status})

    plan = rig.run("pull_request", pr_event(rig, "opened", 50, head), head, "refs/pull/50/merge", depth=2)
    assert plan.code == 3, plan.log
    said = comment(rig, 50)
    assert "this PR changes state/status.json, which only bluegreen writes" in said
    assert "rollback to the previous LIVE" not in said  # judged by the base branch's history: a downgrade
    assert "older than LIVE" in said
    assert rig.github.statuses(head)[-1]["state"] == "failure"

    released = push_run(rig, merge_pr(rig, 50, branch="downgrade"))  # merged anyway
    assert released.code == 3, released.log
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}  # Blue 1.7.2 stays LIVE
    assert "this push changes state/status.json" in comment(rig, 50)
    recorded, email, _ = rig.origin_status()
    assert email == BOT_EMAIL  # bluegreen's own record replaced the hand edit
    assert recorded["apps"]["ldc-tools"]["history"] == []  # the fake earlier release is gone
    assert recorded["apps"]["ldc-tools"]["last_release"]["result"] == "refused"
    assert not leaks(rig, released, 50)


def test_a_hand_edit_that_slipped_in_without_a_run_is_not_believed(rig: Rig, sandbox: Sandbox) -> None:
    open_pr(rig, 12, FLIP)
    assert push_run(rig, merge_pr(rig, 12)).code == 0  # bluegreen's record: ldc-tools Blue 1.7.2 -> Green 1.8.0
    sandbox.set_app("ldc-tools", Color.BLUE, version="1.0.0")  # Blue no longer runs what it ran then
    git(rig.dev, "pull", "-q", "origin", "main")
    status = json.loads((rig.dev / "state" / "status.json").read_text())
    status["apps"]["ldc-tools"]["history"][0]["from_version"] = "1.0.0"  # "Blue ran 1.0.0 then": a rollback
    rig.commit("Tidy the status [skip ci]", {"state/status.json": status})  # pushed, no run ever saw it
    back = {"theoshift": {"live": "blue", "version": "2.4.1"}, "ldc-tools": {"live": "blue"}}
    open_pr(rig, 13, back, branch="back")
    released = push_run(rig, merge_pr(rig, 13, branch="back"))
    assert released.code == 3, released.log
    assert ldc_states(sandbox) == {"blue": "8", "green": "0"}  # Green 1.8.0 stays LIVE
    said = comment(rig, 13)
    assert "differs from bluegreen's record (kept on the HAProxy hosts)" in said
    assert "older than LIVE" in said
    assert "::warning title=bluegreen's record::" in released.log


# --- 2. no secret from outside the repository, ever ------------------------------------------------------------


def test_a_linked_known_hosts_in_a_pull_request_is_never_read_nor_quoted(rig: Rig, sandbox: Sandbox) -> None:
    head = commit_link(rig, "pins", "state/known_hosts", "/proc/self/environ", FLIP)
    rig.github.add_pull(60, "Release 60", "", "alice", head, False, None)
    plan = rig.run("pull_request", pr_event(rig, "opened", 60, head), head, "refs/pull/60/merge", depth=2)
    assert plan.code == 0, plan.log  # the plan connects with the base branch's pins
    assert untouched(plan.workspace)
    assert "changes state/environments.json or the pinned host keys" in comment(rig, 60)
    assert not leaks(rig, plan, 60)
    released = push_run(rig, merge_pr(rig, 60, branch="pins"))
    assert released.code == 2, released.log
    assert "`state/known_hosts` is a symbolic link in commit" in released.log
    assert "`state/known_hosts` is a symbolic link" in comment(rig, 60)
    assert not leaks(rig, released, 60)
    assert "INPUT_" not in released.log + released.summary
    assert theoshift_route(sandbox) == "theoshift_green"


def test_a_linked_state_file_in_a_pull_request_is_an_annotated_error(rig: Rig, sandbox: Sandbox) -> None:
    head = commit_link(rig, "live-link", "state/status.json", "../../../../proc/self/environ", FLIP)
    rig.github.add_pull(61, "Release 61", "", "alice", head, False, None)
    plan = rig.run("pull_request", pr_event(rig, "opened", 61, head), head, "refs/pull/61/merge", depth=2)
    assert plan.code == 2, plan.log
    assert "::error title=invalid input,file=state/status.json::" in plan.log
    assert rig.github.statuses(head)[-1]["state"] == "error"
    assert not leaks(rig, plan, 61)


# --- 3. typed values: what the schema calls an integer cannot crash a release after its switch -----------------


def test_whole_numbers_written_as_floats_release_and_verify(rig: Rig, sandbox: Sandbox) -> None:
    environments = json.loads((rig.dev / "state" / "environments.json").read_text())
    environments["apps"]["theoshift"]["verify"].update(requests=5.0, healthy_probes=3.0)
    open_pr(rig, 70, FLIP, branch="floats", more={"state/environments.json": environments})
    released = push_run(rig, merge_pr(rig, 70, branch="floats"))
    assert released.code == 0, released.log
    assert "5/5 requests through the public entry" in comment(rig, 70)
    assert theoshift_route(sandbox) == "theoshift_blue"
    recorded, _, _ = rig.origin_status()
    assert recorded["apps"]["theoshift"]["last_release"]["result"] == "success"


# --- 4. a pull request cannot choose where the deploy key connects ---------------------------------------------


def test_a_state_dir_new_on_the_base_branch_gets_static_checks_only(
    rig: Rig, sandbox: Sandbox, listener: list[str]
) -> None:
    files = {
        "deploy/live.json": {"apps": FLIP},
        "deploy/environments.json": elsewhere(rig, int(listener[0])),
    }
    git(rig.dev, "checkout", "-q", "-B", "new-dir", "origin/main")
    (rig.dev / "deploy").mkdir()
    (rig.dev / "deploy" / "known_hosts").write_text((rig.dev / "state" / "known_hosts").read_text())
    head = rig.commit("A new state folder", files, branch="new-dir")
    rig.github.add_pull(80, "New folder", "", "alice", head, False, None)
    event = pr_event(rig, "opened", 80, head)
    plan = rig.run("pull_request", event, head, "refs/pull/80/merge", depth=2, state_dir="deploy")
    assert plan.code == 0, plan.log
    assert "static checks only" in plan.summary
    assert "The base branch has no deploy/environments.json" in plain(plan.summary)
    assert listener[1:] == []  # nothing connected to where the PR pointed
    assert rig.github.statuses(head)[-1]["description"].startswith("static checks only")


def test_a_base_commit_missing_from_the_checkout_gets_static_checks_only(
    rig: Rig, sandbox: Sandbox, listener: list[str]
) -> None:
    head = open_pr(rig, 81, FLIP, branch="far", more={"state/environments.json": elsewhere(rig, int(listener[0]))})
    plan = rig.run("pull_request", pr_event(rig, "opened", 81, head), head, "refs/pull/81/merge", depth=1)
    assert plan.code == 0, plan.log
    assert "is not in the checkout" in plan.summary
    assert "`fetch-depth: 2`" in plain(plan.summary)
    assert listener[1:] == []


def test_an_event_without_a_base_commit_is_an_input_error(rig: Rig, sandbox: Sandbox, listener: list[str]) -> None:
    head = open_pr(rig, 82, FLIP, branch="nobase", more={"state/environments.json": elsewhere(rig, int(listener[0]))})
    event = pr_event(rig, "opened", 82, head)
    del event["pull_request"]["base"]["sha"]
    plan = rig.run("pull_request", event, head, "refs/pull/82/merge", depth=2)
    assert plan.code == 2, plan.log
    assert "::error title=invalid input,file=GITHUB_EVENT_PATH" in plan.log
    assert "pull_request.base.sha" in plan.log
    assert listener[1:] == []
    assert plan.outputs["result"] == "failed"


def test_a_pull_request_from_an_unnamed_repository_counts_as_a_fork(rig: Rig, listener: list[str]) -> None:
    head = open_pr(rig, 83, FLIP, branch="gone", more={"state/environments.json": elsewhere(rig, int(listener[0]))})
    event = pr_event(rig, "opened", 83, head)
    event["pull_request"]["head"]["repo"] = None  # GitHub's payload for a deleted fork
    plan = rig.run("pull_request", event, head, "refs/pull/83/merge", depth=2)
    assert plan.code == 0, plan.log
    assert "comes from a fork" in plan.summary
    assert rig.github.comments(83) == []
    assert listener[1:] == []


# --- every input checked before anything starts, and reported like every other error ---------------------------


@pytest.mark.parametrize(
    ("inputs", "words"),
    [
        ({"state_dir": "../x"}, "the input `state_dir`"),
        ({"state_dir": "/etc"}, "the input `state_dir`"),
        ({"status_branch": "--force"}, "is not a branch name"),
        ({"verify_window_s": "1_0"}, "the input `verify_window_s` must be a number of seconds"),
    ],
)
def test_an_input_error_is_annotated_summarised_and_output(
    rig: Rig, sandbox: Sandbox, inputs: dict[str, str], words: str
) -> None:
    open_pr(rig, 12, FLIP)
    ran = push_run(rig, merge_pr(rig, 12), **inputs)
    assert ran.code == 2, ran.log
    assert "::error title=invalid input,file=action inputs::" in ran.log
    assert words in ran.log
    assert words in plain(ran.summary)
    assert ran.outputs["result"] == "failed"
    assert theoshift_route(sandbox) == "theoshift_green"
    assert not [call for call in rig.github.calls if call.method != "GET"]


def test_an_event_whose_repository_is_a_string(rig: Rig, sandbox: Sandbox) -> None:
    sha = git(rig.dev, "rev-parse", "origin/main")
    event = events.push(sha, "0" * 40)
    event["repository"] = "acme/ops"
    ran = rig.run("push", event, sha, "refs/heads/main")
    assert ran.code == 2, ran.log
    assert "file=GITHUB_EVENT_PATH" in ran.log
    assert "repository" in ran.summary
    assert ran.outputs["result"] == "failed"


def test_nothing_the_workspace_configures_runs(rig: Rig, sandbox: Sandbox, tmp_path: Path) -> None:
    """A job's earlier step (or a poisoned cache) may leave git filters, an fsmonitor or hooks in the checkout:
    the Action runs no git at all, so none of them runs; status.json is committed through the API."""
    marker = tmp_path / "owned"

    def poison(workspace: Path) -> None:
        for key, value in [("filter.evil.clean", f"touch {marker}"), ("filter.evil.smudge", f"touch {marker}"),
                           ("core.fsmonitor", f"touch {marker}"), ("core.hooksPath", str(tmp_path))]:  # fmt: skip
            git(workspace, "config", key, value)
        (workspace / ".gitattributes").write_text("* filter=evil\n")
        (tmp_path / "post-commit").write_text(f"#!/bin/sh\ntouch {marker}\n")
        (tmp_path / "post-commit").chmod(0o755)

    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    ran = rig.run("push", events.push(merged, "0" * 40), merged, "refs/heads/main", prepare=poison)
    assert ran.code == 0, ran.log
    assert not marker.exists()
    assert untouched(ran.workspace, added=(".gitattributes",))
    recorded, email, subject = rig.origin_status()
    assert (email, recorded["apps"]["theoshift"]["live"]["color"]) == (BOT_EMAIL, "blue")
    assert "[skip ci]" in subject


# --- found by a second review: what else could write the history or run a stale release -----------------------


def test_a_record_written_by_another_workflows_token_is_not_believed(rig: Rig, sandbox: Sandbox) -> None:
    """Any workflow's token commits as github-actions[bot], signed by GitHub; only the record the HAProxy hosts
    keep (which only the deploy key can write) makes a history count."""
    sandbox.set_app("ldc-tools", Color.GREEN, version="1.0.0")
    status = json.loads((rig.dev / "state" / "status.json").read_text())
    fake = fake_release("green", "blue", "1.0.0", "1.7.2")
    status["apps"]["ldc-tools"].update(last_release=fake, history=[fake])
    other = GitHub(rig.github.token, rig.github.url, "acme/ops", write_interval_s=0)  # "another workflow"
    current = other.file_sha("state/status.json", "main")
    other.put_file("state/status.json", json.dumps(status, indent=2) + "\n", "tidy [skip ci]", "main", current)
    git(rig.dev, "pull", "-q", "origin", "main")
    open_pr(rig, 52, {"theoshift": {"live": "green"}, "ldc-tools": {"live": "green"}}, branch="downgrade")
    released = push_run(rig, merge_pr(rig, 52, branch="downgrade"))
    assert released.code == 3, released.log
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}  # Blue 1.7.2 stays LIVE
    said = comment(rig, 52)
    assert "older than LIVE" in said
    assert "no HAProxy host holds a record of bluegreen's yet" in said  # the forged file counts for nothing


def test_re_running_an_old_release_job_is_refused(rig: Rig, sandbox: Sandbox) -> None:
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    assert push_run(rig, merged).code == 0
    reverted = revert_pr(rig, merged, 12, 13)
    assert push_run(rig, reverted).code == 0
    assert theoshift_route(sandbox) == "theoshift_green"
    for _ in range(2):  # "Re-run jobs" of PR 12's release, twice: a refused run does not make the next one new
        rerun = push_run(rig, merged)
        assert rerun.code == 3, rerun.log
        assert theoshift_route(sandbox) == "theoshift_green"  # the revert stands
        assert "older than commit" in comment(rig, 12)


@pytest.mark.parametrize(("depth", "key"), [(2, ""), (1, "given")])
def test_a_plan_that_connects_nowhere_still_refuses_an_edited_status(
    rig: Rig, sandbox: Sandbox, depth: int, key: str
) -> None:
    status = json.loads((rig.dev / "state" / "status.json").read_text())
    status["apps"]["theoshift"]["history"] = [fake_release("blue", "green", "2.4.1", "2.4.0")]
    head = open_pr(rig, 56, FLIP, branch="edited", more={"state/status.json": status})
    inputs = {"ssh_private_key": ""} if not key else {}
    plan = rig.run("pull_request", pr_event(rig, "opened", 56, head), head, "refs/pull/56/merge", inputs, depth=depth)
    assert "static checks only" in plan.summary
    assert rig.github.statuses(head)[-1]["state"] == "failure"
    if depth == 2:  # the base commit is there: the edit is seen and refused
        assert plan.code == 3, plan.log
        assert "this PR changes state/status.json" in plain(plan.summary)
    else:  # it is not: the plan cannot tell, and says so instead of success
        assert plan.code == 0, plan.log
        assert "cannot be told" in rig.github.statuses(head)[-1]["description"]


def test_a_plan_reads_the_history_where_the_release_will(rig: Rig, sandbox: Sandbox) -> None:
    """With status_branch, the records are on that branch, not in the base commit: a revert's plan is a rollback."""
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    assert push_run(rig, merged, status_branch="bluegreen-status").code == 0
    git(rig.dev, "checkout", "-q", "-B", "revert-12", "origin/main")
    git(rig.dev, "revert", "--no-edit", "-m", "1", merged)
    git(rig.dev, "push", "-q", "origin", "HEAD:refs/heads/revert-12")
    head = git(rig.dev, "rev-parse", "HEAD")
    rig.github.add_pull(13, 'Revert "Release 12"', "Reverts acme/ops#12", "bob", head, False, None)
    event = pr_event(rig, "opened", 13, head)
    plan = rig.run("pull_request", event, head, "refs/pull/13/merge", depth=2, status_branch="bluegreen-status")
    assert plan.code == 0, plan.log
    assert "rollback to the previous LIVE" in comment(rig, 13)
    assert rig.github.statuses(head)[-1]["state"] == "success"


def test_pull_request_target_is_refused(rig: Rig, sandbox: Sandbox) -> None:
    head = open_pr(rig, 57, FLIP, branch="target")
    base = git(rig.dev, "rev-parse", "origin/main")
    ran = rig.run("pull_request_target", pr_event(rig, "opened", 57, head), base, "refs/heads/main", depth=2)
    assert ran.code == 2, ran.log
    assert "does not run on pull_request_target" in ran.log
    assert ran.outputs["result"] == "failed"


def test_an_apps_input_naming_an_app_the_base_branch_does_not_know_yet_is_an_input_error(
    rig: Rig, sandbox: Sandbox
) -> None:
    """A PR that adds an app plans without it (the base branch's environments.json does not know it): asking for
    that app alone is the input error a plan reports on the PR, not a crash after connecting."""
    environments: dict[str, Any] = json.loads((rig.dev / "state" / "environments.json").read_text())
    newapp = json.loads(json.dumps(environments["apps"]["theoshift"]))
    newapp["switch"]["key"] = "newapp.example"
    environments["apps"]["newapp"] = newapp
    live = {**{name: {"live": app["live"]} for name, app in rig.live()["apps"].items()}, "newapp": {"live": "green"}}
    head = open_pr(rig, 41, live, branch="newapp", more={"state/environments.json": environments})
    ran = rig.run("pull_request", pr_event(rig, "opened", 41, head), head, "refs/pull/41/merge", apps="newapp")
    assert ran.code == 2, ran.log
    assert "no app named 'newapp'" in ran.log
    assert "no app named 'newapp'" in plain(rig.github.comments(41)[0])
    assert "Traceback" not in ran.log
    assert theoshift_route(sandbox) == "theoshift_green"
