"""JSON with line numbers: parse a state file into values and a map from each value's path to its line, and
turn JSON Schema violations into located problems in words.

`json.loads` forgets where things were and silently keeps the last of two equal keys; a message about a state
file has to name a line, and a state file with two `"live"` keys is a mistake, not a choice. So this is a small
recursive descent parser that reuses json's own string scanner and number syntax.
"""

from __future__ import annotations

import json
import json.scanner
import math
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from json.decoder import scanstring as _scanstring  # type: ignore[attr-defined]  # untyped in typeshed
from typing import Any

from jsonschema import Draft202012Validator, ValidationError

from bluegreen.errors import InputError, Location, Problem

JsonValue = dict[str, "JsonValue"] | list["JsonValue"] | str | int | float | bool | None
JsonPath = tuple[str | int, ...]

MAX_DEPTH = 64  # state files are shallow; a deeper one is an attack on the recursion limit, not a config
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# json's number syntax with ASCII digits only, as JSON says (in a str pattern \d also matches U+0661 and the like)
_NUMBER = re.compile(json.scanner.NUMBER_RE.pattern, (json.scanner.NUMBER_RE.flags & ~re.UNICODE) | re.ASCII)
_LITERALS: Mapping[str, JsonValue] = {"true": True, "false": False, "null": None}
_PLAIN_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Document:
    """A parsed JSON text: `value`, and the 1-based line where each value (or object member's key) starts."""

    value: JsonValue
    lines: Mapping[JsonPath, int]

    def line(self, path: JsonPath) -> int | None:
        """The line of `path`, or of its nearest parent that has one (a missing key is reported at its object)."""
        for end in range(len(path), -1, -1):
            if path[:end] in self.lines:
                return self.lines[path[:end]]
        return None


def parse(text: str, display_path: str) -> Document:
    """Parse `text`; syntax errors and duplicate keys are InputErrors located in `display_path`."""
    return _Parser(text, display_path).document()


def dotted(path: JsonPath) -> str:
    """`apps.theoshift.colors.blue`, `haproxy.hosts[0].name`; odd keys quoted: `apps["a b"]`."""
    parts: list[str] = []
    for key in path:
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif _PLAIN_KEY.fullmatch(key):
            parts.append(f".{key}" if parts else key)
        else:
            parts.append(f"[{json.dumps(key)}]")
    return "".join(parts)


