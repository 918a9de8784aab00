"""The reports at a glance: the table each one opens with, one row per app, and the plan's checks per host. Pure.

The release report (the PR comment and the job summary) opens with what a reader looks for first: where LIVE was
and is, the versions, the result, how long the switch took and how many of the users' requests failed while it
did. The plan opens with what merging would do and how each HAProxy host's checks went. The detail stays below,
in each app's collapsible section (report/outcome.py). `bluegreen status` opens with where each app's LIVE is,
what bluegreen's record says, each color's health, and the drift between them (core/drift.py's watch).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from bluegreen.core.drift import AppDrift
from bluegreen.core.versions import label
from bluegreen.model import (
    AppObservation,
    AppOutcome,
    AppPlan,
    AppStatus,
    Check,
    Color,
    ColorProbe,
    Observation,
    Outcome,
    Result,
    Status,
    SwitchTraffic,
)
from bluegreen.report.doc import Span, Spans, Table, Tone, mark

RESULT_TONES: dict[Result, Tone] = {
    "success": "ok",
    "noop": "skip",
    "refused": "warn",
    "rolled_back": "warn",
    "failed": "bad",
}
NONE = "—"  # nothing measured, or nothing to say
APP_CHECKS = "app servers"  # where the checks made on no HAProxy host are shown: health, versions


def release_table(outcome: Outcome) -> Table:
    header = ("App", "LIVE", "Versions", "Result", "Switch", "Failed requests")
    return Table(header, tuple(_release_row(app) for app in outcome.apps))


def _release_row(app: AppOutcome) -> tuple[Spans, ...]:
    return (
        (app.plan.app,),
        (_live_change(app),),
        (_versions(app.plan, app),),
        (mark(RESULT_TONES[app.result]), f" {_result_word(app)}"),
        (_switch_time(app.durations_ms, app.switch_ms),),
        _failed_requests(app.traffic),
    )


def _live_change(app: AppOutcome) -> str:
    plan = app.plan
    before, after = plan.from_color.title, app.live.color.title if app.live else "unknown"
    if plan.action == "hold":
        return f"{before}, held"
    match app.result:
        case "noop":
            return plan.to_color.title
        case "refused":
            return f"{before}, kept"
        case "rolled_back":
            return f"{before}, back from {plan.to_color.title}"
        case _:
            return f"{before} → {after}"


def _versions(plan: AppPlan, app: AppOutcome | None = None) -> str:
    if plan.action == "hold":  # LIVE's version stays; the one not tried again is named
        return f"{label(plan.from_version)} ({label(plan.to_version)} held)"
    if plan.action == "noop":
        live = app.live.version if app is not None and app.live is not None else plan.to_version
        return label(live)
    return f"{label(plan.from_version)} → {label(plan.to_version)}"


def _result_word(app: AppOutcome) -> str:
    plan = app.plan
    if plan.action == "hold":
        return "held: not tried again"
    match app.result:
        case "success":
            return "switched back (rollback)" if plan.kind == "rollback" else "switched"
        case "noop":
            return "nothing to do"
        case "refused":
            return "refused: nothing changed"
        case "rolled_back":
            return "failed, switched back"
        case _:
            return "FAILED: act by hand"


def _switch_time(durations_ms: Mapping[str, float], switch_ms: float | None) -> str:
    """The switch step, every host's; else the HAProxy commands alone; else nothing was switched."""
    if "switch" in durations_ms:
        return f"{durations_ms['switch']:.0f} ms"
    return f"{switch_ms:.1f} ms" if switch_ms is not None else NONE


def _failed_requests(traffic: SwitchTraffic | None) -> Spans:
    if traffic is None:
        return (NONE,)
    return (mark("ok" if traffic.failed == 0 else "bad"), f" {traffic.failed} of {traffic.requests}")


# --- the plan ---------------------------------------------------------------------------------------------------


def plan_table(outcome: Outcome) -> Table:
    header = ("App", "LIVE", "Versions", "Merging would", "Checks")
    return Table(header, tuple(_plan_row(app.plan) for app in outcome.apps))


