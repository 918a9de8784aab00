"""The plain data every layer shares: frozen dataclasses, no behaviour beyond naming.

Three views of one app meet in the planner:
  desired   what `state/live.json` asks for (a pull request changes it)
  recorded  what `state/status.json` says the last run observed (written by bluegreen only)
  observed  what HAProxy and the app servers say right now
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # for the annotation only: the methods are built on this module's names
    from bluegreen.switching.base import SwitchMethod


class Color(StrEnum):
    BLUE = "blue"
    GREEN = "green"

    @property
    def other(self) -> Color:
        return Color.GREEN if self is Color.BLUE else Color.BLUE

    @property
    def title(self) -> str:  # type: ignore[override]
        return self.value.capitalize()


# --- state/environments.json: how to reach things -------------------------------------------------------------


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    user: str


@dataclass(frozen=True)
class HaproxyHost:
    name: str
    ssh: Endpoint
    socket: str  # the runtime API's Unix socket on that host (haproxy.socket, or the host's own `socket`)
    lock_path: str  # flock(1)ed on that host while a release runs (haproxy.lock.path, or the host's own)
    jump: Endpoint | None = None


@dataclass(frozen=True)
class SshSettings:
    known_hosts: str  # path, relative to the repository
    key_file: str | None  # path, relative to the repository; or
    key_env: str | None  # the environment variable holding the private key
    connect_timeout_s: float = 10.0  # TCP, handshake and login, for each connection (the jump host's too)
    keepalive_interval_s: float = 5.0
    operation_timeout_s: float = 10.0  # each remote operation: a runtime command, a file read or write, the lock


@dataclass(frozen=True)
class LockSettings:
    wait_s: float = 30.0  # how long a release waits for another one to finish before it gives up


Via = Literal["direct", "ssh"]


@dataclass(frozen=True)
class Probes:
    """How to ask an app server whether it is healthy and which version it runs."""

    health_path: str = "/health"
    health_status: int = 200
    version_path: str = "/version"
    version_field: str | None = "version"  # a JSON field of the answer; None: the whole body is the version
    via: Via = "direct"
    timeout_s: float = 3.0


@dataclass(frozen=True)
class PublicEntry:
    """Where users reach the app: the verification sends requests here, through HAProxy."""

    url: str
    host_header: str | None = None
    served_by_header: str | None = "X-Served-By"  # `backend/server` as set by `http-response set-header`
    via: Via = "direct"


@dataclass(frozen=True)
class VerifySettings:
    healthy_probes: int = 3  # consecutive passing probes that make a color healthy
    probe_interval_s: float = 0.1
    requests: int = 5  # requests through the public entry after the switch, all must reach the new LIVE
    window_s: float = 0.0  # observation window after the switch
    drain_wait_s: float = 0.0  # wait, bounded, for the old LIVE's sessions to drain
    max_new_5xx: int = 0  # 5xx answers HAProxy may count on the new LIVE during verification
    rollback_on_failure: bool = True
    standby_check_wait_s: float = 10.0  # wait, bounded, for HAProxy's check of a STANDBY woken from maintenance
    traffic_rate: float = 20.0  # requests per second through each public entry while traffic moves (0: none)
    max_failed_requests: int = 0  # of those, how many may fail before verification fails


@dataclass(frozen=True)
class AppEnvironment:
    name: str
    switch: SwitchMethod  # one of switching/'s classes: its settings and its rules
    addresses: Mapping[Color, str]  # host:port of each color's app server
    probes: Probes
    public: PublicEntry
    verify: VerifySettings


@dataclass(frozen=True)
class Environments:
    hosts: tuple[HaproxyHost, ...]
    ssh: SshSettings
    lock: LockSettings
    apps: Mapping[str, AppEnvironment]


# --- state/live.json: what is wanted --------------------------------------------------------------------------


@dataclass(frozen=True)
class DesiredApp:
    name: str
    live: Color
    version: str | None = None
    line: int | None = None  # where in live.json, for messages


@dataclass(frozen=True)
class Desired:
    apps: Mapping[str, DesiredApp]


# --- state/status.json: what the last run observed ------------------------------------------------------------

Result = Literal["success", "noop", "refused", "rolled_back", "failed"]
Kind = Literal["release", "rollback"]


@dataclass(frozen=True)
class ColorRecord:
    color: Color
    version: str | None
    address: str


@dataclass(frozen=True)
class ReleaseRecord:
    result: Result
    kind: Kind
    at: str  # ISO 8601, UTC
    from_color: Color
    to_color: Color
    from_version: str | None
    to_version: str | None
    durations_ms: Mapping[str, float] = field(default_factory=dict)
    switch_ms: float | None = None
    hosts: Mapping[str, str] = field(default_factory=dict)
    actor: str | None = None
    pr: int | None = None
    commit: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class AppStatus:
    live: ColorRecord | None = None
    standby: ColorRecord | None = None
    last_release: ReleaseRecord | None = None
    history: tuple[ReleaseRecord, ...] = ()


@dataclass(frozen=True)
class Status:
    apps: Mapping[str, AppStatus] = field(default_factory=dict)
    updated_at: str | None = None


# --- observed: what HAProxy and the app servers say now -------------------------------------------------------


@dataclass(frozen=True)
class ServerView:
    """One row of HAProxy's `show stat` for a server, the fields a release looks at."""

    backend: str
    server: str
    status: str  # UP, DOWN, DRAIN, MAINT, "UP 1/2", "no check", ...
    check_status: str  # L7OK, L4CON, "" when not checked
    sessions: int  # scur
    http_5xx: int  # hrsp_5xx
    weight: int


