"""The step outputs a workflow reads: `sync`, the seed's next step, beside `result`, `apps` and `live`."""

from __future__ import annotations

import json

from bluegreen.action.run import no_release, outcome_outputs
from bluegreen.model import Color, Outcome
from tests.unit.report.test_outcome import NOOP, ROLLBACK, ROLLED_BACK, SUCCESS, done, plan


def test_sync_lists_each_app_switched_forward_for_a_job_matrix() -> None:
    other = done(plan("ldc-tools", live=Color.BLUE, to=Color.GREEN, versions=("1.7.2", "1.8.0")), "success")
    outputs = outcome_outputs(Outcome((SUCCESS, ROLLED_BACK, NOOP, other)))
    assert json.loads(outputs["sync"]) == [
        {"app": "theoshift", "standby": "green", "address": "10.92.3.24:3001", "version": "2.4.1"},
        {"app": "ldc-tools", "standby": "blue", "address": "10.92.3.22:3001", "version": "1.8.0"},
    ]
    assert json.loads(outputs["apps"]) == ["theoshift", "ldc-tools"]  # the released apps, as before


def test_no_sync_after_a_rollback_a_plan_or_a_run_that_released_nothing() -> None:
    assert outcome_outputs(Outcome((ROLLBACK,)))["sync"] == "[]"
    assert outcome_outputs(Outcome((SUCCESS,), dry_run=True))["sync"] == "[]"
    assert no_release("refused")["sync"] == "[]"
