"""What a release did, or what merging will do (a dry run), as Markdown, terminal text and JSON. Pure.

The Markdown goes to the PR comment and the job summary, the text to the terminal; the JSON (report/jsonview.py)
to `--json`. A report opens with one table row per app (report/glance.py); each app's steps, checks, timings and
next step follow in its own collapsible section, open from the start when the app needs someone's attention.
`bluegreen status` has its own report in report/status.py; the rendering, the escaping and the size limit live in
report/doc.py.
"""

from __future__ import annotations

from collections.abc import Mapping

from bluegreen.core.versions import label as version_label
from bluegreen.model import (
    AppOutcome,
    AppPlan,
    Check,
    Color,
    ColorRecord,
    Outcome,
    Result,
    Step,
    SwitchTraffic,
    Trigger,
)
from bluegreen.report.doc import (
    Block,
    Bold,
    Bullets,
    Code,
    Details,
    Doc,
    Heading,
    Link,
    Mention,
    Para,
    Span,
    Spans,
    Table,
    mark,
    markdown,
    step_tone,
    text,
)
from bluegreen.report.glance import RESULT_TONES, checks_table, plan_table, release_table
from bluegreen.report.held import held_blocks, held_headline, held_title

__all__ = ["RESULT_TONES", "outcome_doc", "outcome_markdown", "outcome_text"]


def outcome_markdown(outcome: Outcome) -> str:
    return markdown(outcome_doc(outcome))


def outcome_text(outcome: Outcome, color: bool = False) -> str:
    return text(outcome_doc(outcome), color)


def outcome_doc(outcome: Outcome) -> Doc:
    trigger = _trigger_spans(outcome)
    blocks: list[Block] = [Heading(2, (mark(RESULT_TONES[outcome.result]), " ", _headline(outcome)))]
    blocks += [Para(trigger)] if trigger else []
    if outcome.refusal:
        blocks.append(Para((mark("bad"), " ", Bold("Refused:"), f" {outcome.refusal}")))
    if not outcome.apps:
        blocks.append(Para(("No apps in state/live.json.",)))
    else:
        blocks.append(plan_table(outcome) if outcome.dry_run else release_table(outcome))
    blocks += [_app_section(app, outcome.dry_run) for app in outcome.apps]
    return tuple(blocks)


# --- header -----------------------------------------------------------------------------------------------------


def _headline(outcome: Outcome) -> str:
    if outcome.dry_run:
        return _plan_headline(outcome)
    if held := held_headline(outcome):
        return held
    word = "Rollback" if _only_rollbacks(outcome) else ("Repair" if _only_repairs(outcome) else "Release")
    if outcome.interrupted and outcome.result not in ("rolled_back", "failed"):
        return _interrupted_headline(outcome, word)
    return {
        "success": f"{word} succeeded",
        "noop": "Nothing to release: every app is already LIVE where state/live.json wants it",
        "refused": f"{word} refused: nothing was changed",
        "rolled_back": f"{word} failed and was rolled back",
        "failed": f"{word} failed: MANUAL ACTION NEEDED",
    }[outcome.result]


def _interrupted_headline(outcome: Outcome, word: str) -> str:
    """What a signal left: the apps whose switch was under way are switched (and verified), the others not."""
    done = [app.plan for app in outcome.apps if app.result == "success" and app.plan.action == "switch"]
    switched = [plan.app for plan in done if not plan.repair_only]
    repaired = [plan.app for plan in done if plan.repair_only]
    waiting = [app.plan.app for app in outcome.apps if app.result == "refused"]
    if not done:
        return f"{word} interrupted: nothing was changed"
    said = [f"{', '.join(switched)} switched"] if switched else []
    said += [f"{', '.join(repaired)} repaired (no traffic moved)"] if repaired else []
    rest = f"; {', '.join(waiting)} not switched" if waiting else ""
    return f"{word} interrupted: {'; '.join(said)}{rest}"


