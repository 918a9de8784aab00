"""Properties of jsonloc.parse: any text gives a Document or an InputError located in the text; any JSON value comes
back as itself with a line for every path; and what it accepts, json.loads accepts as the same value."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bluegreen.config import jsonloc
from bluegreen.config.jsonloc import Document, JsonPath, JsonValue
from bluegreen.errors import InputError

json_values: st.SearchStrategy[JsonValue] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)
indents = st.sampled_from([None, 0, 1, 2, "\t"])

# what JSON is made of, and what a lax reader might mistake for it: non-ASCII digits (\d) and spaces (\s), controls
JSON_PIECES = [*'{}[],:"-+.eE0123456789 \t\n\r\\/', "true", "false", "null", '"a"', '"\\u00e9"', "1e999"]
LOOK_ALIKES = st.characters(categories=["Nd", "Zs", "Zl", "Cc"])
json_like = st.lists(st.one_of(st.sampled_from(JSON_PIECES), LOOK_ALIKES), max_size=30).map("".join)


@st.composite
def mutated_json(draw: st.DrawFn) -> str:
    """A JSON text with up to three characters deleted, inserted or a slice repeated (duplicate keys, say)."""
    text = json.dumps(draw(json_values), indent=draw(indents), ensure_ascii=draw(st.booleans()))
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(text)))
        edit = draw(st.sampled_from(["delete", "insert", "repeat"]))
        if edit == "delete":
            text = text[:at] + text[at + 1 :]
        elif edit == "insert":
            text = text[:at] + draw(st.one_of(st.sampled_from(JSON_PIECES), LOOK_ALIKES)) + text[at:]
        else:
            end = draw(st.integers(at, len(text)))
            text = text[:end] + text[at:end] + text[end:]
    return text


any_text = st.one_of(st.text(), json_like, mutated_json())


def line_count(text: str) -> int:
    return text.count("\n") + 1


def parsed_or_refused(text: str) -> Document | None:
    """The Document for `text`; None when it was refused with an InputError located in `text`."""
    try:
        return jsonloc.parse(text, "x.json")
    except InputError as error:
        refused = error
    assert refused.location is not None
    assert refused.location.path == "x.json"
    assert refused.location.line is not None
    assert 1 <= refused.location.line <= line_count(text)
    assert refused.hint
    return None


def same(left: object, right: object) -> bool:
    """Equal and of the same types all the way down (so 1 is not True, 1.0 is not 1, -0.0 is not 0.0, order counts)."""
    if type(left) is not type(right):
        return False
    if isinstance(left, dict) and isinstance(right, dict):
        return list(left) == list(right) and all(same(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    if isinstance(left, float) and isinstance(right, float):
        return left == right and math.copysign(1, left) == math.copysign(1, right)
    return left == right


def paths(value: JsonValue, path: JsonPath = ()) -> Iterator[JsonPath]:
    """Every path in `value`, parents before children, in document order."""
    yield path
    if isinstance(value, dict):
        for key, child in value.items():
            yield from paths(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from paths(child, (*path, index))


@given(any_text)
@example("[" * 10_000)
@example('{"a":' * 5_000)
@example("[" + "9" * 5_000 + "]")
@example('{"a": 1, "a": 2}')
def test_any_text_is_a_document_or_an_input_error_in_the_text(text: str) -> None:
    doc = parsed_or_refused(text)
    if doc is not None:
        assert isinstance(doc, Document)
        assert set(doc.lines) == set(paths(doc.value))
        assert all(1 <= line <= line_count(text) for line in doc.lines.values())


@given(json_values, indents, st.booleans())
def test_a_json_value_comes_back_as_itself_with_a_line_for_every_path(
    value: JsonValue, indent: int | str | None, ascii_only: bool
) -> None:
    text = json.dumps(value, indent=indent, ensure_ascii=ascii_only)
    doc = jsonloc.parse(text, "x.json")
    assert same(doc.value, value)
    assert set(doc.lines) == set(paths(value))
    in_order = [doc.lines[path] for path in paths(value)]
    assert all(1 <= line <= line_count(text) for line in in_order)
    assert in_order == sorted(in_order)  # values start in document order
    if indent is not None:  # one member or item a line: each path starts on its own line, the one that shows it
        assert len(set(in_order)) == len(in_order)
        rows = text.split("\n")
        for path in paths(value):
            if path and isinstance(path[-1], str):
                assert rows[doc.lines[path] - 1].lstrip().startswith(json.dumps(path[-1], ensure_ascii=ascii_only))


@given(any_text)
@example("[1\u0661]")  # found by this property: an Arabic-Indic digit after an ASCII one was read as a digit
@example("1.\u0662")
@example("1e\u0663")
def test_what_parse_accepts_json_loads_reads_as_the_same_value(text: str) -> None:
    doc = parsed_or_refused(text)
    if doc is not None:
        try:
            expected = json.loads(text)
        except json.JSONDecodeError as refused:
            pytest.fail(f"jsonloc accepted {text!r}, which json.loads refuses: {refused}")
        assert same(doc.value, expected)


NESTINGS = {"[": ("]", 1), '{"a":': ("}", 1), '[{"a":': ("}]", 2)}  # opener: closer, levels


@given(st.integers(0, 2_000), st.sampled_from(list(NESTINGS)))
def test_nesting_is_read_up_to_the_limit_and_refused_beyond_it_without_recursion_errors(
    depth: int, opener: str
) -> None:
    closer, levels = NESTINGS[opener]
    doc = parsed_or_refused(opener * depth + "0" + closer * depth)
    levels *= depth
    assert (doc is not None) == (levels <= jsonloc.MAX_DEPTH + 1)
    assert parsed_or_refused(opener * depth) is None  # never closed
