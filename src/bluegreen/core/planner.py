"""Desired vs observed -> plan. Pure: every rule of the original workflow is decided here, nothing is done.

Per app: which color is LIVE on each HAProxy host, which one is wanted, and whether the switch is allowed:
HAProxy knows both colors and sees the STANDBY as UP with a passing check, the STANDBY is healthy, runs a newer
version than the LIVE (not for a rollback to the previous LIVE) and the pinned version if any, and the LIVE
answers. An app that is already where it is wanted is a no-op. A STANDBY that HAProxy holds in maintenance on a
host to switch is not checked there: the plan says the release wakes it first (core/parked.py). An app whose
desired state was rolled back or failed before is held unless the run was asked for it (core/retry.py).

A host that routes to the wanted color but would not after a reload (what it keeps, the map file or the
server-state file, names another: a run killed between its runtime change and its file, a hand edit) needs its
switch made again, so that the next reload does not move its traffic. Beside hosts that must switch, it is one
more host of the switch. Alone, it is a repair (`AppPlan.repairs`): no traffic moves, so the rules about a STANDBY
coming in do not apply, and the release only makes what is kept agree.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bluegreen.core import drift, retry
from bluegreen.core import parked as parking
from bluegreen.core.checks import check_passing
from bluegreen.core.drift import LiveByHost
from bluegreen.core.versions import compare, label, plain, same_version
from bluegreen.errors import InputError, Location
from bluegreen.model import (
    AppEnvironment,
    AppObservation,
    AppPlan,
    AppStatus,
    Check,
    Color,
    Desired,
    DesiredApp,
    Environments,
    Kind,
    Observation,
    Parked,
    Plan,
    ReleaseRecord,
    ServerView,
    Status,
    Trigger,
)
from bluegreen.switching.base import persisted


def plan(
    desired: Desired,
    environments: Environments,
    status: Status,
    observation: Observation,
    trigger: Trigger = Trigger(),
    only: Sequence[str] = (),
) -> Plan:
    names = only or tuple(desired.apps)
    apps = []
    for name in names:
        recorded = status.apps.get(name, AppStatus())
        planned = plan_app(desired.apps[name], environments.apps[name], recorded, observation.apps[name])
        apps.append(retry.hold(planned, desired.apps[name], recorded.history, trigger))  # not retried by accident
    return Plan(tuple(apps), trigger)


def selected_apps(desired: Desired, only: Sequence[str], display: str) -> tuple[str, ...]:
    """The apps a run looks at: those named (each must be in live.json), else all of them."""
    for name in only:
        if name not in desired.apps:
            raise InputError(
                f"no app named {name!r}",
                hint=f"apps in {display}: {', '.join(sorted(desired.apps)) or 'none'}",
                location=Location(display, field="apps"),
            )
    return tuple(only) or tuple(desired.apps)


def plan_app(wanted: DesiredApp, app: AppEnvironment, recorded: AppStatus, seen: AppObservation) -> AppPlan:
    to = wanted.live
    live_by_host = drift.live_by_host(seen)
    moving = tuple(host for host, live in live_by_host.items() if live != to)
    repairs = drift.unkept(seen, to)
    hosts = tuple(host for host in seen.hosts if host in moving or host in repairs)
    source = to.other
    kind = _kind(recorded.history, source, to, seen.colors[to].version) if moving else "release"
    parked = tuple(p for host in moving for p in parking.parked_on(host, seen.hosts[host].servers.get(to, ())))
    checks: tuple[Check, ...] = ()
    if moving:
        checks = _checks(wanted, app, seen, source, kind, parked)
    elif repairs:
        checks = _repair_checks(app, seen, to)
    return AppPlan(
        app=wanted.name,
        action="noop" if not hosts else ("refuse" if any(not c.ok for c in checks) else "switch"),
        kind=kind,
        from_color=source if moving else to,
        to_color=to,
        from_version=seen.colors[source].version if moving else seen.colors[to.other].version,
        to_version=seen.colors[to].version,
        from_address=app.addresses[source] if moving else app.addresses[to],
        to_address=app.addresses[to],
        hosts=hosts,
        checks=checks,
        drift=_drift(recorded, live_by_host, seen, repairs),
        notes=_notes(kind, recorded, moving, repairs)
        + _repair_notes(seen, to, repairs)
        + parking.plan_notes(app, to, parked),
        parked=parked,
        repairs=repairs,
    )


def _kind(history: Iterable[ReleaseRecord], source: Color, to: Color, to_version: str | None) -> Kind:
    """A rollback switches back to the LIVE of before the last release that moved traffic, still on its version.
    That release may have succeeded, or failed and left its version LIVE: reverting it is what a team does then.
    Going forward again after a rollback is a release (the rollback is not rolled back)."""
    last = _last_switch(history)
    if last is None or last.kind == "rollback" or (last.from_color, last.to_color) != (to, source):
        return "release"
    return "rollback" if same_version(last.from_version, to_version) else "release"


def _last_switch(history: Iterable[ReleaseRecord]) -> ReleaseRecord | None:
    """The newest release that left traffic on its new color: a success, or a failure not switched back."""
    return next((record for record in history if record.result in ("success", "failed")), None)


def _checks(
    wanted: DesiredApp, app: AppEnvironment, seen: AppObservation, source: Color, kind: Kind, parked: Sequence[Parked]
) -> tuple[Check, ...]:
    to = wanted.live
    standby, live = seen.colors[to], seen.colors[source]
    checks = [
        *_routing_checks(app, seen, to, parked),
        *_readiness_checks(app, seen, to),
        Check(
            "STANDBY healthy",
            standby.healthy,
            f"{standby.passed}/{standby.asked} health probes passed" + (f": {standby.error}" if standby.error else ""),
        ),
        _version_rule(kind, live.version, standby.version),
    ]
    if wanted.version is not None:
        checks.append(_pin(wanted.version, standby.version))
    checks.append(
        Check(
            "LIVE responds",
            live.version is not None and live.error is None,
            live.error or f"{source.title} answers, {label(live.version)}",
            about="live",
        )
    )
    return tuple(checks)


def _repair_checks(app: AppEnvironment, seen: AppObservation, to: Color) -> tuple[Check, ...]:
    """Nothing moves: every host already routes to `to`, and the STANDBY stays where it is. What must hold is that
    the switch can be made and kept where it is made again (asked once the plan is known)."""
    detail = (
        f"every HAProxy host already routes to {to.title}: the switch is only made again where a reload would not "
        "keep it, so the rules about a STANDBY coming in do not apply"
    )
    return (Check(f"traffic stays on {to.title}", True, detail), *_readiness_checks(app, seen, to))


def _routing_checks(app: AppEnvironment, seen: AppObservation, to: Color, parked: Sequence[Parked]) -> list[Check]:
    """Per host: the routing names a known color, and HAProxy itself sees the STANDBY as UP with a passing check,
    or holds it in maintenance where the release wakes it first."""
    checks = []
    for host, view in seen.hosts.items():
        known = view.live is not None
        checks.append(
            Check(f"{host}: routing known", known, f"routes to {view.routing}" if known else view.routing, "live", host)
        )
        servers = view.servers.get(to, ())
        woken = [p for p in parked if p.host == host]
        if woken:
            detail = parking.plan_detail(woken, app.verify.standby_check_wait_s)
            checks.append(Check(f"{host}: STANDBY woken from maintenance first", True, detail, host=host))
            continue
        passing = bool(servers) and all(check_passing(server) for server in servers)
        checks.append(Check(f"{host}: HAProxy sees STANDBY UP", passing, _servers_detail(app, to, servers), host=host))
    return checks


def _readiness_checks(app: AppEnvironment, seen: AppObservation, to: Color) -> list[Check]:
    """Per host asked (the engine asks the hosts that must change): the switch can be made and kept there."""
    files = ", ".join(file.path for file in persisted(app.switch.steps(to)))
    kept = f"; {files} can be replaced" if files else ""
    return [
        Check(
            f"{host}: switch can be made and kept",
            not view.unready,
            "; ".join(view.unready) or f"level admin{kept}",
            "live",
            host,
        )
        for host, view in seen.hosts.items()
        if view.unready is not None
    ]


def _servers_detail(app: AppEnvironment, to: Color, servers: Iterable[ServerView]) -> str:
    rows = [f"{s.backend}/{s.server} {s.status} {s.check_status or 'not checked'}" for s in servers]
    if rows:
        return ", ".join(rows)
    target = app.switch.target(to)
    return f"HAProxy has no server for {target}: check the names in environments.json against haproxy.cfg"


def _version_rule(kind: Kind, live: str | None, standby: str | None) -> Check:
    name = "STANDBY newer than LIVE"
    if kind == "rollback":
        shown = label(standby)
        return Check(name, True, f"rollback to the previous LIVE ({shown}): the newer-version rule is skipped")
    order = compare(standby, live)
    if order is None:
        return Check(name, False, f"cannot compare {label(standby)} and {label(live)}: not semantic versions")
    verdict = "newer than" if order > 0 else ("the same as" if order == 0 else "older than")
    return Check(name, order > 0, f"STANDBY {label(standby)} is {verdict} LIVE {label(live)}")


def _pin(pinned: str, standby: str | None) -> Check:
    """Exactly the approved version: `2.4.1+build.7` is not `2.4.1+build.9` (semver ignores build metadata)."""
    ok = standby is not None and plain(pinned) == plain(standby)
    verdict = "matches" if ok else "does not match"
    return Check(
        "STANDBY runs the pinned version", ok, f"STANDBY runs {label(standby)}, which {verdict} {label(pinned)}"
    )


def _drift(
    recorded: AppStatus, live_by_host: LiveByHost, seen: AppObservation, repairs: Sequence[str]
) -> tuple[str, ...]:
    """The plan's words for the drift rule (core.drift); a host whose switch is made again says so in a note."""
    lines = []
    if drift.hosts_disagree(live_by_host):
        lines.append("HAProxy hosts disagree: " + ", ".join(f"{h} → {_title(c)}" for h, c in live_by_host.items()))
    lines += [_kept_drift(host, seen) for host in drift.kept_apart(seen) if host not in repairs]
    if recorded.live is None:  # nothing recorded yet: the plan of a first release says what it will record
        return tuple(lines)
    record = recorded.live.color
    said = f"status.json records {record.title} as LIVE"
    lines += [
        f"{said}, {host} routes to {_title(live_by_host[host])}" for host in drift.drifted_hosts(live_by_host, record)
    ]
    return tuple(lines)


