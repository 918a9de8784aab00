"""After the switch, the rules that say whether users reach the new LIVE. Pure: the engine brings the facts.

- every host routes to the new LIVE and sees its servers UP with a passing check;
- requests through the public entry are answered by the new LIVE (named by the served-by header, else by the
  version it answers) and none fails;
- HAProxy counts no more new 5xx answers on the new LIVE than allowed;
- the old LIVE's established sessions are counted, never cut.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from bluegreen.core.checks import check_passing
from bluegreen.core.versions import label, same_version
from bluegreen.model import AppEnvironment, Color, HostAppView, Served


def routing_problems(views: Mapping[str, HostAppView], to: Color) -> list[str]:
    problems = [f"{host} routes to {view.routing}" for host, view in views.items() if view.live != to]
    for host, view in views.items():
        problems += [
            f"{host} sees {s.backend}/{s.server} {s.status} {s.check_status}".rstrip()
            for s in view.servers.get(to, ())
            if not check_passing(s)
        ]
    return problems


def served_problems(served: Sequence[Served], app: AppEnvironment, to: Color, to_version: str | None) -> list[str]:
    wrong = [s for s in served if not _reached(s, app, to, to_version)]
    if not wrong:
        return []
    first = wrong[0]
    said = first.error or f"status {first.status}, served by {first.served_by or '?'}, {label(first.version)}"
    return [f"{len(wrong)}/{len(served)} requests through {app.public.url} did not reach {to.title} (first: {said})"]


def _reached(served: Served, app: AppEnvironment, to: Color, to_version: str | None) -> bool:
    if served.error or served.status is None or served.status >= 500:
        return False
    if served.served_by:
        expected = app.switch.served_by(to)  # `backend/` (any of its servers) or `backend/server` (that one)
        return served.served_by.startswith(expected) if expected.endswith("/") else served.served_by == expected
    return same_version(served.version, to_version)


def new_5xx(before: Mapping[str, HostAppView], after: Mapping[str, HostAppView], to: Color, allowed: int) -> list[str]:
    counted = 0
    for host, view in after.items():
        old = {(s.backend, s.server): s.http_5xx for s in before[host].servers.get(to, ())}
        # A reload resets the counters: a count below the one seen before starts again from zero.
        counted += sum(max(0, s.http_5xx - old.get((s.backend, s.server), 0)) for s in view.servers.get(to, ()))
    return (
        [] if counted <= allowed else [f"HAProxy counted {counted} new 5xx answers on the new LIVE (allowed {allowed})"]
    )


def sessions(views: Mapping[str, HostAppView], color: Color) -> int:
    return sum(s.sessions for view in views.values() for s in view.servers.get(color, ()))


def summary(
    served: Sequence[Served], app: AppEnvironment, to: Color, to_version: str | None, views: Mapping[str, HostAppView]
) -> str:
    how = f"served by {app.switch.served_by(to).rstrip('/')}" if any(s.served_by for s in served) else label(to_version)
    hosts = ", ".join(f"{host} → {view.routing}" for host, view in views.items())
    return f"{len(served)}/{len(served)} requests through the public entry {how}; {to.title} healthy; {hosts}"
