"""What a release did, as the report and the record tell it: one app's outcome from its plan, what was seen
and what happened. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from bluegreen.errors import INTERRUPTED_EXIT_CODE, RESULT_EXIT_CODES
from bluegreen.model import (
    AppObservation,
    AppOutcome,
    AppPlan,
    Check,
    ColorRecord,
    Observation,
    Outcome,
    Plan,
    Result,
    Step,
    StepName,
)


def exit_code(outcome: Outcome) -> int:
    """How a finished run ends the process, for both faces (README, "The command line": exit codes). An
    interrupted release is 130, whatever it switched before the signal, unless it has worse to say: a switch
    back (4) or traffic that could not be restored (5)."""
    if outcome.interrupted and outcome.result not in ("rolled_back", "failed"):
        return INTERRUPTED_EXIT_CODE
    return RESULT_EXIT_CODES[outcome.result]


def dry_run(plan: Plan, observation: Observation, at: str) -> Outcome:
    """The release's outcome as merging would make it, with nothing done."""
    apps = tuple(would(app, observation.apps[app.app], plan) for app in plan.apps)
    return Outcome(apps, plan.trigger, at, dry_run=True, refusal=plan.refusal)


def preflight_steps(plan: AppPlan, woken: Check | None = None) -> tuple[Step, ...]:
    """The plan's checks as the first two steps; `woken`: how waking a STANDBY parked in maintenance went."""
    checks = plan.checks if woken is None else (woken, *plan.checks)
    return (
        checks_step("Verify STANDBY ready", checks, "standby"),
        checks_step("Verify LIVE", checks, "live"),
    )


def checks_step(name: StepName, checks: Sequence[Check], about: str) -> Step:
    mine = [check for check in checks if check.about == about]
    failed = [check for check in mine if not check.ok]
    shown = failed or mine
    return Step(name, not failed, "; ".join(f"{c.name}: {c.detail}" for c in shown))


def would(app: AppPlan, seen: AppObservation, plan: Plan) -> AppOutcome:
    if app.action in ("noop", "hold"):  # a held app changes nothing, and holds back no other
        return unswitched(app, seen, "noop")
    if app.action == "refuse":
        return unswitched(app, seen, "refused")
    return unswitched(app, seen, "refused", held_back(plan)) if plan.refused else unswitched(app, seen, "success")


def held_back(plan: Plan) -> str:
    """One request, one verdict: an app that could switch waits when another app of the same request cannot."""
    if plan.refusal is not None:
        return f"refused, nothing was changed: {plan.refusal}"
    refused = ", ".join(app.app for app in plan.apps if app.action == "refuse")
    return f"held back, nothing was changed: {refused} was refused, and a release switches all its apps or none"


def unswitched(plan: AppPlan, seen: AppObservation, result: Result, reason: str | None = None) -> AppOutcome:
    steps = preflight_steps(plan) if plan.checks else ()
    reason = reason or plan.held or "; ".join(f"{c.name}: {c.detail}" for c in plan.refusals) or None
    return app_outcome(plan, seen, steps, result, reason, plan.action == "noop")


def app_outcome(
    plan: AppPlan,
    seen: AppObservation,
    steps: tuple[Step, ...],
    result: Result,
    reason: str | None,
    new_live: bool,
    hosts: Mapping[str, str] | None = None,
    durations: Mapping[str, float] | None = None,
    switch_ms: float | None = None,
    draining: int | None = None,
) -> AppOutcome:
    live = plan.to_color if new_live else plan.from_color
    standby = live.other  # (a no-op's from_color is its to_color: the STANDBY is always the other one)
    record = {c: ColorRecord(c, seen.colors[c].version, seen.colors[c].address) for c in (live, standby)}
    total = {**durations, "total": sum(durations.values())} if durations else {}
    return AppOutcome(
        plan, result, steps, dict(hosts or {}), total, switch_ms, draining, record[live], record[standby], reason
    )


def recorded(outcome: Outcome, ok: bool, detail: str) -> Outcome:
    """Add the last step, now that status.json was (or could not be) written."""
    step = Step("Update state tracking", ok, detail)
    return replace(
        outcome,
        apps=tuple(
            replace(app, steps=(*app.steps, step)) if app.result not in ("noop", "refused") else app
            for app in outcome.apps
        ),
    )


def switch_detail(hosts: Mapping[str, str], slowest_ms: float | None) -> str:
    timing = f" in {slowest_ms:.1f} ms" if slowest_ms is not None else ""
    return ", ".join(f"{host}: {result}" for host, result in hosts.items()) + timing
