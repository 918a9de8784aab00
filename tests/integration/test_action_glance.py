"""The Action end to end, as GitHub runs it, for what issue 9 asks of the reports: a scheduled status that sees
drift opens one issue and a clean one closes it; the PR comment and the job summary open with one row per app;
the `sync` output is what the example workflow's follow-up job reads.

Real git (a bare origin), real HAProxy and sshd (the lab), the Action's real entry point in its own process;
only GitHub's REST API is the fake one, and every exchange with it is checked against GitHub's description."""

from __future__ import annotations

import fcntl
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bluegreen.model import Color
from bluegreen_lab import Sandbox
from tests import events
from tests.integration.actionrig import REPO, ActionRun, Rig, git
from tests.integration.test_action import FLIP, merge_pr, open_pr, pr_event, push_run, revert_pr
from tests.integration.test_release import MAP_KEY, theoshift_route

pytestmark = pytest.mark.integration

DRIFT_MARKER, DRIFT_LABEL = "<!-- bluegreen:drift -->", "bluegreen-drift"
EXAMPLE = REPO / ".github" / "workflows" / "example-consumer.yml"


def scheduled(rig: Rig, **inputs: str) -> ActionRun:
    """The drift check as the example's schedule starts it: on the default branch's last commit (with the
    status.json a release published)."""
    git(rig.dev, "fetch", "-q", "origin")
    sha = git(rig.dev, "rev-parse", "origin/main")
    return rig.run("schedule", events.schedule(), sha, "refs/heads/main", inputs)


def route_by_hand(lab: Sandbox, color: Color) -> None:
    """Someone switches theoshift on HAProxy outside bluegreen (the runtime API, not the map file)."""
    map_file = lab.environments["apps"]["theoshift"]["switch"]["map_file"]
    lab.runtime(f"set map {map_file} {MAP_KEY} theoshift_{color.value}")


def drift_issues(rig: Rig, state: str | None = None) -> list[dict[str, Any]]:
    return [issue for issue in rig.github.issues(state) if str(issue["body"]).startswith(DRIFT_MARKER)]


# --- drift watched on a schedule --------------------------------------------------------------------------------


def released(rig: Rig) -> str:
    """PR 12 (theoshift to Blue, ldc-tools to Green) merged and released: bluegreen's record says so."""
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    ran = push_run(rig, merged)
    assert ran.code == 0, ran.log
    return merged


def test_a_scheduled_status_with_drift_opens_one_issue_and_a_clean_one_closes_it(rig: Rig, sandbox: Sandbox) -> None:
    fresh = scheduled(rig)
    assert fresh.code == 0, fresh.log
    assert rig.github.issues() == []  # before the first release there is no record to drift from: no alarm
    assert "⏭️ none: no release recorded yet |" in fresh.summary
    released(rig)
    before = len([call for call in rig.github.calls if call.method != "GET"])
    clean = scheduled(rig)
    assert clean.code == 0, clean.log
    assert rig.github.issues() == []  # nothing drifts: no issue, and none to close
    assert "| theoshift | Blue | Blue v2.4.1 | ✅ v2.4.1 | ✅ v2.4.0 | ✅ none |" in clean.summary

    route_by_hand(sandbox, Color.GREEN)
    found = scheduled(rig)
    assert found.code == 0, found.log  # drift is news, not a failed job: the issue tells it
    [issue] = drift_issues(rig, "open")
    assert issue["title"] == "bluegreen: drift in theoshift"
    assert [label["name"] for label in issue["labels"]] == [DRIFT_LABEL]
    assert issue["user"]["login"] == "github-actions[bot]"
    assert "- **theoshift**: lb1 routes to Green, recorded Blue" in issue["body"]
    assert "| theoshift | Green | Blue v2.4.1 |" in issue["body"]
    # the summary shows the table; the map file still names Blue: a reload would also move lb1 back
    assert "⚠️ lb1 routes to Green, recorded Blue; lb1: a reload would route elsewhere |" in found.summary
    assert f"The drift issue #{issue['number']} was opened" in found.summary
    assert theoshift_route(sandbox) == "theoshift_green"  # a status changes nothing

    again = scheduled(rig)
    assert again.code == 0, again.log
    assert [i["number"] for i in drift_issues(rig)] == [issue["number"]]  # updated, never a second one
    assert f"The drift issue #{issue['number']} was updated" in again.summary

    route_by_hand(sandbox, Color.BLUE)
    gone = scheduled(rig)
    assert gone.code == 0, gone.log
    [closed] = drift_issues(rig)
    assert (closed["number"], closed["state"], closed["state_reason"]) == (issue["number"], "closed", "completed")
    [comment] = rig.github.comments(issue["number"])
    assert comment.startswith(f"{DRIFT_MARKER}\n## ✅ No drift any more")
    assert f"The drift issue #{issue['number']} was closed" in gone.summary
    writes = [call.method for call in rig.github.calls if call.method != "GET"][before:]
    assert writes == ["POST", "PATCH", "POST", "PATCH"]  # open, update, comment, close: nothing more