def _plan_headline(outcome: Outcome) -> str:
    acting = [app.plan for app in outcome.apps if app.plan.action == "switch"]
    switching = [plan.app for plan in acting if not plan.repair_only]
    repairing = [plan.app for plan in acting if plan.repair_only]
    parts = [f"switch {', '.join(switching)}"] if switching else []
    parts += [f"make the switch of {', '.join(repairing)} again, so that a reload keeps it"] if repairing else []
    return {
        "success": "Plan: merging this PR will " + " and ".join(parts),
        "noop": "Plan: merging this PR changes no traffic",
        "refused": "Plan: merging this PR would be refused",
    }.get(outcome.result, f"Plan: {outcome.result}")


def _only_rollbacks(outcome: Outcome) -> bool:
    kinds = {
        app.plan.kind for app in outcome.apps if app.plan.action not in ("noop", "hold") and not app.plan.repair_only
    }
    return kinds == {"rollback"}


def _only_repairs(outcome: Outcome) -> bool:
    """Every app that acts only makes its switch again where a reload would not keep it: no traffic moves."""
    acting = [app.plan for app in outcome.apps if app.plan.action != "noop"]
    return bool(acting) and all(plan.repair_only for plan in acting)


def _trigger_spans(outcome: Outcome) -> Spans:
    parts = [*_trigger_parts(outcome.trigger), *((f"at {outcome.at}",) if outcome.at else ())]
    spans: list[Span] = []
    for index, part in enumerate(parts):
        spans += [" · "] if index else []
        spans += part
    return tuple(spans)


def _trigger_parts(trigger: Trigger) -> list[Spans]:
    """`PR #12 by @alice`, `commit abc1234`, `reverts PR #11`: whichever are known."""
    pr: Spans = ()
    if trigger.pr is not None:
        title = f"PR #{trigger.pr}"
        pr = (Link(title, trigger.pr_url) if trigger.pr_url else title,)
    if trigger.actor:
        pr += (" by " if pr else "by ", Mention(trigger.actor))
    commit: Spans = ("commit ", Code(trigger.commit[:7])) if trigger.commit else ()
    reverts: Spans = (f"reverts PR #{trigger.reverts_pr}",) if trigger.reverts_pr is not None else ()
    also: Spans = (f"also PR {', '.join(f'#{n}' for n in trigger.also_prs)}",) if trigger.also_prs else ()
    return [part for part in (pr, commit, reverts, also) if part]


# --- one app ----------------------------------------------------------------------------------------------------

_TITLE_SUFFIX: dict[Result, str] = {"refused": " (refused)", "rolled_back": " (rolled back)", "failed": " (FAILED)"}


def app_title(app: AppOutcome, dry_run: bool) -> str:
    plan = app.plan
    if plan.action == "noop":
        return f"{plan.app}: {plan.to_color.title} already LIVE, nothing to do"
    if plan.action == "hold":
        return held_title(plan)
    suffix = " (would be refused)" if dry_run and plan.refusals else _TITLE_SUFFIX.get(app.result, "")
    if plan.repair_only:
        return (
            f"{plan.app}: {plan.to_color.title} already LIVE, the switch made again on {', '.join(plan.hosts)}{suffix}"
        )
    return f"{plan.app}: {plan.kind} {plan.from_color.title} → {plan.to_color.title}{suffix}"


_QUIET: tuple[Result, ...] = ("success", "noop")  # the results whose section starts closed


def _app_section(app: AppOutcome, dry_run: bool) -> Details:
    summary = (mark(RESULT_TONES[app.result]), f" {app_title(app, dry_run)}")
    if app.plan.action == "hold":  # not retried by accident (core/retry.py): why, and how to retry, in sight
        return Details(summary, (*held_blocks(app), *_remarks(app.plan)), opened=True)
    body = _plan_blocks(app.plan) if dry_run else _release_blocks(app)
    return Details(summary, tuple(body), opened=app.result not in _QUIET)


def _release_blocks(app: AppOutcome) -> list[Block]:
    blocks: list[Block] = []
    if app.plan.action != "noop" and app.steps:
        blocks.append(_steps_table(app.steps))
    blocks += _color_lines(app)
    blocks += _timings(app.durations_ms, app.switch_ms)
    blocks += _hosts(app.hosts)
    if app.traffic is not None:
        blocks.append(Para((traffic_line(app.plan, app.traffic),)))
    if app.draining is not None and app.plan.action != "noop":
        old = app.plan.from_color.title
        blocks.append(Para((f"Sessions still draining on the old LIVE ({old}): {app.draining}",)))
    blocks += _remarks(app.plan) + _refusals(app.plan.refusals)
    return [*blocks, Para((Bold("Next step:"), " ", *next_step(app)))]


