"""Orchestration: walk the plan through the adapters. Pre-flight -> switch (all hosts or none) -> verify ->
switch back if verification fails -> record what was observed.

`plan` and `release` share everything up to the switch: a dry run is the same plan, stopped before it acts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, replace

from . import planner
from .model import (
    AppEnvironment,
    AppObservation,
    AppOutcome,
    AppPlan,
    Check,
    ColorRecord,
    Desired,
    Environments,
    HaproxyHost,
    Observation,
    Outcome,
    Plan,
    Result,
    Status,
    Step,
    Trigger,
)
from .observe import Clients, observe
from .ssh import Credentials, HostSession, SshHost, connect
from .switch import switch_all
from .verify import Progress, verify

SaveStatus = Callable[[Outcome], str | None]  # records the outcome; returns an error to report, or None


@dataclass(frozen=True)
class Request:
    desired: Desired
    environments: Environments
    status: Status
    only: tuple[str, ...] = ()
    trigger: Trigger = Trigger()


@asynccontextmanager
async def connected(hosts: Sequence[HaproxyHost], credentials: Credentials) -> AsyncIterator[dict[str, SshHost]]:
    """Every HAProxy host connected concurrently, each once for the whole run; all closed at the end."""
    results = await asyncio.gather(*(connect(host, credentials) for host in hosts), return_exceptions=True)
    sessions = [r for r in results if isinstance(r, SshHost)]
    try:
        failure = next((r for r in results if isinstance(r, BaseException)), None)
        if failure is not None:
            raise failure
        yield {session.host.name: session for session in sessions}
    finally:
        await asyncio.gather(*(session.close() for session in sessions), return_exceptions=True)


@asynccontextmanager
async def locked(sessions: Mapping[str, SshHost], holder: str, wait_s: float) -> AsyncIterator[None]:
    """Every host's release lock, taken in a fixed order so two runs cannot each hold half."""
    async with AsyncExitStack() as stack:
        for name in sorted(sessions):
            await stack.enter_async_context(sessions[name].lock(holder, wait_s))
        yield


async def preflight(
    request: Request, sessions: Mapping[str, HostSession], clients: Clients
) -> tuple[Plan, Observation, float]:
    start = time.perf_counter()
    names = request.only or tuple(request.desired.apps)
    observation = await observe(sessions, request.environments, names, clients)
    plan = planner.plan(
        request.desired, request.environments, request.status, observation, request.trigger, request.only
    )
    return plan, observation, _ms(start)


def dry_run(plan: Plan, observation: Observation, at: str) -> Outcome:
    apps = tuple(_unswitched(app, observation, "noop" if app.action == "noop" else "success") for app in plan.apps)
    return Outcome(
        tuple(replace(app, result="refused") if app.plan.action == "refuse" else app for app in apps),
        plan.trigger,
        at,
        dry_run=True,
    )


async def release(
    request: Request,
    sessions: Mapping[str, HostSession],
    clients: Clients,
    progress: Progress,
    save: SaveStatus,
    at: str,
) -> Outcome:
    plan, observation, preflight_ms = await preflight(request, sessions, clients)
    if plan.refused:
        progress("pre-flight refused the release: nothing was changed")
        outcomes = tuple(
            _unswitched(app, observation, "refused" if app.action != "noop" else "noop") for app in plan.apps
        )
    else:
        outcomes = tuple(
            [
                await _release_app(
                    request.environments.apps[app.app],
                    app,
                    observation.apps[app.app],
                    sessions,
                    clients,
                    progress,
                    preflight_ms,
                )
                if app.action == "switch"
                else _unswitched(app, observation, "noop")
                for app in plan.apps
            ]
        )
    outcome = Outcome(outcomes, plan.trigger, at)
    return _recorded(outcome, save(outcome))


async def _release_app(
    app: AppEnvironment,
    plan: AppPlan,
    seen: AppObservation,
    sessions: Mapping[str, HostSession],
    clients: Clients,
    progress: Progress,
    preflight_ms: float,
) -> AppOutcome:
    start = time.perf_counter()
    progress(f"{app.name}: switching {plan.from_color.title} → {plan.to_color.title} on {', '.join(plan.hosts)}")
    switched = await switch_all(sessions, plan.hosts, app, plan.to_color)
    switch_ms = _ms(start)
    steps = _preflight_steps(plan)
    if not switched.ok:
        reason = "switch failed, every host was switched back: " + "; ".join(switched.errors)
        failed = any("NOT restored" in result for result in switched.hosts.values())
        return _finished(
            plan,
            seen,
            steps,
            "failed" if failed else "rolled_back",
            switched.hosts,
            reason,
            {"preflight": preflight_ms, "switch": switch_ms},
            None,
            None,
        )
    steps += (Step("Switch HAProxy traffic", True, _switch_detail(switched.hosts, switched.slowest_ms)),)
    progress(f"{app.name}: verifying that users reach {plan.to_color.title}")
    start = time.perf_counter()
    verdict = await verify(sessions, app, plan.to_color, plan.to_version, seen, clients, progress)
    durations = {"preflight": preflight_ms, "switch": switch_ms, "verify": _ms(start)}
    if verdict.ok:
        return _finished(
            plan,
            seen,
            (*steps, Step("Confirm switch", True, verdict.detail)),
            "success",
            switched.hosts,
            None,
            durations,
            switched.slowest_ms,
            verdict.draining,
        )
    return await _switch_back(
        app, plan, seen, sessions, steps, verdict.detail, durations, switched.slowest_ms, progress
    )


