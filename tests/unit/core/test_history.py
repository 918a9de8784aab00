"""record_outcome folds a release's outcome into the recorded status, without any file or server."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bluegreen import config
from bluegreen.core import history
from bluegreen.core.history import record_outcome
from bluegreen.model import (
    AppOutcome,
    AppPlan,
    AppStatus,
    Color,
    ColorRecord,
    Outcome,
    ReleaseRecord,
    Result,
    Status,
    Trigger,
)

BLUE, GREEN = Color.BLUE, Color.GREEN
AT = "2026-11-24T10:00:00Z"
TRIGGER = Trigger(actor="octocat", pr=42, pr_url="https://github.test/pr/42", commit="abc1234", reverts_pr=None)
OLD_LIVE = ColorRecord(GREEN, "2.4.0", "10.0.1.2:3001")
OLD_STANDBY = ColorRecord(BLUE, "2.4.1", "10.0.1.1:3001")
NEW_LIVE = ColorRecord(BLUE, "2.4.1", "10.0.1.1:3001")
NEW_STANDBY = ColorRecord(GREEN, "2.4.0", "10.0.1.2:3001")
EARLIER = ReleaseRecord("success", "release", "2026-11-01T00:00:00Z", BLUE, GREEN, "2.3.9", "2.4.0")
OTHER_APP = AppStatus(live=ColorRecord(BLUE, "1.7.2", "10.0.2.1:80"), last_release=EARLIER, history=(EARLIER,))
BEFORE = Status(
    apps={
        "theoshift": AppStatus(OLD_LIVE, OLD_STANDBY, EARLIER, (EARLIER,)),
        "ldc-tools": OTHER_APP,
    },
    updated_at="2026-11-01T00:00:01Z",
)
PLAN = AppPlan(
    app="theoshift",
    action="switch",
    kind="release",
    from_color=GREEN,
    to_color=BLUE,
    from_version="2.4.0",
    to_version="2.4.1",
    from_address="10.0.1.2:3001",
    to_address="10.0.1.1:3001",
    hosts=("lb1", "lb2"),
    checks=(),
)


def outcome_of(result: Result, *, observed: bool = True, dry_run: bool = False, plan: AppPlan = PLAN) -> Outcome:
    app = AppOutcome(
        plan=plan,
        result=result,
        steps=(),
        hosts={"lb1": "switched", "lb2": "switched"},
        durations_ms={"preflight": 10.0, "switch": 4.5, "total": 20.0},
        switch_ms=4.5,
        live=NEW_LIVE if observed else None,
        standby=NEW_STANDBY if observed else None,
        reason=None if result == "success" else f"it {result}",
    )
    return Outcome(apps=(app,), trigger=TRIGGER, at=AT, dry_run=dry_run)


def expected_record(result: Result) -> ReleaseRecord:
    return ReleaseRecord(
        result=result,
        kind="release",
        at=AT,
        from_color=GREEN,
        to_color=BLUE,
        from_version="2.4.0",
        to_version="2.4.1",
        durations_ms={"preflight": 10.0, "switch": 4.5, "total": 20.0},
        switch_ms=4.5,
        hosts={"lb1": "switched", "lb2": "switched"},
        actor="octocat",
        pr=42,
        commit="abc1234",
        reason=None if result == "success" else f"it {result}",
    )


@pytest.mark.parametrize("result", ["success", "rolled_back", "failed"])
def test_a_release_is_recorded_newest_first(result: Result) -> None:
    after = record_outcome(BEFORE, outcome_of(result))
    record = expected_record(result)
    assert after == Status(
        apps={"theoshift": AppStatus(NEW_LIVE, NEW_STANDBY, record, (record, EARLIER)), "ldc-tools": OTHER_APP},
        updated_at=AT,
    )


def test_a_refused_run_is_the_last_word_but_not_history() -> None:
    after = record_outcome(BEFORE, outcome_of("refused"))
    assert after.apps["theoshift"].last_release == expected_record("refused")
    assert after.apps["theoshift"].history == (EARLIER,)  # twenty refusals cannot wash out what was released


@pytest.mark.parametrize("result", ["success", "refused", "rolled_back", "failed", "noop"])
def test_a_dry_run_changes_nothing(result: Result) -> None:
    assert record_outcome(BEFORE, outcome_of(result, dry_run=True)) == BEFORE


def test_a_noop_only_refreshes_what_was_observed() -> None:
    after = record_outcome(BEFORE, outcome_of("noop"))
    assert after.apps["theoshift"] == AppStatus(NEW_LIVE, NEW_STANDBY, EARLIER, (EARLIER,))
    assert after.apps["ldc-tools"] == OTHER_APP
    assert after.updated_at == AT


@pytest.mark.parametrize("result", ["noop", "failed"])
def test_nothing_observed_keeps_the_recorded_colors(result: Result) -> None:
    theoshift = record_outcome(BEFORE, outcome_of(result, observed=False)).apps["theoshift"]
    assert (theoshift.live, theoshift.standby) == (OLD_LIVE, OLD_STANDBY)


def test_a_new_app_gets_its_first_record() -> None:
    plan = replace(PLAN, app="newapp", kind="rollback")
    after = record_outcome(BEFORE, outcome_of("success", plan=plan))
    record = replace(expected_record("success"), kind="rollback")
    assert after.apps["newapp"] == AppStatus(NEW_LIVE, NEW_STANDBY, record, (record,))
    assert list(after.apps) == ["theoshift", "ldc-tools", "newapp"]


@pytest.mark.parametrize(("limit", "kept"), [(20, 20), (3, 3), (1, 1), (0, 0), (-5, 0)])
def test_history_keeps_at_most_the_limit(limit: int, kept: int) -> None:
    older = tuple(replace(EARLIER, at=f"2026-10-{day:02d}T00:00:00Z") for day in range(30, 10, -1))
    status = Status({"theoshift": AppStatus(OLD_LIVE, OLD_STANDBY, older[0], older)})
    records = record_outcome(status, outcome_of("failed"), history_limit=limit).apps["theoshift"].history
    assert records == (expected_record("failed"), *older)[:kept]


def test_the_default_history_limit_is_20() -> None:
    older = tuple(EARLIER for _ in range(25))
    status = Status({"theoshift": AppStatus(history=older)})
    assert len(record_outcome(status, outcome_of("success")).apps["theoshift"].history) == 20


def test_the_input_status_is_not_changed() -> None:
    before = Status(dict(BEFORE.apps), BEFORE.updated_at)
    record_outcome(before, outcome_of("success"))
    assert before == BEFORE


def test_long_reasons_are_clipped_so_status_json_stays_readable() -> None:
    failed = outcome_of("failed")
    outcome = replace(failed, apps=(replace(failed.apps[0], reason="x" * 10_000),))
    text = config.dump_status(history.record_outcome(Status(), outcome))
    parsed = config.parse_status(text, "state/status.json")
    reason = parsed.apps["theoshift"].last_release.reason  # type: ignore[union-attr]
    assert reason is not None
    assert len(reason) == 1000


def test_a_record_that_would_outgrow_what_the_next_run_reads_loses_its_oldest_history() -> None:
    outcome = outcome_of("failed")
    hosts = {f"lb{n}": "failed: " + "x" * 2000 for n in range(16)}  # 16 hosts, each saying a lot
    one = replace(outcome.apps[0], hosts=hosts, reason="y" * 5000)
    apps = tuple(replace(one, plan=replace(one.plan, app=f"app-{n}")) for n in range(4))
    status = Status()
    for _ in range(25):
        status = history.recorded(status, replace(outcome, apps=apps))
    assert len(config.dump_status(status)) <= history.SIZE_LIMIT
    for name in ("app-0", "app-3"):
        records = status.apps[name].history
        assert 0 < len(records) < history.HISTORY_LIMIT  # the newest kept, the oldest dropped
        assert records[0] == status.apps[name].last_release
    assert config.parse_status(config.dump_status(status), "state/status.json") == status


def test_fitting_a_small_record_changes_nothing() -> None:
    status = history.recorded(Status(), outcome_of("success"))
    assert history.fitted(status, lambda s: len(config.dump_status(s))) == status


def test_when_history_is_not_enough_every_records_text_is_cut_short() -> None:
    outcome = outcome_of("failed")
    hosts = {f"lb{n}": "failed: " + "x" * 2000 for n in range(16)}
    one = replace(outcome.apps[0], hosts=hosts, reason="y" * 5000)
    apps = tuple(replace(one, plan=replace(one.plan, app=f"app-{n}")) for n in range(60))  # 60 apps, 16 hosts each
    status = history.recorded(Status(), replace(outcome, apps=apps))
    assert len(config.dump_status(status)) <= history.SIZE_LIMIT
    last = status.apps["app-59"].last_release
    assert last is not None
    assert last.result == "failed"  # what happened is kept; only how much of it is said is cut
    assert all(len(text) <= 200 for text in last.hosts.values())
