"""A job's error reaches the PR comment, the job summary and the outputs through the report model, escaped."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

from bluegreen.action.jobs import run_action
from tests import events
from tests.fakegithub import FakeGitHub

HOSTILE = "@octocat <img src=x> [x](javascript:1)"
HEAD = "2" * 40


def test_an_error_quoting_hostile_text_reaches_the_comment_escaped(tmp_path: Path, fake_github: FakeGitHub) -> None:
    fake_github.add_pull(12, "Flip", "", "alice", HEAD, merged=False, merge_commit_sha=None)
    workspace = tmp_path / HOSTILE  # not a checkout: the error names the folder
    workspace.mkdir()
    (tmp_path / "event.json").write_text(json.dumps(events.pull_request("opened", 12, HEAD)))
    environ = {
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
        "GITHUB_REPOSITORY": "acme/ops",
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_WORKSPACE": str(workspace),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "INPUT_GITHUB_TOKEN": fake_github.token,
        "BLUEGREEN_GITHUB_WRITE_INTERVAL_S": "0",
    }
    assert run_action(environ, io.StringIO()) == 2
    [comment] = fake_github.comments(12)
    summary = (tmp_path / "summary.md").read_text()
    for shown in (comment, summary):
        assert "is not a git checkout" in shown
        assert "&lt;img src=x&gt; \\[x\\](javascript:1)" in shown  # no HTML, no link
        assert "@octocat" not in shown  # no mention: a zero-width space follows the @
        assert "<img" not in shown
        assert not re.search(r"(?<!\\)\]\(", shown)
