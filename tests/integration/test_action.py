"""The Action end to end, as GitHub runs it: a PR gets a plan, merging releases, reverting rolls back.

Real git (a bare origin), real HAProxy and sshd (the lab), the Action's real entry point in its own process;
only GitHub's REST API is the fake one, and every event is a real payload shape, validated against GitHub's
webhook schemas when they are beside the repository."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bluegreen_lab import Sandbox
from tests import events
from tests.integration.actionrig import BOT_EMAIL, ActionRun, Rig, git
from tests.integration.test_release import ldc_states, theoshift_route

pytestmark = pytest.mark.integration

MARKER = "<!-- bluegreen:report -->"


def open_pr(
    rig: Rig, number: int, live: dict[str, dict[str, str]], branch: str = "release", more: dict[str, Any] | None = None
) -> str:
    head = rig.commit(f"Release {number}", {"state/live.json": {"apps": live}, **(more or {})}, branch=branch)
    rig.github.add_pull(number, f"Release {number}", "", "alice", head, False, None)
    return head


def pr_event(rig: Rig, action: str, number: int, head: str) -> dict[str, Any]:
    event = events.pull_request(action, number, head)
    event["pull_request"]["base"]["sha"] = git(rig.dev, "rev-parse", "origin/main")
    return event


def merge_pr(rig: Rig, number: int, branch: str = "release") -> str:
    merged = rig.merge(branch, number, f"Release {number}")
    rig.github.add_pull(
        number, f"Release {number}", "", "alice", git(rig.dev, "rev-parse", f"origin/{branch}"), True, merged
    )
    rig.github.associate(merged, number)
    return merged


def revert_pr(rig: Rig, merged: str, number: int, revert: int) -> str:
    """GitHub's Revert button on the merged PR `number`, merged at once as PR `revert`: its merge commit."""
    git(rig.dev, "pull", "-q", "origin", "main")
    git(rig.dev, "revert", "--no-edit", "-m", "1", merged)
    git(rig.dev, "push", "-q", "origin", "main")
    reverted = git(rig.dev, "rev-parse", "HEAD")
    title, body = f'Revert "Release {number}"', f"Reverts acme/ops#{number}"
    rig.github.add_pull(revert, title, body, "bob", reverted, True, reverted)
    rig.github.associate(reverted, revert)
    return reverted


def push_run(rig: Rig, sha: str, **inputs: str) -> ActionRun:
    return rig.run("push", events.push(sha, "0" * 40), sha, "refs/heads/main", inputs)


FLIP = {"theoshift": {"live": "blue", "version": "2.4.1"}, "ldc-tools": {"live": "green"}}


def test_a_pull_request_gets_one_plan_comment_and_a_commit_status(rig: Rig, sandbox: Sandbox) -> None:
    head = open_pr(rig, 12, FLIP)
    first = rig.run("pull_request", pr_event(rig, "opened", 12, head), head, "refs/pull/12/merge")
    assert first.code == 0, first.log
    again = rig.run("pull_request", pr_event(rig, "synchronize", 12, head), head, "refs/pull/12/merge")
    assert again.code == 0, again.log
    comments = rig.github.comments(12)
    assert len(comments) == 1  # edited in place, never a second comment
    assert comments[0].startswith(MARKER)
    assert "Green → Blue" in comments[0]
    statuses = rig.github.statuses(head)
    assert statuses[-1]["state"] == "success"
    assert statuses[-1]["context"] == "bluegreen/plan"
    assert first.outputs["result"] == "success"
    assert "Green → Blue" in first.summary
    assert theoshift_route(sandbox) == "theoshift_green"  # a plan changes nothing
    secrets = [*rig.lab.private_key.splitlines()[1:-1], rig.github.token]
    assert not [secret for secret in secrets if secret in first.log]  # never printed, not even to mask it


