"""bluegreen's record on the HAProxy hosts: read strictly, the newest wins, a tie of two or only broken files is
a history that cannot be told."""

from __future__ import annotations

import json

import pytest

from bluegreen.core.record import Broken, Memory, dumped, newest, parsed, record_name
from bluegreen.model import AppStatus, Color, ColorRecord, Status

ONE = Status(apps={"theoshift": AppStatus(live=ColorRecord(Color.BLUE, "2.4.1", "10.0.0.1:80"))})
TWO = Status(apps={"theoshift": AppStatus(live=ColorRecord(Color.GREEN, "2.4.0", "10.0.0.2:80"))})
DISPLAY = "lb1:/var/lib/bluegreen/bluegreen.lock.record-x"


def test_a_record_reads_back_as_it_was_kept() -> None:
    assert parsed(dumped(Memory(3, ONE)), DISPLAY) == Memory(3, ONE)
    assert parsed(None, DISPLAY) is None  # no file: nothing kept there


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "it is not JSON"),
        ("{", "it is not JSON"),
        ("[" * 4000, "it is not JSON"),
        ("[]", "it is not a record of bluegreen's"),
        (json.dumps({"sequence": 1}), "it is not a record of bluegreen's"),
        (json.dumps({"sequence": 1, "status": {}, "more": 1}), "it is not a record of bluegreen's"),
        (json.dumps({"sequence": 0, "status": {}}), "its count is not a whole number from 1"),
        (json.dumps({"sequence": 2.0, "status": {}}), "its count is not a whole number from 1"),
        (json.dumps({"sequence": True, "status": {}}), "its count is not a whole number from 1"),
        ('{"sequence": NaN, "status": {}}', "its count is not a whole number from 1"),
        (json.dumps({"sequence": 1, "status": {"apps": {"Bad Name": {}}}}), "invalid name"),
        (json.dumps({"sequence": 1, "status": {"x": 1}}), "unknown field"),
        (" " * (3 * 1024 * 1024), "it is too large"),
    ],
)
def test_a_file_that_is_not_a_record_is_broken_and_says_why(text: str, why: str) -> None:
    found = parsed(text, DISPLAY)
    assert isinstance(found, Broken)
    assert why in found.why


def test_the_newest_record_wins_and_the_hosts_behind_are_named() -> None:
    found = newest({"lb1": Memory(2, TWO), "lb2": Memory(1, ONE), "lb3": None, "lb4": Broken("it is not JSON")})
    assert found.memory == Memory(2, TWO)
    assert found.conflict is None
    assert "lb4's record of bluegreen's cannot be read (it is not JSON)" in (found.note or "")
    assert "lb2, lb3 held an older record, or none" in (found.note or "")


def test_hosts_that_agree_say_nothing_more() -> None:
    assert newest({"lb1": Memory(2, ONE), "lb2": Memory(2, ONE)}) == newest({"lb1": Memory(2, ONE)})
    assert newest({"lb1": Memory(2, ONE), "lb2": Memory(2, ONE)}).note is None
    assert newest({"lb1": None, "lb2": None}).memory is None
    assert newest({"lb1": None}).conflict is None  # nothing kept anywhere: a new history, not a conflict


def test_two_records_under_one_count_are_a_conflict() -> None:
    found = newest({"lb1": Memory(2, ONE), "lb2": Memory(2, TWO), "lb3": Memory(1, ONE)})
    assert found.memory is None
    assert "under the same count 2 (lb1, lb2)" in (found.conflict or "")


def test_only_broken_records_are_a_conflict_not_a_new_history() -> None:
    found = newest({"lb1": Broken("it is not JSON"), "lb2": None})
    assert found.memory is None
    assert "no HAProxy host holds a readable record" in (found.conflict or "")


def test_each_repository_and_status_file_has_its_own_record() -> None:
    name = record_name("acme/ops", "state/status.json")
    assert name.startswith("record-")
    assert len(name) == len("record-") + 16
    assert record_name("ACME/Ops", "state/status.json") == name  # GitHub's names ignore case
    assert record_name("acme/other", "state/status.json") != name
    assert record_name("acme/ops", "prod/status.json") != name
