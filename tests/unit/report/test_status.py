"""`bluegreen status`: routing per HAProxy host, health per color, drift against status.json."""

from __future__ import annotations

import json

import pytest

from bluegreen.model import (
    AppEnvironment,
    AppObservation,
    AppStatus,
    Color,
    ColorProbe,
    ColorRecord,
    Endpoint,
    Environments,
    HaproxyHost,
    HostAppView,
    HostInfo,
    Kept,
    LockSettings,
    Observation,
    Probes,
    PublicEntry,
    ServerView,
    SshSettings,
    Status,
    VerifySettings,
)
from bluegreen.report import status_json, status_markdown, status_text
from bluegreen.report.status import app_drift, uptime_label
from bluegreen.switching import MapSwitch

BLUE, GREEN = Color.BLUE, Color.GREEN
ADDRESSES = {BLUE: "127.0.0.1:3101", GREEN: "127.0.0.1:3102"}


def environments(*apps: str, hosts: tuple[str, ...] = ("lb1", "lb2")) -> Environments:
    def host(name: str) -> HaproxyHost:
        return HaproxyHost(name, Endpoint("127.0.0.1", 2222, "root"), "/run/admin.sock", "/run/bluegreen.lock")

    def app(name: str) -> AppEnvironment:
        switch = MapSwitch("/etc/haproxy/apps.map", name, {BLUE: f"{name}_blue", GREEN: f"{name}_green"})
        return AppEnvironment(
            name, switch, ADDRESSES, Probes(), PublicEntry("http://127.0.0.1:8080/"), VerifySettings()
        )

    ssh = SshSettings("state/known_hosts", None, "BLUEGREEN_SSH_KEY")
    return Environments(tuple(host(name) for name in hosts), ssh, LockSettings(), {name: app(name) for name in apps})


def view(host: str, live: Color | None, routing: str = "", kept: Kept | None = None) -> HostAppView:
    """A host's view; what it keeps names `live` unless `kept` says otherwise."""
    server = ServerView("theoshift_blue", "app", "UP", "L7OK", 3, 0, 100)
    kept = kept or Kept(live, f"the map file /m.map names theoshift_{live or 'none'}")
    return HostAppView(host, live, routing or f"theoshift_{live or 'none'}", {BLUE: (server,), GREEN: ()}, kept=kept)


def seen(name: str, *views: HostAppView, green_error: str | None = None) -> AppObservation:
    colors = {
        BLUE: ColorProbe(BLUE, ADDRESSES[BLUE], 3, 3, "2.4.1"),
        GREEN: ColorProbe(GREEN, ADDRESSES[GREEN], 0 if green_error else 3, 3, "v2.4.0", green_error),
    }
    return AppObservation(name, {one.host: one for one in views}, colors)


def recorded(live: Color) -> AppStatus:
    version = {BLUE: "2.4.1", GREEN: "2.4.0"}
    return AppStatus(
        ColorRecord(live, version[live], ADDRESSES[live]), ColorRecord(live.other, version[live.other], "")
    )


EDITED = Kept(GREEN, "the map file /m.map names t_green")  # a hand edit: a reload would flip traffic
UNREADABLE = Kept(None, "the map file /m.map cannot be read: lb1: cannot start SFTP", readable=False)
HOSTS = {"lb1": HostInfo("lb1", "2.6.12", 3 * 3600 + 125, 4242)}
AGREEING = Observation(HOSTS, {"theoshift": seen("theoshift", view("lb1", BLUE), view("lb2", BLUE))})
SPLIT = Observation(
    HOSTS, {"theoshift": seen("theoshift", view("lb1", BLUE), view("lb2", GREEN), green_error="connection refused")}
)
STATUS = Status({"theoshift": recorded(BLUE)}, updated_at="2026-11-24T00:00:00Z")


def test_markdown_shows_hosts_routing_health_versions_and_addresses() -> None:
    report = status_markdown(AGREEING, environments("theoshift"), STATUS).splitlines()
    assert report[0] == "## bluegreen status"
    assert "state/status.json last updated at 2026-11-24T00:00:00Z" in report
    assert "| lb1 | 2.6.12 | 3h 2m | 4242 |" in report
    assert "| lb2 | ❌ not reached |  |  |" in report
    assert "<summary>✅ theoshift</summary>" in report  # no drift: its section starts closed
    assert "| lb1 | Blue | theoshift\\_blue | Blue |" in report
    assert "| Blue | LIVE | ✅ 3/3 probes passed | v2.4.1 | 127.0.0.1:3101 |" in report
    assert "| Green | STANDBY | ✅ 3/3 probes passed | v2.4.0 | 127.0.0.1:3102 |" in report
    assert "Recorded in state/status.json: LIVE Blue (127.0.0.1:3101) - v2.4.1, STANDBY Green - v2.4.0" in report
    assert report[-3:] == ["✅ No drift: HAProxy and state/status.json agree", "", "</details>"]


def test_drift_is_shown_per_host_and_an_unhealthy_color_says_why() -> None:
    report = status_text(SPLIT, environments("theoshift"), STATUS).splitlines()
    assert report[-1] == "  - ⚠️ Drift: lb2: HAProxy's LIVE is Green, state/status.json records Blue"
    assert any(line.startswith("Blue   LIVE on lb1  ✅ 3/3 probes passed ") for line in report)
    assert any(line.startswith("Green  LIVE on lb2  ❌ 0/3 probes passed (connection refused)") for line in report)
    assert "\x1b" not in "\n".join(report)