async def _switch_back(
    app: AppEnvironment,
    plan: AppPlan,
    seen: AppObservation,
    sessions: Mapping[str, HostSession],
    steps: tuple[Step, ...],
    failure: str,
    durations: dict[str, float],
    switch_ms: float | None,
    progress: Progress,
) -> AppOutcome:
    steps += (Step("Confirm switch", False, failure),)
    if not app.verify.rollback_on_failure:
        reason = f"verification failed and automatic rollback is off: {plan.to_color.title} stays LIVE: {failure}"
        return _finished(
            plan,
            seen,
            steps,
            "failed",
            {h: "switched" for h in plan.hosts},
            reason,
            durations,
            switch_ms,
            None,
            live_is_new=True,
        )
    progress(f"{app.name}: verification failed, switching back to {plan.from_color.title}")
    back = await switch_all(sessions, plan.hosts, app, plan.from_color)
    hosts = {h: ("restored" if back.ok else f"NOT restored: {r}") for h, r in back.hosts.items() if h in plan.hosts}
    result: Result = "rolled_back" if back.ok else "failed"
    reason = (
        f"verification failed, traffic {'is back on' if back.ok else 'could NOT be returned to'} "
        f"{plan.from_color.title}: {failure}"
    )
    return _finished(plan, seen, steps, result, hosts, reason, durations, switch_ms, None)


def _preflight_steps(plan: AppPlan) -> tuple[Step, ...]:
    return (
        _checks_step("Verify STANDBY ready", plan.checks, "standby"),
        _checks_step("Verify LIVE", plan.checks, "live"),
    )


def _checks_step(name: str, checks: Sequence[Check], about: str) -> Step:
    mine = [check for check in checks if check.about == about]
    failed = [check for check in mine if not check.ok]
    shown = failed or mine
    return Step(name, not failed, "; ".join(f"{c.name}: {c.detail}" for c in shown))  # type: ignore[arg-type]


def _unswitched(plan: AppPlan, observation: Observation, result: Result) -> AppOutcome:
    seen = observation.apps[plan.app]
    steps = _preflight_steps(plan) if plan.checks else ()
    reason = "; ".join(f"{c.name}: {c.detail}" for c in plan.refusals) or None
    return _finished(plan, seen, steps, result, {}, reason, {}, None, None, live_is_new=plan.action == "noop")


def _finished(
    plan: AppPlan,
    seen: AppObservation,
    steps: tuple[Step, ...],
    result: Result,
    hosts: Mapping[str, str],
    reason: str | None,
    durations: Mapping[str, float],
    switch_ms: float | None,
    draining: int | None,
    *,
    live_is_new: bool | None = None,
) -> AppOutcome:
    new_live = result == "success" if live_is_new is None else live_is_new
    live, standby = (plan.to_color, plan.from_color) if new_live else (plan.from_color, plan.to_color)
    record = {c: ColorRecord(c, seen.colors[c].version, seen.colors[c].address) for c in (live, standby)}
    total = {**durations, "total": sum(durations.values())} if durations else {}
    return AppOutcome(
        plan, result, steps, dict(hosts), total, switch_ms, draining, record[live], record[standby], reason
    )


def _recorded(outcome: Outcome, save_error: str | None) -> Outcome:
    """Add the last step, now that status.json was (or could not be) written."""
    step = Step(
        "Update state tracking", save_error is None, save_error or "state/status.json records the observed LIVE"
    )
    return replace(
        outcome,
        apps=tuple(
            replace(app, steps=(*app.steps, step)) if app.result not in ("noop", "refused") else app
            for app in outcome.apps
        ),
    )


def _switch_detail(hosts: Mapping[str, str], slowest_ms: float | None) -> str:
    timing = f" in {slowest_ms:.1f} ms" if slowest_ms is not None else ""
    return ", ".join(f"{host}: {result}" for host, result in hosts.items()) + timing


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
