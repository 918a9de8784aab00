"""What the HAProxy hosts remember of bluegreen's record: read strictly, the newest wins, a tie of two is none."""

from __future__ import annotations

import json

import pytest

from bluegreen.ledger import Memory, memory_path, newest, parsed
from bluegreen.model import Endpoint, HaproxyHost

A, B, C = "a" * 40, "b" * 40, "c" * 40


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (json.dumps({"sequence": 3, "blob": A, "commit": B}), Memory(3, A, B)),
        (json.dumps({"sequence": 1, "blob": A, "commit": None}), Memory(1, A, None)),
        (None, None),
        ("", None),
        ("{", None),
        ("[]", None),
        (json.dumps({"sequence": 0, "blob": A, "commit": B}), None),
        (json.dumps({"sequence": 2.0, "blob": A, "commit": B}), None),
        (json.dumps({"sequence": True, "blob": A, "commit": B}), None),
        (json.dumps({"sequence": 2, "blob": A.upper(), "commit": B}), None),
        (json.dumps({"sequence": 2, "blob": "main", "commit": B}), None),
        (json.dumps({"sequence": 2, "blob": A, "commit": B, "more": 1}), None),
        (json.dumps({"sequence": 2, "blob": A}), None),
        (json.dumps({"sequence": 2, "blob": A, "commit": B}) + " " * 5000, None),
        ('{"sequence": NaN, "blob": "' + A + '", "commit": null}', None),
    ],
)
def test_a_memory_is_read_strictly(text: str | None, expected: Memory | None) -> None:
    assert parsed(text) == expected


def test_the_newest_memory_wins_and_the_hosts_behind_are_named() -> None:
    found = newest({"lb1": Memory(2, A, B), "lb2": Memory(1, C, None), "lb3": None})
    assert found.memory == Memory(2, A, B)
    assert (found.note or "").startswith("lb2, lb3 remembered an older record")
    assert found.conflict is None


def test_hosts_that_agree_say_nothing_more() -> None:
    assert newest({"lb1": Memory(2, A, B), "lb2": Memory(2, A, B)}).note is None
    assert newest({"lb1": None, "lb2": None}).memory is None


def test_two_records_under_one_count_are_a_conflict() -> None:
    found = newest({"lb1": Memory(2, A, B), "lb2": Memory(2, C, B)})
    assert found.memory is None
    assert "as number 2 (lb1 aaaaaaaaaaaa, lb2 cccccccccccc)" in (found.conflict or "")


def test_each_repository_and_status_file_has_its_own_memory_beside_the_lock() -> None:
    host = HaproxyHost("lb1", Endpoint("lb1.example", 22, "deploy"), "/run/haproxy/admin.sock", "/run/lock/bg.lock")
    path = memory_path(host, "acme/ops", "state/status.json")
    assert path.startswith("/run/lock/bg.lock.record-")
    assert memory_path(host, "ACME/Ops", "state/status.json") == path  # GitHub's names ignore case
    assert memory_path(host, "acme/other", "state/status.json") != path
    assert memory_path(host, "acme/ops", "prod/status.json") != path


def test_a_memory_nested_too_deep_for_json_is_no_memory() -> None:
    assert parsed("[" * 4000) is None
