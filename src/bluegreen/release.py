"""Orchestration: walk the plan through the adapters. Pre-flight -> switch (all hosts or none) -> verify ->
switch back if verification fails -> record what was observed.

`plan` and `release` share everything up to the switch: a dry run is the same plan, stopped before it acts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from dataclasses import dataclass, field, replace
from typing import Protocol

from . import planner
from .errors import said
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
    StepName,
    Trigger,
)
from .observe import Clients, observe
from .ssh import Credentials, HostSession, SshHost, connect
from .switch import switch_all
from .verify import Progress, Verdict, verify


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

    async def recall(self, sessions: Mapping[str, HostSession]) -> Recalled: ...
    async def record(self, sessions: Mapping[str, HostSession], outcome: Outcome) -> Saved: ...


@dataclass(frozen=True)
class Request:
    desired: Desired
    environments: Environments
    status: Status
    only: tuple[str, ...] = ()
    trigger: Trigger = Trigger()
    refusal: str | None = None  # decided before any host is asked (a hand-edited status.json, say)


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
    return replace(plan, refusal=request.refusal), observation, _ms(start)


def dry_run(plan: Plan, observation: Observation, at: str) -> Outcome:
    """The release's outcome as merging would make it, with nothing done."""
    apps = tuple(_would(app, observation.apps[app.app], plan) for app in plan.apps)
    return Outcome(apps, plan.trigger, at, dry_run=True, refusal=plan.refusal)


@dataclass(frozen=True)
class Effects:
    """The adapters a release acts through, and the signal to stop starting new switches."""

    sessions: Mapping[str, HostSession]
    clients: Clients
    progress: Progress
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    announce: Callable[[Plan], None] = lambda plan: None  # told the plan before the first switch


async def recalled(request: Request, ledger: Ledger, sessions: Mapping[str, HostSession]) -> Request:
    """The request with the history the ledger believes, and its refusal, if any."""
    found = await ledger.recall(sessions)
    return replace(request, status=found.status, refusal=request.refusal or found.refusal)


async def release(request: Request, effects: Effects, ledger: Ledger, at: str) -> Outcome:
    request = await recalled(request, ledger, effects.sessions)
    plan, observation, preflight_ms = await preflight(request, effects.sessions, effects.clients)
    if plan.refused:
        effects.progress("pre-flight refused the release: nothing was changed")
    elif plan.switches:
        await asyncio.to_thread(effects.announce, plan)  # (GitHub's API is slow and blocking: keep SSH alive)
    outcomes = []
    for app in plan.apps:
        seen = observation.apps[app.app]
        if app.action != "switch":
            outcomes.append(_unswitched(app, seen, "refused" if app.action == "refuse" else "noop"))
        elif plan.refused:
            outcomes.append(_unswitched(app, seen, "refused", _held_back(plan)))
        elif effects.stop.is_set():
            outcomes.append(_unswitched(app, seen, "refused", "interrupted before its switch: nothing was changed"))
        else:
            appl = AppRelease(request.environments.apps[app.app], app, seen, effects, {"preflight": preflight_ms})
            outcomes.append(await appl.run())
    outcome = Outcome(tuple(outcomes), plan.trigger, at, refusal=plan.refusal)
    return _recorded(outcome, await _saved(ledger, effects.sessions, outcome))


async def _saved(ledger: Ledger, sessions: Mapping[str, HostSession], outcome: Outcome) -> Saved:
    """What the traffic did is already decided: recording it may fail, but never hides the outcome."""
    try:
        return await ledger.record(sessions, outcome)
    except Exception as error:  # reported in the step, the report is still written
        return Saved(False, f"status.json was not recorded: {said(error)}")


