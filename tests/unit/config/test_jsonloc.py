"""jsonloc parses JSON like json.loads does, plus a line per value, and refuses what json.loads lets slip."""

from __future__ import annotations

import json

import pytest
from jsonschema import Draft202012Validator

from bluegreen.config import jsonloc
from bluegreen.config.jsonloc import Finding, JsonPath
from bluegreen.errors import InputError, Location, Problem

NESTED = """{
  "apps": {
    "theoshift": {"live": "blue",
      "version": "2.4.1"},
    "list": [
      1,
      {"a": null}, -2.5e3
    ]
  }
}
"""


@pytest.mark.parametrize(
    "text",
    [
        NESTED,
        '{"a": [true, false, null, 0, -1, 1.5, 2e10, "x\\n\\u00e9", {}, []]}',
        '"just a string"',
        "  42  ",
        '{"é": "ünïcode", "": ""}',
    ],
)
def test_values_equal_json_loads(text: str) -> None:
    assert jsonloc.parse(text, "f.json").value == json.loads(text)


@pytest.mark.parametrize(
    ("path", "line"),
    [
        ((), 1),
        (("apps",), 2),
        (("apps", "theoshift"), 3),
        (("apps", "theoshift", "live"), 3),
        (("apps", "theoshift", "version"), 4),
        (("apps", "list"), 5),
        (("apps", "list", 0), 6),
        (("apps", "list", 1), 7),
        (("apps", "list", 1, "a"), 7),
        (("apps", "list", 2), 7),
        (("apps", "theoshift", "missing", "deeper"), 3),  # falls back to the nearest parent
        (("nothing",), 1),
    ],
)
def test_lines(path: JsonPath, line: int) -> None:
    assert jsonloc.parse(NESTED, "f.json").line(path) == line


def test_a_member_is_located_at_its_key_not_its_value() -> None:
    doc = jsonloc.parse('{\n  "live":\n\n    "blue"\n}', "f.json")
    assert doc.line(("live",)) == 2


@pytest.mark.parametrize(
    ("text", "line", "column", "words"),
    [
        ("", 1, 1, "expected a value, found the end of the file"),
        ('{\n  "a": 1,\n}', 3, 1, "expected a key in double quotes"),
        ('{\n  "a": 1\n  "b": 2\n}', 3, 3, "expected ',' or '}'"),
        ('{"a" 1}', 1, 6, "expected ':' after the key"),
        ("[1, 2,\n]", 2, 1, "expected a value"),
        ("[1 2]", 1, 4, "expected ',' or ']'"),
        ('{"a": "open', 1, 7, "unterminated string"),
        ('{"a": "two\nlines"}', 1, 11, "invalid control character"),
        ('{"a": "tab\there"}', 1, 11, "invalid control character"),
        ('{"a": "\\q"}', 1, 8, "invalid \\escape"),
        ("{} {}", 1, 4, "unexpected text after the end"),
        ("// comment\n{}", 1, 1, 'found "/"'),
        ("{'a': 1}", 1, 2, "expected a key in double quotes"),
        ("[NaN]", 1, 2, 'found "N"'),
        ("[Infinity]", 1, 2, 'found "I"'),
        ("[1e999]", 1, 2, "number too large"),
        ("[" + "9" * 5000 + "]", 1, 2, "number too long"),
        ("[01]", 1, 3, "expected ',' or ']'"),
        ("[1\u0660]", 1, 3, "expected ',' or ']'"),  # a non-ASCII digit is no JSON digit (this was read as 10)
        ("1.\u0662", 1, 2, "unexpected text after the end"),  # (this was read as 1.2)
        ("[tru]", 1, 2, 'found "t"'),
        ("\n\n  [", 3, 4, "expected a value, found the end"),
        ("[" * 100 + "]" * 100, 1, 66, "nested deeper than 64 levels"),
    ],
)
def test_syntax_errors_name_line_and_column(text: str, line: int, column: int, words: str) -> None:
    with pytest.raises(InputError) as caught:
        jsonloc.parse(text, "state/live.json")
    assert caught.value.location == Location("state/live.json", line)
    assert f"column {column}:" in caught.value.message
    assert words in caught.value.message
    assert caught.value.hint