class _Parser:
    def __init__(self, text: str, display_path: str) -> None:
        self.text = text
        self.display_path = display_path
        self.lines: dict[JsonPath, int] = {}
        self.line_starts = [0, *(match.end() for match in re.finditer("\n", text))]

    def document(self) -> Document:
        value, end = self.value(0, (), 0)
        end = self.skip(end)
        if end < len(self.text):
            raise self.syntax_error(end, "unexpected text after the end of the JSON document")
        return Document(value, self.lines)

    def value(self, pos: int, path: JsonPath, depth: int) -> tuple[JsonValue, int]:
        pos = self.skip(pos)
        self.lines.setdefault(path, self.line_of(pos))
        char = self.text[pos : pos + 1]
        if depth > MAX_DEPTH and char in ("{", "["):
            raise self.syntax_error(pos, f"nested deeper than {MAX_DEPTH} levels")
        if char == "{":
            return self.object(pos + 1, path, depth + 1)
        if char == "[":
            return self.array(pos + 1, path, depth + 1)
        if char == '"':
            return self.string(pos)
        return self.scalar(pos)

    def object(self, pos: int, path: JsonPath, depth: int) -> tuple[JsonValue, int]:
        members: dict[str, JsonValue] = {}
        pos = self.skip(pos)
        if self.text.startswith("}", pos):
            return members, pos + 1
        while True:
            pos = self.member(pos, path, depth, members)
            pos = self.skip(pos)
            if self.text.startswith("}", pos):
                return members, pos + 1
            pos = self.expect(pos, ",", "',' or '}' after an object member")

    def member(self, pos: int, path: JsonPath, depth: int, members: dict[str, JsonValue]) -> int:
        pos = self.skip(pos)
        if not self.text.startswith('"', pos):
            raise self.syntax_error(pos, "expected a key in double quotes")
        key, end = self.string(pos)
        if key in members:
            raise self.duplicate_key(pos, (*path, key))
        self.lines[(*path, key)] = self.line_of(pos)
        end = self.expect(end, ":", "':' after the key")
        members[key], end = self.value(end, (*path, key), depth)
        return end

    def array(self, pos: int, path: JsonPath, depth: int) -> tuple[JsonValue, int]:
        items: list[JsonValue] = []
        pos = self.skip(pos)
        if self.text.startswith("]", pos):
            return items, pos + 1
        while True:
            item, pos = self.value(pos, (*path, len(items)), depth)
            items.append(item)
            pos = self.skip(pos)
            if self.text.startswith("]", pos):
                return items, pos + 1
            pos = self.expect(pos, ",", "',' or ']' after an array item")

    def string(self, pos: int) -> tuple[str, int]:
        try:
            scanned: tuple[str, int] = _scanstring(self.text, pos + 1, True)
        except json.JSONDecodeError as exc:
            raise self.syntax_error(exc.pos, exc.msg.removesuffix(" at").removesuffix(" starting").lower()) from None
        return scanned

    def scalar(self, pos: int) -> tuple[JsonValue, int]:
        number = _NUMBER.match(self.text, pos)
        if number:
            return self.number(number), number.end()
        for word, value in _LITERALS.items():
            if self.text.startswith(word, pos):
                return value, pos + len(word)
        found = self.text[pos : pos + 1]
        what = f"found {json.dumps(found)}" if found else "found the end of the file"
        raise self.syntax_error(pos, f"expected a value, {what}")

    def number(self, number: re.Match[str]) -> int | float:
        integer, fraction, exponent = number.groups()
        try:
            value = float(number.group()) if fraction or exponent else int(integer)
        except ValueError:  # more digits than int() accepts
            raise self.syntax_error(number.start(), "number too long") from None
        if not math.isfinite(value):
            raise self.syntax_error(number.start(), "number too large")
        return value

    def expect(self, pos: int, char: str, what: str) -> int:
        pos = self.skip(pos)
        if not self.text.startswith(char, pos):
            found = self.text[pos : pos + 1]
            raise self.syntax_error(pos, f"expected {what}, found {json.dumps(found) if found else 'the end'}")
        return pos + 1

    def skip(self, pos: int) -> int:
        match = _WHITESPACE.match(self.text, pos)
        return match.end() if match else pos

    def line_of(self, pos: int) -> int:
        return bisect_right(self.line_starts, pos)

    def syntax_error(self, pos: int, what: str) -> InputError:
        line = self.line_of(pos)
        column = pos - self.line_starts[line - 1] + 1
        return InputError(
            f"invalid JSON at column {column}: {what}",
            hint="fix the JSON syntax (a missing comma or quote is the usual cause; JSON allows no comments)",
            location=Location(self.display_path, line),
        )

    def duplicate_key(self, pos: int, path: JsonPath) -> InputError:
        field = dotted(path)
        return InputError(
            f"duplicate key {json.dumps(path[-1])}: `{field}` is set twice",
            hint="keep one of them; JSON readers silently take the last one, which hides mistakes",
            location=Location(self.display_path, self.line_of(pos), field),
        )


# --- where each value is, in characters ------------------------------------------------------------------------


def value_spans(text: str, display_path: str) -> Mapping[JsonPath, tuple[int, int]]:
    """Where each value of `text` starts and ends (a slice of `text`), by path: what an edit that keeps the rest of
    a file as it was needs (core/rollback.py's change of one live.json entry). Errors as `parse` raises them."""
    parser = _SpanParser(text, display_path)
    parser.document()
    return parser.spans


class _SpanParser(_Parser):
    def __init__(self, text: str, display_path: str) -> None:
        super().__init__(text, display_path)
        self.spans: dict[JsonPath, tuple[int, int]] = {}

    def value(self, pos: int, path: JsonPath, depth: int) -> tuple[JsonValue, int]:
        found, end = super().value(pos, path, depth)
        self.spans[path] = (self.skip(pos), end)
        return found, end


# --- schema violations, in words -------------------------------------------------------------------------------