def test_merge_releases_commits_status_and_reports_then_revert_rolls_back(rig: Rig, sandbox: Sandbox) -> None:
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    released = push_run(rig, merged)
    assert released.code == 0, released.log
    assert theoshift_route(sandbox) == "theoshift_blue"
    assert ldc_states(sandbox) == {"blue": "8", "green": "0"}
    status, email, subject = rig.origin_status()
    assert (email, "[skip ci]" in subject) == (BOT_EMAIL, True)
    assert status["apps"]["theoshift"]["last_release"]["pr"] == 12
    assert status["apps"]["theoshift"]["live"]["color"] == "blue"
    comment = rig.github.comments(12)
    assert len(comment) == 1
    assert "New LIVE: Blue" in comment[0]
    assert json.loads(released.outputs["apps"]) == ["theoshift", "ldc-tools"]
    assert json.loads(released.outputs["live"])["theoshift"] == {"color": "blue", "version": "2.4.1"}
    assert "New LIVE" in released.summary

    reverted = revert_pr(rig, merged, 12, 13)
    rolled = push_run(rig, reverted)
    assert rolled.code == 0, rolled.log
    assert theoshift_route(sandbox) == "theoshift_green"
    status, _, _ = rig.origin_status()
    assert status["apps"]["theoshift"]["last_release"]["kind"] == "rollback"
    assert "ollback" in rig.github.comments(13)[0]


def test_a_protected_branch_keeps_the_release_and_warns_with_the_fix(rig: Rig, sandbox: Sandbox) -> None:
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    rig.github.protect("main")  # the contents API answers 409, as GitHub does for a protected branch
    before = git(rig.origin, "rev-parse", "main")
    ran = push_run(rig, merged)
    assert ran.code == 0, ran.log
    assert theoshift_route(sandbox) == "theoshift_blue"
    assert git(rig.origin, "rev-parse", "main") == before
    assert "::warning" in ran.log
    assert "main" in rig.github.comments(12)[0]
    assert "⚠️" in rig.github.comments(12)[0]


def test_a_fork_pull_request_gets_static_checks_only(rig: Rig, sandbox: Sandbox) -> None:
    head = open_pr(rig, 21, FLIP, branch="fork-release")
    event = events.pull_request("opened", 21, head, head_repository="mallory/ops")
    ran = rig.run("pull_request", event, head, "refs/pull/21/merge", ssh_private_key="", github_token="read-only")
    assert ran.code == 0, ran.log
    assert "static checks only" in ran.summary
    assert rig.github.comments(21) == []
    assert not any(call.method != "GET" for call in rig.github.calls)


def test_a_schema_error_is_annotated_on_its_line_and_changes_nothing(rig: Rig, sandbox: Sandbox) -> None:
    head = open_pr(rig, 30, {"theoshift": {"live": "purple"}, "ldc-tools": {"live": "green"}}, branch="bad")
    ran = rig.run("pull_request", events.pull_request("opened", 30, head), head, "refs/pull/30/merge")
    assert ran.code == 2, ran.log
    # `"live": "purple"` stands on line 4 of the PR's live.json
    assert "::error title=invalid input,file=state/live.json,line=4::apps.theoshift.live" in ran.log
    assert "apps.theoshift.live" in rig.github.comments(30)[0]
    assert rig.github.statuses(head)[-1]["state"] == "error"
    assert theoshift_route(sandbox) == "theoshift_green"


def test_an_approving_review_can_be_required(rig: Rig, sandbox: Sandbox) -> None:
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    rig.github.add_review(12, "alice", "APPROVED")  # the author's own approval does not count
    refused = push_run(rig, merged, require_approval="true")
    assert refused.code == 3, refused.log
    assert "approving review" in rig.github.comments(12)[0]
    assert theoshift_route(sandbox) == "theoshift_green"
    rig.github.add_review(12, "bob", "APPROVED")
    approved = push_run(rig, merged, require_approval="true")
    assert approved.code == 0, approved.log
    assert theoshift_route(sandbox) == "theoshift_blue"


def test_deployments_follow_each_app(rig: Rig) -> None:
    open_pr(rig, 12, FLIP)
    ran = push_run(rig, merge_pr(rig, 12), deployments="true")
    assert ran.code == 0, ran.log
    deployments = {d["environment"]: d for d in rig.github.deployments()}
    assert set(deployments) == {"production/theoshift", "production/ldc-tools"}
    states = [s["state"] for s in rig.github.deployment_statuses(deployments["production/theoshift"]["id"])]
    assert states == ["in_progress", "success"]


def test_a_direct_push_without_a_pull_request_still_releases(rig: Rig, sandbox: Sandbox) -> None:
    sha = rig.commit("Flip theoshift by hand", {"state/live.json": {"apps": FLIP}})
    ran = rig.run("push", events.push(sha, "0" * 40), sha, "refs/heads/main")
    assert ran.code == 0, ran.log
    assert theoshift_route(sandbox) == "theoshift_blue"
    status, _, _ = rig.origin_status()
    assert status["apps"]["theoshift"]["last_release"]["pr"] is None
    assert status["apps"]["theoshift"]["last_release"]["actor"] == "alice"