def lock_paths(lab: Sandbox) -> list[Path]:
    return [Path(host["lock_path"]) for host in lab.environments["haproxy"]["hosts"]]


def forget_the_record(lab: Sandbox) -> None:
    """The hosts re-provisioned: bluegreen's record beside each lock is gone (status.json on the branch is not)."""
    for lock in (Path(host["lock_path"]) for host in lab.environments["haproxy"]["hosts"]):
        for kept in lock.parent.glob(f"{lock.name}.*"):
            if kept.name != f"{lock.name}.holder":
                kept.unlink()


def test_a_record_lost_on_every_host_is_replaced_by_status_json(rig: Rig, sandbox: Sandbox) -> None:
    released(rig)
    route_by_hand(sandbox, Color.GREEN)
    assert scheduled(rig).code == 0
    [issue] = drift_issues(rig, "open")
    forget_the_record(sandbox)
    lost = scheduled(rig)
    assert lost.code == 0, lost.log
    [still] = drift_issues(rig, "open")  # the hosts agree on Green, status.json says Blue: not "no drift"
    assert (still["number"], still["title"]) == (issue["number"], "bluegreen: drift in theoshift")
    assert "- **theoshift**: lb1 routes to Green, recorded Blue" in still["body"]
    assert "held against the published status.json instead" in still["body"]
    assert rig.github.comments(issue["number"]) == []


def test_a_check_while_a_release_holds_the_lock_leaves_the_issue_alone(rig: Rig, sandbox: Sandbox) -> None:
    released(rig)
    route_by_hand(sandbox, Color.GREEN)  # as a release mid-switch leaves it: on the new color, not yet recorded
    lock = Path(sandbox.environments["haproxy"]["hosts"][0]["lock_path"])
    lock.with_name(f"{lock.name}.holder").write_text("acme/ops run 99\n")
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # what a release's flock(1) holds on the host
        busy = scheduled(rig)
    assert busy.code == 0, busy.log
    assert drift_issues(rig) == []
    assert "A release is in progress (lb1: acme/ops run 99)" in busy.summary
    assert scheduled(rig).code == 0  # the lock let go: the next check decides
    assert [issue["title"] for issue in drift_issues(rig, "open")] == ["bluegreen: drift in theoshift"]


def test_a_color_down_is_drift_too(rig: Rig, sandbox: Sandbox) -> None:
    sandbox.stop_app("ldc-tools", Color.GREEN)  # ldc-tools' STANDBY: a switch to it could not be made
    ran = scheduled(rig)
    assert ran.code == 0, ran.log
    [issue] = drift_issues(rig, "open")
    assert issue["title"] == "bluegreen: drift in ldc-tools"
    assert "- **ldc-tools**: Green down" in issue["body"]


def test_a_drift_check_that_cannot_be_made_says_so_in_the_issue(rig: Rig, sandbox: Sandbox) -> None:
    sandbox.stop_haproxy()  # its runtime API stops answering
    ran = scheduled(rig)
    assert ran.code == 6, ran.log
    assert "❌ bluegreen status failed" in ran.summary  # the error's report first, as for any failed run
    [issue] = drift_issues(rig, "open")
    assert issue["title"] == "bluegreen: the drift check failed"
    assert issue["body"].startswith(f"{DRIFT_MARKER}\n## ❌ bluegreen could not check for drift")