_TYPE_WORDS = {
    "object": "an object",
    "array": "a list",
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_BOUNDS = {
    "minimum": "at least",
    "maximum": "at most",
    "exclusiveMinimum": "more than",
    "exclusiveMaximum": "less than",
    "minItems": "at least {} item(s)",
    "maxItems": "at most {} item(s)",
    "minLength": "at least {} character(s)",
    "maxLength": "at most {} character(s)",
}
_STRICT_HINT = "names, paths and addresses are checked strictly: they end up in HAProxy commands and SSH requests"


@dataclass(frozen=True)
class Finding:
    """One problem in a file, with what to do about it."""

    location: Location
    message: str
    hint: str


def schema_findings(doc: Document, validator: Draft202012Validator, display_path: str) -> list[Finding]:
    """Every way `doc` breaks the schema, in words, located, first line first, without repeats."""
    findings: dict[tuple[Location, str], Finding] = {}
    for error in validator.iter_errors(doc.value):
        for path, message, hint in _describe(error):
            location = Location(display_path, doc.line(path), dotted(path) or None)
            findings.setdefault((location, message), Finding(location, message, hint))
    return sorted(findings.values(), key=lambda found: (found.location.line or 0, found.location.field or ""))


def raise_findings(findings: Iterable[Finding]) -> None:
    """Raise one InputError for the first finding that names how many more there are and carries all of them."""
    ordered = list(findings)
    if not ordered:
        return
    first, more = ordered[0], len(ordered) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    problems = tuple(Problem(found.location, found.message) for found in ordered)
    raise InputError(first.message + suffix, hint=first.hint, location=first.location, problems=problems)


def show(value: object, limit: int = 60) -> str:
    """A value as JSON, short and with every control character escaped (messages end up in annotations)."""
    text = json.dumps(value, ensure_ascii=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe(error: ValidationError) -> list[tuple[JsonPath, str, str]]:
    path: JsonPath = tuple(error.absolute_path)
    keyword = str(error.validator)
    expected: Any = error.validator_value  # jsonschema types these "Any | Unset"; set on every error it yields
    instance: Any = error.instance
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    if keyword == "required":
        return [_missing(path, key, schema) for key in expected if key not in instance]
    if keyword == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        return [_unknown(path, key, allowed) for key in instance if key not in allowed]
    if "propertyNames" in error.relative_schema_path:  # the instance is the key itself
        message = f"invalid name {show(instance)}: expected {_expected(schema)}"
        return [((*path, str(instance)), message, _STRICT_HINT)]
    return [(path, _wrong_value(keyword, expected, instance, schema), _hint(keyword, schema))]


def _missing(path: JsonPath, key: str, schema: Mapping[str, Any]) -> tuple[JsonPath, str, str]:
    about = schema.get("properties", {}).get(key, {}).get("description", "")
    return (*path, key), f"missing required field {show(key)}", f"add `{key}`: {about}" if about else f"add `{key}`"


def _unknown(path: JsonPath, key: str, allowed: list[str]) -> tuple[JsonPath, str, str]:
    fields = ", ".join(allowed) or "none"
    return (*path, key), f"unknown field {show(key)}", f"remove it or fix its spelling; allowed here: {fields}"


def _wrong_value(keyword: str, expected: Any, value: Any, schema: Mapping[str, Any]) -> str:
    if keyword == "enum":
        return f"got {show(value)}; expected one of {', '.join(show(choice) for choice in expected)}"
    if keyword == "const":
        return f"got {show(value)}; expected {show(expected)}"
    if keyword == "type":
        wanted = [expected] if isinstance(expected, str) else expected
        return f"got {show(value)}; expected {' or '.join(_TYPE_WORDS.get(kind, kind) for kind in wanted)}"
    if keyword in _BOUNDS:
        bound = _BOUNDS[keyword]
        return f"got {show(value)}; expected {bound.format(expected) if '{}' in bound else f'{bound} {expected}'}"
    return f"got {show(value)}; expected {_expected(schema)}"


def _expected(schema: Mapping[str, Any]) -> str:
    description = schema.get("description")
    return str(description) if description else f"a value matching {show(schema.get('pattern', schema))}"


def _hint(keyword: str, schema: Mapping[str, Any]) -> str:
    if keyword == "pattern":
        return _STRICT_HINT
    return str(schema.get("description", "fix the value"))