def _plan_blocks(plan: AppPlan) -> list[Block]:
    blocks: list[Block] = [Para((_plan_summary(plan),))]
    if plan.checks:
        blocks += [Para((Bold("Checks, host by host"),)), checks_table(plan.checks)]
    blocks += _remarks(plan)
    if plan.refusals:
        reasons = "; ".join(f"{check.name} ({check.detail})" if check.detail else check.name for check in plan.refusals)
        blocks.append(Para((f"Merging would be refused because: {reasons}.",)))
    return [*blocks, Para((Bold("Next step:"), " ", *plan_next_step(plan)))]


def _plan_summary(plan: AppPlan) -> str:
    if plan.action == "noop":
        return f"Merging this PR changes nothing for {plan.app}: {plan.to_color.title} is already LIVE."
    if plan.repair_only:
        verb = "would be" if plan.refusals else "is"
        return (
            f"Merging this PR moves no traffic for {plan.app}: {plan.to_color.title} is LIVE on every HAProxy host. "
            f"The switch {verb} made again on {', '.join(plan.hosts)}, so that a reload keeps it."
        )
    verb = "would switch" if plan.refusals else "will switch"
    where = f" on {', '.join(plan.hosts)}" if plan.hosts else ""
    source = _color_label(plan.from_color, plan.from_address, plan.from_version)
    target = _color_label(plan.to_color, plan.to_address, plan.to_version)
    return f"Merging this PR {verb} {plan.app} from {source} to {target}{where}."


def _steps_table(steps: tuple[Step, ...]) -> Table:
    rows = tuple(
        ((str(number),), (step.name,), (mark(step_tone(step.ok)), *_step_detail(step)))
        for number, step in enumerate(steps, start=1)
    )
    return Table(("#", "Step", "Result"), rows)


def _step_detail(step: Step) -> Spans:
    detail = step.detail or ("not reached" if step.ok is None else "")
    return (f" {detail}",) if detail else ()


def _color_lines(app: AppOutcome) -> list[Block]:
    new = "New " if app.result == "success" and app.plan.action == "switch" and not app.plan.repair_only else ""
    lines: list[Block] = []
    for role, record in (("LIVE", app.live), ("STANDBY", app.standby)):
        if record is not None:
            lines.append(Para((f"{new}{role}: {_record_label(record)}",)))
        elif app.result == "failed":
            lines.append(Para((f"{role}: unknown (see the HAProxy hosts below)",)))
    return lines


def _record_label(record: ColorRecord) -> str:
    return _color_label(record.color, record.address, record.version)


def _color_label(color: Color, address: str, version: str | None) -> str:
    return f"{color.title} ({address}) - {version_label(version)}"


_DURATION_ORDER = ("preflight", "wake", "switch", "verify", "total")


def _timings(durations_ms: Mapping[str, float], switch_ms: float | None) -> list[Block]:
    names = [name for name in _DURATION_ORDER if name in durations_ms]
    names += sorted(name for name in durations_ms if name not in _DURATION_ORDER)
    parts = [f"{name} {durations_ms[name]:.0f} ms" for name in names]
    parts += [f"HAProxy switch {switch_ms:.1f} ms"] if switch_ms is not None else []
    return [Para(("Timings: " + ", ".join(parts),))] if parts else []


def traffic_line(plan: AppPlan, traffic: SwitchTraffic) -> str:
    """`Users during the switch: 412 requests, 0 failed; Green 140 → Blue 272; p50 3 ms, p99 11 ms; first answer
    by Blue 4 ms after the switch command`."""
    old, new = plan.from_color, plan.to_color
    counts = f"{old.title} {traffic.by_color.get(old, 0)} → {new.title} {traffic.by_color.get(new, 0)}"
    neither = traffic.requests - traffic.failed - traffic.failed_old - sum(traffic.by_color.values())
    requests = f"{traffic.requests} request{'' if traffic.requests == 1 else 's'}"
    old_failed = f" (and {traffic.failed_old} on the old LIVE {old.title}, not counted)" if traffic.failed_old else ""
    parts = [f"{requests}, {traffic.failed} failed{old_failed}", counts]
    parts += [f"{neither} answered by neither color"] if neither > 0 else []
    if traffic.p50_ms is not None and traffic.p99_ms is not None:
        parts.append(f"p50 {_ms(traffic.p50_ms)}, p99 {_ms(traffic.p99_ms)}")
    if traffic.first_new_ms is None:
        parts.append(f"no answer by {new.title} after the switch command")
    else:
        parts.append(f"first answer by {new.title} {_ms(traffic.first_new_ms)} after the switch command")
    return "Users during the switch: " + "; ".join(parts)


