"""The release report and the plan: Markdown, terminal text and JSON, built from hand-made outcomes."""

from __future__ import annotations

import dataclasses
import json
import re

import pytest

from bluegreen.model import (
    STEPS,
    Action,
    AppOutcome,
    AppPlan,
    Check,
    Color,
    ColorRecord,
    Kind,
    Outcome,
    Parked,
    Result,
    Step,
    Trigger,
)
from bluegreen.report import outcome_json, outcome_markdown, outcome_text
from bluegreen.report.doc import truncate_markdown

BLUE, GREEN = Color.BLUE, Color.GREEN
ADDRESSES = {BLUE: "10.92.3.22:3001", GREEN: "10.92.3.24:3001"}
HEALTHY = Check("STANDBY healthy", True, "Blue passed 3/3 probes")
UNHEALTHY = Check("STANDBY healthy", False, "Blue passed 1/3 probes")
TRIGGER = Trigger(actor="alice", pr=12, pr_url="https://github.com/acme/ops/pull/12", commit="abc1234def5678")


def plan(
    app: str = "theoshift",
    *,
    kind: Kind = "release",
    live: Color = GREEN,
    to: Color = BLUE,
    versions: tuple[str | None, str | None] = ("2.4.0", "2.4.1"),
    checks: tuple[Check, ...] = (HEALTHY,),
    drift: tuple[str, ...] = (),
    notes: tuple[str, ...] = (),
) -> AppPlan:
    action: Action = "noop" if live is to else "refuse" if any(not check.ok for check in checks) else "switch"
    return AppPlan(
        app, action, kind, live, to, *versions, ADDRESSES[live], ADDRESSES[to], ("lb1",), checks, drift, notes
    )


def steps(*oks: bool | None, detail: str = "") -> tuple[Step, ...]:
    """The five steps: the marks given, then "not reached"."""
    padded = [*oks, *[None] * (len(STEPS) - len(oks))]
    return tuple(Step(name, ok, detail if ok is not None else "") for name, ok in zip(STEPS, padded, strict=True))


def done(app_plan: AppPlan, result: Result, *, live: Color | None = None, **changes: object) -> AppOutcome:
    """The outcome of one app; LIVE and STANDBY follow the result unless given."""
    live = live or (app_plan.to_color if result == "success" else app_plan.from_color)
    version = {app_plan.from_color: app_plan.from_version, app_plan.to_color: app_plan.to_version}
    records = {color: ColorRecord(color, version.get(color), ADDRESSES[color]) for color in Color}
    outcome = AppOutcome(
        app_plan,
        result,
        steps(*([True] * 5 if result == "success" else [False])),
        hosts={"lb1": "switched"} if result == "success" else {"lb1": "unchanged"},
        live=records[live],
        standby=records[live.other],
    )
    return dataclasses.replace(outcome, **changes)  # type: ignore[arg-type]


def lines(report: str) -> list[str]:
    return report.splitlines()


def last(report: str) -> str:
    """The last line of the last app's section (before `</details>`)."""
    return [line for line in lines(report) if line and line != "</details>"][-1]


def summaries(report: str) -> list[str]:
    """Each app's section title, without the mark: `theoshift: release Green → Blue`."""
    found = [line for line in lines(report) if line.startswith("<summary>")]
    return [line.removeprefix("<summary>").removesuffix("</summary>").split(" ", 1)[1] for line in found]


# --- the header -------------------------------------------------------------------------------------------------

SUCCESS = done(plan(), "success")
ROLLBACK = done(plan(kind="rollback", live=BLUE, to=GREEN, versions=("2.5.0", "2.4.1")), "success")
ROLLED_BACK = done(plan(), "rolled_back", steps=steps(True, True, True, False), reason="5 of 5 requests failed")
FAILED = done(plan(), "failed", live=None, steps=steps(True, True, False), reason="lb1 did not answer")
REFUSED = done(plan(checks=(UNHEALTHY,)), "refused", steps=steps(False), reason="Blue is not healthy")
NOOP = done(plan(live=BLUE), "noop", steps=())
NOT_STARTED = done(plan("ldc-tools"), "refused", steps=steps(True, True), reason="interrupted before its switch")
# Blue already LIVE on lb1, whose map file named Green: the switch made again there, no traffic moved
REPAIRED = done(
    dataclasses.replace(plan("ldc-tools", live=BLUE, to=BLUE), action="switch", repairs=("lb1",)),
    "success",
    hosts={"lb1": "repaired"},
)


