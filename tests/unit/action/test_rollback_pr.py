"""The rollback record's bookkeeping in the Action: its input, and a merged record told apart from other PRs."""

from __future__ import annotations

import pytest

from bluegreen.action.context import Inputs
from bluegreen.action.rollback_pr import branch_of, marker, merged_record
from bluegreen.adapters.github import PullInfo
from bluegreen.errors import InputError


def pull(author: str, body: str) -> PullInfo:
    return PullInfo(15, "t", body, author, "https://github.example/acme/ops/pull/15", True, "a" * 40, "b" * 40,
                    "acme/ops", "acme/ops", "main")  # fmt: skip


@pytest.mark.parametrize(
    ("given", "expected"), [({}, True), ({"INPUT_ROLLBACK_PR": "false"}, False), ({"INPUT_ROLLBACK_PR": "on"}, True)]
)
def test_the_input_is_on_unless_turned_off(given: dict[str, str], expected: bool) -> None:
    assert Inputs.read(given).rollback_pr is expected


def test_a_wrong_input_is_named() -> None:
    with pytest.raises(InputError, match="rollback_pr"):
        Inputs.read({"INPUT_ROLLBACK_PR": "maybe"})


def test_a_merged_record_is_the_bots_with_its_marker() -> None:
    body = f"{marker('theoshift')}\n## ↩️ Rollback record"
    assert "rollback record of theoshift" in (merged_record(pull("github-actions[bot]", body)) or "")
    assert merged_record(pull("mallory", body)) is None  # a person's PR that copies the marker records nothing
    assert merged_record(pull("github-actions[bot]", "Release 12")) is None
    assert merged_record(None) is None


def test_each_app_has_its_branch() -> None:
    assert branch_of("ldc-tools") == "bluegreen/rollback/ldc-tools"
    assert marker("ldc-tools") == "<!-- bluegreen:rollback:ldc-tools -->"