def _ms(value: float) -> str:
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def _hosts(hosts: Mapping[str, str]) -> list[Block]:
    if not hosts:
        return []
    return [Para(("HAProxy hosts:",)), Bullets(tuple((f"{host}: {state}",) for host, state in hosts.items()))]


def _remarks(plan: AppPlan) -> list[Block]:
    items = [(f"Drift: {line}",) for line in plan.drift] + [(f"Note: {line}",) for line in plan.notes]
    return [Bullets(tuple(items))] if items else []


def _refusals(refusals: tuple[Check, ...]) -> list[Block]:
    if not refusals:
        return []
    return [Para(("Refused because:",)), Bullets(tuple(_check_item(check) for check in refusals))]


def _check_item(check: Check) -> Spans:
    detail = f": {check.detail}" if check.detail else ""
    return (mark("ok" if check.ok else "bad"), f" {check.name}{detail}")


# --- next step ------------------------------------------------------------------------------------------------


def next_step(app: AppOutcome) -> Spans:
    match app.result:
        case "success" if app.plan.repair_only:
            return (f"Nothing to do: a reload now keeps {app.plan.to_color.title} on {', '.join(app.plan.hosts)}.",)
        case "success" if app.plan.action == "switch":
            return (_after_rollback(app) if app.plan.kind == "rollback" else _after_release(app),)
        case "rolled_back":
            return _after_rolled_back(app)
        case "failed":
            return _after_failure(app)
        case "refused":
            what = f"what was refused ({app.reason})" if app.reason else "the refused checks above"
            return (f"Nothing was changed. Fix {what}, then run the release again.",)
        case _:
            return ("Nothing to do.",)


def _after_release(app: AppOutcome) -> str:
    live = app.live or ColorRecord(app.plan.to_color, app.plan.to_version, app.plan.to_address)
    standby = live.color.other.title
    version = version_label(live.version) if live.version else "the new LIVE's version"
    return f"Sync STANDBY ({standby}) with the new LIVE: deploy {version} to {standby}"


def _after_rollback(app: AppOutcome) -> str:
    failed = app.standby.version if app.standby else app.plan.from_version
    return f"The failed release ({version_label(failed)}) stays on STANDBY ({app.plan.from_color.title}) for debugging"


def _after_rolled_back(app: AppOutcome) -> Spans:
    plan = app.plan
    return (
        f"The {plan.kind} failed{_because(app.reason)}. Traffic is back on the old LIVE ({plan.from_color.title}). "
        f"Fix the problem, redeploy to STANDBY ({plan.to_color.title}) and open a new PR.",
    )


def _after_failure(app: AppOutcome) -> Spans:
    hosts = "; ".join(f"{host} {state}" for host, state in app.hosts.items()) or "unknown"
    return (
        Bold("MANUAL ACTION NEEDED"),
        f"{_because(app.reason)}. HAProxy hosts: {hosts}. Check each host with ",
        Code("bluegreen status"),
        " and set its routing by hand.",
    )


def plan_next_step(plan: AppPlan) -> Spans:
    if plan.refusals:
        return ("Fix what the ❌ checks report before merging; merging now would change nothing.",)
    if plan.repair_only:
        return (f"Merge this PR to make the switch again on {', '.join(plan.hosts)}; no traffic moves.",)
    if plan.action == "switch":
        return (f"Merge this PR to switch {plan.app} to {plan.to_color.title}.",)
    return ("Nothing to do.",)


def _because(reason: str | None) -> str:
    return f": {reason}" if reason else ""
