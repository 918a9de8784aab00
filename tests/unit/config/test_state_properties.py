"""Property tests of the state files' loader: documents generated from the shipped JSON Schemas themselves
(hypothesis-jsonschema), whole numbers also written as `5.0` (which JSON Schema calls an integer too), and
arbitrary JSON. Loading returns a model whose every field has the type the model declares, or raises an
InputError; never anything else. A `5.0` that reached `range()` once crashed a release after its switch."""

from __future__ import annotations

import copy
import enum
import json
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema

from bluegreen import config, switching
from bluegreen.errors import InputError
from bluegreen.switching import SwitchMethod

REPO = Path(__file__).resolve().parents[3]
Parse = Callable[[str], object]
PARSERS: dict[str, Parse] = {
    "live": lambda text: config.parse_desired(text, "state/live.json"),
    "environments": lambda text: config.parse_environments(text, "state/environments.json"),
    "status": lambda text: config.parse_status(text, "state/status.json"),
}
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
SCHEMA_DIR = REPO / "src" / "bluegreen" / "config" / "schemas"
SCHEMAS = {name: json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text()) for name in PARSERS}
DOCUMENTS = {name: from_schema(SCHEMAS[name]) for name in PARSERS}  # built once: they are costly
# Drawing a whole environments.json takes hypothesis-jsonschema about 1.5 s (status.json 0.7 s, live.json 0.05 s):
# a few whole documents, and many of the parts that hold numbers, each set into the repository's own file.
WHOLE = {"live": 30, "status": 5, "environments": 4}
PARTS = {
    ("environments", "host"): ("haproxy", "hosts", 0),
    ("environments", "verify"): ("apps", "theoshift", "verify"),
    ("environments", "probes"): ("apps", "theoshift", "probes"),
    ("environments", "public"): ("apps", "ldc-tools", "public"),
    ("status", "releaseRecord"): ("apps", "theoshift", "last_release"),
}
PART_STRATEGIES = {key: from_schema({"$defs": SCHEMAS[key[0]]["$defs"], "$ref": f"#/$defs/{key[1]}"}) for key in PARTS}
QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]


def as_floats(value: Any) -> Any:
    """The same document with every whole number written as a float: 5 -> 5.0."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, list):
        return [as_floats(item) for item in value]
    if isinstance(value, dict):
        return {key: as_floats(item) for key, item in value.items()}
    return value


HINTS = {"SwitchMethod": SwitchMethod}  # model.py names it for type checkers only


def matches(value: object, hint: Any) -> bool:
    """Whether `value` is exactly of the declared type: an int field holds an int (not 5.0, not True)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if hint is SwitchMethod:  # a protocol: the value is one of the registry's dataclasses, held to its own fields
        method = getattr(type(value), "method", None)
        return method in switching.METHODS and is_dataclass(value) and matches(value, type(value))
    if hint is type(None):
        return value is None
    if hint in (int, float, str, bool):
        return type(value) is hint
    if origin in (typing.Union, types.UnionType):
        return any(matches(value, arg) for arg in args)
    if origin is typing.Literal:
        return value in args
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return isinstance(value, hint)
    if isinstance(hint, type) and is_dataclass(hint):
        return isinstance(value, hint) and all(
            matches(getattr(value, f.name), typing.get_type_hints(hint, localns=HINTS)[f.name]) for f in fields(hint)
        )
    if origin is tuple:
        items = args[:1] * len(value) if len(args) == 2 and args[1] is Ellipsis else args  # type: ignore[arg-type]
        return isinstance(value, tuple) and len(items) == len(value) and all(map(matches, value, items))
    if origin in (Mapping, dict, typing.Mapping) or (isinstance(origin, type) and issubclass(origin, Mapping)):
        key, item = args
        return isinstance(value, Mapping) and all(matches(k, key) and matches(v, item) for k, v in value.items())
    raise AssertionError(f"no rule for {hint!r}")


def loads_or_refuses(name: str, document: object) -> None:
    try:
        model = PARSERS[name](json.dumps(document))
    except InputError as error:
        where = error.location
    else:
        assert matches(model, type(model)), model
        return
    assert where is not None
    assert where.path.startswith("state/")


@pytest.mark.parametrize("name", sorted(WHOLE))
def test_documents_from_each_schema_load_as_typed_models_or_are_refused(name: str) -> None:
    @settings(max_examples=WHOLE[name], suppress_health_check=QUIET)
    @given(document=DOCUMENTS[name])
    def check(document: object) -> None:
        loads_or_refuses(name, document)
        loads_or_refuses(name, as_floats(document))

    check()


@pytest.mark.parametrize("part", sorted(PARTS))
def test_each_numeric_part_of_a_schema_loads_typed_in_a_real_file(part: tuple[str, str]) -> None:
    name, at = part[0], PARTS[part]
    base = json.loads((REPO / "state" / f"{name}.json").read_text(encoding="utf-8"))
    if name == "status":
        base["apps"]["theoshift"]["history"] = []

    @settings(max_examples=40, suppress_health_check=QUIET)
    @given(value=PART_STRATEGIES[part])
    def check(value: object) -> None:
        document = copy.deepcopy(base)
        target = document
        for key in at[:-1]:
            target = target[key]
        target[at[-1]] = value
        loads_or_refuses(name, document)
        loads_or_refuses(name, as_floats(document))

    check()


@settings(max_examples=150)
@given(name=st.sampled_from(sorted(PARSERS)), document=JSON)
def test_any_json_document_loads_or_is_refused(name: str, document: object) -> None:
    loads_or_refuses(name, document)


def test_whole_numbers_written_as_floats_become_ints() -> None:
    document = json.loads((REPO / "state" / "environments.json").read_text(encoding="utf-8"))
    document["apps"]["theoshift"]["verify"].update(requests=5.0, healthy_probes=3.0, max_new_5xx=0.0)
    document["haproxy"]["hosts"][0]["ssh"]["port"] = 2222.0
    document["apps"]["theoshift"]["probes"]["health_status"] = 200.0
    environments = config.parse_environments(json.dumps(document), "state/environments.json")
    verify = environments.apps["theoshift"].verify
    assert (type(verify.requests), type(verify.healthy_probes), type(verify.max_new_5xx)) == (int, int, int)
    assert type(environments.hosts[0].ssh.port) is int
    assert type(environments.apps["theoshift"].probes.health_status) is int
    assert matches(environments, type(environments))
