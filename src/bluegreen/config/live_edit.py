"""One app's entry of live.json changed, and nothing else: the rest of the text keeps its order, spacing and line
breaks, so the change is the line or two a reviewer reads (the rollback record, core/rollback.py).

`live` and a `version` that stays are replaced in place; an entry that gains or loses its `version` is written
again whole, on one line (`{"live": "green"}`). The result is read back with the schema, and must say exactly what
was asked.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from bluegreen.config import jsonloc
from bluegreen.config.state import parse_desired
from bluegreen.errors import InputError, Location
from bluegreen.model import DesiredApp

Edit = tuple[tuple[int, int], str]  # the span of `text` to replace, and its new text


def with_entry(text: str, display: str, entry: DesiredApp) -> str:
    """`text` (a valid live.json) with the entry of `entry.name` set to its `live` and `version`."""
    parse_desired(text, display)  # a valid file only: its errors are the user's, named as usual
    spans = jsonloc.value_spans(text, display)
    path = ("apps", entry.name)
    if path not in spans:
        raise InputError(
            f"{display} has no entry for {entry.name}", location=Location(display, field=f"apps.{entry.name}")
        )
    pinned = (*path, "version") in spans
    edits: list[Edit] = [(spans[(*path, "live")], json.dumps(entry.live.value))]
    if entry.version is not None and pinned:
        edits.append((spans[(*path, "version")], json.dumps(entry.version)))
    elif entry.version is not None or pinned:
        edits = [(spans[path], json.dumps(_entry_json(entry)))]
    changed = _applied(text, edits)
    found = parse_desired(changed, display).apps[entry.name]
    if (found.live, found.version) != (entry.live, entry.version):  # never: but a wrong edit must not go out
        raise ValueError(f"the edit of {display} says {found.live}/{found.version}, not {entry.live}/{entry.version}")
    return changed


def _entry_json(entry: DesiredApp) -> dict[str, str]:
    return {"live": entry.live.value, **({"version": entry.version} if entry.version is not None else {})}


def _applied(text: str, edits: Sequence[Edit]) -> str:
    """The edits made from the last to the first, so that each span still points where it did."""
    for (start, end), new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text
