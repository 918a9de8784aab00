"""Orchestration: walk the plan through the ports. Pre-flight -> switch (all hosts or none) -> verify ->
switch back if verification fails -> record what was observed. An app whose traffic is already where it is
wanted, but whose hosts would not keep it after a reload, is repaired instead (engine/repair.py): the switch made
again there, and every host read back.

`plan` and `release` share everything up to the switch: a dry run is the same plan, stopped before it acts.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from bluegreen.core import planner
from bluegreen.core.outcome import app_outcome, dry_run, held_back, preflight_steps, recorded, switch_detail, unswitched
from bluegreen.engine.locks import Held
from bluegreen.engine.observe import observe
from bluegreen.engine.ports import HaproxyPort, Ledger, Prober, Progress, Readiness, Saved
from bluegreen.engine.repair import confirmed, repair
from bluegreen.engine.standby import Woken, wake_all
from bluegreen.engine.switch import Rollout, Switched
from bluegreen.engine.together import together
from bluegreen.engine.traffic import watched
from bluegreen.engine.verify import Verdict, Verification, verify
from bluegreen.errors import said
from bluegreen.model import (
    AppEnvironment,
    AppObservation,
    AppOutcome,
    AppPlan,
    Check,
    Desired,
    Environments,
    Observation,
    Outcome,
    Plan,
    Result,
    Status,
    Step,
    StepName,
    SwitchTraffic,
    Trigger,
)
from bluegreen.switching.base import Persisted, persisted

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
    request: Request, hosts: Mapping[str, HaproxyPort], prober: Prober, ledger: Ledger | None = None
) -> tuple[Plan, Observation, float]:
    """The plan, from what the ledger recalls (if one is given), what the hosts and app servers say, and what would
    stop each switch on its hosts. The three are asked at once where they can be: over a long round trip each one
    after the other would cost its round trips again. What would stop a switch is asked of the apps whose switch
    the history makes likely (live.json asks for another color than the one recorded), before the plan is known;
    a switch the plan makes that was not foreseen is asked about after it."""
    start = time.perf_counter()
    names = request.only or tuple(request.desired.apps)
    foreseen = tuple(name for name in names if _likely_switch(request, name))
    recalling = recalled(request, ledger, hosts) if ledger is not None else _as_is(request)
    request, observation, ready = await together(
        recalling, observe(hosts, request.environments, names, prober), _readiness(hosts, request, foreseen)
    )
    plan = _planned(request, observation)
    if plan.switches:  # proven before the first host changes: the switch can be made and kept on each
        unforeseen = tuple(app.app for app in plan.switches if _files(request, app) != ready.get(app.app, ((), {}))[0])
        ready = {**ready, **(await _readiness(hosts, request, unforeseen, plan) if unforeseen else {})}
        observation = _with_readiness(request.environments, plan, observation, ready)
        plan = _planned(request, observation)
    return replace(plan, refusal=request.refusal), observation, _ms(start)


def _likely_switch(request: Request, name: str) -> bool:
    recorded = request.status.apps.get(name)
    return recorded is None or recorded.live is None or recorded.live.color != request.desired.apps[name].live


async def _as_is(request: Request) -> Request:
    return request


def _planned(request: Request, observation: Observation) -> Plan:
    return planner.plan(
        request.desired, request.environments, request.status, observation, request.trigger, request.only
    )


# app -> the files asked about, and, by host, what would stop its switch there
Ready = Mapping[str, tuple[tuple[Persisted, ...], Mapping[str, Readiness]]]


async def _readiness(
    hosts: Mapping[str, HaproxyPort], request: Request, apps: Sequence[str], plan: Plan | None = None
) -> Ready:
    """What would stop each app's switch (to the color of `plan`, else to the color live.json asks for) on every
    host: each host is asked once, for the files of all of them."""
    if not apps:
        return {}
    to = {app.app: app.to_color for app in plan.switches} if plan else {}
    environments = request.environments
    files = {
        app: persisted(environments.apps[app].switch.steps(to.get(app, request.desired.apps[app].live))) for app in apps
    }
    asked = tuple(dict.fromkeys(file for app in apps for file in files[app]))
    names = list(hosts)
    found = await asyncio.gather(*(hosts[host].readiness(asked) for host in names))
    return {app: (files[app], dict(zip(names, found, strict=True))) for app in apps}


def _files(request: Request, app: AppPlan) -> tuple[Persisted, ...]:
    return persisted(request.environments.apps[app.app].switch.steps(app.to_color))


def _with_readiness(environments: Environments, plan: Plan, observation: Observation, ready: Ready) -> Observation:
    """The observation, with what would stop each planned switch on each host that must change."""
    apps = dict(observation.apps)
    for app in plan.switches:
        files, by_host = ready[app.app]
        seen = apps[app.app]
        views = {host: replace(seen.hosts[host], unready=by_host[host].of(files)) for host in app.hosts}
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
    lock: Held | None = None  # the release locks this run holds (the pre-flight report shows them)


async def recalled(request: Request, ledger: Ledger, hosts: Mapping[str, HaproxyPort]) -> Request:
    """The request with the history the ledger believes, and its refusal, if any."""
    found = await ledger.recall(hosts)
    return replace(request, status=found.status, refusal=request.refusal or found.refusal)


async def release(request: Request, effects: Effects, ledger: Ledger, at: str) -> Outcome:
    plan, observation, preflight_ms = await preflight(request, effects.hosts, effects.prober, ledger)
    plan = _with_lock(plan, effects.lock)
    if plan.refused:
        effects.progress("pre-flight refused the release: nothing was changed")
    elif plan.switches:
        await asyncio.to_thread(effects.announce, plan)  # (GitHub's API is slow and blocking: keep SSH alive)
    woken: dict[str, Woken] = {}  # a STANDBY in maintenance, woken before the first switch
    if plan.switches and not plan.refused and not effects.stop.is_set():
        woken = await wake_all(effects.hosts, request.environments, plan, effects.progress, effects.stop)
    outcomes = []
    for app in plan.apps:
        seen = observation.apps[app.app]
        if app.action != "switch":
            outcomes.append(unswitched(app, seen, "refused" if app.action == "refuse" else "noop"))
        elif plan.refused:
            outcomes.append(unswitched(app, seen, "refused", held_back(plan)))
        elif effects.stop.is_set() and woken.get(app.app, Woken()).ok:
            outcomes.append(unswitched(app, seen, "refused", "interrupted before its switch: nothing was changed"))
        else:
            environment, durations = request.environments.apps[app.app], {"preflight": preflight_ms}
            appl = AppRelease(environment, app, seen, effects, durations, woken.get(app.app, Woken()))
            outcomes.append(await appl.run())
    outcome = Outcome(tuple(outcomes), plan.trigger, at, refusal=plan.refusal)
    saved = await _saved(ledger, effects.hosts, outcome)
    return recorded(outcome, saved.ok, saved.detail)


def _with_lock(plan: Plan, lock: Held | None) -> Plan:
    """The plan, with the release lock among each switching app's checks of its LIVE: proven by holding it."""
    if lock is None:
        return plan
    check = Check("release lock", True, lock.detail, about="live")
    apps = tuple(replace(app, checks=(*app.checks, check)) if app.action == "switch" else app for app in plan.apps)
    return replace(plan, apps=apps)


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
    woken: Woken  # its STANDBY, if it was in maintenance, woken before any app of the request switched
    steps: tuple[Step, ...] = ()
    switch_ms: float | None = None
    traffic: SwitchTraffic | None = None  # what the release's own users saw while traffic moved

    async def run(self) -> AppOutcome:
        plan, say, woken = self.plan, self.effects.progress, self.woken
        self.durations.update(woken.durations)
        self.steps = preflight_steps(plan, woken.check)
        if not woken.ok:
            return self._finished("refused", woken.hosts, woken.reason)
        if plan.repair_only:
            return await self._repair()
        say(f"{plan.app}: switching {plan.from_color.title} → {plan.to_color.title} on {', '.join(plan.hosts)}")
        rollout = Rollout(self.effects.hosts, plan.hosts, self.app, plan.to_color)
        async with watched(self.effects.prober, self.app, rollout) as users:  # until verification ends
            switched = await self._forward(rollout)
            verdict = await self._verify() if switched.ok else None
            if verdict is None or not verdict.ok:  # it failed already: the switch back waits for no answer
                users.hurry()
        self.traffic = users.figure(plan)
        if verdict is None:
            return self._unswitched(switched)
        verdict = users.judged(verdict, self.traffic)
        self._step("Confirm switch", verdict.ok, verdict.detail)
        if verdict.ok:
            return self._finished("success", switched.hosts, None, draining=verdict.draining)
        return await self._switch_back(rollout, switched, verdict.detail)

    async def _forward(self, rollout: Rollout) -> Switched:
        with self._timed("switch"):
            switched = await rollout.forward()
        if not switched.ok:
            self._step("Switch HAProxy traffic", False, switch_detail(switched.hosts, None))
            return switched
        self.switch_ms = switched.slowest_ms
        self._step("Switch HAProxy traffic", True, switch_detail(switched.hosts, switched.slowest_ms))
        self.effects.progress(f"{self.plan.app}: verifying that users reach {self.plan.to_color.title}")
        return switched

    async def _repair(self) -> AppOutcome:
        """No traffic moves, so there is nothing new for users to reach: what a repair changes is the files, and
        they are what is read back. Nothing to switch back either: that would move users off their LIVE."""
        plan, where = self.plan, ", ".join(self.plan.hosts)
        self.effects.progress(f"{plan.app}: {plan.to_color.title} is LIVE; making the switch again on {where}")
        with self._timed("switch"):
            repaired = await repair(self.effects.hosts, plan.hosts, self.app, plan.to_color)
        self._step("Switch HAProxy traffic", repaired.ok, switch_detail(repaired.hosts, None))
        self._step("Confirm switch", repaired.ok, confirmed(repaired.seen, plan.to_color))
        if repaired.ok:
            return self._finished("success", repaired.hosts, None)
        errors = "".join(f"; {error}" for error in repaired.errors)
        reason = f"the switch could not be made again everywhere: {_where(repaired)}{errors}"
        return self._finished("failed", repaired.hosts, reason, live_is_new=True)

    async def _verify(self) -> Verdict:
        """Verification that cannot finish is a failed one, and traffic goes back: a host's connection drops,
        HAProxy answers nonsense, or bluegreen itself has a bug. There is never an unverified switch."""
        plan = self.plan
        try:
            with self._timed("verify"):
                on = Verification(self.effects.hosts, self.effects.prober, self.effects.progress, self.effects.stop)
                return await verify(on, self.app, plan.to_color, plan.to_version, self.seen)
        except Exception as error:  # after the switch, anything unexpected is a failed check
            return Verdict(False, f"verification could not finish: {said(error)}")

    async def _switch_back(self, rollout: Rollout, switched: Switched, failure: str) -> AppOutcome:
        plan = self.plan
        if not self.app.verify.rollback_on_failure:
            reason = f"verification failed and automatic rollback is off, {plan.to_color.title} stays LIVE: {failure}"
            return self._finished("failed", switched.hosts, reason, live_is_new=True)
        self.effects.progress(f"{plan.app}: verification failed, switching back to {plan.from_color.title}")
        back = await rollout.back()
        if back.back:
            reason = f"verification failed, traffic is back on {plan.from_color.title}: {failure}"
            return self._finished("rolled_back", back.hosts, reason, restored=True)
        reason = (
            f"verification failed and traffic could NOT be returned to {plan.from_color.title} everywhere: "
            f"{_where(back)} ({'; '.join(back.errors) or 'no error: the host was read back so'}): {failure}"
        )
        live_is_new, restored = back.all_on(plan.to_color), back.all_on(plan.from_color)
        return self._finished("failed", back.hosts, reason, live_is_new=live_is_new, restored=restored)

    def _unswitched(self, switched: Switched) -> AppOutcome:
        """The switch failed and every host was undone: the result is what the hosts were read back with. Only a
        host that is not back on the old LIVE (or cannot be read) makes it a failure that needs a person."""
        plan, errors = self.plan, "; ".join(switched.errors)
        if switched.back:
            reason = f"the switch failed; every host was read back on {plan.from_color.title}: {errors}"
            return self._finished("rolled_back", switched.hosts, reason, restored=True)
        reason = (
            f"the switch failed and traffic is NOT all back on {plan.from_color.title}: {_where(switched)}; {errors}"
        )
        live_is_new, restored = switched.all_on(plan.to_color), switched.all_on(plan.from_color)
        return self._finished("failed", switched.hosts, reason, live_is_new=live_is_new, restored=restored)

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
        restored: bool = False,  # every host was read back on the old LIVE (with something left to undo, maybe)
    ) -> AppOutcome:
        new_live = result == "success" if live_is_new is None else live_is_new
        done = app_outcome(
            self.plan, self.seen, self.steps, result, reason, new_live, hosts, self.durations, self.switch_ms, draining
        )
        return replace(done, restored=restored, traffic=self.traffic)


def _where(switched: Switched) -> str:
    """The hosts that are not back, in words: `lb2 is on Blue, lb3 cannot be read`."""
    return ", ".join(f"{host} {why}" for host, why in switched.off.items())


def _ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000
