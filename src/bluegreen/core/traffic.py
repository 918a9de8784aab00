"""What users saw while traffic moved: the figure of the release's own steady requests through the public entry,
and the rule that fails verification when too many of them failed. Pure: the engine brings the requests.

- a request failed when it got no answer, or an answer of 5xx;
- a failure counts against the release when the new LIVE is named as its server, or when it left after the
  switch command on its route and no header or version names the old LIVE as its server; the others (the first
  tick usually reaches the old LIVE, and a hotfix is released because the old LIVE fails) are the old LIVE's,
  shown apart and not judged;
- a request that did not fail was answered by the color its served-by header names (else by the version it
  answers, when the two colors' versions differ): the same reading as verification's. So the requests are the
  failed ones, those answered by each color, and those answered by neither (a default backend's 404, say);
- latency percentiles are nearest-rank, over the requests that got an answer;
- the first answer by the new LIVE is timed from the switch command on the route it went through (a host's own
  runtime command; from here, the first host's), and with several routes the slowest one counts.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bluegreen.core.versions import same_version
from bluegreen.model import AppEnvironment, Color, Served, SwitchTraffic


@dataclass(frozen=True)
class Visit:
    """One request of the release's own traffic: the route it took (a host's name; None: from here), when it
    left (monotonic seconds), how long its answer took, and what came back."""

    route: str | None
    sent_s: float
    took_ms: float
    served: Served

    @property
    def answered_s(self) -> float:
        return self.sent_s + self.took_ms / 1000


def failed(served: Served) -> bool:
    return served.error is not None or served.status is None or served.status >= 500


def color_of(served: Served, app: AppEnvironment, versions: Mapping[Color, str | None]) -> Color | None:
    """The color that answered: named by the served-by header, else by its version if only one color runs it."""
    if served.served_by:
        return next((color for color in Color if _names(served.served_by, app.switch.served_by(color))), None)
    matching = [color for color in Color if same_version(served.version, versions.get(color))]
    return matching[0] if len(matching) == 1 else None


def _names(served_by: str, expected: str) -> bool:
    """`backend/` names any server of that backend; `backend/server` that one only."""
    return served_by.startswith(expected) if expected.endswith("/") else served_by == expected


def percentile(values: Sequence[float], share: float) -> float | None:
    """The nearest-rank percentile (`share` of 100): the smallest value that at least that share is not above."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, math.ceil(share / 100 * len(ordered))) - 1]


def figure(
    visits: Sequence[Visit],
    app: AppEnvironment,
    to: Color,
    versions: Mapping[Color, str | None],
    commanded: Mapping[str, float],
) -> SwitchTraffic:
    """The figure of `visits`; `commanded`: when each switched host was sent its switch command (monotonic s)."""
    answered = [visit for visit in visits if visit.served.status is not None]
    colors = Counter(color_of(visit.served, app, versions) for visit in visits if not failed(visit.served))
    release = len(release_failures(visits, app, to, versions, commanded))
    return SwitchTraffic(
        requests=len(visits),
        failed=release,
        failed_old=sum(1 for visit in visits if failed(visit.served)) - release,
        by_color={color: colors[color] for color in (to.other, to)},
        p50_ms=percentile([visit.took_ms for visit in answered], 50),
        p99_ms=percentile([visit.took_ms for visit in answered], 99),
        first_new_ms=first_new_ms(visits, app, to, versions, commanded),
    )


def release_failures(
    visits: Sequence[Visit],
    app: AppEnvironment,
    to: Color,
    versions: Mapping[Color, str | None],
    commanded: Mapping[str, float],
) -> list[Visit]:
    """The failed requests that count against the release (see the module's docstring)."""
    return [visit for visit in visits if failed(visit.served) and _against(visit, app, to, versions, commanded)]


def _against(
    visit: Visit, app: AppEnvironment, to: Color, versions: Mapping[Color, str | None], commanded: Mapping[str, float]
) -> bool:
    served_by = color_of(visit.served, app, versions)
    if served_by is not None:
        return served_by is to
    sent = _commanded_on(visit.route, commanded)
    return sent is not None and visit.sent_s >= sent


def _commanded_on(route: str | None, commanded: Mapping[str, float]) -> float | None:
    """When the switch command went out on `route`: that host's own, or from here the first host's."""
    if route is None:
        return min(commanded.values(), default=None)
    return commanded.get(route)


def first_new_ms(
    visits: Sequence[Visit],
    app: AppEnvironment,
    to: Color,
    versions: Mapping[Color, str | None],
    commanded: Mapping[str, float],
) -> float | None:
    """From the switch command to the first answer by `to`, on the slowest route; None when a route that was
    switched saw no answer by `to` (or no host was sent a command)."""
    if not commanded:
        return None
    routes = {visit.route for visit in visits}
    waits = []
    for route in sorted(routes, key=str):
        sent = _commanded_on(route, commanded)
        if sent is None:  # a host that needed no switch: it was on the new LIVE before
            continue
        new = [
            v.answered_s - sent
            for v in visits
            if v.route == route and v.answered_s >= sent and color_of(v.served, app, versions) is to
        ]
        if not new:
            return None
        waits.append(min(new) * 1000)
    return max(waits, default=None)


def first_failure(visits: Sequence[Visit]) -> str | None:
    """The first failed request (by the time it left), in words."""
    failures = sorted((visit for visit in visits if failed(visit.served)), key=lambda visit: visit.sent_s)
    if not failures:
        return None
    served = failures[0].served
    return served.error or f"status {served.status}, served by {served.served_by or '?'}"


def problems(traffic: SwitchTraffic, allowed: int, first: str | None) -> list[str]:
    """Why verification fails on what users saw: more failed requests than allowed."""
    if traffic.failed <= allowed:
        return []
    why = f"; first: {first}" if first else ""
    return [f"users during the switch: {traffic.failed} of {traffic.requests} requests failed (allowed {allowed}{why})"]
