"""The switch methods, one class each behind one protocol (`SwitchMethod`, in base.py), and their registry.

Adding a method is one new module here, its entry in `METHODS`, and its part of environments.schema.json.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bluegreen.switching.base import SwitchMethod
from bluegreen.switching.map import MapSwitch
from bluegreen.switching.servers import ServersSwitch

__all__ = ["METHODS", "MapSwitch", "ServersSwitch", "SwitchMethod", "from_json"]

METHODS: Mapping[str, Callable[[Mapping[str, Any]], SwitchMethod]] = {
    "map": MapSwitch.from_json,
    "servers": ServersSwitch.from_json,
}


def from_json(switch: Mapping[str, Any]) -> SwitchMethod:
    """The method an app's `switch` object names (the schema has checked its shape)."""
    return METHODS[switch["method"]](switch)
