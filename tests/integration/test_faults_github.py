"""Rows of the fault matrix (docs/faults.md) where GitHub misbehaves during a release by the Action: a 502, a 502
after the write was carried out, a secondary rate limit (403 with Retry-After), on the PR comment and on the status
commit; and another commit racing the status commit. The Action runs as GitHub runs it (tests/integration/
actionrig.py), against the real lab; GitHub is the fake one (tests/fakegithub.py)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bluegreen_lab import Sandbox
from tests.integration.actionrig import Rig, git
from tests.integration.faults import Matrix
from tests.integration.test_action import FLIP, merge_pr, open_pr, push_run
from tests.integration.test_release import theoshift_route

pytestmark = [pytest.mark.integration, pytest.mark.slow]  # an Action run each: a process, git, ~3 s

RATE_LIMITED = "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."
ANSWERS: dict[str, tuple[int, dict[str, str], str, bool]] = {  # status, headers, message, landed
    "502": (502, {}, "Server Error", False),
    "502 once it was carried out": (502, {}, "Server Error", True),
    "secondary rate limit": (403, {"Retry-After": "1"}, RATE_LIMITED, False),
}
TARGETS = {  # what GitHub answers so: the request, and its words for the row
    "PR comment": ("POST", r"/issues/12/comments$", "the PR comment (`POST .../issues/12/comments`)"),
    "status commit": (
        "PUT",
        r"/contents/state/status\.json$",
        "the status commit (`PUT .../contents/state/status.json`)",
    ),
}


def origin_status(rig: Rig) -> Any:
    return rig.origin_status()[0]


@pytest.mark.parametrize("answer", list(ANSWERS))
@pytest.mark.parametrize("target", list(TARGETS))
def test_github_failing_once_during_a_release_changes_nothing_that_matters(
    rig: Rig, sandbox: Sandbox, fault: Matrix, target: str, answer: str
) -> None:
    method, path, words = TARGETS[target]
    status, headers, message, landed = ANSWERS[answer]
    shown = f"{status} with Retry-After: 1" if headers else str(status)
    where = f"GitHub answers {shown}{' after carrying it out' if landed else ''}, once, to {words}"
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    watch = fault.watch(f"GitHub: {answer}, on the {target}", where, sandbox, lambda: origin_status(rig))
    rig.github.fail_next(method, path, status, message=message, headers=headers, landed=landed)
    ran = push_run(rig, merged)
    assert ran.code == 0, ran.log
    assert theoshift_route(sandbox) == "theoshift_blue"
    comments = rig.github.comments(12)
    assert len(comments) == 1, comments  # one sticky comment, however GitHub answered
    assert [call.method for call in rig.github.calls if re.search(path, call.path)].count(method) >= 2  # tried again
    watch.record(ran.code, comments[0], said="published to state/status.json")


def test_a_commit_racing_the_status_commit_is_kept_and_the_record_still_lands(
    rig: Rig, sandbox: Sandbox, fault: Matrix
) -> None:
    """Someone pushes a change of status.json right before bluegreen commits it: the compare-and-swap fails, the
    file is read again, and bluegreen's record is committed on top; the other commit stays in the history."""
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    where = "GitHub: another commit of state/status.json lands on main right before bluegreen's status commit"
    watch = fault.watch("The status commit races another commit", where, sandbox, lambda: origin_status(rig))

    def push_other() -> None:
        git(rig.dev, "pull", "-q", "origin", "main")
        path = rig.dev / "state" / "status.json"
        document = json.loads(path.read_text())
        document["apps"]["theoshift"]["live"]["version"] = "9.9.9"  # a hand edit, say
        path.write_text(json.dumps(document, indent=2) + "\n")
        git(rig.dev, "commit", "-qam", "Edit status.json by hand")
        git(rig.dev, "push", "-q", "origin", "main")

    rig.github.before_next("PUT", r"/contents/state/status\.json$", push_other)
    ran = push_run(rig, merged)
    assert ran.code == 0, ran.log
    assert "Edit status.json by hand" in git(rig.origin, "log", "--format=%s", "main")
    assert [call.method for call in rig.github.calls].count("PUT") == 2
    watch.record(ran.code, rig.github.comments(12)[0], said="published to state/status.json")