@pytest.mark.parametrize(
    ("observation", "status", "drift"),
    [
        (AGREEING, STATUS, ()),
        (
            AGREEING,
            Status({"theoshift": recorded(GREEN)}),
            (
                "lb1: HAProxy's LIVE is Blue, state/status.json records Green",
                "lb2: HAProxy's LIVE is Blue, state/status.json records Green",
            ),
        ),
        (
            AGREEING,
            Status(),
            (
                "lb1: HAProxy's LIVE is Blue, state/status.json records no LIVE",
                "lb2: HAProxy's LIVE is Blue, state/status.json records no LIVE",
            ),
        ),
        (
            Observation(HOSTS, {"theoshift": seen("theoshift", view("lb1", None, "garbage|<b>"))}),
            STATUS,
            ("lb1: HAProxy routes to neither color (garbage|<b>)",),
        ),
        (Observation(HOSTS, {}), STATUS, ()),
        (
            Observation(HOSTS, {"theoshift": seen("theoshift", view("lb1", BLUE, kept=EDITED), view("lb2", BLUE))}),
            STATUS,
            ("lb1: HAProxy routes to Blue, but a reload would route to Green (the map file /m.map names t_green)",),
        ),
        (
            Observation(HOSTS, {"theoshift": seen("theoshift", view("lb1", BLUE, kept=UNREADABLE))}),
            STATUS,
            (
                "lb1: HAProxy routes to Blue, but what a reload would route to is not known (the map file /m.map "
                "cannot be read: lb1: cannot start SFTP)",
            ),
        ),
    ],
)
def test_app_drift(observation: Observation, status: Status, drift: tuple[str, ...]) -> None:
    assert app_drift("theoshift", observation, status) == drift


def test_an_app_not_observed_says_so_and_shows_the_record() -> None:
    report = status_markdown(Observation(HOSTS, {}), environments("theoshift"), STATUS).splitlines()
    assert "<details open>" in report
    assert report[-5:-2] == [
        "❌ not observed",
        "",
        "Recorded in state/status.json: LIVE Blue (127.0.0.1:3101) - v2.4.1, STANDBY Green - v2.4.0",
    ]


def test_what_a_reload_would_route_to_is_shown_beside_what_hosts_route_to() -> None:
    servers = HostAppView("lb2", BLUE, "ldc_tools/blue ready, ldc_tools/green drain", {})
    observation = Observation(
        HOSTS,
        {"theoshift": seen("theoshift", view("lb1", BLUE, kept=EDITED), servers, view("lb3", BLUE, kept=UNREADABLE))},
    )
    report = status_markdown(observation, environments("theoshift", hosts=("lb1", "lb2", "lb3")), STATUS).splitlines()
    assert "| HAProxy host | LIVE | Routing | After a reload |" in report
    assert "| lb1 | Blue | theoshift\\_blue | Green |" in report
    assert (
        "| lb2 | Blue | ldc\\_tools/blue ready, ldc\\_tools/green drain | as haproxy.cfg says (nothing is kept) |"
        in report
    )
    assert "| lb3 | Blue | theoshift\\_blue | not known |" in report
    assert any(
        line.startswith("- ⚠️ Drift: lb1: HAProxy routes to Blue, but a reload would route to Green") for line in report
    )


def test_hostile_routing_cannot_break_the_table() -> None:
    observation = Observation(HOSTS, {"theoshift": seen("theoshift", view("lb1", None, "a|b\n<script>"))})
    report = status_markdown(observation, environments("theoshift", hosts=("lb1",)), STATUS)
    assert "| lb1 | neither color | a\\|b &lt;script&gt; | neither color |" in report.splitlines()


def test_json_has_stable_keys_and_serialises() -> None:
    data = status_json(SPLIT, environments("theoshift", "ldc-tools"), STATUS)
    assert json.loads(json.dumps(data)) == data
    assert data["updated_at"] == "2026-11-24T00:00:00Z"
    assert data["hosts"] == {"lb1": {"version": "2.6.12", "uptime_s": 10925, "pid": 4242}, "lb2": None}
    apps = data["apps"]
    assert list(apps) == ["theoshift", "ldc-tools"]  # type: ignore[call-overload]
    theoshift = apps["theoshift"]  # type: ignore[index]
    assert theoshift["recorded_live"] == {"color": "blue", "version": "2.4.1", "address": "127.0.0.1:3101"}
    assert (theoshift["observed"], theoshift["observed_live"]) == (True, None)
    assert theoshift["hosts"]["lb2"]["live"] == "green"
    assert theoshift["hosts"]["lb2"]["kept"] == {
        "live": "green",
        "text": "the map file /m.map names theoshift_green",
        "readable": True,
    }
    assert theoshift["hosts"]["lb1"]["servers"]["blue"][0]["sessions"] == 3
    assert theoshift["colors"]["green"] == {
        "address": "127.0.0.1:3102",
        "healthy": False,
        "passed": 0,
        "asked": 3,
        "version": "v2.4.0",
        "error": "connection refused",
    }
    assert theoshift["drift"] == ["lb2: HAProxy's LIVE is Green, state/status.json records Blue"]
    assert apps["ldc-tools"] == {  # type: ignore[index]
        "recorded_live": None,
        "recorded_standby": None,
        "observed": False,
        "observed_live": None,
        "hosts": {},
        "colors": {},
        "drift": [],
    }


@pytest.mark.parametrize(
    ("seconds", "label"),
    [(0, "0s"), (59, "59s"), (61, "1m 1s"), (3_600, "1h 0m"), (90_061, "1d 1h"), (-5, "0s")],
)
def test_uptime_label(seconds: int, label: str) -> None:
    assert uptime_label(seconds) == label
