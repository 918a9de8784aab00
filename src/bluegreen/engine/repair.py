"""A repair: the switch made again where a host already routes to the wanted LIVE but would not after a reload
(what it keeps, the map file or the server-state file, names another color; core/planner.py).

Only the method's persisting steps are carried out (the map file written, the server states dumped): the runtime
already routes where it should, so a repair never moves traffic, and none of its steps needs undoing. Each file is
replaced whole, by a rename, or not at all; putting the old one back would only restore what a reload would get
wrong. So each host's repair stands on its own, also when another host's fails. Every host is then read back, its
routing and its files in one batch, and is `repaired` only when both name the wanted LIVE.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from bluegreen.core.drift import on_reload
from bluegreen.engine.ports import HaproxyPort
from bluegreen.engine.switch import Seen, Switched, read_back
from bluegreen.errors import said
from bluegreen.model import AppEnvironment, Color
from bluegreen.switching.base import SaveServerStates, WriteMapEntry

__all__ = ["confirmed", "repair"]


async def repair(hosts: Mapping[str, HaproxyPort], names: Sequence[str], app: AppEnvironment, to: Color) -> Switched:
    """Persist `to` on every host of `names` at once, then read them all back."""
    steps = [step for step in app.switch.steps(to) if isinstance(step, WriteMapEntry | SaveServerStates)]

    async def one(port: HaproxyPort) -> None:
        for step in steps:
            await port.apply(step)

    results = await asyncio.gather(*(one(hosts[name]) for name in names), return_exceptions=True)
    failures = {name: r for name, r in zip(names, results, strict=True) if isinstance(r, BaseException)}
    seen = await read_back(hosts, names, app)
    labels, off = {}, {}
    for name in names:
        label, why = _judged(seen[name], to)
        labels[name] = f"failed: {said(failures[name])}; {label}" if name in failures else label
        if why:
            off[name] = why
    untouched = {name: "unchanged" for name in hosts if name not in names}
    errors = tuple(f"{name}: {said(error)}" for name, error in failures.items())
    return Switched(not off, {**labels, **untouched}, None, errors, seen, off)  # what was read back decides


def _judged(seen: Seen, to: Color) -> tuple[str, str | None]:
    """A host's label, and why it is not repaired (None when it is)."""
    if not seen.readable:
        kind = "unreachable" if seen.unreachable else "cannot be read"
        return f"unknown ({kind}: {seen.text})", "cannot be read"
    if seen.live is not to:  # a repair never moves traffic: someone else did
        return f"unknown (routes to {seen.live.title if seen.live else 'neither color'})", f"is not on {to.title}"
    if seen.kept is None or not seen.kept.readable or seen.kept.live is not to:
        elsewhere = on_reload(seen.kept, to) if seen.kept else "nothing is kept"
        return f"not repaired: {elsewhere}", elsewhere
    return "repaired", None


def confirmed(seen: Mapping[str, Seen], to: Color) -> str:
    """What each host was read back with, for the report's "Confirm switch" step."""
    return "; ".join(
        f"{host}: routes to {to.title}, and {on_reload(each.kept, to)}"
        if each.kept and each.live is to
        else f"{host}: {each.text}"
        for host, each in seen.items()
    )
