"""The next step after a release: which new STANDBY to bring up to which version (the Action's `sync` output)."""

from __future__ import annotations

import dataclasses

from bluegreen.core.sync import Sync, syncs
from bluegreen.model import Color, ColorRecord, Outcome
from tests.unit.report.test_outcome import FAILED, NOOP, REFUSED, ROLLBACK, ROLLED_BACK, SUCCESS, done, plan

BLUE, GREEN = Color.BLUE, Color.GREEN


def test_a_release_switched_forward_asks_to_deploy_the_new_live_version_to_the_new_standby() -> None:
    assert syncs(Outcome((SUCCESS,))) == (Sync("theoshift", GREEN, "10.92.3.24:3001", "2.4.1"),)


def test_the_version_seen_on_the_new_live_wins_over_the_planned_one() -> None:
    seen = dataclasses.replace(SUCCESS, live=ColorRecord(BLUE, "2.4.1+build.9", "10.92.3.22:3001"))
    assert syncs(Outcome((seen,)))[0].version == "2.4.1+build.9"


def test_nothing_to_sync_after_a_rollback_a_failure_a_refusal_a_noop_or_a_plan() -> None:
    # after a rollback, the STANDBY keeps the failed version for debugging
    for outcome in (ROLLBACK, ROLLED_BACK, FAILED, REFUSED, NOOP):
        assert syncs(Outcome((outcome,))) == ()
    assert syncs(Outcome((SUCCESS,), dry_run=True)) == ()


def test_each_app_switched_forward_in_order() -> None:
    other = done(plan("ldc-tools", live=BLUE, to=GREEN, versions=("1.7.2", "1.8.0")), "success")
    found = syncs(Outcome((SUCCESS, ROLLED_BACK, other)))
    assert [(sync.app, sync.standby, sync.version) for sync in found] == [
        ("theoshift", GREEN, "2.4.1"),
        ("ldc-tools", BLUE, "1.8.0"),
    ]
