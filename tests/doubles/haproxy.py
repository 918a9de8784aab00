"""An in-memory HAProxy host behind the engine's HaproxyPort, recording every change; and an in-memory Prober.

The engine's unit tests run switch, verify and switch-back through these, without servers. They hold the same
rules as the real thing where the engine depends on them: a map entry lives at runtime and in its file, a server's
admin state decides whether it serves, a `set` on an unknown map or server is refused, the lock is exclusive, a
server in maintenance is not checked, and one taken out of it shows `DRAIN 1/2` until its next check has run. The
server-state file is `show servers state` as HAProxy 2.6 writes it, and what a host keeps is read from its files
the way the SSH adapter reads them (core/haproxy.py), SFTP or not.
The integration tests keep using real HAProxy, sshd and app servers (tests/integration).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace

from bluegreen.core import haproxy
from bluegreen.core.record import RECORD_NAME
from bluegreen.engine.ports import Applied, Readiness
from bluegreen.errors import LockBusyError, RuntimeApiError, UnreachableError
from bluegreen.model import (
    AppEnvironment,
    Color,
    ColorProbe,
    Endpoint,
    HaproxyHost,
    HostInfo,
    Served,
    ServerView,
)
from bluegreen.switching.base import (
    ADMIN_DRAIN,
    ADMIN_MAINT,
    AdminState,
    Answers,
    Change,
    KeptMapEntry,
    KeptServerStates,
    MapEntry,
    Persisted,
    Read,
    RestoreFile,
    SaveServerStates,
    ServerStates,
    SetMapEntry,
    SetServerStates,
    TargetState,
    WriteMapEntry,
)

_ADMIN = {"ready": 0, "drain": ADMIN_DRAIN, "maint": ADMIN_MAINT}
CONFIG_MAINT = 0x04  # `disabled` in haproxy.cfg: HAProxy keeps this bit after a `set server ... state`
# `show servers state`, as HAProxy 2.6.12 answers it (the columns after srv_admin_state are a real row's)
STATE_HEADER = (
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight"
    " srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state"
    " srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port"
    " srv_check_addr srv_agent_addr srv_agent_port"
)
_AFTER_ADMIN = "1 1 0 15 3 4 6 0 0 0 - 3000 - 0 0 - - 0"


@dataclass
class Server:
    status: str = "UP"  # what the health check says: UP or DOWN
    check: str = "L7OK"
    sessions: int = 0
    http_5xx: int = 0
    admin: int = 0
    check_delay: int = 0  # `show stat` answers, once out of maintenance, before the check has run again
    unchecked: int = 0  # how many of those are left


def disabled(status: str = "UP", check: str = "L7OK", check_delay: int = 1) -> Server:
    """A server written `disabled` in haproxy.cfg: MAINT and never checked. Once woken, its check has run after
    `check_delay` answers of `show stat` and says `status` / `check` (UP / L7OK: it passes)."""
    return Server(status, check, admin=ADMIN_MAINT | CONFIG_MAINT, check_delay=check_delay)


@dataclass
class FakeHaproxy:
    """One HAProxy host: runtime map entries, persisted files, servers, the lock and bluegreen's records."""

    name: str
    maps: dict[str, dict[str, str]] = field(default_factory=dict)  # runtime: map file -> key -> value
    files: dict[str, str] = field(default_factory=dict)  # on disk: map files, state files, records
    servers: dict[tuple[str, str], Server] = field(default_factory=dict)
    changes: list[Change] = field(default_factory=list)  # every change carried out, in order (undos too)
    fail: Callable[[Change], Exception | None] = lambda change: None  # a fault to raise instead of a change
    lose: Callable[[Change], Exception | None] = lambda change: None  # a fault raised after the change: no answer
    down: bool = False  # unreachable: every call fails
    level: str = "admin"  # the runtime socket's level
    sftp: bool = True  # the SFTP subsystem is there
    read_only: set[str] = field(default_factory=set)  # folders where no file can be made
    asked_readiness: list[tuple[Persisted, ...]] = field(default_factory=list)  # each pre-flight proof's files
    reads: list[tuple[Read, ...]] = field(default_factory=list)  # each batch of reads, in order
    holder: str | None = None

    @property
    def host(self) -> HaproxyHost:
        return HaproxyHost(self.name, Endpoint("127.0.0.1", 22, "deploy"), "/run/haproxy/admin.sock", "/tmp/bg.lock")

    def add_map(self, map_file: str, entries: Mapping[str, str]) -> None:
        self.maps[map_file] = dict(entries)
        self.files[map_file] = "".join(f"{key} {value}\n" for key, value in entries.items())

    async def info(self) -> HostInfo:
        self._reachable()
        return HostInfo(self.name, "3.0.0-fake", 60, 1)

    async def stats(self) -> tuple[ServerView, ...]:
        self._reachable()
        views = tuple(
            ServerView(backend, server, _status(state), _check(state), state.sessions, state.http_5xx, 1)
            for (backend, server), state in self.servers.items()
        )
        for state in self.servers.values():  # one answer nearer to the next check
            state.unchecked = max(0, state.unchecked - 1)
        return views

    async def read(self, reads: Sequence[Read]) -> Answers:
        self._reachable()
        self.reads.append(tuple(reads))
        for read in reads:
            if isinstance(read, MapEntry):
                self._map(read.map_file)  # HAProxy refuses `get map` on a map it did not load
        return self._answers(reads)

    def _answers(self, reads: Sequence[Read]) -> Answers:
        entries: dict[MapEntry, str | None] = {}
        states: dict[str, dict[str, AdminState]] = {}
        for read in reads:
            if isinstance(read, MapEntry):
                entries[read] = self.maps.get(read.map_file, {}).get(read.key)
            elif isinstance(read, ServerStates):
                states[read.backend] = {
                    server: AdminState(backend, server, state.admin)
                    for (backend, server), state in self.servers.items()
                    if backend == read.backend
                }
        files = {path: self._file(path) for path in haproxy.kept_files(reads)}  # read as the SSH adapter reads them
        kept = haproxy.answers(
            [r for r in reads if isinstance(r, KeptMapEntry | KeptServerStates)], [], self.name, files
        )
        return dataclasses.replace(kept, entries=entries, states=states)

    def _file(self, path: str) -> haproxy.FileText:
        if not self.sftp:
            return haproxy.Unreadable(f"{self.name}: cannot start SFTP")
        return self.files.get(path)

    def dump(self) -> str:
        """`show servers state`: every backend's servers, with their admin states."""
        backends = list(dict.fromkeys(backend for backend, _ in self.servers))
        rows = [
            f"{backends.index(backend) + 1} {backend} {number} {server} 127.0.0.1 2 {state.admin} {_AFTER_ADMIN}"
            for number, ((backend, server), state) in enumerate(self.servers.items(), start=1)
        ]
        return "1\n" + STATE_HEADER + "\n" + "".join(row + "\n" for row in rows) + "\n"

    async def apply(self, change: Change) -> Applied:
        self._reachable()
        fault = self.fail(change)
        if fault is not None:
            raise fault
        applied = self._carry_out(change)
        self.changes.append(change)  # only what was done: a refused change changed nothing
        lost = self.lose(change)
        if lost is not None:  # done, but its answer never came back
            raise lost
        return applied

    def _carry_out(self, change: Change) -> Applied:
        if isinstance(change, SetMapEntry):
            self._map(change.map_file)[change.key] = change.value
            return Applied(runtime_ms=0.1)
        if isinstance(change, SetServerStates):
            for server, state in change.states:
                self._set_state(self._server(change.backend, server), state)
            return Applied(runtime_ms=0.1)
        if isinstance(change, WriteMapEntry):
            before = self.files.get(change.map_file)
            if before is None:
                raise RuntimeApiError(f"{self.name}: the map file {change.map_file} does not exist")
            self.files[change.map_file] = haproxy.rewrite_map(before, change.key, change.value)
            return Applied(undo=RestoreFile(change.map_file, before))
        if isinstance(change, SaveServerStates):
            before = self.files.get(change.state_file)
            self.files[change.state_file] = self.dump()
            return Applied(undo=RestoreFile(change.state_file, before))
        if change.text is None:
            self.files.pop(change.path, None)
        else:
            self.files[change.path] = change.text
        return Applied()

    async def lock_holder(self) -> str | None:
        self._reachable()
        return self.holder

    @asynccontextmanager
    async def lock(self, holder: str, wait_s: float) -> AsyncIterator[None]:
        self._reachable()
        if self.holder is not None:
            raise LockBusyError(f"{self.name}: another release holds the lock (holder: {self.holder})")
        self.holder = holder
        try:
            yield
        finally:
            self.holder = None

    async def readiness(self, files: Sequence[Persisted]) -> Readiness:
        self._reachable()
        self.asked_readiness.append(tuple(files))
        host = [] if self.level == "admin" else [f"{self.name}: the runtime socket is at level {self.level!r}"]
        if files and not self.sftp:
            return Readiness((*host, f"{self.name}: cannot start SFTP"))
        problems = {}
        for file in files:
            if file.must_exist and file.path not in self.files:
                problems[file.path] = f"{file.path} does not exist: the switch rewrites it"
            elif file.path.rsplit("/", 1)[0] in self.read_only:
                problems[file.path] = f"{file.path} cannot be replaced: no new file can be made in its folder"
        return Readiness(tuple(host), problems)

    async def recall(self, record: str) -> str | None:
        self._reachable()
        return self.files.get(_record(record))

    async def keep(self, record: str, text: str) -> None:
        self._reachable()
        self.files[_record(record)] = text

    def live(self, app: AppEnvironment) -> Color | None:
        """The color this host routes `app` to now (its runtime state, as the method reads it)."""
        return app.switch.routing(self._answers(app.switch.reads())).live

    def kept(self, app: AppEnvironment) -> Color | None:
        """The color a reload would route `app` to (its files, as the method reads them); None: neither, or none."""
        kept = app.switch.kept(self._answers(app.switch.kept_reads()))
        return kept.live if kept else None

    def _set_state(self, server: Server, state: TargetState) -> None:
        if server.admin & ADMIN_MAINT and state != "maint":  # HAProxy checks it again, from its next check on
            server.unchecked = server.check_delay
        server.admin = (server.admin & CONFIG_MAINT) | _ADMIN[state]

    def _map(self, map_file: str) -> dict[str, str]:
        if map_file not in self.maps:
            raise RuntimeApiError(f"{self.name}: `{map_file}` is not a map HAProxy loaded: Unknown map identifier.")
        return self.maps[map_file]

    def _server(self, backend: str, server: str) -> Server:
        if (backend, server) not in self.servers:
            raise RuntimeApiError(f"{self.name}: No such server {backend}/{server}.")
        return self.servers[(backend, server)]

    def _reachable(self) -> None:
        if self.down:
            raise UnreachableError(f"{self.name}: the connection broke")