@pytest.mark.parametrize(
    ("outcome", "header"),
    [
        (Outcome((SUCCESS,)), "## ✅ Release succeeded"),
        (Outcome((ROLLBACK,)), "## ✅ Rollback succeeded"),
        (Outcome((ROLLED_BACK,)), "## ⚠️ Release failed and was rolled back"),
        (Outcome((FAILED,)), "## ❌ Release failed: MANUAL ACTION NEEDED"),
        (Outcome((REFUSED,)), "## ⚠️ Release refused: nothing was changed"),
        (Outcome((NOOP,)), "## ⏭️ Nothing to release: every app is already LIVE where state/live.json wants it"),
        (Outcome((SUCCESS, ROLLED_BACK)), "## ⚠️ Release failed and was rolled back"),
        (Outcome((NOOP, SUCCESS)), "## ✅ Release succeeded"),
        (
            Outcome((SUCCESS, NOT_STARTED), interrupted=True),
            "## ⚠️ Release interrupted: theoshift switched; ldc-tools not switched",
        ),
        (Outcome((SUCCESS,), interrupted=True), "## ✅ Release interrupted: theoshift switched"),
        (Outcome((NOT_STARTED,), interrupted=True), "## ⚠️ Release interrupted: nothing was changed"),
        (Outcome((ROLLED_BACK, NOT_STARTED), interrupted=True), "## ⚠️ Release failed and was rolled back"),
        (Outcome((REPAIRED,)), "## ✅ Repair succeeded"),
        (Outcome((NOOP, REPAIRED)), "## ✅ Repair succeeded"),
        (Outcome((SUCCESS, REPAIRED)), "## ✅ Release succeeded"),
        (
            Outcome((SUCCESS, REPAIRED), interrupted=True),
            "## ✅ Release interrupted: theoshift switched; ldc-tools repaired (no traffic moved)",
        ),
        (Outcome((), dry_run=True), "## ⏭️ Plan: merging this PR changes no traffic"),
        (
            Outcome((SUCCESS, REPAIRED), dry_run=True),
            "## ✅ Plan: merging this PR will switch theoshift and make the switch of ldc-tools again, so that a "
            "reload keeps it",
        ),
        (Outcome((SUCCESS,), dry_run=True), "## ✅ Plan: merging this PR will switch theoshift"),
        (Outcome((REFUSED,), dry_run=True), "## ⚠️ Plan: merging this PR would be refused"),
    ],
)
def test_header_names_the_result_with_its_mark(outcome: Outcome, header: str) -> None:
    assert lines(outcome_markdown(outcome))[0] == header
    assert lines(outcome_text(outcome))[0] == header.removeprefix("## ")


@pytest.mark.parametrize(
    ("trigger", "at", "line"),
    [
        (
            TRIGGER,
            "2026-11-24T10:00:00Z",
            "[PR #12](https://github.com/acme/ops/pull/12) by @alice · commit `abc1234` · at 2026-11-24T10:00:00Z",
        ),
        (Trigger(pr=12), "", "PR #12"),
        (Trigger(actor="alice"), "", "by @alice"),
        (Trigger(commit="abc1234def", reverts_pr=11), "", "commit `abc1234` · reverts PR #11"),
        (Trigger(pr=12, pr_url="javascript:alert(1)"), "", "PR #12"),
        (Trigger(pr=12, pr_url="https://x.test/a) [y](https://evil.test"), "", "PR #12"),
        (Trigger(commit="`rm -rf`"), "", "commit \\`rm -rf"),
    ],
)
def test_trigger_line_says_who_and_what(trigger: Trigger, at: str, line: str) -> None:
    report = outcome_markdown(Outcome((SUCCESS,), trigger=trigger, at=at))
    assert lines(report)[2] == line


