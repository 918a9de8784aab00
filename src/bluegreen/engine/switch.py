"""The switch itself: one app, every host that needs it, all or none, and what each host was seen to route after.

On each host a switch is a transaction (`HostSwitch`): the method's steps carried out in order, each recorded with
its undo the moment it is done. A runtime change is undone by the method's matching step toward the old LIVE
(the method knows what routing was), a file by the port's restore of the text it held (the port knows what the
file was). Undo reverts exactly the steps carried out, last first, and nothing that never happened. A runtime
step whose answer never came (a timeout, a dropped connection) may have happened: its undo is kept too, since
setting what already holds changes nothing; a step HAProxy refused did not happen.

Across hosts (`Rollout`): every host at once; if one fails, every host's transaction is undone. After a failure
every host is read back through the port, and the labels say what was observed, never what was meant:
`unchanged`, `restored`, `switched` (on the new color), `unknown (...)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bluegreen.engine.ports import HaproxyPort
from bluegreen.errors import RuntimeApiError, said
from bluegreen.model import AppEnvironment, Color
from bluegreen.switching.base import Change, RestoreFile, SetMapEntry, SetServerStates

__all__ = ["HostSwitch", "Rollout", "Seen", "Switched", "read_back"]


@dataclass
class HostSwitch:
    """One host's switch of one app, as a transaction: what was done, and how to undo it."""

    port: HaproxyPort
    app: AppEnvironment
    to: Color
    undo: list[Change] = field(default_factory=list)  # the undo of each step carried out (or maybe), in order
    touched: bool = False  # a step was carried out here, or may have been
    runtime_ms: float = 0.0

    async def carry_out(self) -> float:
        """Carry out the method's steps toward `to`, in order; returns the runtime commands' time in ms. On a
        failure it stops where it is and raises: `roll_back` undoes what was done."""
        steps, backs = _paired(self.app, self.to)
        for step, back in zip(steps, backs, strict=True):
            try:
                applied = await self.port.apply(step)
            except BaseException as error:
                if _runtime(step) and not isinstance(error, RuntimeApiError):  # in doubt: it may have happened
                    self.touched = True
                    self.undo.append(back)
                raise
            self.touched = True
            self.runtime_ms += applied.runtime_ms or 0.0
            undo = back if _runtime(step) else applied.undo  # a file: the port's restore (None: nothing kept)
            if undo is not None:
                self.undo.append(undo)
        return self.runtime_ms

    async def roll_back(self) -> BaseException | None:
        """Undo what was done, last first; the error that stopped it, if any. It stops at the first undo that
        fails, so what is persisted never says other than what HAProxy runs (a file put back under a runtime
        state that stayed would finish the switch at the next reload). The read-back says where the host is."""
        while self.undo:
            try:
                await self.port.apply(self.undo[-1])
            except Exception as error:  # left in `undo`: what could not be reverted
                return error
            self.undo.pop()
        return None


def _paired(app: AppEnvironment, to: Color) -> tuple[tuple[Change, ...], tuple[Change, ...]]:
    """The method's steps toward `to`, and toward the other color: step by step, each other's undo."""
    steps, backs = app.switch.steps(to), app.switch.steps(to.other)
    if any(isinstance(step, RestoreFile) for step in (*steps, *backs)):  # only the port hands out a restore
        raise ValueError(f"the {app.switch.method} method asks to restore a file: a method only changes routing")
    if [type(step) for step in steps] != [type(step) for step in backs]:
        raise ValueError(f"the {app.switch.method} method's steps toward each color do not pair up: no undo")
    return steps, backs


def _runtime(step: Change) -> bool:
    return isinstance(step, SetMapEntry | SetServerStates)


@dataclass(frozen=True)
class Seen:
    """What a host was observed to route the app to (None: neither, both, or it could not be read), and why."""

    live: Color | None
    text: str
    readable: bool = True


