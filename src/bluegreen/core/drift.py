"""Drift: where HAProxy's LIVE is not the one bluegreen recorded. Pure.

The one rule, read by the planner (the plan's `Drift:` lines) and by `bluegreen status` (its drift lines and the
JSON): each HAProxy host routes to one color, or to neither; a host drifts when that is not the recorded LIVE.
A host that routes to neither color always drifts, and while no LIVE is recorded yet, so does every host: the
record says nothing it could agree with (`status` says so; a plan leaves it out, since the release it plans is
what will record it). The hosts disagree when they do not all route to the same color. A drift watch (`watch`,
the Action's scheduled status, which opens an issue) adds a color whose app server is down: then the hosts may
agree with the record, and still neither a switch nor a switch back could be made. It leaves out what `status`
says while no LIVE is recorded yet: before the first release there is no record to drift from, and an alarm on
every new setup would teach people to ignore it (hosts that disagree, or route to neither color, still count).

And a host drifts from itself when what it keeps (the file a reload reads) does not name the color it routes to
now: the next reload would move its traffic, whatever status.json says (`kept_apart`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bluegreen.model import AppObservation, AppStatus, Color, Kept, Observation, Status

LiveByHost = Mapping[str, Color | None]  # each HAProxy host's LIVE color; None where it routes to neither


def live_by_host(seen: AppObservation) -> dict[str, Color | None]:
    return {host: view.live for host, view in seen.hosts.items()}


def drifted_hosts(live: LiveByHost, recorded: Color | None) -> tuple[str, ...]:
    """The hosts whose LIVE is not the recorded one, in the order they were observed."""
    return tuple(host for host, color in live.items() if color is None or color is not recorded)


def hosts_disagree(live: LiveByHost) -> bool:
    return len(set(live.values())) > 1


def observed_live(live: LiveByHost) -> Color | None:
    """The LIVE color every HAProxy host agrees on; None when they disagree, none routes to a color, or none
    was observed."""
    colors = set(live.values())
    return next(iter(colors)) if len(colors) == 1 else None


# --- what a drift watch reports: the hosts against each other and the record, and each color's health ----------


@dataclass(frozen=True)
class AppDrift:
    """One app as a drift watch sees it (`bluegreen status` on a schedule): found when the HAProxy hosts disagree,
    a host's LIVE is not the recorded one (the rule above), a host would route elsewhere after a reload (its map
    file or server-state file says otherwise, or cannot be read), or a color's app server is down."""

    app: str
    live: LiveByHost
    recorded: Color | None  # the LIVE bluegreen's record names; None: no release recorded yet
    drifted: tuple[str, ...]  # the hosts whose LIVE is not the recorded one (with none recorded: on neither color)
    disagree: bool
    down: tuple[Color, ...]  # colors whose app server failed its health probes
    kept: tuple[str, ...] = ()  # the hosts a reload would move (or whose kept files cannot be read)

    @property
    def found(self) -> bool:
        return bool(self.drifted or self.disagree or self.down or self.kept)


def app_drift(seen: AppObservation, recorded: Color | None) -> AppDrift:
    live = live_by_host(seen)
    down = tuple(color for color in Color if color in seen.colors and not seen.colors[color].healthy)
    drifted = drifted_hosts(live, recorded) if recorded else tuple(host for host, color in live.items() if not color)
    return AppDrift(seen.name, live, recorded, drifted, hosts_disagree(live), down, kept_apart(seen))


def watch(observation: Observation, status: Status) -> tuple[AppDrift, ...]:
    """Every observed app, in the order observed, against what `status` records as LIVE."""
    drifts = []
    for name, seen in observation.apps.items():
        record = status.apps.get(name, AppStatus()).live
        drifts.append(app_drift(seen, record.color if record else None))
    return tuple(drifts)


@dataclass(frozen=True)
class Basis:
    """What a drift watch holds the hosts against."""

    status: Status  # the record: the hosts' copy, else the published status.json
    note: str | None = None  # where it came from, when not from the hosts
    unjudged: str | None = None  # why nothing can be held against: the watch cannot tell drift


def basis(refused: str | None, record: Status | None, published: Status | None) -> Basis:
    """The hosts' record (`record`; None: no host holds one); when it cannot be told (`refused`: the copies
    conflict or are broken), nothing. With no record the published status.json stands in (None: it cannot be
    read): a host re-provisioned loses the record, and taking that for "no release yet" would miss a host on the
    wrong color."""
    if refused:
        return Basis(Status(), unjudged=f"bluegreen's record cannot be told: {refused}")
    if record is not None:
        return Basis(record)
    if published is None:
        return Basis(
            Status(), unjudged="no HAProxy host holds bluegreen's record, and the published status.json cannot be read"
        )
    if not any(app.live for app in published.apps.values()):
        return Basis(published)  # before the first release
    note = (
        "No HAProxy host holds bluegreen's record (a host re-provisioned, or no release made since bluegreen "
        "began keeping it there): the hosts were held against the published status.json instead."
    )
    return Basis(published, note)


def kept_apart(seen: AppObservation) -> tuple[str, ...]:
    """The hosts where a reload would route elsewhere than HAProxy routes now, or where what it would read cannot
    be read, in the order they were observed."""
    return tuple(
        host
        for host, view in seen.hosts.items()
        if view.kept is not None and (not view.kept.readable or view.kept.live is not view.live)
    )


def unkept(seen: AppObservation, wanted: Color) -> tuple[str, ...]:
    """The hosts that route to `wanted` now but, as far as their files tell, would not after a reload: their
    switch must be made again. (A file that cannot be read tells nothing: a drift to show, not to act on.)"""
    return tuple(
        host
        for host, view in seen.hosts.items()
        if view.live is wanted and view.kept is not None and view.kept.readable and view.kept.live is not wanted
    )


def on_reload(kept: Kept, instead_of: Color | None) -> str:
    """What a reload would do, in words: `a reload would route to Blue (the map file ... names t_blue)`."""
    if not kept.readable:
        return f"what a reload would route to is not known ({kept.text})"
    if kept.live is not None:
        return f"a reload would route to {kept.live.title} ({kept.text})"
    return f"a reload would not route to {instead_of.title if instead_of else 'either color'} ({kept.text})"