def test_the_drift_issue_can_be_left_off(rig: Rig, sandbox: Sandbox) -> None:
    sandbox.stop_app("ldc-tools", Color.GREEN)
    ran = scheduled(rig, drift_issue="false")
    assert ran.code == 0, ran.log
    assert rig.github.issues() == []
    assert "⚠️ Green down |" in ran.summary


def test_a_status_of_some_apps_leaves_the_issue_alone(rig: Rig, sandbox: Sandbox) -> None:
    sandbox.stop_app("ldc-tools", Color.GREEN)
    assert scheduled(rig).code == 0
    [issue] = drift_issues(rig, "open")
    writes = len([call for call in rig.github.calls if call.method != "GET"])
    some = scheduled(rig, apps="theoshift")  # theoshift is fine, but ldc-tools was not looked at
    assert some.code == 0, some.log
    assert drift_issues(rig, "open") == [issue]
    assert len([call for call in rig.github.calls if call.method != "GET"]) == writes


def test_a_status_on_another_branch_leaves_the_issue_alone(rig: Rig, sandbox: Sandbox) -> None:
    sandbox.stop_app("ldc-tools", Color.GREEN)
    assert scheduled(rig).code == 0
    [issue] = drift_issues(rig, "open")
    writes = len([call for call in rig.github.calls if call.method != "GET"])
    sha = git(rig.dev, "rev-parse", "origin/main")
    elsewhere = rig.run("workflow_dispatch", events.workflow_dispatch("status"), sha, "refs/heads/try")
    assert elsewhere.code == 0, elsewhere.log
    assert "ran on refs/heads/try, not on the default branch 'main'" in elsewhere.log
    assert drift_issues(rig, "open") == [issue]
    assert len([call for call in rig.github.calls if call.method != "GET"]) == writes


def test_drift_github_refuses_to_write_up_fails_the_job_after_the_summary(rig: Rig, sandbox: Sandbox) -> None:
    sandbox.stop_app("ldc-tools", Color.GREEN)
    rig.github.fail_next("POST", r"/issues$", 403, times=10, message="Resource not accessible by integration")
    ran = scheduled(rig)
    assert ran.code == 6, ran.log  # the alarm would be lost in silence: the failed job is the news instead
    assert "::warning title=the drift issue not updated::" in ran.log
    assert "::error title=drift not written up::" in ran.log
    assert "permissions: issues: write" in ran.log
    assert "⚠️ Green down |" in ran.summary


def test_a_closing_github_refuses_is_only_a_warning(rig: Rig, sandbox: Sandbox) -> None:
    released(rig)
    route_by_hand(sandbox, Color.GREEN)
    assert scheduled(rig).code == 0
    route_by_hand(sandbox, Color.BLUE)
    rig.github.fail_next("POST", r"/comments$", 403, times=10, message="Resource not accessible by integration")
    ran = scheduled(rig)
    assert ran.code == 0, ran.log  # no drift: nothing is lost, the next check closes it
    assert "::warning title=the drift issue not updated::" in ran.log


# --- the report at a glance -------------------------------------------------------------------------------------

RELEASE_TABLE = "| App | LIVE | Versions | Result | Switch | Failed requests |"
FAILED_REQUESTS = r"✅ 0 of [1-9]\d*"  # the release's own requests while traffic moved (model.SwitchTraffic)


