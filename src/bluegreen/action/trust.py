"""What the Action may believe: decisions come from reviewed commits only, read from the checkout's git objects.

A pull request proposes one thing, the LIVE colors in live.json. Everything that can move traffic or skip a rule
comes from what was reviewed and merged before it:

    environments.json     where the deploy key connects, how apps switch, what verification checks
    known_hosts           which host keys are trusted (unless the input ssh_known_hosts pins them)

In a plan that is the base commit: the first parent of GitHub's test merge (the commit checked out for a
pull_request event), or the event's base sha. When the base commit or its environments.json cannot be read,
the plan makes no connection at all and says why ("static checks only", as for a fork). The history the
rollback rule reads is not in the repository at all: it is bluegreen's record on the HAProxy hosts (ledger). A
pull request that edits status.json, the record's published copy, is flagged and its plan refused; a push that
edits it is refused at release. A run for a commit older than the last release's is refused too (stale_run).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from bluegreen import config
from bluegreen.action.context import Context, Decision, Inputs
from bluegreen.adapters.git import Checkout, GitTree, MissingCommit, full_sha
from bluegreen.errors import InputError, Location
from bluegreen.model import Desired, Status


@dataclass(frozen=True)
class Trusted:
    """The state a job decides from, where its pinned keys are read, and what the report should say about it."""

    state: config.State
    source: GitTree  # the reviewed commit: known_hosts and key_file come from here
    notes: tuple[str, ...] = ()
    refusal: str | None = None  # why the whole request is refused before anything is switched


@dataclass(frozen=True)
class StaticOnly:
    """The plan cannot be trusted to connect anywhere: the proposal was checked against the schemas, no more."""

    proposed: config.State
    why: str
    refusal: str | None = None  # the pull request edits status.json
    unchecked: bool = False  # whether it does could not be told (the base commit is not in the checkout)


def proposal(
    checkout: Checkout, context: Context, inputs: Inputs, *, with_status: bool = True
) -> tuple[str, config.State]:
    """The commit the event is about (GITHUB_SHA, else the checkout's HEAD) and its state files, schema-checked (a
    release reads its history from bluegreen's record instead: `with_status=False`)."""
    sha = context.sha or checkout.head()
    if not checkout.has(sha):
        raise InputError(
            f"the checkout does not hold the commit {sha[:12]} that the event is about",
            hint="check out the event's commit (actions/checkout does by default)",
            location=Location("GITHUB_SHA"),
        )
    return sha, config.load_state(GitTree(checkout, sha), inputs.state_dir, with_status=with_status)


def for_pull_request(checkout: Checkout, decision: Decision, head: str, proposed: config.State) -> Trusted | StaticOnly:
    """What a pull request's plan decides from: the base commit's environments.json and pinned keys (the history
    is bluegreen's record, read by the plan); static checks only when they cannot be read."""
    base, why = _pull_request_base(checkout, decision, head)
    if base is None:
        return StaticOnly(proposed, why, unchecked=True)
    edited = _edited_record(checkout, base, head, proposed.status_path, "PR")
    reviewed = GitTree(checkout, base, f"base branch {base[:12]}")
    text = reviewed.read(proposed.environments_path)
    if text is None:
        why = (
            f"the base branch has no {proposed.environments_path}: a new environments.json is used only once it is "
            "merged, so the plan asked nothing of HAProxy or the app servers"
        )
        return StaticOnly(proposed, why, edited)
    try:
        environments = config.parse_environments(text, reviewed.display(proposed.environments_path))
    except InputError as error:
        return StaticOnly(proposed, f"the base branch's {proposed.environments_path} is not valid ({error})", edited)
    desired, notes = _known_apps(proposed.desired, environments.apps)
    if not checkout.same_file(base, head, proposed.environments_path) or _pins_changed(checkout, base, head, proposed):
        notes.insert(
            0,
            f"this PR changes {proposed.environments_path} or the pinned host keys: the plan used the base branch's "
            "copies (a PR cannot choose where the deploy key connects); the release uses them once merged",
        )
    state = replace(proposed, desired=desired, environments=environments, status=Status())
    return Trusted(state, reviewed, tuple(notes), edited)


def for_push(checkout: Checkout, context: Context, head: str, merged: config.State) -> Trusted:
    """A merged change is approved: its files are the reviewed ones. Only status.json, bluegreen's own record,
    must not have been changed by it (the release reads the record from GitHub, see adapters/github_ledger.py)."""
    source = GitTree(checkout, head)
    if context.event_name != "push":
        return Trusted(merged, source)
    before = full_sha(context.event.get("before"))
    if before is None or not before.strip("0"):  # a new branch: the push's own first parent
        parents = checkout.parents(head)
        before = parents[0] if parents else None
    if before is None or not checkout.has(before):
        refusal = (
            f"cannot tell whether this push changed {merged.status_path}: its previous commit "
            f"{(before or 'unknown')[:12]} is not in the checkout. Give actions/checkout `fetch-depth: 0`."
        )
        return Trusted(merged, source, refusal=refusal)
    return Trusted(merged, source, refusal=_edited_record(checkout, before, head, merged.status_path, "push"))


def _pull_request_base(checkout: Checkout, decision: Decision, head: str) -> tuple[str | None, str]:
    parents = checkout.parents(head)
    merge = len(parents) == 2 and parents[1] == decision.pr_head_sha  # GitHub's test merge: base first, head second
    base = parents[0] if merge else decision.base_sha
    if base is None:
        return None, "the event names no base commit, so nothing reviewed could be read"
    if not checkout.has(base):
        return None, (
            f"the base commit {base[:12]} is not in the checkout, so nothing reviewed could be read "
            "(give actions/checkout `fetch-depth: 2`, or check out the pull request's merge commit)"
        )
    return base, ""


def _known_apps(desired: Desired, known: Mapping[str, object]) -> tuple[Desired, list[str]]:
    """Apps new in the pull request are planned once their environments.json entry is merged."""
    names = [name for name in desired.apps if name not in known]
    kept = replace(desired, apps={n: a for n, a in desired.apps.items() if n not in names})
    return kept, [f"new in this PR, planned once merged: {', '.join(names)}"] if names else []


def _pins_changed(checkout: Checkout, base: str, head: str, proposed: config.State) -> bool:
    pins = proposed.environments.ssh.known_hosts
    try:
        return not checkout.same_file(base, head, pins)
    except InputError:
        return True


def _edited_record(checkout: Checkout, base: str, head: str, path: str, what: str) -> str | None:
    """Whether the change from `base` to `head` edits status.json (compared from where the two meet, so a newer
    bluegreen record on the base branch is not taken for the change's own edit)."""
    start = checkout.merge_base(base, head) or base
    try:
        unchanged = checkout.same_file(start, head, path)
    except MissingCommit:
        unchanged = False  # cannot tell: refuse
    if unchanged:
        return None
    return (
        f"this {what} changes {path}, which only bluegreen writes: its history decides what counts as a rollback. "
        f"Nothing is switched. Take the change to {path} out of the {what} (change live.json instead)"
        + ("." if what == "PR" else "; bluegreen's own record replaces it.")
    )


def last_released_commit(status: Status) -> str | None:
    """The commit of the newest release that moved traffic (a refused run moved nothing: it does not count, or a
    refused re-run of an old job would make the next re-run look new)."""
    moved = [
        record
        for app in status.apps.values()
        for record in app.history
        if record.commit and record.result in ("success", "rolled_back", "failed")
    ]
    return max(moved, key=lambda record: record.at).commit if moved else None


def stale_run(checkout: Checkout, head: str, status: Status) -> str | None:
    """A run for a commit older than the last release's (a re-run of an old job, say) would undo what was released
    since: refused. A commit beside it (a force-push) is not older, and may go ahead."""
    last = last_released_commit(status)
    if last is None or last == head:
        return None
    if not checkout.has(last):  # not in a full checkout: on no branch any more (force-pushed away), not newer
        if not checkout.shallow:
            return None
        return (
            f"cannot tell whether this run's commit {head[:12]} is older than the last release's ({last[:12]}): the "
            "checkout does not hold that commit. Give actions/checkout `fetch-depth: 0`"
        )
    if not checkout.is_ancestor(head, last):
        return None
    return (
        f"this run is for commit {head[:12]}, older than commit {last[:12]} of the last release: running it would "
        "undo what was released since. Push a new commit that asks for what you want, or run the workflow for the "
        "branch's newest commit"
    )