def test_no_trigger_line_when_nothing_is_known() -> None:
    assert lines(outcome_markdown(Outcome((SUCCESS,))))[2].startswith("| App | LIVE |")


# --- one app, released ------------------------------------------------------------------------------------------


def test_success_shows_steps_new_live_and_standby_timings_and_next_step() -> None:
    outcome = dataclasses.replace(
        SUCCESS,
        steps=steps(True, True, True, True, True, detail="ok"),
        durations_ms={"total": 2953.2, "preflight": 812.4, "switch": 40.0, "verify": 2101.0},
        switch_ms=12.34,
        draining=2,
        hosts={"lb1": "switched", "lb2": "switched"},
    )
    markdown = outcome_markdown(Outcome((outcome,), trigger=TRIGGER))
    report = lines(markdown)
    assert summaries(markdown) == ["theoshift: release Green → Blue"]
    table = report.index("| # | Step | Result |")
    assert report[table + 2 : table + 7] == [
        "| 1 | Verify STANDBY ready | ✅ ok |",
        "| 2 | Verify LIVE | ✅ ok |",
        "| 3 | Switch HAProxy traffic | ✅ ok |",
        "| 4 | Confirm switch | ✅ ok |",
        "| 5 | Update state tracking | ✅ ok |",
    ]
    assert "New LIVE: Blue (10.92.3.22:3001) - v2.4.1" in report
    assert "New STANDBY: Green (10.92.3.24:3001) - v2.4.0" in report
    assert "Timings: preflight 812 ms, switch 40 ms, verify 2101 ms, total 2953 ms, HAProxy switch 12.3 ms" in report
    assert [line for line in report if line.startswith("- lb")] == ["- lb1: switched", "- lb2: switched"]
    assert "Sessions still draining on the old LIVE (Green): 2" in report
    assert last(markdown) == "**Next step:** Sync STANDBY (Green) with the new LIVE: deploy v2.4.1 to Green"


@pytest.mark.parametrize(
    ("outcome", "next_step"),
    [
        (SUCCESS, "Sync STANDBY (Green) with the new LIVE: deploy v2.4.1 to Green"),
        (
            dataclasses.replace(SUCCESS, live=ColorRecord(BLUE, None, ADDRESSES[BLUE])),
            "Sync STANDBY (Green) with the new LIVE: deploy the new LIVE's version to Green",
        ),
        (ROLLBACK, "The failed release (v2.5.0) stays on STANDBY (Blue) for debugging"),
        (
            ROLLED_BACK,
            "The release failed: 5 of 5 requests failed. Traffic is back on the old LIVE (Green). "
            "Fix the problem, redeploy to STANDBY (Blue) and open a new PR.",
        ),
        (
            FAILED,
            "**MANUAL ACTION NEEDED**: lb1 did not answer. HAProxy hosts: lb1 unchanged. "
            "Check each host with `bluegreen status` and set its routing by hand.",
        ),
        (REFUSED, "Nothing was changed. Fix what was refused (Blue is not healthy), then run the release again."),
        (
            dataclasses.replace(REFUSED, reason=None),
            "Nothing was changed. Fix the refused checks above, then run the release again.",
        ),
        (NOOP, "Nothing to do."),
        (
            dataclasses.replace(ROLLBACK, result="rolled_back", reason=None),
            "The rollback failed. Traffic is back on the old LIVE (Blue). "
            "Fix the problem, redeploy to STANDBY (Green) and open a new PR.",
        ),
    ],
)
def test_next_step_follows_the_result(outcome: AppOutcome, next_step: str) -> None:
    assert last(outcome_markdown(Outcome((outcome,)))) == f"**Next step:** {next_step}"
    assert lines(outcome_text(Outcome((outcome,))))[-1] == f"Next step: {next_step.replace('*', '').replace('`', '')}"


@pytest.mark.parametrize(
    ("outcome", "title"),
    [
        (SUCCESS, "theoshift: release Green → Blue"),
        (ROLLBACK, "theoshift: rollback Blue → Green"),
        (ROLLED_BACK, "theoshift: release Green → Blue (rolled back)"),
        (FAILED, "theoshift: release Green → Blue (FAILED)"),
        (REFUSED, "theoshift: release Green → Blue (refused)"),
        (NOOP, "theoshift: Blue already LIVE, nothing to do"),
    ],
)
def test_app_title_names_the_switch(outcome: AppOutcome, title: str) -> None:
    assert summaries(outcome_markdown(Outcome((outcome,)))) == [title]
    assert any(line.endswith(f" {title}") for line in lines(outcome_text(Outcome((outcome,)))))  # every one open