def _plan_row(plan: AppPlan) -> tuple[Spans, ...]:
    live = f"{plan.from_color.title} → {plan.to_color.title}"
    live = {"noop": plan.to_color.title, "hold": f"{plan.from_color.title}, held"}.get(plan.action, live)
    return ((plan.app,), (live,), (_versions(plan),), _would(plan), _checks_by_host(plan.checks))


def _would(plan: AppPlan) -> Spans:
    if plan.action == "noop":
        return (mark("skip"), " change nothing")
    if plan.action == "hold":
        return (mark("skip"), " hold it: not tried again")
    return (mark("warn"), " be refused") if plan.refusals else (mark("ok"), " switch")


def _checks_by_host(checks: Iterable[Check]) -> Spans:
    """`lb1 ✅ · lb2 ❌ · app servers ✅`: a host is ✅ when every check made there passed."""
    spans: list[Span] = []
    for index, (where, group) in enumerate(by_host(checks).items()):
        spans += [" · "] if index else []
        spans += [f"{where} ", mark("ok" if all(check.ok for check in group) else "bad")]
    return tuple(spans) if spans else (NONE,)


def by_host(checks: Iterable[Check]) -> dict[str, list[Check]]:
    """The checks by the HAProxy host they were made on, hosts in the order first met; the others last."""
    grouped: dict[str, list[Check]] = {}
    for check in sorted(checks, key=lambda check: check.host is None):
        grouped.setdefault(check.host or APP_CHECKS, []).append(check)
    return grouped


def checks_table(checks: Iterable[Check]) -> Table:
    """Every check of a plan, host by host: where, what, and how it went."""
    rows = tuple(
        ((where,), (_check_name(check),), (mark("ok" if check.ok else "bad"), *_detail(check)))
        for where, group in by_host(checks).items()
        for check in group
    )
    return Table(("Where", "Check", "Result"), rows)


def _check_name(check: Check) -> str:
    return check.name.removeprefix(f"{check.host}: ") if check.host else check.name


def _detail(check: Check) -> Spans:
    return (f" {check.detail}",) if check.detail else ()


# --- status: the drift watch ------------------------------------------------------------------------------------


def status_table(drifts: Iterable[AppDrift], observation: Observation, status: Status) -> Table:
    header = ("App", "HAProxy LIVE", "Recorded LIVE", "Blue", "Green", "Drift")
    return Table(header, tuple(_status_row(drift, observation.apps[drift.app], status) for drift in drifts))


def _status_row(drift: AppDrift, seen: AppObservation, status: Status) -> tuple[Spans, ...]:
    record = status.apps.get(drift.app, AppStatus()).live
    recorded = f"{record.color.title} {label(record.version)}" if record else "none yet"
    words = drift_words(drift)
    found: Spans = (mark("warn"), " " + "; ".join(words)) if words else (mark("ok"), " none")
    if not words and drift.recorded is None:
        found = (mark("skip"), " none: no release recorded yet")
    colors = tuple(_health(seen.colors.get(color)) for color in Color)
    return ((drift.app,), (_haproxy_live(drift),), (recorded,), *colors, found)


def _haproxy_live(drift: AppDrift) -> str:
    colors = set(drift.live.values())
    if len(colors) == 1:
        return _title(next(iter(colors)))
    return " · ".join(f"{host} {_title(color)}" for host, color in drift.live.items())


def _health(probe: ColorProbe | None) -> Spans:
    if probe is None:
        return (mark("skip"), " not probed")
    return (mark("ok"), f" {label(probe.version)}") if probe.healthy else (mark("bad"), " down")


def drift_words(drift: AppDrift) -> tuple[str, ...]:
    """What a drift watch found for one app, a few words each: the issue's list and the table's cell."""
    words = ["HAProxy hosts disagree"] if drift.disagree else []
    for host in drift.drifted:
        color = drift.live[host]
        if color is None or drift.recorded is None:
            words.append(f"{host} routes to neither color")
        else:
            words.append(f"{host} routes to {color.title}, recorded {drift.recorded.title}")
    words += [f"{host}: a reload would route elsewhere" for host in drift.kept]
    return (*words, *(f"{color.title} down" for color in drift.down))


def _title(color: Color | None) -> str:
    return color.title if color else "neither color"
