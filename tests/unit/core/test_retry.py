"""A failed version is not retried by accident: the rule, from plain data."""

from __future__ import annotations

import dataclasses

import pytest

from bluegreen.core import planner, retry
from bluegreen.model import (
    AppObservation,
    AppPlan,
    AppStatus,
    Color,
    Desired,
    DesiredApp,
    Environments,
    LockSettings,
    Observation,
    ReleaseRecord,
    Result,
    SshSettings,
    Status,
    Trigger,
)
from tests.unit.core.test_planner import APP, seen

BLUE, GREEN = Color.BLUE, Color.GREEN
ASKED_FOR_NOTHING = Trigger(asked_for=())


def attempt(
    result: Result, to: Color = BLUE, version: str | None = "2.4.1", at: str = "2026-11-20T10:00:00Z"
) -> ReleaseRecord:
    frm = to.other
    return ReleaseRecord(result, "release", at, frm, to, "2.4.0", version, pr=12, reason="the new LIVE is unhealthy")


def planned(observed: AppObservation | None = None, version: str | None = None) -> tuple[AppPlan, DesiredApp]:
    wanted = DesiredApp("theoshift", BLUE, version)
    return planner.plan_app(wanted, APP, AppStatus(), observed or seen()), wanted


# --- which entries a change touched ------------------------------------------------------------------------


def desired(**apps: tuple[Color, str | None]) -> Desired:
    return Desired({name: DesiredApp(name, live, version) for name, (live, version) in apps.items()})


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        (desired(a=(BLUE, None), b=(GREEN, None)), desired(a=(BLUE, None), b=(BLUE, None)), ("b",)),
        (desired(a=(BLUE, None)), desired(a=(BLUE, "1.0.0")), ("a",)),  # a pin added
        (desired(a=(BLUE, "1.0.0")), desired(a=(BLUE, "v1.0.0")), ("a",)),  # a person's edit, however small
        (desired(a=(BLUE, "1.0.0")), desired(a=(BLUE, "1.0.0"), b=(GREEN, None)), ("b",)),  # a new app
        (desired(a=(BLUE, None), b=(GREEN, None)), desired(a=(BLUE, None)), ()),  # one removed: nothing to release
        (desired(a=(BLUE, None)), desired(a=(BLUE, None)), ()),
        (None, desired(a=(BLUE, None), b=(GREEN, None)), ("a", "b")),  # no live.json before: every entry is new
    ],
)
def test_touched_are_the_entries_a_change_made_different(
    before: Desired | None, after: Desired, expected: tuple[str, ...]
) -> None:
    assert retry.touched(before, after) == expected


def test_a_line_number_is_not_an_entry() -> None:
    before = Desired({"a": DesiredApp("a", BLUE, None, line=3)})
    assert retry.touched(before, Desired({"a": DesiredApp("a", BLUE, None, line=7)})) == ()


# --- the rule ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("history", "held"),
    [
        ((attempt("rolled_back"),), True),
        ((attempt("failed"),), True),
        ((attempt("success"),), False),  # it worked once: going there again is an ordinary release
        ((attempt("success", at="2026-11-21T10:00:00Z"), attempt("rolled_back")), False),  # the newest one counts
        ((attempt("rolled_back", at="2026-11-21T10:00:00Z"), attempt("success")), True),
        ((attempt("rolled_back", version="2.4.0"),), False),  # another version was rolled back, not this one
        ((attempt("rolled_back", version="v2.4.1"),), True),  # the same version, spelled with its v
        ((attempt("rolled_back", version="2.4.1+build.9"),), True),  # semver: build metadata is not a version
        ((attempt("rolled_back", to=GREEN, version="2.4.1"),), False),  # the other color
        ((attempt("rolled_back", version=None),), False),  # what it tried cannot be told
        ((), False),  # no history (a new set-up, or the command line's first release)
    ],
)
def test_a_state_that_was_rolled_back_or_failed_is_held(history: tuple[ReleaseRecord, ...], held: bool) -> None:
    plan, wanted = planned()
    assert (retry.held(plan, wanted, history, ASKED_FOR_NOTHING) is not None) == held


def test_the_pin_is_the_version_that_would_go_live() -> None:
    """STANDBY runs 2.4.1 (rolled back); a pin of 2.4.2 is a new request (its pre-flight refuses it until Blue runs
    it), a pin of 2.4.1 is the rolled-back state again."""
    history = (attempt("rolled_back"),)
    plan, wanted = planned(version="2.4.2")
    assert retry.held(plan, wanted, history, ASKED_FOR_NOTHING) is None
    plan, wanted = planned(version="2.4.1")
    assert retry.held(plan, wanted, history, ASKED_FOR_NOTHING) is not None


@pytest.mark.parametrize(
    ("trigger", "held"),
    [
        (Trigger(asked_for=()), True),  # the change touched another app only
        (Trigger(asked_for=("ldc-tools",)), True),
        (Trigger(asked_for=("theoshift",)), False),  # it touched this app's entry, or a person named it
        (Trigger(), False),  # the command line: a person starts each release
    ],
)
def test_only_a_run_asked_for_the_app_tries_it_again(trigger: Trigger, held: bool) -> None:
    plan, wanted = planned()
    assert (retry.held(plan, wanted, (attempt("rolled_back"),), trigger) is not None) == held


def test_an_app_already_where_it_is_wanted_is_never_held() -> None:
    plan, wanted = planned(seen(live={"lb1": BLUE}))
    assert plan.action == "noop"
    assert retry.held(plan, wanted, (attempt("rolled_back"),), ASKED_FOR_NOTHING) is None


def test_a_held_app_asks_nothing_and_says_why() -> None:
    plan, wanted = planned(seen(healthy=(False, True)))  # would be refused: a hold does not block other apps
    assert plan.action == "refuse"
    held = retry.hold(plan, wanted, (attempt("rolled_back"),), ASKED_FOR_NOTHING)
    assert (held.action, held.checks, held.refusals) == ("hold", (), ())
    assert held.held == (
        "Blue v2.4.1 is what the release of 2026-11-20T10:00:00Z (PR #12) tried, and it was rolled back: the new "
        "LIVE is unhealthy. The change that started this run does not touch theoshift in live.json, so it is not "
        "tried again"
    )
    assert "`apps: theoshift`" in retry.how_to_retry("theoshift")


def test_a_long_reason_is_cut() -> None:
    plan, wanted = planned()
    long = dataclasses.replace(attempt("failed"), reason="x" * 5000)
    held = retry.held(plan, wanted, (long,), ASKED_FOR_NOTHING) or ""
    assert "x" * retry.REASON_LIMIT not in held
    assert "x" * (retry.REASON_LIMIT - 1) + "…" in held
    assert "and it failed: x" in held


def test_the_planner_holds_one_app_and_releases_the_other() -> None:
    """A pull request that flips another app: that one switches, the held one waits, and it holds nothing back."""
    other = dataclasses.replace(APP, name="other")
    environments = Environments(
        (), SshSettings("known_hosts", None, "KEY"), LockSettings(), {"theoshift": APP, "other": other}
    )
    wanted = Desired({"theoshift": DesiredApp("theoshift", BLUE), "other": DesiredApp("other", BLUE)})
    status = Status({"theoshift": AppStatus(history=(attempt("rolled_back"),))})
    observation = Observation({}, {"theoshift": seen(), "other": dataclasses.replace(seen(), name="other")})
    result = planner.plan(wanted, environments, status, observation, Trigger(asked_for=("other",)))
    assert [app.action for app in result.apps] == ["hold", "switch"]
    assert not result.refused
    assert [app.app for app in result.switches] == ["other"]