def _record(name: str) -> str:
    if not RECORD_NAME.fullmatch(name):  # as every transport: a record is named by core.record, nothing else
        raise ValueError(f"unsafe record name {name!r}")
    return name


def _status(server: Server) -> str:
    if server.admin & ADMIN_MAINT:
        return "MAINT"
    if server.unchecked:  # HAProxy counts it UP, one failed check away from DOWN
        return "DRAIN 1/2" if server.admin & ADMIN_DRAIN else "UP 1/2"
    if server.admin & ADMIN_DRAIN and server.status == "UP":
        return "DRAIN"
    return server.status


def _check(server: Server) -> str:
    if server.admin & ADMIN_MAINT:
        return ""  # not checked in maintenance
    return "INI" if server.unchecked else server.check


@dataclass
class FakeProber:
    """The app servers and the public entry: each color's version and health, and who answers through a host."""

    hosts: Mapping[str, FakeHaproxy]
    versions: dict[Color, str | None] = field(default_factory=lambda: {Color.BLUE: "2.4.1", Color.GREEN: "2.4.0"})
    unhealthy: set[Color] = field(default_factory=set)
    asked: list[tuple[str, Color | str | None]] = field(default_factory=list)
    hiccups: int = 0  # the next users' requests (`visit`) answered 503 by the color they reach, whoever it is

    async def health(self, app: AppEnvironment, color: Color, count: int, interval_s: float) -> ColorProbe:
        self.asked.append(("health", color))
        error = "status 503" if color in self.unhealthy else None
        return ColorProbe(color, app.addresses[color], 0 if error else count, count, self.versions[color], error)

    async def public(self, app: AppEnvironment, through: str | None) -> list[Served]:
        self.asked.append(("public", through))
        return [self._served(app, through)] * app.verify.requests

    async def visit(self, app: AppEnvironment, through: str | None) -> Served:
        self.asked.append(("visit", through))
        served = self._served(app, through)
        if self.hiccups > 0 and served.status == 200:
            self.hiccups -= 1
            return replace(served, status=503)
        return served

    def _served(self, app: AppEnvironment, through: str | None) -> Served:
        host = self.hosts[through] if through else next(iter(self.hosts.values()))
        live = host.live(app)
        if live is None or live in self.unhealthy:
            return Served(503, None, None)
        served_by = app.switch.served_by(live)
        served_by += live.value if served_by.endswith("/") else ""
        return Served(200, served_by, self.versions[live])
