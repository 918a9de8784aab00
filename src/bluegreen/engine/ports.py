"""What the engine needs from the world, as small interfaces. The adapters implement them; the faces wire them in.

HaproxyPort  one HAProxy host: its info and stats, a switch method's reads and changes, the release lock,
             and bluegreen's record kept beside the lock. It speaks in the switching vocabulary, never in
             command text, so a transport (SSH channels today; a forced-command gate, the Data Plane API) is
             free to carry it its own way.
Prober       the app servers and the public entry over HTTP, directly or through an HAProxy host; and one
             user's request, for the release's own traffic while it switches.
Connector    reaches every host of a run once, and lets go of all of them at the end.
Ledger       where the history comes from and where an outcome is recorded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol

from bluegreen.model import (
    AppEnvironment,
    Color,
    ColorProbe,
    HaproxyHost,
    HostInfo,
    Outcome,
    Served,
    ServerView,
    Status,
)
from bluegreen.switching.base import Answers, Change, Persisted, Read

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Readiness:
    """What would stop a switch on one host: for any switch there (the runtime API below `level admin`, no
    SFTP), and for each file one would replace, by path."""

    host: tuple[str, ...] = ()
    files: Mapping[str, str] = field(default_factory=dict)

    def of(self, files: Sequence[Persisted]) -> tuple[str, ...]:
        """The problems of a switch that replaces `files`; empty when it can be made and kept."""
        return (*self.host, *(self.files[file.path] for file in files if file.path in self.files))


@dataclass(frozen=True)
class Applied:
    """What one change did: the runtime command's time, and how to undo what it persisted (None: nothing)."""

    runtime_ms: float | None = None
    undo: Change | None = None


class HaproxyPort(Protocol):
    @property
    def host(self) -> HaproxyHost: ...

    async def info(self) -> HostInfo: ...
    async def stats(self) -> tuple[ServerView, ...]: ...
    async def read(self, reads: Sequence[Read]) -> Answers: ...
    async def apply(self, change: Change) -> Applied: ...
    async def readiness(self, files: Sequence[Persisted]) -> Readiness:
        """What would stop a switch on this host before it changes anything, for switches that replace
        `files` (asked once per host, for every app that would switch there)."""
        ...

    def lock(self, holder: str, wait_s: float) -> AbstractAsyncContextManager[None]: ...
    async def lock_holder(self) -> str | None:
        """Who holds the release lock now (None: no run does), found without taking it or waiting for it."""
        ...

    async def recall(self, record: str) -> str | None: ...  # the record named `record` (core.record), if any
    async def keep(self, record: str, text: str) -> None: ...  # replaced whole, never half written


class Prober(Protocol):
    async def health(self, app: AppEnvironment, color: Color, count: int, interval_s: float) -> ColorProbe: ...

    async def public(self, app: AppEnvironment, through: str | None) -> list[Served]:
        """`app.verify.requests` requests through the public entry: from here (None) or through host `through`."""
        ...

    async def visit(self, app: AppEnvironment, through: str | None) -> Served:
        """One request through the public entry, as a new user's (the release's own traffic, engine/traffic.py);
        it never raises for what the entry does: no answer is a Served with an error."""
        ...


@dataclass(frozen=True)
class Reached:
    """Every HAProxy host of a run, by name, and the HTTP probes that go direct or through them."""

    hosts: Mapping[str, HaproxyPort]
    probes: Prober


class Connector(Protocol):
    def reach(self, hosts: Sequence[HaproxyHost]) -> AbstractAsyncContextManager[Reached]: ...


@dataclass(frozen=True)
class Saved:
    """How recording the outcome went, for the report's last step."""

    ok: bool
    detail: str


@dataclass(frozen=True)
class Recalled:
    """The history the rules read, as the ledger believes it, and why nothing may switch, if so."""

    status: Status
    refusal: str | None = None


class Ledger(Protocol):
    """Where the history comes from and where the outcome is recorded: the working tree's status.json for the
    command line; for the Action, the record kept on the HAProxy hosts (and published to the branch)."""

    async def recall(self, hosts: Mapping[str, HaproxyPort]) -> Recalled: ...
    async def record(self, hosts: Mapping[str, HaproxyPort], outcome: Outcome) -> Saved: ...
