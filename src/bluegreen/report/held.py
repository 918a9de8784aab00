"""An app held because its desired state was rolled back or failed before (core/retry.py): what the plan and the
release report say about it. Pure."""

from __future__ import annotations

from bluegreen.core.retry import how_to_retry
from bluegreen.core.versions import label
from bluegreen.model import AppOutcome, AppPlan, Outcome
from bluegreen.report.doc import Block, Bold, Code, Para, Spans, mark


def held_title(plan: AppPlan) -> str:
    return f"{plan.app}: held on {plan.from_color.title}, {plan.to_color.title} is not tried again"


def held_headline(outcome: Outcome) -> str | None:
    """The headline of a release that switched nothing because its apps are held; None when none is."""
    names = [app.plan.app for app in outcome.apps if app.plan.action == "hold"]
    if not names or outcome.result != "noop":
        return None
    return f"Nothing released: {', '.join(names)} held, not tried again after a rollback or a failure"


def held_blocks(app: AppOutcome) -> list[Block]:
    plan, live = app.plan, app.live
    stays = f"{live.color.title} ({live.address}) - {label(live.version)}" if live else plan.from_color.title
    retry = how_to_retry(plan.app)
    return [
        Para((mark("skip"), " ", Bold("Held:"), f" {plan.held}.")),
        Para((f"LIVE stays: {stays}. Nothing was asked of its HAProxy hosts, and no other app waits for it.",)),
        Para((Bold("Next step:"), " ", *with_code(f"{retry[:1].upper()}{retry[1:]}."))),
    ]


def with_code(said: str) -> Spans:
    """`text` with each `quoted` part a Code span (the renderer escapes the rest)."""
    return tuple(Code(part) if index % 2 else part for index, part in enumerate(said.split("`")) if part)
