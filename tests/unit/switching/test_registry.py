"""The registry: environments.json's `switch` object names its method, and the schema knows every method there is."""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Any

import pytest

from bluegreen import config, switching
from bluegreen.errors import InputError
from bluegreen.model import Color
from bluegreen.switching import METHODS, MapSwitch, ServersSwitch, SwitchMethod

BLUE, GREEN = Color.BLUE, Color.GREEN
EXAMPLES: dict[str, tuple[dict[str, Any], SwitchMethod]] = {
    "map": (
        {
            "method": "map",
            "map_file": "/etc/haproxy/apps.map",
            "key": "a.test",
            "backends": {"blue": "a_b", "green": "a_g"},
        },
        MapSwitch("/etc/haproxy/apps.map", "a.test", {BLUE: "a_b", GREEN: "a_g"}),
    ),
    "servers": (
        {"method": "servers", "backend": "b", "servers": {"blue": "s1", "green": "s2"}},
        ServersSwitch("b", {BLUE: "s1", GREEN: "s2"}),
    ),
}


def schema() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(
        (files("bluegreen.config") / "schemas" / "environments.schema.json").read_text(encoding="utf-8")
    )
    return found


@pytest.mark.parametrize("method", sorted(METHODS))
def test_from_json_builds_the_method_named(method: str) -> None:
    data, expected = EXAMPLES[method]
    built = switching.from_json(data)
    assert built == expected
    assert built.method == method


def test_every_method_has_an_example_here() -> None:
    """So the test above cannot pass by leaving a new method out."""
    assert set(EXAMPLES) == set(METHODS)


def test_the_schemas_method_enum_is_exactly_the_registry() -> None:
    assert set(schema()["$defs"]["switch"]["properties"]["method"]["enum"]) == set(METHODS)


@pytest.mark.parametrize("method", sorted(METHODS))
def test_environments_json_with_each_method_loads_into_that_method(layout: dict[str, Any], method: str) -> None:
    """The whole way: the schema accepts the method's fields, and loading builds the method from them."""
    data, expected = EXAMPLES[method]
    assert config.environments_from(with_switch(layout, data), "environments.json").apps["app"].switch == expected


@pytest.mark.parametrize(("method", "other"), [("map", "servers"), ("servers", "map")])
def test_the_schema_holds_each_method_to_its_own_fields(layout: dict[str, Any], method: str, other: str) -> None:
    data, _ = EXAMPLES[method]
    with pytest.raises(InputError):
        config.environments_from(with_switch(layout, {**data, "method": other}), "environments.json")


def with_switch(layout: dict[str, Any], switch: dict[str, Any]) -> dict[str, Any]:
    """The repository's environments.json with one app, switched by `switch`."""
    app = {**layout["apps"]["theoshift"], "switch": switch}
    return {**layout, "apps": {"app": app}}
