"""The engine tests' world: one app per switch method, in-memory HAProxy hosts that route them, and the faults.

theoshift switches a map entry, ldc-tools a backend's servers. Both are LIVE on Green and Blue is newer (the
FakeProber's default versions), so asking for Blue is a release the pre-flight allows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from bluegreen.errors import RuntimeApiError
from bluegreen.model import (
    AppEnvironment,
    Color,
    Desired,
    DesiredApp,
    Environments,
    LockSettings,
    Probes,
    PublicEntry,
    SshSettings,
    Status,
    VerifySettings,
    Via,
)
from bluegreen.switching import MapSwitch, ServersSwitch, SwitchMethod
from bluegreen.switching.base import (
    ADMIN_DRAIN,
    Change,
    RestoreFile,
    SaveServerStates,
    SetMapEntry,
    SetServerStates,
    WriteMapEntry,
)
from tests.doubles.haproxy import FakeHaproxy, Server

BLUE, GREEN = Color.BLUE, Color.GREEN
MAP_FILE = "/etc/haproxy/apps.map"
STATE_FILE = "/var/lib/haproxy/server-state"
MAP = MapSwitch(MAP_FILE, "theoshift.test", {BLUE: "t_blue", GREEN: "t_green"})
SERVERS = ServersSwitch("ldc_tools", {BLUE: "blue", GREEN: "green"}, STATE_FILE)


def make_app(
    name: str, switch: SwitchMethod, *, via: Via = "direct", verify: VerifySettings | None = None
) -> AppEnvironment:
    return AppEnvironment(
        name=name,
        switch=switch,
        addresses={BLUE: f"{name}-blue:3000", GREEN: f"{name}-green:3000"},
        probes=Probes(),
        public=PublicEntry(f"https://{name}.test/version", via=via),
        verify=verify or VerifySettings(),
    )


THEOSHIFT = make_app("theoshift", MAP)
LDC_TOOLS = make_app("ldc-tools", SERVERS)

# What each method's switch tells a host, by method: toward Blue, and back to Green.
TO_BLUE: dict[str, tuple[Change, ...]] = {
    "map": (WriteMapEntry(MAP_FILE, MAP.key, "t_blue"), SetMapEntry(MAP_FILE, MAP.key, "t_blue")),
    "servers": (SetServerStates("ldc_tools", (("blue", "ready"), ("green", "drain"))), SaveServerStates(STATE_FILE)),
}
TO_GREEN: dict[str, tuple[Change, ...]] = {
    "map": (WriteMapEntry(MAP_FILE, MAP.key, "t_green"), SetMapEntry(MAP_FILE, MAP.key, "t_green")),
    "servers": (SetServerStates("ldc_tools", (("green", "ready"), ("blue", "drain"))), SaveServerStates(STATE_FILE)),
}
MAP_BEFORE = "theoshift.test t_green\n"  # the map file as fake_host writes it, LIVE on Green


def fake_host(name: str, apps: Sequence[AppEnvironment], live: Color = GREEN) -> FakeHaproxy:
    """A host routing every app of `apps` to `live`, with an UP server behind each color, and keeping it: its map
    file names `live`, and its server-state file was dumped (as the lab does, as an operator's reload does)."""
    host = FakeHaproxy(name)
    for each in apps:
        switch = each.switch
        if isinstance(switch, MapSwitch):
            host.add_map(switch.map_file, {**host.maps.get(switch.map_file, {}), switch.key: switch.backends[live]})
            host.servers.update({(switch.backends[color], color.value): Server() for color in Color})
        else:
            assert isinstance(switch, ServersSwitch)
            host.servers.update(
                {
                    (switch.backend, switch.servers[color]): Server(admin=0 if color is live else ADMIN_DRAIN)
                    for color in Color
                }
            )
    for each in apps:
        if isinstance(each.switch, ServersSwitch) and each.switch.state_file:
            host.files[each.switch.state_file] = host.dump()
    return host


STATE_BEFORE = fake_host("lb1", [LDC_TOOLS]).files[STATE_FILE]  # ldc-tools alone, LIVE on Green, dumped
# The exact undo of a switch toward Blue, last step first: the runtime back to Green, each file as it was.
UNDO_BLUE: dict[str, tuple[Change, ...]] = {
    "map": (TO_GREEN["map"][1], RestoreFile(MAP_FILE, MAP_BEFORE)),
    "servers": (RestoreFile(STATE_FILE, STATE_BEFORE), TO_GREEN["servers"][0]),
}


def fake_hosts(apps: Sequence[AppEnvironment], *names: str, live: Color = GREEN) -> dict[str, FakeHaproxy]:
    return {name: fake_host(name, apps, live) for name in names or ("lb1",)}


def environments(apps: Sequence[AppEnvironment], hosts: dict[str, FakeHaproxy]) -> Environments:
    return Environments(
        hosts=tuple(host.host for host in hosts.values()),
        ssh=SshSettings("state/known_hosts", None, "BLUEGREEN_SSH_KEY"),
        lock=LockSettings(),
        apps={each.name: each for each in apps},
    )


def desired(apps: Sequence[AppEnvironment], live: Color = BLUE) -> Desired:
    return Desired({each.name: DesiredApp(each.name, live) for each in apps})


NO_STATUS = Status()


# --- faults: FakeHaproxy's `fail` hook is told every change before it is made --------------------------------

Hook = Callable[[Change], Exception | None]


def toward(change: Change, color: Color) -> bool:
    """A runtime change that sends traffic to `color` (the persisted ones are left alone)."""
    if isinstance(change, SetMapEntry):
        return change.value == MAP.backends[color]
    if isinstance(change, SetServerStates):
        return (SERVERS.servers[color], "ready") in change.states
    return False


def refusing(color: Color, error: Exception | None = None) -> Hook:
    """HAProxy refuses the runtime change toward `color`."""
    fault = error or RuntimeApiError(f"HAProxy refused the switch to {color.title}")
    return lambda change: fault if toward(change, color) else None


def meanwhile(color: Color, then: Callable[[], object]) -> Hook:
    """No fault: `then` happens as the runtime change toward `color` is made (a color that breaks right after)."""

    def hook(change: Change) -> None:
        if toward(change, color):
            then()

    return hook


def combined(*hooks: Hook) -> Hook:
    """Every hook is told every change; the first fault found is raised."""

    def hook(change: Change) -> Exception | None:
        faults = [each(change) for each in hooks]
        return next((fault for fault in faults if fault is not None), None)

    return hook