def test_rolled_back_marks_the_failed_step_and_the_ones_not_reached() -> None:
    report = lines(outcome_markdown(Outcome((ROLLED_BACK,))))
    assert "| 4 | Confirm switch | ❌ |" in report
    assert "| 5 | Update state tracking | ⏭️ not reached |" in report
    assert "LIVE: Green (10.92.3.24:3001) - v2.4.0" in report
    assert not any(line.startswith("New ") for line in report)


def test_failed_says_live_is_unknown_and_lists_each_host() -> None:
    failed = dataclasses.replace(FAILED, live=None, standby=None, hosts={"lb1": "switched", "lb2": "failed: EOF"})
    markdown = outcome_markdown(Outcome((failed,)))
    report = lines(markdown)
    assert "LIVE: unknown (see the HAProxy hosts below)" in report
    assert [line for line in report if line.startswith("- lb")] == ["- lb1: switched", "- lb2: failed: EOF"]
    assert "HAProxy hosts: lb1 switched; lb2 failed: EOF." in last(markdown)


def test_refused_lists_each_refusal_with_its_detail() -> None:
    report = lines(outcome_markdown(Outcome((REFUSED,))))
    assert report[report.index("Refused because:") + 2] == "- ❌ STANDBY healthy: Blue passed 1/3 probes"


def test_noop_shows_no_steps_and_no_timings() -> None:
    report = outcome_markdown(Outcome((NOOP,)))
    assert "| # |" not in report
    assert "Timings" not in report
    assert "LIVE: Blue (10.92.3.22:3001) - v2.4.1" in lines(report)


def test_drift_and_notes_from_the_plan_are_shown() -> None:
    app = done(plan(drift=("lb2 routes to Blue",), notes=("first release",)), "success")
    remarks = [line for line in lines(outcome_markdown(Outcome((app,)))) if line.startswith(("- D", "- N"))]
    assert remarks == ["- Drift: lb2 routes to Blue", "- Note: first release"]


def test_two_apps_each_have_their_section_in_order() -> None:
    other = done(plan("ldc-tools", live=BLUE, to=GREEN, versions=("1.7.2", "v1.8.0")), "success")
    markdown = outcome_markdown(Outcome((SUCCESS, other)))
    report = lines(markdown)
    assert summaries(markdown) == ["theoshift: release Green → Blue", "ldc-tools: release Blue → Green"]
    assert "New LIVE: Green (10.92.3.24:3001) - v1.8.0" in report
    assert sum(line.startswith("**Next step:**") for line in report) == 2


# --- the plan (dry run) -----------------------------------------------------------------------------------------


def test_plan_says_what_merging_will_do_and_lists_the_checks() -> None:
    checks = (HEALTHY, Check("Version moves forward", True, "2.4.0 → 2.4.1", about="live"))
    markdown = outcome_markdown(Outcome((done(plan(checks=checks), "success"),), dry_run=True))
    report = lines(markdown)
    assert (
        "Merging this PR will switch theoshift from Green (10.92.3.24:3001) - v2.4.0 "
        "to Blue (10.92.3.22:3001) - v2.4.1 on lb1." in report
    )
    assert [line for line in report if line.startswith("| app servers")] == [
        "| app servers | STANDBY healthy | ✅ Blue passed 3/3 probes |",
        "| app servers | Version moves forward | ✅ 2.4.0 → 2.4.1 |",
    ]
    assert last(markdown) == "**Next step:** Merge this PR to switch theoshift to Blue."
    assert "| # |" not in markdown


