"""The switch itself: one app, every host that needs it, all or none.

A switch method says what to change, in order (switching/); the port carries each change out and says how to
undo what it persisted. A host whose change fails puts back what it persisted, then every host touched is
switched back (the method's steps toward the old LIVE).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bluegreen.engine.ports import HaproxyPort
from bluegreen.errors import said
from bluegreen.model import AppEnvironment, Color
from bluegreen.switching.base import Change, RestoreFile


async def switch_host(port: HaproxyPort, app: AppEnvironment, to: Color) -> float:
    """Point this host's traffic for `app` at `to`; returns the runtime commands' time in ms."""
    steps = app.switch.steps(to)
    if any(isinstance(step, RestoreFile) for step in steps):  # only the port hands out a restore, as an undo
        raise ValueError(f"the {app.switch.method} method asks to restore a file: a method only changes routing")
    undo: list[Change] = []
    elapsed = 0.0
    try:
        for step in steps:
            applied = await port.apply(step)
            elapsed += applied.runtime_ms or 0.0
            if applied.undo is not None:
                undo.append(applied.undo)
    except BaseException:
        for step in reversed(undo):
            await port.apply(step)
        raise
    return elapsed


@dataclass(frozen=True)
class Switched:
    """What happened on each host: `switched`, `restored`, `unchanged` or `failed: ...`."""

    ok: bool
    hosts: Mapping[str, str]
    slowest_ms: float | None = None
    errors: Sequence[str] = field(default_factory=tuple)


async def switch_all(
    hosts: Mapping[str, HaproxyPort], names: Sequence[str], app: AppEnvironment, to: Color
) -> Switched:
    """Switch the hosts `names` concurrently; if any fails, switch back every host touched (all or none)."""
    results = await asyncio.gather(*(switch_host(hosts[h], app, to) for h in names), return_exceptions=True)
    timings = {h: r for h, r in zip(names, results, strict=True) if isinstance(r, float)}
    failures = {h: r for h, r in zip(names, results, strict=True) if isinstance(r, BaseException)}
    untouched = {h: "unchanged" for h in hosts if h not in names}
    if not failures:
        return Switched(True, {**{h: "switched" for h in names}, **untouched}, max(timings.values(), default=None))
    restored = await _restore(hosts, names, app, to.other)
    outcome = {h: _host_result(failures.get(h), restored[h]) for h in names}
    return Switched(False, {**outcome, **untouched}, None, tuple(f"{h}: {said(e)}" for h, e in failures.items()))


async def _restore(
    hosts: Mapping[str, HaproxyPort], names: Sequence[str], app: AppEnvironment, back: Color
) -> dict[str, BaseException | None]:
    results = await asyncio.gather(*(switch_host(hosts[h], app, back) for h in names), return_exceptions=True)
    return {h: r if isinstance(r, BaseException) else None for h, r in zip(names, results, strict=True)}


def _host_result(failure: BaseException | None, restore_error: BaseException | None) -> str:
    restored = "restored" if restore_error is None else f"NOT restored: {said(restore_error)}"
    return restored if failure is None else f"failed: {said(failure)}; {restored}"
