"""The switch itself: one app, every host that needs it, all or none, and what each host was seen to route after.

On each host a switch is a transaction (`HostSwitch`): the method's steps carried out in order, each recorded with
its undo the moment it is done. A runtime change is undone by the method's matching step toward the old LIVE
(the method knows what routing was), a file by the port's restore of the text it held (the port knows what the
file was). Undo reverts the steps carried out, last first, and nothing that never happened. A runtime step that
may have happened is undone too, as if it had: one whose answer never came (a timeout, a dropped connection), or
a line of several commands that HAProxy answered with an error (it carries on after one fails). Only a single
command HAProxy refused, or one that never left, did not happen.

Every undo is tried, also after one fails: each moves the host toward the old LIVE, and the ones that fail are
kept and reported. Across hosts (`Rollout`): every host at once; if one fails, every host's transaction is undone.
After a failure every host is read back through the port, and the labels say what was observed, never what was
meant: `unchanged`, `restored`, `switched` (on the new color), `unknown (...)`. A host is read back twice in one
batch: what it routes to, and what it keeps (the map file, the server-state file: what a reload would route to).
It is only back when it is read on the old LIVE, a reload would keep it there, *and* nothing is left to undo there
(a map file that still names the new LIVE would finish the switch at the next reload: seen in the file when it
can be read, known from the undo that failed in any case). Traffic is never sent to the new color again to make
hosts agree: the new color is the one that just failed.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bluegreen.core.drift import on_reload
from bluegreen.engine.ports import HaproxyPort
from bluegreen.errors import NotSentError, RuntimeApiError, UnreachableError, said
from bluegreen.model import AppEnvironment, Color, Kept
from bluegreen.switching.base import Change, RestoreFile, SaveServerStates, SetMapEntry, SetServerStates, WriteMapEntry

__all__ = ["HostSwitch", "Rollout", "Seen", "Switched", "read_back"]


@dataclass
class HostSwitch:
    """One host's switch of one app, as a transaction: what was done, and how to undo it."""

    port: HaproxyPort
    app: AppEnvironment
    to: Color
    undo: list[Change] = field(default_factory=list)  # the undo of each step carried out (or maybe), in order
    left: list[Change] = field(default_factory=list)  # the undos that failed: what is still not reverted
    touched: bool = False  # a step was carried out here, or may have been
    runtime_ms: float = 0.0
    commanded_at: float | None = None  # time.monotonic() when the runtime step toward `to` was handed to the port
    answered: asyncio.Event = field(default_factory=asyncio.Event)  # set when HAProxy has carried that step out

    async def carry_out(self) -> float:
        """Carry out the method's steps toward `to`, in order; returns the runtime commands' time in ms. On a
        failure it stops where it is and raises: `roll_back` undoes what was done."""
        steps, backs = _paired(self.app, self.to)
        for step, back in zip(steps, backs, strict=True):
            if _runtime(step) and self.commanded_at is None:
                self.commanded_at = time.monotonic()
            try:
                applied = await self.port.apply(step)
            except BaseException as error:
                if _runtime(step) and _maybe_done(step, error):
                    self.touched = True
                    self.undo.append(back)
                raise
            self.touched = True
            if _runtime(step):
                self.answered.set()
            self.runtime_ms += applied.runtime_ms or 0.0
            undo = back if _runtime(step) else applied.undo  # a file: the port's restore (None: nothing kept)
            if undo is not None:
                self.undo.append(undo)
        return self.runtime_ms

    async def roll_back(self) -> tuple[BaseException, ...]:
        """Undo what was done, last first. Every undo is tried, also after one fails (each moves the host toward
        the old LIVE); the ones that fail stay in `left`, and their errors are returned."""
        errors: list[BaseException] = []
        while self.undo:
            change = self.undo.pop()
            try:
                await self.port.apply(change)
            except Exception as error:
                self.left.insert(0, change)
                errors.append(error)
        return tuple(errors)


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


def _maybe_done(step: Change, error: BaseException) -> bool:
    """Whether a runtime step that raised `error` may still have changed something."""
    if isinstance(error, NotSentError | ValueError):  # it never left: a channel not opened, a name refused
        return False
    if isinstance(error, RuntimeApiError):  # refused; but on a line of several commands, the others went on
        return isinstance(step, SetServerStates) and len(step.states) > 1
    return True


@dataclass(frozen=True)
class Seen:
    """What a host was observed to route the app to (None: neither, both, or it could not be read), and why; and
    what it keeps (None: the method keeps nothing, or the host could not be read)."""

    live: Color | None
    text: str
    readable: bool = True
    unreachable: bool = False  # (when not readable) the host could not be reached, rather than answered oddly
    kept: Kept | None = None

    def kept_elsewhere(self, color: Color) -> str | None:
        """What a reload would do instead of keeping `color`, in words; None when it keeps it (or cannot tell)."""
        if self.kept is None or not self.kept.readable or self.kept.live is color:
            return None
        return on_reload(self.kept, color)