async def read_back(hosts: Mapping[str, HaproxyPort], names: Sequence[str], app: AppEnvironment) -> dict[str, Seen]:
    """Each host's routing of `app`, read now, concurrently; a host that cannot be read is seen as such."""

    async def one(port: HaproxyPort) -> Seen:
        try:
            routing = app.switch.routing(await port.read(app.switch.reads()))
        except Exception as error:  # whatever it is, the host's routing is not known
            return Seen(None, said(error), readable=False)
        return Seen(routing.live, routing.text)

    return dict(zip(names, await asyncio.gather(*(one(hosts[name]) for name in names)), strict=True))


@dataclass(frozen=True)
class Switched:
    """Whether the attempt did what it meant (every host switched; or, going back, every host restored), each
    host's label, and the routing each host was read back with after a failure (empty when nothing failed)."""

    ok: bool
    hosts: Mapping[str, str]
    slowest_ms: float | None = None
    errors: Sequence[str] = field(default_factory=tuple)
    seen: Mapping[str, Seen] = field(default_factory=dict)

    def all_on(self, color: Color) -> bool:
        """Every host read back routes to `color` (False when nothing was read back)."""
        return bool(self.seen) and all(seen.live is color for seen in self.seen.values())


class Rollout:
    """One app's switch on the hosts `names`, all or none; `back` undoes it after a failed verification."""

    def __init__(self, hosts: Mapping[str, HaproxyPort], names: Sequence[str], app: AppEnvironment, to: Color) -> None:
        self.hosts, self.names, self.app, self.to = hosts, tuple(names), app, to
        self.switches = {name: HostSwitch(hosts[name], app, to) for name in self.names}

    async def forward(self) -> Switched:
        """Switch every host at once; if any fails, undo every host's transaction and read them all back."""
        results = await asyncio.gather(*(s.carry_out() for s in self.switches.values()), return_exceptions=True)
        failures = {h: r for h, r in zip(self.names, results, strict=True) if isinstance(r, BaseException)}
        untouched = {h: "unchanged" for h in self.hosts if h not in self.switches}
        if not failures:
            timings = [r for r in results if isinstance(r, float)]
            return Switched(True, {**{h: "switched" for h in self.names}, **untouched}, max(timings, default=None))
        undone = await self._undo()
        seen = await read_back(self.hosts, self.names, self.app)
        labels = {h: self._label(h, seen[h]) for h in self.names}
        labels = {h: f"failed: {said(failures[h])}; {label}" if h in failures else label for h, label in labels.items()}
        errors = (*(f"{h}: {said(e)}" for h, e in failures.items()), *undone)
        return Switched(False, {**labels, **untouched}, None, errors, seen)

    async def back(self) -> Switched:
        """Undo every host's switch and read them back. A host that stays on the new color takes the others with
        it, back to the new LIVE (all or none again), and the hosts are read back once more."""
        undone = await self._undo()
        seen = await read_back(self.hosts, self.names, self.app)
        if all(seen[h].live is self.to.other for h in self.names):
            return Switched(True, {h: "restored" for h in self.names}, None, undone, seen)
        returned = [h for h in self.names if seen[h].live is self.to.other]
        again = await asyncio.gather(
            *(HostSwitch(self.hosts[h], self.app, self.to).carry_out() for h in returned), return_exceptions=True
        )
        forward = tuple(f"{h}: {said(r)}" for h, r in zip(returned, again, strict=True) if isinstance(r, BaseException))
        seen = await read_back(self.hosts, self.names, self.app)
        labels = {h: self._label(h, seen[h]) for h in self.names}
        return Switched(False, labels, None, (*undone, *forward), seen)

    async def _undo(self) -> tuple[str, ...]:
        names = [h for h in self.names if self.switches[h].undo]
        results = await asyncio.gather(*(self.switches[h].roll_back() for h in names))
        return tuple(f"{h}: could not undo: {said(e)}" for h, e in zip(names, results, strict=True) if e is not None)

    def _label(self, name: str, seen: Seen) -> str:
        """What was observed on host `name`: on the old LIVE (`restored`, or `unchanged` if no step was carried
        out there), on the new one (`switched`), or neither (`unknown`, with HAProxy's words or the error)."""
        if not seen.readable:
            return f"unknown (unreachable: {seen.text})"
        if seen.live is self.to.other:
            return "restored" if self.switches[name].touched else "unchanged"
        return "switched" if seen.live is self.to else f"unknown ({seen.text})"
