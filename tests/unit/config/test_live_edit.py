"""One entry of live.json changed, and not a character more: what the rollback record's diff shows."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bluegreen.config import jsonloc
from bluegreen.config.live_edit import with_entry
from bluegreen.errors import InputError
from bluegreen.model import Color, DesiredApp
from tests.unit.config.test_jsonloc_properties import indents, json_values

BLUE, GREEN = Color.BLUE, Color.GREEN
COMPACT = """{
  "apps": {
    "theoshift": {"live": "blue", "version": "2.4.1"},
    "ldc-tools": {"live": "green"}
  }
}
"""
SPREAD = """{
  "apps": {
    "theoshift": {
      "version": "2.4.1",
      "live":   "blue"
    }
  }
}"""


@pytest.mark.parametrize(
    ("before", "entry", "replaced", "by"),
    [
        (COMPACT, DesiredApp("theoshift", GREEN, "2.4.0"), '"blue", "version": "2.4.1"', '"green", "version": "2.4.0"'),
        (COMPACT, DesiredApp("ldc-tools", BLUE), '{"live": "green"}', '{"live": "blue"}'),
        # the pin goes (the old LIVE's version cannot be told), or comes: the entry is written again, on one line
        (COMPACT, DesiredApp("theoshift", GREEN), '{"live": "blue", "version": "2.4.1"}', '{"live": "green"}'),
        (COMPACT, DesiredApp("ldc-tools", BLUE, "1.7.2"), '{"live": "green"}', '{"live": "blue", "version": "1.7.2"}'),
        # any layout and order of keys is kept as it was
        (SPREAD, DesiredApp("theoshift", GREEN, "2.4.0"), '"2.4.1",\n      "live":   "blue"',
         '"2.4.0",\n      "live":   "green"'),
        ('{"apps":{"a":{"live":"blue"}}}', DesiredApp("a", GREEN), '"blue"', '"green"'),
    ],
)  # fmt: skip
def test_only_the_entry_changes(before: str, entry: DesiredApp, replaced: str, by: str) -> None:
    assert before.count(replaced) == 1
    assert with_entry(before, "state/live.json", entry) == before.replace(replaced, by)


@pytest.mark.parametrize(
    ("text", "app"),
    [
        (COMPACT, "nobody"),
        ('{"apps": {"a": {"live": "purple"}}}', "a"),  # not a valid file: its own error, as everywhere
        ('{"apps": {"a": {"live": "blue"}, "a": {"live": "green"}}}', "a"),
        ("not json", "a"),
    ],
)
def test_a_file_that_cannot_take_the_change_is_an_input_error(text: str, app: str) -> None:
    with pytest.raises(InputError):
        with_entry(text, "state/live.json", DesiredApp(app, GREEN))


@given(json_values, indents)
def test_each_span_holds_its_value(value: jsonloc.JsonValue, indent: int | str | None) -> None:
    text = json.dumps(value, indent=indent)
    for path, (start, end) in jsonloc.value_spans(text, "x.json").items():
        found = json.loads(text[start:end])
        expected = value
        for key in path:
            expected = expected[key]  # type: ignore[index]
        assert found == expected


@given(st.sampled_from([BLUE, GREEN]), st.none() | st.sampled_from(["2.4.0", "v1.0.0-rc.1"]), indents)
def test_the_result_says_exactly_what_was_asked(live: Color, version: str | None, indent: int | str | None) -> None:
    document = {"apps": {"a": {"live": "blue", "version": "1.0.0"}, "b": {"live": "green"}}}
    text = json.dumps(document, indent=indent)
    for name in ("a", "b"):
        changed = json.loads(with_entry(text, "live.json", DesiredApp(name, live, version)))
        assert changed["apps"][name] == {"live": live.value, **({"version": version} if version else {})}
        assert {k: v for k, v in changed["apps"].items() if k != name} == {
            k: v for k, v in document["apps"].items() if k != name
        }
