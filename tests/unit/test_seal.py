"""status.json's seal: only the key that made it opens it, and nothing in the file may change after."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from bluegreen import config
from bluegreen.seal import Seal, blob_id, opened, sealed

KEY = b"k" * 32
DATA: dict[str, Any] = {
    "apps": {"theoshift": {"live": {"color": "blue", "version": "2.4.1", "address": "10.0.0.1:80"}, "history": []}},
    "updated_at": "2026-12-02T00:00:00Z",
}


def test_a_sealed_record_opens_with_its_key_only() -> None:
    record = sealed(DATA, KEY, Seal(3, "a" * 40))
    assert opened(record, KEY) == Seal(3, "a" * 40)
    assert opened(record, b"x" * 32) is None
    assert opened(DATA, KEY) is None  # no seal at all


@pytest.mark.parametrize(
    "tamper",
    [
        lambda d: d["apps"]["theoshift"]["live"].update(version="1.0.0"),
        lambda d: d["apps"]["theoshift"]["history"].append({"result": "success"}),
        lambda d: d.update(updated_at="2027-01-01T00:00:00Z"),
        lambda d: d["seal"].update(sequence=99),
        lambda d: d["seal"].update(previous="b" * 40),
        lambda d: d["seal"].update(mac=d["seal"]["mac"].upper()),
        lambda d: d["seal"].pop("mac"),
        lambda d: d["seal"].update(sequence="3"),
        lambda d: d.update(seal="hmac-sha256:00"),
    ],
)
def test_any_change_after_sealing_breaks_the_seal(tamper: Any) -> None:
    record = copy.deepcopy(sealed(DATA, KEY, Seal(3, "a" * 40)))
    tamper(record)
    assert opened(record, KEY) is None


def test_the_seal_survives_the_file_being_written_and_read_back() -> None:
    status = config.parse_status(json.dumps(DATA), "state/status.json")
    text = config.dump_status(status, KEY, Seal(1, None))
    assert config.opened_seal(text, KEY) == Seal(1, None)
    assert config.parse_status(text, "state/status.json") == status  # the schema takes the seal, the model ignores it
    assert config.opened_seal(text.replace('"blue"', '"green"'), KEY) is None
    assert config.opened_seal("not json", KEY) is None
    assert config.opened_seal(None, KEY) is None


def test_blob_id_is_gits() -> None:
    assert blob_id("") == "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"  # `git hash-object /dev/null`
    assert blob_id("hello\n") == "ce013625030ba8dba906f756967f9e9ca394464a"
