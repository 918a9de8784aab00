"""`map`: one entry of a map file names the LIVE backend (`use_backend %[req.hdr(host),lower,map(FILE)]`).

The file is written first (a temporary file, then a rename), then `set map` changes the entry at runtime, so a
reload in between already reads the new LIVE. In-flight requests finish on the old backend. What a reload would
route to is the file's own line for the key (`kept`): a hand edit, or a file not put back, can make it differ
from the runtime entry.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from bluegreen.model import Color, ServerView
from bluegreen.switching.base import (
    Answers,
    Change,
    KeptMapEntry,
    MapEntry,
    Read,
    Routing,
    SetMapEntry,
    WriteMapEntry,
    color_pair,
)


@dataclass(frozen=True)
class MapSwitch:
    map_file: str
    key: str
    backends: Mapping[Color, str]
    method: ClassVar[str] = "map"

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> MapSwitch:
        return cls(data["map_file"], data["key"], color_pair(data["backends"]))

    @property
    def claim(self) -> str:
        return f"map entry {json.dumps(self.key)} of {_normal_path(self.map_file)}"

    @property
    def entry(self) -> MapEntry:
        return MapEntry(self.map_file, self.key)

    def reads(self) -> tuple[Read, ...]:
        return (self.entry,)

    def routing(self, answers: Answers) -> Routing:
        value = answers.entries[self.entry]
        if value is None:
            return Routing(None, f"no entry for {self.key} in {self.map_file}")
        live = self._color(value)
        return Routing(live, value if live else f"backend {value!r}, which is neither color's")

    def kept_reads(self) -> tuple[Read, ...]:
        return (KeptMapEntry(self.map_file, self.key),)

    def kept(self, answers: Answers) -> Routing:
        read, where = KeptMapEntry(self.map_file, self.key), f"the map file {self.map_file}"
        if read in answers.unread:
            return Routing(None, f"{where} cannot be read: {answers.unread[read]}", readable=False)
        if read in answers.unkept:
            return Routing(None, f"{where} {answers.unkept[read]}")
        value = answers.kept_entries[read]
        if value is None:
            return Routing(None, f"{where} has no line for {self.key}")
        live = self._color(value)
        return Routing(live, f"{where} names {value}" + ("" if live else ", which is neither color's backend"))

    def _color(self, backend: str) -> Color | None:
        return next((color for color, name in self.backends.items() if name == backend), None)

    def steps(self, to: Color) -> tuple[Change, ...]:
        backend = self.backends[to]
        return WriteMapEntry(self.map_file, self.key, backend), SetMapEntry(self.map_file, self.key, backend)

    def servers_of(self, color: Color, servers: Sequence[ServerView]) -> tuple[ServerView, ...]:
        return tuple(server for server in servers if server.backend == self.backends[color])

    def served_by(self, color: Color) -> str:
        return f"{self.backends[color]}/"

    def target(self, color: Color) -> str:
        return self.backends[color]


def _normal_path(path: str) -> str:
    """An absolute path as one spelling: `.` segments and repeated or trailing slashes gone, `..` taken back
    lexically (posixpath.normpath keeps a leading `//`, which POSIX lets a system read its own way)."""
    return "/" + posixpath.normpath(path).lstrip("/")
