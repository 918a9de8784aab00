"""Git follows reality after a switch back, and a failed version is not retried by accident: the Action end to end,
as GitHub runs it (real git origin, the real lab, the fake GitHub), and the command line.

The release that fails: theoshift's public entry is misconfigured on the default branch (its Host header reaches
no backend), so once traffic is on Blue, users do not reach Blue, verification fails, and traffic goes back to
Green (exit 4)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bluegreen.action.rollback_pr import LABEL
from bluegreen_lab import Sandbox
from tests import events
from tests.integration.actionrig import BOT_EMAIL, Rig, git
from tests.integration.conftest import Consumer
from tests.integration.test_action import merge_pr, open_pr, pr_event, push_run
from tests.integration.test_failures import edit_environments
from tests.integration.test_release import ldc_states, theoshift_route

pytestmark = pytest.mark.integration

RECORD_BRANCH = "bluegreen/rollback/theoshift"
THEOSHIFT_TO_BLUE = {"theoshift": {"live": "blue", "version": "2.4.1"}, "ldc-tools": {"live": "blue"}}
LDC_TO_GREEN = {"theoshift": {"live": "blue", "version": "2.4.1"}, "ldc-tools": {"live": "green"}}


def break_public_entry(rig: Rig) -> None:
    """On the default branch (a direct push whose run is not part of the test): users of theoshift reach nothing."""
    environments: dict[str, Any] = json.loads((rig.dev / "state" / "environments.json").read_text())
    environments["apps"]["theoshift"]["public"]["host_header"] = "nobody.example.test"
    rig.commit("theoshift: a public host that reaches nothing", {"state/environments.json": environments})


def live_on(rig: Rig, ref: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(git(rig.origin, "show", f"{ref}:state/live.json"))["apps"]
    return found


def failed_release(rig: Rig, sandbox: Sandbox, **inputs: str) -> str:
    """PR 12 asks for theoshift on Blue v2.4.1 and is merged; its release is switched back. The merge commit."""
    break_public_entry(rig)
    open_pr(rig, 12, THEOSHIFT_TO_BLUE)
    merged = merge_pr(rig, 12)
    ran = push_run(rig, merged, **inputs)
    assert ran.code == 4, ran.log
    assert ran.outputs["result"] == "rolled_back"
    assert theoshift_route(sandbox) == "theoshift_green"
    return merged


def test_a_switch_back_leaves_a_bot_pull_request_whose_merge_records_it(rig: Rig, sandbox: Sandbox) -> None:
    merged = failed_release(rig, sandbox)
    [number] = rig.github.open_pulls()
    pull = rig.github.pull(number)
    assert (pull["author"], pull["head_ref"], pull["labels"]) == ("github-actions[bot]", RECORD_BRANCH, [LABEL])
    assert pull["title"] == "bluegreen: record the rollback of theoshift, LIVE is Green v2.4.0"
    assert pull["body"].startswith("<!-- bluegreen:rollback:theoshift -->\n## ↩️ Rollback record")
    assert "did not reach Blue" in pull["body"]  # the reason, and the release report
    assert live_on(rig, RECORD_BRANCH) == {**THEOSHIFT_TO_BLUE, "theoshift": {"live": "green", "version": "2.4.0"}}
    assert live_on(rig, "main")["theoshift"] == {"live": "blue", "version": "2.4.1"}  # until a person merges it
    assert git(rig.origin, "log", "-1", "--format=%ae", RECORD_BRANCH) == BOT_EMAIL
    report = rig.github.comments(12)[0]
    assert f"bluegreen opened pull request #{number}" in report

    again = push_run(rig, merged)  # the job run again: the merge touched theoshift, so it is tried again, and fails
    assert again.code == 4, again.log
    assert rig.github.open_pulls() == [number]  # the record is reused, never a second one
    assert f"updated its open pull request #{number}" in rig.github.comments(12)[0]

    recorded = rig.merge(RECORD_BRANCH, number, pull["title"])
    rig.github.mark_merged(number, recorded)
    rig.github.associate(recorded, number)
    noop = push_run(rig, recorded)
    assert noop.code == 0, noop.log
    assert (noop.outputs["result"], json.loads(noop.outputs["apps"])) == ("noop", [])
    assert theoshift_route(sandbox) == "theoshift_green"
    assert "rollback record of theoshift: live.json says again what is LIVE, nothing switched" in noop.summary
    assert live_on(rig, "main")["theoshift"] == {"live": "green", "version": "2.4.0"}
    status, _, _ = rig.origin_status()
    assert status["apps"]["theoshift"]["last_release"]["result"] == "rolled_back"  # the history keeps it


def test_a_later_pull_request_for_another_app_does_not_touch_the_held_app(rig: Rig, sandbox: Sandbox) -> None:
    failed_release(rig, sandbox, rollback_pr="false")
    assert rig.github.open_pulls() == []  # the input is off: the report gives the change instead
    assert (
        'the input rollback\\_pr is false. To record the rollback, set its entry to {"live": "green"'
        in (rig.github.comments(12)[0])
    )
    git(rig.dev, "pull", "-q", "origin", "main")
    head = open_pr(rig, 14, LDC_TO_GREEN, branch="pr14")  # live.json still asks for theoshift on Blue v2.4.1

    planned = rig.run("pull_request", pr_event(rig, "opened", 14, head), head, "refs/pull/14/merge")
    assert planned.code == 0, planned.log
    plan = rig.github.comments(14)[0]
    assert "Plan: merging this PR will switch ldc-tools" in plan
    assert "theoshift: held on Green, Blue is not tried again" in plan
    assert "was rolled back" in plan

    released = push_run(rig, merge_pr(rig, 14, branch="pr14"), rollback_pr="false")
    assert released.code == 0, released.log
    assert json.loads(released.outputs["apps"]) == ["ldc-tools"]
    assert ldc_states(sandbox) == {"blue": "8", "green": "0"}  # ldc-tools switched to Green
    assert theoshift_route(sandbox) == "theoshift_green"  # theoshift was not tried again
    assert "theoshift: held on Green, Blue is not tried again" in released.summary
    assert "with `apps: theoshift`" in released.summary
    status, _, _ = rig.origin_status()
    assert status["apps"]["theoshift"]["last_release"]["result"] == "rolled_back"

    sha = git(rig.dev, "rev-parse", "origin/main")  # a person asks for it by hand: it is planned again
    asked = rig.run("workflow_dispatch", events.workflow_dispatch("plan"), sha, "refs/heads/main", apps="theoshift")
    assert asked.code == 0, asked.log
    assert "will switch theoshift" in asked.summary
    assert "held" not in asked.summary


def test_the_command_line_prints_the_change_that_records_a_switch_back(consumer: Consumer, sandbox: Sandbox) -> None:
    edit_environments(consumer, lambda d: d["apps"]["theoshift"]["public"].update(host_header="nobody.example.test"))
    consumer.live(theoshift="blue")
    consumer.pin("theoshift", "2.4.1")
    ran = consumer.run("release", "--app", "theoshift")
    assert ran.code == 4, ran.out
    assert "still asks for what was switched back: theoshift (Blue v2.4.1, LIVE is Green)" in ran.out
    diff = ran.out[ran.out.index("--- a/state/live.json") :].splitlines()
    assert [line for line in diff if line[:1] in "+-" and not line.startswith(("---", "+++"))] == [
        '-      "live": "blue",',
        '-      "version": "2.4.1"',
        '+      "live": "green",',
        '+      "version": "2.4.0"',
    ]
    assert theoshift_route(sandbox) == "theoshift_green"
