"""Orchestration: walk the plan through the ports. Pre-flight -> switch (all hosts or none) -> verify ->
switch back if verification fails -> record what was observed.

`plan` and `release` share everything up to the switch: a dry run is the same plan, stopped before it acts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from bluegreen.core import planner
from bluegreen.core.outcome import app_outcome, dry_run, held_back, preflight_steps, recorded, switch_detail, unswitched
from bluegreen.engine.observe import observe
from bluegreen.engine.ports import HaproxyPort, Ledger, Prober, Progress, Saved
from bluegreen.engine.standby import wake
from bluegreen.engine.switch import switch_all
from bluegreen.engine.verify import Verdict, Verification, verify
from bluegreen.errors import said
from bluegreen.model import (
    AppEnvironment,
    AppObservation,
    AppOutcome,
    AppPlan,
    Desired,
    Environments,
    Observation,
    Outcome,
    Plan,
    Result,
    Status,
    Step,
    StepName,
    Trigger,
)
from bluegreen.switching.base import persisted

__all__ = ["Effects", "Request", "dry_run", "preflight", "recalled", "release"]


@dataclass(frozen=True)
class Request:
    desired: Desired
    environments: Environments
    status: Status
    only: tuple[str, ...] = ()
    trigger: Trigger = Trigger()
    refusal: str | None = None  # decided before any host is asked (a hand-edited status.json, say)


async def preflight(
    request: Request, hosts: Mapping[str, HaproxyPort], prober: Prober
) -> tuple[Plan, Observation, float]:
    start = time.perf_counter()
    names = request.only or tuple(request.desired.apps)
    observation = await observe(hosts, request.environments, names, prober)
    plan = _planned(request, observation)
    if plan.switches:  # proven before the first host changes: the switch can be made and kept on each
        observation = await _with_readiness(hosts, request.environments, plan, observation)
        plan = _planned(request, observation)
    return replace(plan, refusal=request.refusal), observation, _ms(start)


def _planned(request: Request, observation: Observation) -> Plan:
    return planner.plan(
        request.desired, request.environments, request.status, observation, request.trigger, request.only
    )


async def _with_readiness(
    hosts: Mapping[str, HaproxyPort], environments: Environments, plan: Plan, observation: Observation
) -> Observation:
    """The observation, with what would stop each planned switch on each host that must change: each host is
    asked once, for the files of every app that would switch there."""
    files = {app.app: persisted(environments.apps[app.app].switch.steps(app.to_color)) for app in plan.switches}
    names = sorted({host for app in plan.switches for host in app.hosts})
    asked = {
        host: tuple(dict.fromkeys(f for app in plan.switches if host in app.hosts for f in files[app.app]))
        for host in names
    }
    found = dict(zip(names, await asyncio.gather(*(hosts[host].readiness(asked[host]) for host in names)), strict=True))
    apps = dict(observation.apps)
    for app in plan.switches:
        seen = apps[app.app]
        views = {host: replace(seen.hosts[host], unready=found[host].of(files[app.app])) for host in app.hosts}
        apps[app.app] = replace(seen, hosts={**seen.hosts, **views})
    return replace(observation, apps=apps)


@dataclass(frozen=True)
class Effects:
    """The adapters a release acts through, and the signal to stop starting new switches."""

    hosts: Mapping[str, HaproxyPort]
    prober: Prober
    progress: Progress
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    announce: Callable[[Plan], None] = lambda plan: None  # told the plan before the first switch


async def recalled(request: Request, ledger: Ledger, hosts: Mapping[str, HaproxyPort]) -> Request:
    """The request with the history the ledger believes, and its refusal, if any."""
    found = await ledger.recall(hosts)
    return replace(request, status=found.status, refusal=request.refusal or found.refusal)


async def release(request: Request, effects: Effects, ledger: Ledger, at: str) -> Outcome:
    request = await recalled(request, ledger, effects.hosts)
    plan, observation, preflight_ms = await preflight(request, effects.hosts, effects.prober)
    if plan.refused:
        effects.progress("pre-flight refused the release: nothing was changed")
    elif plan.switches:
        await asyncio.to_thread(effects.announce, plan)  # (GitHub's API is slow and blocking: keep SSH alive)
    outcomes = []
    for app in plan.apps:
        seen = observation.apps[app.app]
        if app.action != "switch":
            outcomes.append(unswitched(app, seen, "refused" if app.action == "refuse" else "noop"))
        elif plan.refused:
            outcomes.append(unswitched(app, seen, "refused", held_back(plan)))
        elif effects.stop.is_set():
            outcomes.append(unswitched(app, seen, "refused", "interrupted before its switch: nothing was changed"))
        else:
            appl = AppRelease(request.environments.apps[app.app], app, seen, effects, {"preflight": preflight_ms})
            outcomes.append(await appl.run())
    outcome = Outcome(tuple(outcomes), plan.trigger, at, refusal=plan.refusal)
    saved = await _saved(ledger, effects.hosts, outcome)
    return recorded(outcome, saved.ok, saved.detail)


async def _saved(ledger: Ledger, hosts: Mapping[str, HaproxyPort], outcome: Outcome) -> Saved:
    """What the traffic did is already decided: recording it may fail, but never hides the outcome."""
    try:
        return await ledger.record(hosts, outcome)
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
        woken = await wake(self.effects.hosts, self.app, plan, say, self.effects.stop)  # a STANDBY in maintenance
        self.durations.update(woken.durations)
        self.steps = preflight_steps(plan, woken.check)
        if not woken.ok:
            return self._finished("refused", woken.hosts, woken.reason)
        say(f"{plan.app}: switching {plan.from_color.title} → {plan.to_color.title} on {', '.join(plan.hosts)}")
        with self._timed("switch"):
            switched = await switch_all(self.effects.hosts, plan.hosts, self.app, plan.to_color)
        if not switched.ok:
            failed = any("NOT restored" in result for result in switched.hosts.values())
            self._step("Switch HAProxy traffic", False, switch_detail(switched.hosts, None))
            outcome = "some hosts could NOT be switched back" if failed else "every host was switched back"
            reason = f"the switch failed, {outcome}: " + "; ".join(switched.errors)
            return self._finished("failed" if failed else "rolled_back", switched.hosts, reason)
        self.switch_ms = switched.slowest_ms
        self._step("Switch HAProxy traffic", True, switch_detail(switched.hosts, switched.slowest_ms))
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
            on = Verification(self.effects.hosts, self.effects.prober, self.effects.progress, self.effects.stop)
            return await verify(on, self.app, plan.to_color, plan.to_version, self.seen)
        except Exception as error:  # after the switch, anything unexpected is a failed check
            return Verdict(False, f"verification could not finish: {said(error)}")

    async def _switch_back(self, failure: str) -> AppOutcome:
        plan = self.plan
        if not self.app.verify.rollback_on_failure:
            reason = f"verification failed and automatic rollback is off, {plan.to_color.title} stays LIVE: {failure}"
            return self._finished("failed", {h: "switched" for h in plan.hosts}, reason, live_is_new=True)
        self.effects.progress(f"{plan.app}: verification failed, switching back to {plan.from_color.title}")
        back = await switch_all(self.effects.hosts, plan.hosts, self.app, plan.from_color)
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
        return app_outcome(
            self.plan, self.seen, self.steps, result, reason, new_live, hosts, self.durations, self.switch_ms, draining
        )


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