def test_refused_plan_says_why_it_would_be_refused() -> None:
    markdown = outcome_markdown(Outcome((REFUSED,), dry_run=True))
    report = lines(markdown)
    assert summaries(markdown) == ["theoshift: release Green → Blue (would be refused)"]
    assert "<details open>" in report  # what needs attention is not folded away
    assert "| app servers | STANDBY healthy | ❌ Blue passed 1/3 probes |" in report
    assert "Merging would be refused because: STANDBY healthy (Blue passed 1/3 probes)." in report
    assert last(markdown).startswith("**Next step:** Fix what the ❌ checks report before merging")


def test_plan_refused_by_several_checks_names_each() -> None:
    checks = (UNHEALTHY, Check("Version moves forward", False, ""), HEALTHY)
    report = lines(outcome_markdown(Outcome((done(plan(checks=checks), "refused"),), dry_run=True)))
    assert any(line.startswith("Merging this PR would switch theoshift from Green") for line in report)
    assert "Merging would be refused because: STANDBY healthy (Blue passed 1/3 probes); Version moves forward." in (
        report
    )
    assert [line for line in report if line.startswith("| app servers")] == [
        "| app servers | STANDBY healthy | ❌ Blue passed 1/3 probes |",
        "| app servers | Version moves forward | ❌ |",
        "| app servers | STANDBY healthy | ✅ Blue passed 3/3 probes |",
    ]


def test_noop_plan_says_nothing_changes() -> None:
    report = lines(outcome_markdown(Outcome((NOOP,), dry_run=True)))
    assert "Merging this PR changes nothing for theoshift: Blue is already LIVE." in report


# --- terminal text ----------------------------------------------------------------------------------------------


def test_text_aligns_the_steps_and_has_no_ansi_unless_asked() -> None:
    report = outcome_text(Outcome((ROLLED_BACK,)))
    assert f"4  {'Confirm switch':<22}  ❌" in lines(report)
    assert f"5  {'Update state tracking':<22}  ⏭️ not reached" in lines(report)
    assert "\x1b" not in report


def test_text_in_color_colours_the_marks() -> None:
    report = outcome_text(Outcome((ROLLED_BACK,)), color=True)
    assert "\x1b[31m❌\x1b[0m" in report
    assert "\x1b[33m⚠️\x1b[0m" in lines(report)[0]


# --- hostile strings --------------------------------------------------------------------------------------------

HOSTILE = [
    "1.0|x",
    "2.0\n# heading",
    "`code` <script>alert(1)</script>",
    "[click](https://evil.test) ![img](https://evil.test/i.png)",
    "\x1b[2J\x1b[31mred\u202eevil",
    "**bold** _it_ ~~strike~~ $x$",
]


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_strings_cannot_break_the_table_or_inject_markup(hostile: str) -> None:
    app = done(
        plan(versions=(hostile, hostile), drift=(hostile,), notes=(hostile,)),
        "rolled_back",
        steps=steps(True, True, True, False, detail=hostile),
        hosts={"lb1": hostile},
        reason=hostile,
    )
    report = outcome_markdown(Outcome((app,), trigger=Trigger(actor=hostile, commit=hostile)))
    rows = [line for line in lines(report) if line.startswith("| ")]
    pipes = [len(re.findall(r"(?<!\\)\|", row)) for row in rows]
    assert pipes == [7] * 3 + [4] * 7  # the table at a glance, then the steps: no cell split, none added
    ours = re.sub(r"^(<details( open)?>|<summary>|</summary>|</details>)", "", report, flags=re.MULTILINE)
    ours = ours.replace("</summary>", "")
    assert not re.search(r"<[a-z/]|(?<!\\)\[|(?<!\\)`[^`]*code|\x1b|\u202e|^#+ .*heading", ours, re.MULTILINE)
    assert "\x1b" not in outcome_text(Outcome((app,))) + outcome_text(Outcome((app,)), color=False)


def test_a_huge_hostile_version_is_cut() -> None:
    app = done(plan(versions=("9" * 10_000, "1")), "success")
    assert len(outcome_markdown(Outcome((app,)))) < 3_000


# --- JSON -------------------------------------------------------------------------------------------------------