@dataclass(frozen=True)
class HostInfo:
    name: str
    version: str  # HAProxy's own version
    uptime_s: int
    pid: int


@dataclass(frozen=True)
class Kept:
    """What an HAProxy host keeps for an app: the color the file it reads on a reload names (None: neither, both,
    or it cannot be told), and where and what that is, in words."""

    live: Color | None
    text: str  # e.g. "the server-state file /var/lib/haproxy/server-state: ldc_tools/blue ready, ..."
    readable: bool = True  # False: the file could not be read (no SFTP, no permission): nothing is known


@dataclass(frozen=True)
class HostAppView:
    """One HAProxy host's view of one app: which color it routes to, what a reload would route to, and how it sees
    each color's servers."""

    host: str
    live: Color | None  # None when the routing names neither color (or both, for `servers`)
    routing: str  # what HAProxy answered, for the report: the map value, or the servers' admin states
    servers: Mapping[Color, tuple[ServerView, ...]]
    unready: tuple[str, ...] | None = None  # what would stop a switch here; None: not asked (nothing to switch)
    kept: Kept | None = None  # None: the method keeps nothing (a reload reads haproxy.cfg), or it was not read


@dataclass(frozen=True)
class ColorProbe:
    color: Color
    address: str
    passed: int  # consecutive passing health probes
    asked: int
    version: str | None
    error: str | None = None

    @property
    def healthy(self) -> bool:
        return self.error is None and self.passed == self.asked and self.asked > 0


@dataclass(frozen=True)
class Served:
    """One request through the public entry: who answered, with what."""

    status: int | None
    served_by: str | None
    version: str | None
    error: str | None = None


@dataclass(frozen=True)
class AppObservation:
    name: str
    hosts: Mapping[str, HostAppView]
    colors: Mapping[Color, ColorProbe]


@dataclass(frozen=True)
class Observation:
    hosts: Mapping[str, HostInfo]
    apps: Mapping[str, AppObservation]


# --- plan: what a release will do -----------------------------------------------------------------------------

Action = Literal["noop", "switch", "refuse", "hold"]  # hold: not retried by accident (core/retry.py)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    about: Literal["standby", "live"] = "standby"  # the report's step: Verify STANDBY ready, or Verify LIVE
    host: str | None = None  # the HAProxy host it was made on; None: a check of the app servers or the versions


@dataclass(frozen=True)
class Parked:
    """A STANDBY server that HAProxy holds in maintenance (`disabled` in haproxy.cfg, or `state maint`): the
    release puts it in drain and waits for HAProxy's own check to see it UP before the switch."""

    host: str
    backend: str
    server: str


