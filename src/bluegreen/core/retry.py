"""A failed version is not retried by accident. Pure.

An app's desired state is its LIVE color and the version that color would bring (the pin in live.json, else what
the STANDBY runs). When the newest release in the app's history that tried exactly that state was rolled back or
failed, the app is switched again only if this run was asked for it: the change that started the run touched the
app's entry in live.json, or a person named the app (workflow_dispatch with `apps`). Otherwise it is held: nothing
is asked of its hosts, it blocks no other app, and the plan and the report say why and how to retry.

The history is bluegreen's record (the one the HAProxy hosts keep, never the branch's copy), and what the change
touched is read from reviewed commits (action/asked.py), so neither can be chosen by a pull request.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from bluegreen.core.versions import label, same_version
from bluegreen.model import AppPlan, Color, Desired, DesiredApp, ReleaseRecord, Trigger

FAILED = ("rolled_back", "failed")
REASON_LIMIT = 200  # characters of the failed release's own reason quoted in the hold


def touched(before: Desired | None, after: Desired) -> tuple[str, ...]:
    """The apps whose entry in live.json differs between `before` and `after` (its `live` or its `version`), or is
    new; every app when there is no `before` to compare with (no live.json there: the file is new; one that
    cannot be read counts as touching nothing, action/asked.py)."""
    if before is None:
        return tuple(after.apps)
    return tuple(name for name, app in after.apps.items() if _entry(before.apps.get(name)) != _entry(app))


def _entry(app: DesiredApp | None) -> tuple[Color, str | None] | None:
    return None if app is None else (app.live, app.version)


def last_attempt(history: Iterable[ReleaseRecord], color: Color, version: str | None) -> ReleaseRecord | None:
    """The newest release of `history` (newest first) that tried to make `color` LIVE at `version`."""
    return next((r for r in history if r.to_color is color and same_version(r.to_version, version)), None)


def held(plan: AppPlan, wanted: DesiredApp, history: Iterable[ReleaseRecord], trigger: Trigger) -> str | None:
    """Why the app is held, or None when it may be released as planned."""
    if plan.action == "noop" or trigger.asked_for is None or plan.app in trigger.asked_for:
        return None
    version = wanted.version or plan.to_version
    last = last_attempt(history, plan.to_color, version)
    if last is None or last.result not in FAILED:
        return None
    return _why(plan.app, last, version)


def hold(plan: AppPlan, wanted: DesiredApp, history: Iterable[ReleaseRecord], trigger: Trigger) -> AppPlan:
    """`plan`, or the app held (action `hold`, no checks: nothing is asked of its hosts) when `held` says so."""
    why = held(plan, wanted, history, trigger)
    return plan if why is None else replace(plan, action="hold", checks=(), held=why)


def _why(app: str, last: ReleaseRecord, version: str | None) -> str:
    what = "was rolled back" if last.result == "rolled_back" else "failed"
    origin = f" (PR #{last.pr})" if last.pr else ""
    said = last.reason or ""
    said = said if len(said) <= REASON_LIMIT else said[: REASON_LIMIT - 1] + "…"
    return (
        f"{last.to_color.title} {label(version)} is what the {last.kind} of {last.at}{origin} tried, and it "
        f"{what}{': ' + said if said else ''}. The change that started this run does not touch {app} in "
        "live.json, so it is not tried again"
    )


def how_to_retry(app: str) -> str:
    """What a person does to release a held app after all."""
    return (
        f"to try again, change {app}'s entry in live.json (a fixed version deployed to STANDBY, with its version "
        f"pinned), or run the workflow by hand (workflow_dispatch, mode release) with `apps: {app}`"
    )