def test_the_comment_and_the_summary_open_with_one_row_per_app(rig: Rig, sandbox: Sandbox) -> None:
    head = open_pr(rig, 12, FLIP)
    planned = rig.run("pull_request", pr_event(rig, "opened", 12, head), head, "refs/pull/12/merge")
    assert planned.code == 0, planned.log
    plan = rig.github.comments(12)[0].splitlines()
    assert plan[plan.index("| App | LIVE | Versions | Merging would | Checks |") + 2 :][:2] == [
        "| theoshift | Green → Blue | v2.4.0 → v2.4.1 | ✅ switch | lb1 ✅ · app servers ✅ |",
        "| ldc-tools | Blue → Green | v1.7.2 → v1.8.0 | ✅ switch | lb1 ✅ · app servers ✅ |",
    ]
    assert "| lb1 | HAProxy sees STANDBY UP | ✅ theoshift\\_blue/blue UP L7OK |" in plan

    released = push_run(rig, merge_pr(rig, 12))
    assert released.code == 0, released.log
    for report in (rig.github.comments(12)[0], released.summary):
        lines = report.splitlines()
        table = lines.index(RELEASE_TABLE)
        assert table < lines.index("<details>")  # the table first, then each app's detail, folded
        rows = lines[table + 2 : table + 4]
        assert re.fullmatch(
            rf"\| theoshift \| Green → Blue \| v2.4.0 → v2.4.1 \| ✅ switched \| \d+ ms \| {FAILED_REQUESTS} \|",
            rows[0],
        )
        assert re.fullmatch(
            rf"\| ldc-tools \| Blue → Green \| v1.7.2 → v1.8.0 \| ✅ switched \| \d+ ms \| {FAILED_REQUESTS} \|",
            rows[1],
        )
        assert "<summary>✅ theoshift: release Green → Blue</summary>" in lines
        assert "New LIVE: Blue (127.0.0.1" in report  # the detail is still there, behind the summary


# --- sync: the seed's next step, for the example workflow's follow-up job ---------------------------------------


def job_block(workflow: str, job: str) -> str:
    """One job of the workflow, as written: from `  <job>:` to the next job."""
    found = re.search(rf"^  {job}:\n(.*?)(?=^  [a-z-]+:\n|\Z)", workflow, re.MULTILINE | re.DOTALL)
    assert found, f"no job {job} in {EXAMPLE.name}"
    return found[1]


def run_script(block: str) -> str:
    """The text of the job's one `run: |` step."""
    found = re.search(r"^( +)run: \|\n((?:\1  .*\n|\n)+)", block, re.MULTILINE)
    assert found, "no run: | step"
    return "\n".join(line[len(found[1]) + 2 :] for line in found[2].splitlines())


def test_the_sync_output_is_what_the_example_follow_up_job_reads(rig: Rig, sandbox: Sandbox) -> None:
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    released = push_run(rig, merged)
    assert released.code == 0, released.log
    sync = json.loads(released.outputs["sync"])
    assert sync == [
        {"app": "theoshift", "standby": "green", "address": sandbox.app_address("theoshift", Color.GREEN),
         "version": "2.4.1"},
        {"app": "ldc-tools", "standby": "blue", "address": sandbox.app_address("ldc-tools", Color.BLUE),
         "version": "1.8.0"},
    ]  # fmt: skip

    workflow = EXAMPLE.read_text()
    assert "sync: ${{ steps.bluegreen.outputs.sync }}" in job_block(workflow, "release")
    standby = job_block(workflow, "standby")
    assert "include: ${{ fromJSON(needs.release.outputs.sync) }}" in standby
    assert "needs.release.outputs.sync != '[]'" in standby
    read = set(re.findall(r"matrix\.(\w+)", standby))
    assert read == {"app", "standby", "address", "version"}
    script, env = run_script(standby), dict(re.findall(r"^ +([A-Z]+): \$\{\{ matrix\.(\w+) \}\}$", standby, re.M))
    for entry in sync:  # the job's step, run as the runner would, with this release's matrix entry
        variables = {name: str(entry[field]) for name, field in env.items()}
        done = subprocess.run(["bash", "-e", "-c", script], env={**os.environ, **variables}, capture_output=True,
                              text=True, check=True)  # fmt: skip
        assert (
            done.stdout
            == f"deploy {entry['app']} {entry['version']} to its STANDBY, {entry['standby']} ({entry['address']})\n"
        )

    rolled = push_run(rig, revert_pr(rig, merged, 12, 13))
    assert rolled.code == 0, rolled.log
    assert rolled.outputs["sync"] == "[]"  # a rollback's STANDBY keeps the failed version: the job is skipped
    assert theoshift_route(sandbox) == "theoshift_green"