async def read_back(hosts: Mapping[str, HaproxyPort], names: Sequence[str], app: AppEnvironment) -> dict[str, Seen]:
    """Each host's routing of `app` and what it keeps, read now in one batch per host, every host at once; a host
    that cannot be read is seen as such."""

    async def one(port: HaproxyPort) -> Seen:
        try:
            answers = await port.read((*app.switch.reads(), *app.switch.kept_reads()))
            routing, kept = app.switch.routing(answers), app.switch.kept(answers)
        except Exception as error:  # whatever it is, the host's routing is not known
            return Seen(None, said(error), readable=False, unreachable=isinstance(error, UnreachableError))
        return Seen(routing.live, routing.text, kept=Kept(kept.live, kept.text, kept.readable) if kept else None)

    return dict(zip(names, await asyncio.gather(*(one(hosts[name]) for name in names)), strict=True))


@dataclass(frozen=True)
class Switched:
    """Whether the attempt did what it meant (every host switched; or, going back, every host back), each host's
    label, and, after a failure, what each host was read back with and the hosts that are not back, in words."""

    ok: bool
    hosts: Mapping[str, str]
    slowest_ms: float | None = None
    errors: Sequence[str] = field(default_factory=tuple)
    seen: Mapping[str, Seen] = field(default_factory=dict)
    off: Mapping[str, str] = field(default_factory=dict)  # host -> why it is not back on the old LIVE
    back: bool = False  # after a failure: every host is back on the old LIVE, with nothing left to undo

    def all_on(self, color: Color) -> bool:
        """Every host read back routes to `color` (False when nothing was read back)."""
        return bool(self.seen) and all(seen.live is color for seen in self.seen.values())


class Rollout:
    """One app's switch on the hosts `names`, all or none; `back` undoes it after a failed verification."""

    def __init__(self, hosts: Mapping[str, HaproxyPort], names: Sequence[str], app: AppEnvironment, to: Color) -> None:
        self.hosts, self.names, self.app, self.to = hosts, tuple(names), app, to
        self.switches = {name: HostSwitch(hosts[name], app, to) for name in self.names}
        self.untouched = {name: "unchanged" for name in hosts if name not in self.switches}

    async def forward(self) -> Switched:
        """Switch every host at once; if any fails, undo every host's transaction and read them all back."""
        results = await asyncio.gather(*(s.carry_out() for s in self.switches.values()), return_exceptions=True)
        failures = {h: r for h, r in zip(self.names, results, strict=True) if isinstance(r, BaseException)}
        if not failures:
            timings = [r for r in results if isinstance(r, float)]
            labels = {h: "switched" for h in self.names}
            return Switched(True, {**labels, **self.untouched}, max(timings, default=None))
        undone = await self._undo()
        labels, seen, off = await self._read_back()
        labels = {h: f"failed: {said(failures[h])}; {label}" if h in failures else label for h, label in labels.items()}
        errors = (*(f"{h}: {said(e)}" for h, e in failures.items()), *undone)
        return Switched(False, {**labels, **self.untouched}, None, errors, seen, off, not off)

    async def back(self) -> Switched:
        """Undo every host's switch, and read them all back."""
        undone = await self._undo()
        labels, seen, off = await self._read_back()
        return Switched(not off, {**labels, **self.untouched}, None, undone, seen, off, not off)

    async def _undo(self) -> tuple[str, ...]:
        names = [h for h in self.names if self.switches[h].undo]
        results = await asyncio.gather(*(self.switches[h].roll_back() for h in names))
        return tuple(
            f"{h}: could not undo: {said(e)}" for h, errors in zip(names, results, strict=True) for e in errors
        )

    async def _read_back(self) -> tuple[dict[str, str], dict[str, Seen], dict[str, str]]:
        """Each host's label, what it was read back with, and the hosts that are not back (why, in words)."""
        seen = await read_back(self.hosts, self.names, self.app)
        labels, off = {}, {}
        for name in self.names:
            labels[name], why = self._judged(name, seen[name])
            if why:
                off[name] = why
        return labels, seen, off

    def _judged(self, name: str, seen: Seen) -> tuple[str, str | None]:
        """Host `name`'s label, and why it is not back on the old LIVE (None when it is)."""
        old, new, left = self.to.other, self.to, self.switches[name].left
        if not seen.readable:
            kind = "unreachable" if seen.unreachable else "cannot be read"
            return f"unknown ({kind}: {seen.text})", "cannot be read"
        if seen.live is new:
            return "switched", f"is on {new.title}"
        if seen.live is None:
            return f"unknown ({seen.text})", "routes to neither color"
        done = "restored" if self.switches[name].touched else "unchanged"
        stuck = _stuck(seen, old, left)
        if stuck:
            return f"{done} at runtime, but {stuck}", f"is on {old.title}, but {stuck}"
        return done, None


def _stuck(seen: Seen, old: Color, left: Sequence[Change]) -> str | None:
    """What would still move a host read on `old` at runtime: a reload, as its files are read now (observed); or,
    where they cannot be read or nothing is kept, the undos that failed there (inferred)."""
    if seen.kept is not None and seen.kept.readable:
        return seen.kept_elsewhere(old)
    return f"not undone: {', '.join(_undo_text(change) for change in left)}" if left else None


def _undo_text(change: Change) -> str:
    """An undo that could not be carried out, as the report names what it left behind."""
    if isinstance(change, RestoreFile):
        return f"{change.path} still holds the switch's version"
    if isinstance(change, SetMapEntry | WriteMapEntry):
        return f"the map entry {change.key} of {change.map_file}"
    if isinstance(change, SetServerStates):
        return f"the server states of backend {change.backend}"
    assert isinstance(change, SaveServerStates)
    return f"the server-state file {change.state_file}"