def test_json_has_stable_keys_and_serialises() -> None:
    app = dataclasses.replace(ROLLED_BACK, durations_ms={"total": 12.5}, switch_ms=1.25, draining=0)
    data = outcome_json(Outcome((app,), trigger=TRIGGER, at="2026-11-24T10:00:00Z"))
    assert json.loads(json.dumps(data)) == data
    assert list(data) == ["result", "refusal", "dry_run", "at", "trigger", "apps"]
    assert (data["result"], data["dry_run"], data["at"]) == ("rolled_back", False, "2026-11-24T10:00:00Z")
    assert data["trigger"] == {
        "actor": "alice",
        "pr": 12,
        "pr_url": "https://github.com/acme/ops/pull/12",
        "commit": "abc1234def5678",
        "reverts_pr": None,
        "also_prs": [],
    }
    theoshift = data["apps"]["theoshift"]  # type: ignore[index]
    assert theoshift["result"] == "rolled_back"
    assert theoshift["from"] == {"color": "green", "version": "2.4.0", "address": "10.92.3.24:3001"}
    assert theoshift["to"] == {"color": "blue", "version": "2.4.1", "address": "10.92.3.22:3001"}
    assert theoshift["steps"][3] == {"name": "Confirm switch", "ok": False, "detail": ""}
    assert theoshift["checks"] == [
        {"name": "STANDBY healthy", "ok": True, "detail": "Blue passed 3/3 probes", "about": "standby"}
    ]
    assert theoshift["live"] == {"color": "green", "version": "2.4.0", "address": "10.92.3.24:3001"}
    assert (theoshift["switch_ms"], theoshift["draining"], theoshift["reason"]) == (1.25, 0, "5 of 5 requests failed")
    assert theoshift["durations_ms"] == {"total": 12.5}
    assert theoshift["parked"] == []


def test_json_names_the_standby_servers_a_release_wakes_from_maintenance() -> None:
    woken = dataclasses.replace(plan(), parked=(Parked("lb1", "theoshift_blue", "blue"),))
    data = outcome_json(Outcome((done(woken, "success"),), dry_run=True))
    parked = data["apps"]["theoshift"]["parked"]  # type: ignore[index]
    assert parked == [{"host": "lb1", "backend": "theoshift_blue", "server": "blue"}]


# --- a STANDBY woken from maintenance ----------------------------------------------------------------------------


def test_the_wake_is_timed_between_the_preflight_and_the_switch() -> None:
    app = dataclasses.replace(SUCCESS, durations_ms={"switch": 8.0, "preflight": 120.0, "wake": 412.0, "total": 540.0})
    assert "Timings: preflight 120 ms, wake 412 ms, switch 8 ms, total 540 ms" in outcome_text(Outcome((app,)))


def test_json_of_a_plan_without_apps() -> None:
    data = outcome_json(Outcome((), dry_run=True))
    assert data == {
        "result": "noop",
        "refusal": None,
        "dry_run": True,
        "at": None,
        "trigger": {"actor": None, "pr": None, "pr_url": None, "commit": None, "reverts_pr": None, "also_prs": []},
        "apps": {},
    }


def test_a_refusal_of_the_whole_request_heads_the_report_and_the_json() -> None:
    why = "this push changes state/status.json, which only bluegreen writes"
    outcome = Outcome((NOOP,), refusal=why)
    assert outcome.result == "refused"  # even when every app alone would be a no-op
    report = lines(outcome_markdown(outcome))
    assert report[0] == "## ⚠️ Release refused: nothing was changed"
    assert "❌ **Refused:** this push changes state/status.json, which only bluegreen writes" in report
    assert outcome_json(outcome)["refusal"] == why


# --- GitHub's comment limit -------------------------------------------------------------------------------------


def test_a_huge_report_is_cut_under_the_limit_keeping_the_header() -> None:
    hosts = {f"lb{number}": "failed: " + "x" * 400 for number in range(200)}
    apps = tuple(done(plan(f"app{number}"), "failed", hosts=hosts) for number in range(3))
    full = outcome_markdown(Outcome(apps))
    cut = truncate_markdown(full)
    assert len(full) > 65_000 >= len(cut)
    assert lines(cut)[0] == "## ❌ Release failed: MANUAL ACTION NEEDED"
    assert lines(cut)[-1].startswith("_✂️ Report cut here: ")
    assert all(line in lines(full) for line in lines(cut)[:-1])
