"""Drift: where HAProxy's LIVE is not the one bluegreen recorded. Pure.

The one rule, read by the planner (the plan's `Drift:` lines) and by `bluegreen status` (its drift lines and the
JSON): each HAProxy host routes to one color, or to neither; a host drifts when that is not the recorded LIVE.
A host that routes to neither color always drifts, and while no LIVE is recorded yet, so does every host: the
record says nothing it could agree with (`status` says so; a plan leaves it out, since the release it plans is
what will record it). The hosts disagree when they do not all route to the same color.

And a host drifts from itself when what it keeps (the file a reload reads) does not name the color it routes to
now: the next reload would move its traffic, whatever status.json says (`kept_apart`).
"""

from __future__ import annotations

from collections.abc import Mapping

from bluegreen.model import AppObservation, Color, Kept

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
