"""Which apps a run was asked for: a plan's or a push's change of live.json, read from git objects (a stand-in
checkout here: a commit is its live.json text, or None when it has none)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bluegreen.action import asked
from bluegreen.action.context import Inputs

BEFORE = json.dumps({"apps": {"theoshift": {"live": "green"}, "ldc-tools": {"live": "blue"}}})
AFTER = json.dumps({"apps": {"theoshift": {"live": "green"}, "ldc-tools": {"live": "green"}}})


class Commits:
    """A checkout whose commits are named by their live.json."""

    def __init__(self, **files: str | None) -> None:
        self.files = files

    def read(self, sha: str, path: str, display: str) -> str | None:
        return self.files[sha]


@pytest.mark.parametrize(
    ("before", "expected"),
    [
        (BEFORE, ("ldc-tools",)),  # the entry that changed
        (None, ("theoshift", "ldc-tools")),  # a new live.json: every app
        ("{not json", ()),  # one that cannot be read lifts no hold: nothing counts as asked
        (json.dumps({"apps": {"theoshift": {"live": "purple"}}}), ()),
    ],
)
def test_a_pull_requests_change_is_what_it_asks_for(before: str | None, expected: tuple[str, ...]) -> None:
    checkout: Any = Commits(base=before, head=AFTER)
    assert asked.for_plan(checkout, Inputs.read({}), "base", "head", "state/live.json") == expected