@dataclass
class AppRelease:
    """One app's switch, verification and, when verification fails, its switch back."""

    app: AppEnvironment
    plan: AppPlan
    seen: AppObservation
    effects: Effects
    durations: dict[str, float]
    steps: tuple[Step, ...] = ()
    switch_ms: float | None = None

    async def run(self) -> AppOutcome:
        plan, say = self.plan, self.effects.progress
        self.steps = _preflight_steps(plan)
        say(f"{plan.app}: switching {plan.from_color.title} → {plan.to_color.title} on {', '.join(plan.hosts)}")
        with self._timed("switch"):
            switched = await switch_all(self.effects.sessions, plan.hosts, self.app, plan.to_color)
        if not switched.ok:
            failed = any("NOT restored" in result for result in switched.hosts.values())
            self._step("Switch HAProxy traffic", False, _switch_detail(switched.hosts, None))
            outcome = "some hosts could NOT be switched back" if failed else "every host was switched back"
            reason = f"the switch failed, {outcome}: " + "; ".join(switched.errors)
            return self._finished("failed" if failed else "rolled_back", switched.hosts, reason)
        self.switch_ms = switched.slowest_ms
        self._step("Switch HAProxy traffic", True, _switch_detail(switched.hosts, switched.slowest_ms))
        say(f"{plan.app}: verifying that users reach {plan.to_color.title}")
        with self._timed("verify"):
            verdict = await self._verify()
        self._step("Confirm switch", verdict.ok, verdict.detail)
        if verdict.ok:
            return self._finished("success", switched.hosts, None, draining=verdict.draining)
        return await self._switch_back(verdict.detail)

    async def _verify(self) -> Verdict:
        """Verification that cannot finish is a failed one, and traffic goes back: a host's connection drops,
        HAProxy answers nonsense, or bluegreen itself has a bug. There is never an unverified switch."""
        plan = self.plan
        try:
            return await verify(
                self.effects.sessions,
                self.app,
                plan.to_color,
                plan.to_version,
                self.seen,
                self.effects.clients,
                self.effects.progress,
                self.effects.stop,
            )
        except Exception as error:  # after the switch, anything unexpected is a failed check
            return Verdict(False, f"verification could not finish: {said(error)}")

    async def _switch_back(self, failure: str) -> AppOutcome:
        plan = self.plan
        if not self.app.verify.rollback_on_failure:
            reason = f"verification failed and automatic rollback is off, {plan.to_color.title} stays LIVE: {failure}"
            return self._finished("failed", {h: "switched" for h in plan.hosts}, reason, live_is_new=True)
        self.effects.progress(f"{plan.app}: verification failed, switching back to {plan.from_color.title}")
        back = await switch_all(self.effects.sessions, plan.hosts, self.app, plan.from_color)
        if back.ok:
            reason = f"verification failed, traffic is back on {plan.from_color.title}: {failure}"
            return self._finished("rolled_back", {h: "restored" for h in plan.hosts}, reason)
        # All or none again: a host that could not switch back took the others with it, back to the new LIVE.
        stayed = {h: f"still on {plan.to_color.title}: {r}" for h, r in back.hosts.items() if h in plan.hosts}
        reason = (
            f"verification failed and traffic could NOT be returned to {plan.from_color.title} "
            f"({'; '.join(back.errors)}): {failure}"
        )
        return self._finished("failed", stayed, reason, live_is_new=True)

    def _step(self, name: StepName, ok: bool, detail: str) -> None:
        self.steps = (*self.steps, Step(name, ok, detail))

    @contextmanager
    def _timed(self, phase: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.durations[phase] = _ms(start)

    def _finished(
        self,
        result: Result,
        hosts: Mapping[str, str],
        reason: str | None,
        *,
        draining: int | None = None,
        live_is_new: bool | None = None,
    ) -> AppOutcome:
        new_live = result == "success" if live_is_new is None else live_is_new
        return _outcome(
            self.plan, self.seen, self.steps, result, reason, new_live, hosts, self.durations, self.switch_ms, draining
        )


def _preflight_steps(plan: AppPlan) -> tuple[Step, ...]:
    return (
        _checks_step("Verify STANDBY ready", plan.checks, "standby"),
        _checks_step("Verify LIVE", plan.checks, "live"),
    )


def _checks_step(name: StepName, checks: Sequence[Check], about: str) -> Step:
    mine = [check for check in checks if check.about == about]
    failed = [check for check in mine if not check.ok]
    shown = failed or mine
    return Step(name, not failed, "; ".join(f"{c.name}: {c.detail}" for c in shown))


def _would(app: AppPlan, seen: AppObservation, plan: Plan) -> AppOutcome:
    if app.action == "noop":
        return _unswitched(app, seen, "noop")
    if app.action == "refuse":
        return _unswitched(app, seen, "refused")
    return _unswitched(app, seen, "refused", _held_back(plan)) if plan.refused else _unswitched(app, seen, "success")


def _held_back(plan: Plan) -> str:
    """One request, one verdict: an app that could switch waits when another app of the same request cannot."""
    if plan.refusal is not None:
        return f"refused, nothing was changed: {plan.refusal}"
    refused = ", ".join(app.app for app in plan.apps if app.action == "refuse")
    return f"held back, nothing was changed: {refused} was refused, and a release switches all its apps or none"


def _unswitched(plan: AppPlan, seen: AppObservation, result: Result, reason: str | None = None) -> AppOutcome:
    steps = _preflight_steps(plan) if plan.checks else ()
    reason = reason or "; ".join(f"{c.name}: {c.detail}" for c in plan.refusals) or None
    return _outcome(plan, seen, steps, result, reason, plan.action == "noop")


def _outcome(
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


def _recorded(outcome: Outcome, saved: Saved) -> Outcome:
    """Add the last step, now that status.json was (or could not be) written."""
    step = Step("Update state tracking", saved.ok, saved.detail)
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
