"""Which apps a run was asked for (`Trigger.asked_for`), the one thing the rule "a failed version is not retried
by accident" (core/retry.py) needs from the event:

    push                 the apps whose entry in live.json the push changed, from the commit before it to the
                         pushed one (read from the checkout's git objects: merged, reviewed commits); every app
                         when the file is new, none when the commit before's cannot be read
    pull_request         the apps whose entry the pull request changes, from its base commit to GitHub's test merge
    workflow_dispatch    the apps a person named (the input `apps`)
    anything else        none
"""

from __future__ import annotations

from bluegreen import config
from bluegreen.action.context import Context, Inputs
from bluegreen.adapters.git import Checkout, MissingCommit, full_sha
from bluegreen.core.retry import touched
from bluegreen.errors import InputError
from bluegreen.model import Desired


def for_release(checkout: Checkout, context: Context, inputs: Inputs, head: str, live_path: str) -> tuple[str, ...]:
    """The apps a release may try again after a rollback or a failure."""
    if context.event_name == "workflow_dispatch":
        return inputs.apps
    if context.event_name != "push":
        return ()
    before = _before(checkout, context, head)
    if before is None:  # (trust.for_push refuses such a push: nothing is switched)
        return ()
    return _changed(checkout, before, head, live_path)


def for_plan(checkout: Checkout, inputs: Inputs, base: str | None, head: str, live_path: str) -> tuple[str, ...]:
    """The apps a plan may show as tried again: those the pull request changes (`base` its base commit), or, for a
    plan by hand (no pull request, `base` None), those a person named."""
    if base is None:
        return inputs.apps
    return _changed(checkout, base, head, live_path)


def _changed(checkout: Checkout, before: str, head: str, live_path: str) -> tuple[str, ...]:
    """The apps whose entry changed from `before` to `head`: all of them when live.json is new at `head`, none when
    `before`'s cannot be read (a broken file must not lift every hold; its fix is a change that touches them)."""
    display = f"{live_path} ({before[:12]})"
    try:
        text = checkout.read(before, live_path, display)
        earlier = None if text is None else config.parse_desired(text, display)
    except (InputError, MissingCommit):
        return ()
    return touched(earlier, desired_at(checkout, head, live_path) or Desired({}))


def desired_at(checkout: Checkout, sha: str, live_path: str) -> Desired | None:
    """live.json as commit `sha` has it; None when it has none, or not a valid one."""
    try:
        text = checkout.read(sha, live_path, f"{live_path} ({sha[:12]})")
        return None if text is None else config.parse_desired(text, f"{live_path} ({sha[:12]})")
    except (InputError, MissingCommit):
        return None


def _before(checkout: Checkout, context: Context, head: str) -> str | None:
    """The commit before the push: the event's `before`, or for a new branch the pushed commit's first parent."""
    before = full_sha(context.event.get("before"))
    if before is None or not before.strip("0"):
        parents = checkout.parents(head)
        before = parents[0] if parents else None
    return before if before is not None and checkout.has(before) else None