@pytest.mark.parametrize(
    ("text", "line", "field"),
    [
        ('{"live": "blue", "live": "green"}', 1, "live"),
        ('{\n "apps": {\n  "x": {"live": "blue"},\n  "x": {"live": "green"}\n }\n}', 4, "apps.x"),
        ('[{"a": 1}, {"a": 1, "b": 2,\n "a": 3}]', 2, "[1].a"),
    ],
)
def test_duplicate_keys_are_errors(text: str, line: int, field: str) -> None:
    with pytest.raises(InputError, match="duplicate key") as caught:
        jsonloc.parse(text, "state/live.json")
    assert caught.value.location == Location("state/live.json", line, field)


@pytest.mark.parametrize(
    ("path", "dotted"),
    [
        ((), ""),
        (("apps", "theoshift", "switch", "backends", "blue"), "apps.theoshift.switch.backends.blue"),
        (("haproxy", "hosts", 0, "name"), "haproxy.hosts[0].name"),
        (("apps", "a b"), 'apps["a b"]'),
        (("apps", "x\n::error::y"), 'apps["x\\n::error::y"]'),
        ((0, "a"), "[0].a"),
    ],
)
def test_dotted(path: JsonPath, dotted: str) -> None:
    assert jsonloc.dotted(path) == dotted


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("blue", '"blue"'),
        ("a\nb\x00", '"a\\nb\\u0000"'),
        ("é", '"\\u00e9"'),
        ("x" * 100, '"' + "x" * 56 + "..."),
        (None, "null"),
    ],
)
def test_show_escapes_and_shortens(value: object, shown: str) -> None:
    assert jsonloc.show(value) == shown


SCHEMA = Draft202012Validator(
    {
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "size"],
        "properties": {
            "name": {"description": "a short name", "type": "string", "pattern": "^[a-z]+$"},
            "size": {"type": "integer", "minimum": 1},
            "color": {"enum": ["blue", "green"]},
        },
    }
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"name": "ok", "size": 1}', []),
        (
            '{\n"name": "a b",\n"size": 0\n}',
            [
                (2, "name", 'got "a b"; expected a short name'),
                (3, "size", "got 0; expected at least 1"),
            ],
        ),
        ('{\n"name": "ok"\n}', [(1, "size", 'missing required field "size"')]),
        (
            '{"name": "ok", "size": 1,\n"colour": "blue",\n"extra": 1}',
            [(2, "colour", 'unknown field "colour"'), (3, "extra", 'unknown field "extra"')],
        ),
        (
            '{"name": "ok", "size": "1",\n"color": "red"}',
            [
                (1, "size", 'got "1"; expected a whole number'),
                (2, "color", 'got "red"; expected one of "blue", "green"'),
            ],
        ),
    ],
)
def test_schema_findings_in_words(text: str, expected: list[tuple[int, str, str]]) -> None:
    findings = jsonloc.schema_findings(jsonloc.parse(text, "f.json"), SCHEMA, "f.json")
    assert [(found.location.line, found.location.field, found.message) for found in findings] == expected


def test_unknown_field_hint_lists_the_allowed_ones() -> None:
    (found,) = jsonloc.schema_findings(jsonloc.parse('{"name": "a", "size": 1, "nme": 1}', "f"), SCHEMA, "f")
    assert found.hint == "remove it or fix its spelling; allowed here: name, size, color"


def test_raise_findings_reports_the_first_and_carries_all() -> None:
    findings = [Finding(Location("f", line, "x"), f"problem {line}", f"hint {line}") for line in (2, 5, 9)]
    with pytest.raises(InputError) as caught:
        jsonloc.raise_findings(findings)
    error = caught.value
    assert (error.message, error.hint, error.location) == (
        "problem 2 (and 2 more problems)",
        "hint 2",
        findings[0].location,
    )
    assert error.problems == tuple(Problem(found.location, found.message) for found in findings)


def test_raise_findings_one_and_none() -> None:
    jsonloc.raise_findings([])
    with pytest.raises(InputError) as caught:
        jsonloc.raise_findings([Finding(Location("f", 1), "only", "h")])
    assert caught.value.message == "only"
    assert caught.value.problems == (Problem(Location("f", 1), "only"),)
