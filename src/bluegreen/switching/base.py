"""What every switch method speaks: the questions it asks HAProxy, the answers, and the changes it makes.

A method never talks to HAProxy itself. It says what to read (`reads`), how to tell the LIVE from the answers
(`routing`), and what to change, in order (`steps`); the HAProxy port (engine/ports.py) carries that out over
whichever transport a host uses. So a method is plain data and pure functions, testable without a server, and a
transport never has to parse command text back.

What HAProxy routes to now (its runtime) and what a reload would route to are two things: a reload reads the files
again (the map file; the server-state file). A method says what to read of those (`kept_reads`) and how to tell
the color they name (`kept`); a method that persists nothing keeps nothing, and a reload then reads haproxy.cfg.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from bluegreen.model import Color, ServerView

TargetState = Literal["ready", "drain", "maint"]
TARGET_STATES: tuple[TargetState, ...] = ("ready", "drain", "maint")

# srv_admin_state bits (src/server.h): forced/inherited/resolution/hostname maintenance, forced/inherited drain.
# 0x04 (maintenance from the config's `disabled`) is left out on purpose: it can stay set on a server that was
# put back to `ready` and serves traffic.
ADMIN_MAINT = 0x01 | 0x02 | 0x20 | 0x40
ADMIN_DRAIN = 0x08 | 0x10


# --- what a method may ask ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapEntry:
    """The value a map holds for one key (`get map`)."""

    map_file: str
    key: str


@dataclass(frozen=True)
class ServerStates:
    """The admin state of every server of one backend (`show servers state`)."""

    backend: str


@dataclass(frozen=True)
class KeptMapEntry:
    """What a reload reads for one key: the map file's own line for it (the file, not `get map`)."""

    map_file: str
    key: str


@dataclass(frozen=True)
class KeptServerStates:
    """What a reload reads for one backend: its servers' admin states in the server-state file."""

    state_file: str
    backend: str


KeptRead = KeptMapEntry | KeptServerStates
Read = MapEntry | ServerStates | KeptMapEntry | KeptServerStates


def kept_path(read: KeptRead) -> str:
    """The file a kept read reads."""
    return read.map_file if isinstance(read, KeptMapEntry) else read.state_file


@dataclass(frozen=True)
class AdminState:
    """One row of `show servers state`: the admin state a switch changes."""

    backend: str
    server: str
    admin: int

    @property
    def ready(self) -> bool:
        return not self.admin & (ADMIN_MAINT | ADMIN_DRAIN)

    @property
    def label(self) -> str:
        if self.admin & ADMIN_MAINT:
            return "maint"
        return "drain" if self.admin & ADMIN_DRAIN else "ready"


@dataclass(frozen=True)
class Answers:
    """HAProxy's answers to some reads: a map entry's value (None: no such key), a backend's servers by name; and
    what its files keep: the map file's value for a key (None: no line for it), a backend's servers in the
    server-state file (empty: the file names none of them), why a file tells nothing (`unkept`: it does not
    exist, it is not a server-state file), or why it could not be read (`unread`: no SFTP, no permission)."""

    entries: Mapping[MapEntry, str | None] = field(default_factory=dict)
    states: Mapping[str, Mapping[str, AdminState]] = field(default_factory=dict)
    kept_entries: Mapping[KeptMapEntry, str | None] = field(default_factory=dict)
    kept_states: Mapping[KeptServerStates, Mapping[str, AdminState]] = field(default_factory=dict)
    unkept: Mapping[KeptMapEntry | KeptServerStates, str] = field(default_factory=dict)
    unread: Mapping[KeptMapEntry | KeptServerStates, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Routing:
    """Which color a host sends the app's traffic to (None: neither, or both), and HAProxy's own words for it; or,
    for what is kept, the color a reload would send it to (None: neither, both, or it cannot be told), and where
    that is read."""

    live: Color | None
    text: str
    readable: bool = True  # False: what decides it could not be read at all (a file, for what is kept)


# --- what a method may change ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class WriteMapEntry:
    """Persist: the map file's line for `key` names `value` (a temporary file, then a rename)."""

    map_file: str
    key: str
    value: str


@dataclass(frozen=True)
class SetMapEntry:
    """At runtime: `set map` (in-flight requests finish on the backend they started on)."""

    map_file: str
    key: str
    value: str


@dataclass(frozen=True)
class SetServerStates:
    """At runtime, as one command line: every server's new admin state, in order."""

    backend: str
    states: tuple[tuple[str, TargetState], ...]


@dataclass(frozen=True)
class SaveServerStates:
    """Persist: the servers' states dumped to the file `load-server-state-from-file` reads on a reload."""

    state_file: str


@dataclass(frozen=True)
class RestoreFile:
    """Undo of a persisted file: put back the text it held before, or remove it if there was none (the port hands
    this out, a method never)."""

    path: str
    text: str | None


Change = WriteMapEntry | SetMapEntry | SetServerStates | SaveServerStates | RestoreFile


@dataclass(frozen=True)
class Persisted:
    """A file a switch replaces on the HAProxy host (a temporary file in its folder, then a rename)."""

    path: str
    must_exist: bool  # a map file is rewritten from what it holds; a server-state file may be new


def persisted(steps: Sequence[Change]) -> tuple[Persisted, ...]:
    """The files `steps` replace, each once, in order."""
    found = [
        Persisted(step.map_file, True) if isinstance(step, WriteMapEntry) else Persisted(step.state_file, False)
        for step in steps
        if isinstance(step, WriteMapEntry | SaveServerStates)
    ]
    return tuple(dict.fromkeys(found))


# --- the protocol ---------------------------------------------------------------------------------------------


class SwitchMethod(Protocol):
    """One way of pointing an app's traffic at a color. Frozen settings from environments.json, and pure rules."""

    @property
    def method(self) -> str: ...  # its name in environments.json

    @property
    def claim(self) -> str: ...  # what in HAProxy it switches; two apps may never claim the same

    def reads(self) -> tuple[Read, ...]: ...
    def routing(self, answers: Answers) -> Routing: ...
    def kept_reads(self) -> tuple[Read, ...]: ...  # what a reload would read; () when it persists nothing
    def kept(self, answers: Answers) -> Routing | None: ...  # what a reload would route to; None: keeps nothing
    def steps(self, to: Color) -> tuple[Change, ...]: ...
    def servers_of(self, color: Color, servers: Sequence[ServerView]) -> tuple[ServerView, ...]: ...
    def served_by(self, color: Color) -> str: ...  # `backend/` (any of its servers) or `backend/server`
    def target(self, color: Color) -> str: ...  # a color's destination as the plan names it


def color_pair(pair: Mapping[str, Any]) -> dict[Color, str]:
    return {Color.BLUE: str(pair["blue"]), Color.GREEN: str(pair["green"])}
