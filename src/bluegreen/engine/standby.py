"""A STANDBY parked in maintenance, woken before its switch: the plan's `parked` servers (rules: core/parked.py).

On every host of the switch at once: `drain` for each STANDBY server in maintenance (no new traffic; HAProxy's
health check runs again), then `show stat` on those hosts until HAProxy's own check sees every one UP, for at most
`verify.standby_check_wait_s`, then `ready` for those the switch does not set itself. If the check does not pass
in time, the run is interrupted, or any step fails, exactly the servers woken go back to maintenance, on the
hosts where they were woken, and the app is not switched: traffic never moved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from bluegreen.core import parked as parking
from bluegreen.engine.ports import HaproxyPort, Progress
from bluegreen.errors import RuntimeApiError, said
from bluegreen.model import AppEnvironment, AppPlan, Check, Environments, Parked, Plan, ServerView
from bluegreen.switching.base import SetServerStates, TargetState

POLL_S = 0.2
CHECK_NAME = "STANDBY woken from maintenance"


@dataclass(frozen=True)
class Woken:
    """How waking went: a check for the report's "Verify STANDBY ready" step (None: nothing was parked) and,
    when the switch must not be made, why, with what to fix, and what each host was left with."""

    check: Check | None = None
    reason: str | None = None
    hosts: Mapping[str, str] = field(default_factory=dict)
    durations: Mapping[str, float] = field(default_factory=dict)  # `wake`, when there was one

    @property
    def ok(self) -> bool:
        return self.reason is None


class NotUp(Exception):
    """HAProxy's check did not see every woken server UP in time (or the run was interrupted meanwhile)."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.message, self.hint = message, hint


async def wake_all(
    hosts: Mapping[str, HaproxyPort],
    environments: Environments,
    plan: Plan,
    progress: Progress,
    stop: asyncio.Event | None = None,
) -> dict[str, Woken]:
    """Every switching app's parked STANDBY woken at once, before the first switch: one request, one verdict. If
    one app's STANDBY is not seen UP, the servers woken for the others go back to maintenance too, and every app
    of the request is held back (nothing switched)."""
    switching = plan.switches
    results = await asyncio.gather(*(wake(hosts, environments.apps[a.app], a, progress, stop) for a in switching))
    found = {app.app: woken for app, woken in zip(switching, results, strict=True)}
    refused = [name for name, woken in found.items() if not woken.ok]
    if not refused:
        return found
    why = (
        f"held back, nothing was changed: {', '.join(refused)} was refused (its STANDBY was not seen UP), and a "
        "release switches all its apps or none"
    )
    held = await asyncio.gather(*(_held_back(hosts, app, why) for app in switching if found[app.app].ok))
    return {**found, **dict(held)}


async def _held_back(hosts: Mapping[str, HaproxyPort], plan: AppPlan, why: str) -> tuple[str, Woken]:
    if not plan.parked:
        return plan.app, Woken(reason=why, hosts={host: "unchanged" for host in plan.hosts})
    back = await _back(hosts, plan.parked)
    detail = f"{why}. {_put_back(back)}"
    color = plan.to_color.title
    left = {host: f"unchanged ({color} {back[host]})" if host in back else "unchanged" for host in plan.hosts}
    return plan.app, Woken(Check(CHECK_NAME, False, detail), detail, left)


async def wake(
    hosts: Mapping[str, HaproxyPort],
    app: AppEnvironment,
    plan: AppPlan,
    progress: Progress,
    stop: asyncio.Event | None = None,
) -> Woken:
    if not plan.parked:
        return Woken()
    wait_s, start = app.verify.standby_check_wait_s, time.monotonic()
    where = ", ".join(dict.fromkeys(each.host for each in plan.parked))
    progress(f"{plan.app}: {plan.to_color.title} is in maintenance on {where}: drain, then HAProxy's check")
    woken: list[Parked] = []
    try:
        await _set(hosts, plan.parked, "drain", woken)
        await _until_checked(hosts, plan.parked, wait_s, stop)
        await _set(hosts, parking.made_ready(plan.parked, app.switch.steps(plan.to_color)), "ready")
    except Exception as error:
        refused = await _refused(hosts, plan, woken, error)
        return replace(refused, durations={"wake": _ms(start)})
    detail = f"{parking.named(plan.parked)} woken from MAINT; HAProxy's check sees it UP after {_ms(start):.0f} ms"
    progress(f"{plan.app}: HAProxy's check sees {plan.to_color.title} UP after {_ms(start):.0f} ms")
    return Woken(Check(CHECK_NAME, True, detail), durations={"wake": _ms(start)})