def test_a_release_whose_run_was_cancelled_is_named_by_the_next_one(rig: Rig, sandbox: Sandbox) -> None:
    open_pr(rig, 12, FLIP)
    assert push_run(rig, merge_pr(rig, 12)).code == 0  # recorded: the last released commit
    git(rig.dev, "pull", "-q", "origin", "main")
    back = {"theoshift": {"live": "green"}, "ldc-tools": {"live": "green"}}
    head14 = open_pr(rig, 14, back, branch="pr14")
    merge_pr(rig, 14, branch="pr14")  # its run was cancelled by the concurrency group: never ran
    rig.github.associate(head14, 14)
    git(rig.dev, "pull", "-q", "origin", "main")
    again = {"theoshift": {"live": "green"}, "ldc-tools": {"live": "blue"}}
    open_pr(rig, 15, again, branch="pr15")
    ran = push_run(rig, merge_pr(rig, 15, branch="pr15"))
    assert ran.code == 0, ran.log
    assert "also PR #14" in rig.github.comments(15)[0]
    assert theoshift_route(sandbox) == "theoshift_green"
    assert ldc_states(sandbox) == {"blue": "0", "green": "8"}


def test_a_pull_request_cannot_choose_where_the_deploy_key_connects(rig: Rig, sandbox: Sandbox) -> None:
    environments = json.loads((rig.dev / "state" / "environments.json").read_text())
    environments["haproxy"]["hosts"][0]["ssh"]["host"] = "127.0.0.99"  # somewhere else on purpose
    head = open_pr(rig, 40, FLIP, branch="elsewhere", more={"state/environments.json": environments})
    ran = rig.run("pull_request", pr_event(rig, "opened", 40, head), head, "refs/pull/40/merge")
    assert ran.code == 0, ran.log
    comment = rig.github.comments(40)[0]
    assert "used the base branch" in comment
    assert "Green → Blue" in comment
    assert "127.0.0.99" not in ran.log


def test_status_can_go_to_its_own_branch(rig: Rig) -> None:
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    ran = push_run(rig, merged, status_branch="bluegreen-status")
    assert ran.code == 0, ran.log
    assert git(rig.origin, "rev-parse", "main") == merged  # the protected branch is left alone
    status = json.loads(git(rig.origin, "show", "bluegreen-status:state/status.json"))
    assert status["apps"]["theoshift"]["live"]["color"] == "blue"
    assert git(rig.origin, "rev-parse", "bluegreen-status~1") == merged


def test_workflow_dispatch_status_reports_what_haproxy_routes(rig: Rig) -> None:
    sha = git(rig.dev, "rev-parse", "origin/main")
    ran = rig.run("workflow_dispatch", events.workflow_dispatch("status"), sha, "refs/heads/main")
    assert ran.code == 0, ran.log
    live = json.loads(ran.outputs["live"])
    assert live["theoshift"] == {"color": "green", "version": "2.4.0"}
    assert live["ldc-tools"] == {"color": "blue", "version": "1.7.2"}
    assert "theoshift" in ran.summary
    assert rig.github.comments(12) == []


def test_a_comment_github_refuses_does_not_hide_a_successful_release(rig: Rig, sandbox: Sandbox) -> None:
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    rig.github.fail_next(
        "POST", r".*/issues/12/comments", 403, times=10, message="Resource not accessible by integration"
    )
    ran = push_run(rig, merged)
    assert ran.code == 0, ran.log
    assert theoshift_route(sandbox) == "theoshift_blue"
    assert ran.outputs["result"] == "success"
    assert "New LIVE" in ran.summary
    assert "::warning title=the PR comment not updated::" in ran.log


def test_a_revert_is_a_rollback_when_the_status_lives_on_its_own_branch(rig: Rig, sandbox: Sandbox) -> None:
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    assert push_run(rig, merged, status_branch="bluegreen-status").code == 0
    reverted = revert_pr(rig, merged, 12, 13)
    # main's own status.json never saw release 12: the history is read from the status branch
    rolled = push_run(rig, reverted, status_branch="bluegreen-status")
    assert rolled.code == 0, rolled.log
    assert theoshift_route(sandbox) == "theoshift_green"
    status = json.loads(git(rig.origin, "show", "bluegreen-status:state/status.json"))
    assert status["apps"]["theoshift"]["last_release"]["kind"] == "rollback"