def _kept_drift(host: str, seen: AppObservation) -> str:
    view = seen.hosts[host]
    assert view.kept is not None  # (kept_apart: only a host that keeps something is apart from it)
    return f"{host} routes to {_title(view.live)}, but {drift.on_reload(view.kept, view.live)}"


def _repair_notes(seen: AppObservation, to: Color, repairs: Sequence[str]) -> tuple[str, ...]:
    """Per host whose switch is made again: what a reload would do now, and that the release keeps `to`."""
    notes = []
    for host in repairs:
        kept = seen.hosts[host].kept
        assert kept is not None  # (drift.unkept: only a host that keeps something can keep the wrong color)
        notes.append(f"{host}: {drift.on_reload(kept, to)}: the switch is made again to keep it")
    return tuple(notes)


def _notes(kind: Kind, recorded: AppStatus, moving: Sequence[str], repairs: Sequence[str]) -> tuple[str, ...]:
    if not moving and not repairs:
        return ("already LIVE on every HAProxy host: nothing to switch",)
    if not moving:
        return ("already LIVE on every HAProxy host: no traffic moves",)
    last = _last_switch(recorded.history)
    if kind == "rollback" and last is not None:
        origin = f" (PR #{last.pr})" if last.pr else ""
        return (f"rollback of the release {label(last.from_version)} → {label(last.to_version)}{origin}",)
    return ()


def _title(color: Color | None) -> str:
    return color.title if color else "neither color"