@dataclass(frozen=True)
class AppPlan:
    app: str
    action: Action
    kind: Kind
    from_color: Color  # the LIVE color now (HAProxy's view; the recorded one when HAProxy has none)
    to_color: Color  # the LIVE color wanted
    from_version: str | None
    to_version: str | None
    from_address: str
    to_address: str
    hosts: tuple[str, ...]  # hosts whose routing must change (or what they keep: `repairs`)
    checks: tuple[Check, ...]
    drift: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    parked: tuple[Parked, ...] = ()  # STANDBY servers in maintenance on the hosts to switch: woken first
    held: str | None = None  # (action "hold") why: its desired state is a release that was rolled back or failed
    repairs: tuple[str, ...] = ()  # of `hosts`, those already routing to to_color that a reload would move away

    @property
    def refusals(self) -> tuple[Check, ...]:
        return tuple(check for check in self.checks if not check.ok)

    @property
    def repair_only(self) -> bool:
        """No traffic moves: every host to change already routes to to_color, and only what it keeps is put right."""
        return bool(self.hosts) and set(self.hosts) <= set(self.repairs)


@dataclass(frozen=True)
class Trigger:
    """Who and what asked for this run; shown in the report and recorded in status.json."""

    actor: str | None = None
    pr: int | None = None
    pr_url: str | None = None
    commit: str | None = None
    reverts_pr: int | None = None
    also_prs: tuple[int, ...] = ()  # merged since the last release, whose own runs did not release them
    # The apps this run may release again in a state that was rolled back or failed: those whose live.json entry
    # the triggering change touched, or that a person named (workflow_dispatch `apps`). None: every app (the
    # command line, where a person starts each release).
    asked_for: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Plan:
    apps: tuple[AppPlan, ...]
    trigger: Trigger = Trigger()
    refusal: str | None = None  # the whole request is refused, whatever each app's checks say (one line)

    @property
    def refused(self) -> bool:
        return self.refusal is not None or any(app.action == "refuse" for app in self.apps)

    @property
    def switches(self) -> tuple[AppPlan, ...]:
        return tuple(app for app in self.apps if app.action == "switch")


# --- outcome: what a release did ------------------------------------------------------------------------------

# The original workflow's steps, in the order they run: the switch is confirmed before the state is recorded,
# so that status.json holds what was observed, not what was hoped for.
StepName = Literal[
    "Verify STANDBY ready",
    "Verify LIVE",
    "Switch HAProxy traffic",
    "Confirm switch",
    "Update state tracking",
]
STEPS: tuple[StepName, ...] = (
    "Verify STANDBY ready",
    "Verify LIVE",
    "Switch HAProxy traffic",
    "Confirm switch",
    "Update state tracking",
)


@dataclass(frozen=True)
class Step:
    name: StepName
    ok: bool | None  # None: not reached
    detail: str = ""


@dataclass(frozen=True)
class SwitchTraffic:
    """What users saw while traffic moved: requests sent at a steady rate through the public entry (through each
    HAProxy host where `via` is ssh) from just before the switch until verification ended."""

    requests: int
    failed: int  # no answer, or an answer of 5xx, that counts against the release (see core/traffic.py)
    by_color: Mapping[Color, int]  # answers by the color that served them
    p50_ms: float | None
    p99_ms: float | None
    first_new_ms: float | None  # from the switch command to the first answer by the new LIVE (None: none came)
    failed_old: int = 0  # failures not judged: before the route's switch command, or served by the old LIVE


@dataclass(frozen=True)
class AppOutcome:
    plan: AppPlan
    result: Result
    steps: tuple[Step, ...]
    hosts: Mapping[str, str] = field(default_factory=dict)  # host -> switched / restored / unchanged / failed: ...
    durations_ms: Mapping[str, float] = field(default_factory=dict)  # preflight, switch, verify, total
    switch_ms: float | None = None  # the slowest host's switch, runtime commands only
    draining: int | None = None  # sessions still on the old LIVE when verification ended
    live: ColorRecord | None = None
    standby: ColorRecord | None = None
    reason: str | None = None  # why it failed or was refused, one line
    traffic: SwitchTraffic | None = None  # users' requests during the switch (None: none were measured)
    restored: bool = False  # the switch or its verification failed, and every host was read back on the old LIVE


@dataclass(frozen=True)
class Outcome:
    apps: tuple[AppOutcome, ...]
    trigger: Trigger = Trigger()
    at: str = ""
    dry_run: bool = False
    refusal: str | None = None  # the whole request was refused (Plan.refusal)
    interrupted: bool = False  # SIGINT or SIGTERM during the release: no switch started after it

    @property
    def result(self) -> Result:
        order: tuple[Result, ...] = ("failed", "rolled_back", "refused", "success", "noop")
        results = {app.result for app in self.apps} | ({"refused"} if self.refusal else set())
        return next((result for result in order if result in results), "noop")