async def _set(
    hosts: Mapping[str, HaproxyPort], parked: Sequence[Parked], state: TargetState, done: list[Parked] | None = None
) -> None:
    """`state` for each server, host by host at once; the first error is raised once every host has answered.
    `done` gets each server the change may have reached: all but those HAProxy itself refused."""
    names = tuple(dict.fromkeys(each.host for each in parked))
    results = await asyncio.gather(
        *(_set_host(hosts[host], [p for p in parked if p.host == host], state, done) for host in names),
        return_exceptions=True,
    )
    failure = next((result for result in results if isinstance(result, BaseException)), None)
    if failure is not None:
        raise failure


async def _set_host(port: HaproxyPort, parked: Sequence[Parked], state: TargetState, done: list[Parked] | None) -> None:
    for each in parked:  # one server a command: what was changed is known exactly, if one is refused
        try:
            await port.apply(SetServerStates(each.backend, ((each.server, state),)))
        except RuntimeApiError:  # HAProxy answered, and refused: nothing changed
            raise
        except BaseException:  # no answer (a timeout, a dropped connection): it may have been changed
            if done is not None:
                done.append(each)
            raise
        if done is not None:
            done.append(each)


async def _until_checked(
    hosts: Mapping[str, HaproxyPort], parked: Sequence[Parked], wait_s: float, stop: asyncio.Event | None
) -> None:
    deadline = time.monotonic() + wait_s
    while pending := parking.unchecked(parked, await _stats(hosts, parked)):
        if stop is not None and stop.is_set():
            raise NotUp("interrupted while waiting for HAProxy's check", "")
        if time.monotonic() >= deadline:
            raise NotUp(
                f"HAProxy's check did not see it UP within {wait_s:g} s: {parking.said(pending)}",
                parking.hints(pending),
            )
        await asyncio.sleep(min(POLL_S, max(0.0, deadline - time.monotonic())))


async def _stats(hosts: Mapping[str, HaproxyPort], parked: Sequence[Parked]) -> dict[str, tuple[ServerView, ...]]:
    names = tuple(dict.fromkeys(each.host for each in parked))
    return dict(zip(names, await asyncio.gather(*(hosts[host].stats() for host in names)), strict=True))


async def _refused(hosts: Mapping[str, HaproxyPort], plan: AppPlan, woken: Sequence[Parked], error: Exception) -> Woken:
    """Exactly the servers woken back to maintenance; the reason says what HAProxy's check said and what to fix."""
    color = plan.to_color.title
    why = error.message if isinstance(error, NotUp) else f"waking it failed: {said(error)}"
    hint = error.hint if isinstance(error, NotUp) else ""
    back = await _back(hosts, [each for each in plan.parked if each in woken])  # in the plan's order
    detail = f"{why}. {_put_back(back)}; traffic never moved" + (f". To fix: {hint}" if hint else "")
    left = {host: f"unchanged ({color} {back[host]})" if host in back else "unchanged" for host in plan.hosts}
    return Woken(Check(CHECK_NAME, False, detail), f"STANDBY {color} was in maintenance and {detail}", left)


async def _back(hosts: Mapping[str, HaproxyPort], woken: Sequence[Parked]) -> dict[str, str]:
    """Per host where a server was woken: `put back in maintenance`, or why it could NOT be."""
    names = tuple(dict.fromkeys(each.host for each in woken))
    results = await asyncio.gather(
        *(_set_host(hosts[host], [p for p in woken if p.host == host], "maint", None) for host in names),
        return_exceptions=True,
    )
    return {
        host: "put back in maintenance" if result is None else f"NOT put back in maintenance: {said(result)}"
        for host, result in zip(names, results, strict=True)
    }


def _put_back(back: Mapping[str, str]) -> str:
    failed = [f"{host} ({result.split(': ', 1)[1]})" for host, result in back.items() if result.startswith("NOT")]
    done = [host for host, result in back.items() if not result.startswith("NOT")]
    parts = [f"could NOT be put back in maintenance on {', '.join(failed)}"] if failed else []
    parts += [f"is back in maintenance on {', '.join(done)}"] if done else []
    return "It " + "; it ".join(parts) if parts else "No server had left maintenance"


def _ms(start: float) -> float:
    return (time.monotonic() - start) * 1000
