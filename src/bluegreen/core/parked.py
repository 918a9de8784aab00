"""A STANDBY parked in maintenance: which of its servers a release wakes, and what HAProxy's check says of them
once woken. Pure: the planner and engine/standby.py bring the facts.

HAProxy shows `MAINT` for a server written `disabled` in haproxy.cfg or put there with `state maint`, and does not
check it, so the pre-flight cannot ask HAProxy whether it is UP. The release puts it in `drain` (no new traffic,
the check runs again), waits, bounded, until the check passes on every host, and only then switches. A server the
switch itself does not set (a `map` app's STANDBY backend) is made `ready` then, as its backend takes the traffic
as soon as the switch names it; a `servers` switch makes its STANDBY ready itself. `MAINT (via b/s)` (it tracks
another server) and `MAINT (resolution)` (its name does not resolve) are not parked: no state change wakes them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from bluegreen.core.checks import check_hint, check_passing, check_settled
from bluegreen.model import AppEnvironment, Color, Parked, ServerView
from bluegreen.switching.base import Change, SaveServerStates, SetServerStates

_GONE = "HAProxy no longer has the server: check haproxy.cfg against environments.json"
Stats = Mapping[str, Sequence[ServerView]]  # each host's `show stat` servers


def in_maintenance(view: ServerView) -> bool:
    return view.status == "MAINT"


def parked_on(host: str, servers: Sequence[ServerView]) -> tuple[Parked, ...]:
    """The STANDBY's servers a release wakes on `host`: those in maintenance, when every other one passes
    HAProxy's check already (none when anything else is wrong there: the plan refuses that as before)."""
    if not all(in_maintenance(server) or check_passing(server) for server in servers):
        return ()
    return tuple(Parked(host, server.backend, server.server) for server in servers if in_maintenance(server))


def plan_detail(woken: Sequence[Parked], wait_s: float) -> str:
    """The plan's words for one host's parked servers."""
    names = ", ".join(f"{each.backend}/{each.server}" for each in woken)
    return (
        f"{names} MAINT, not checked: the release puts it in drain (no traffic, health checks run) and waits up to "
        f"{wait_s:g} s for HAProxy's check to see it UP before the switch"
    )


def plan_notes(app: AppEnvironment, to: Color, parked: Sequence[Parked]) -> tuple[str, ...]:
    """What the plan says once: the way back if the check fails, and a reload's effect when the switch keeps no
    server states (a `map` switch): a server written `disabled` is in maintenance again after every reload."""
    if not parked:
        return ()
    wait = f"{app.verify.standby_check_wait_s:g} s"
    notes = [
        f"{to.title} is in maintenance on {', '.join(dict.fromkeys(p.host for p in parked))}: if HAProxy's check does "
        f"not see it UP within {wait} of leaving it, it goes back, and the release is refused with nothing changed",
    ]
    if not any(isinstance(step, SaveServerStates) for step in app.switch.steps(to)):
        notes.append(
            f"if haproxy.cfg writes {', '.join(dict.fromkeys(f'{p.backend}/{p.server}' for p in parked))} "
            f"`disabled`, take that out once {to.title} is LIVE: this switch keeps no server state, so every "
            f"reload would put the LIVE back in maintenance"
        )
    return tuple(notes)


def made_ready(parked: Iterable[Parked], steps: Sequence[Change]) -> tuple[Parked, ...]:
    """The woken servers to make `ready` before the switch: those its steps do not set themselves."""
    set_by_switch = {
        (step.backend, server) for step in steps if isinstance(step, SetServerStates) for server, _ in step.states
    }
    return tuple(each for each in parked if (each.backend, each.server) not in set_by_switch)


def unchecked(parked: Iterable[Parked], stats: Stats) -> tuple[tuple[Parked, ServerView | None], ...]:
    """The woken servers HAProxy's check does not see UP yet, with what HAProxy shows (None: not in `show stat`)."""
    found = []
    for each in parked:
        view = next((s for s in stats.get(each.host, ()) if (s.backend, s.server) == (each.backend, each.server)), None)
        if view is None or not check_settled(view):
            found.append((each, view))
    return tuple(found)


def said(pending: Sequence[tuple[Parked, ServerView | None]]) -> str:
    """What HAProxy shows of each server still unchecked: `lb1: b_blue/blue DOWN L4CON`."""
    return "; ".join(f"{each.host}: {each.backend}/{each.server} {_shown(view)}" for each, view in pending)


def hints(pending: Sequence[tuple[Parked, ServerView | None]]) -> str:
    """What to fix, once for each thing HAProxy's check said."""
    found = (check_hint(view.check_status) if view else _GONE for _, view in pending)
    return "; ".join(dict.fromkeys(found))


def named(parked: Iterable[Parked]) -> str:
    """`lb1: b_blue/blue, lb2: b_blue/blue`."""
    return ", ".join(f"{each.host}: {each.backend}/{each.server}" for each in parked)


def _shown(view: ServerView | None) -> str:
    if view is None:
        return "not in show stat"
    return f"{view.status} {view.check_status or 'not checked yet'}"
