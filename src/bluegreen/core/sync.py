"""The seed's next step after a release: bring the new STANDBY up to the new LIVE's version. Pure.

The Action hands these to the workflow as its `sync` output, so that a team's own job deploys the new STANDBY.
Only a release that moved traffic forward asks for it: after a rollback the STANDBY holds the failed version, left
there for debugging, and a release that failed, was refused or changed nothing leaves nothing new to sync.
"""

from __future__ import annotations

from dataclasses import dataclass

from bluegreen.model import AppOutcome, Color, Outcome


@dataclass(frozen=True)
class Sync:
    """Deploy `version` (the new LIVE's) to `standby`, the color traffic just left, at `address`."""

    app: str
    standby: Color
    address: str
    version: str | None  # None: the new LIVE's version is not known (it did not answer /version)


def syncs(outcome: Outcome) -> tuple[Sync, ...]:
    """One per app that a real release switched forward, in the outcome's order."""
    if outcome.dry_run:
        return ()
    return tuple(_sync(app) for app in outcome.apps if _switched_forward(app))


def _switched_forward(app: AppOutcome) -> bool:
    return app.result == "success" and app.plan.action == "switch" and app.plan.kind == "release"


def _sync(app: AppOutcome) -> Sync:
    plan = app.plan
    version = app.live.version if app.live is not None else plan.to_version
    address = app.standby.address if app.standby is not None else plan.from_address
    return Sync(plan.app, plan.to_color.other, address, version)
