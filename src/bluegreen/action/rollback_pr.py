"""Git follows reality after a switch back: the rollback record (core/rollback.py) as a pull request that the
workflow's token opens (github-actions[bot]), after a release that ended with traffic back on the old LIVE.

One branch per app, `bluegreen/rollback/<app>`, and at most one open pull request from it into the default branch,
found again by its branch and told apart by its hidden marker (`<!-- bluegreen:rollback:<app> -->`) and its bot
author, as the sticky comment is:

    one is open      taken over only when it is bluegreen's kind (one commit that changes only the app's entry
                     of live.json, else it is left alone, with a warning); its title and description become the
                     latest switch back's: never a second pull request
    none is open     the pull request is opened and labelled `bluegreen-rollback`

Either way the branch is made again: one commit on the default branch's tip that sets the entry (a tree, then a
commit, through the git database API, and the branch moved to it), never a commit on top of what was there.

The record is judged against the default branch's live.json as it is now (a revert merged meanwhile needs none),
and made only while the app's entry there is still the one that was released: another change of the app merged
meanwhile (a fixed version pinned) is never reverted by it; the report says so instead.

Everything goes through GitHub's REST API (the git database and refs APIs); no git runs. The commit does not say
`[skip ci]`: a squash merge would carry it into the merge, whose release then would not run. A refusal by GitHub
(the setting that lets GitHub Actions open pull requests, a permission, branch protection), a pull request there
that is not bluegreen's kind, or any other error here is a warning with the fix and the change to make by hand;
the release's result, exit code and outputs are never changed by it. The input `rollback_pr: false` opens
nothing; the report gives the change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bluegreen import config, report
from bluegreen.action import workflow
from bluegreen.action.run import Run
from bluegreen.adapters.github import ACTIONS_BOT, OpenPull, PullInfo
from bluegreen.config.live_edit import with_entry
from bluegreen.core import rollback
from bluegreen.core.rollback import Record
from bluegreen.errors import BluegreenError, GitHubError, InputError
from bluegreen.model import DesiredApp, Outcome
from bluegreen.report import rollback as words

LABEL = "bluegreen-rollback"


class RollbackRepository(Protocol):
    """What this needs of GitHub; adapters.github.GitHub is one."""

    def branch_sha(self, branch: str) -> str | None: ...
    def create_branch(self, branch: str, sha: str) -> None: ...
    def move_branch(self, branch: str, sha: str) -> None: ...
    def file_text(self, path: str, ref: str) -> tuple[str, str] | None: ...
    def commit_parts(self, sha: str) -> tuple[str, tuple[str, ...]]: ...
    def tree_with_file(self, parent: str, path: str, text: str) -> str: ...
    def create_commit(self, tree: str, parent: str, message: str) -> str: ...
    def pull_files(self, number: int) -> tuple[str, ...]: ...
    def open_pull_from(self, branch: str, base: str) -> OpenPull | None: ...
    def create_pull(self, branch: str, base: str, title: str, body: str) -> OpenPull: ...
    def edit_pull(self, number: int, title: str, body: str) -> None: ...
    def add_labels(self, number: int, *labels: str) -> None: ...
    def close_pull(self, number: int, comment: str) -> None: ...


def marker(app: str) -> str:
    return f"<!-- bluegreen:rollback:{app} -->"


def branch_of(app: str) -> str:
    return f"bluegreen/rollback/{app}"


@dataclass(frozen=True)
class Opened:
    record: Record
    number: int
    url: str
    reused: bool
    unlabelled: str | None = None  # why GitHub did not label it (the pull request is there all the same)


@dataclass(frozen=True)
class Where:
    """Where the record goes: the default branch, live.json's path, and what the description links to."""

    base: str
    live_path: str
    run_url: str | None = None


@dataclass(frozen=True)
class Moved:
    """No record: the default branch's entry of the app changed since the release (`now`), so one would revert it."""

    now: DesiredApp


def open_record(github: RollbackRepository, released: Record, outcome: Outcome, where: Where) -> Opened | Moved | None:
    """The rollback pull request of `released` (the record against the released commit's live.json), opened or
    brought up to date; None when the default branch's live.json says what is LIVE already (or no longer has the
    app); Moved when its entry there is no longer the one that was released."""
    name = released.app.plan.app
    branch = branch_of(name)
    found = _ours(github.open_pull_from(branch, where.base), name)
    tip = github.branch_sha(where.base)
    if tip is None:
        raise GitHubError(f"the branch {where.base} was not found", hint="check the repository's default branch")
    record = _record_at(github, released, where, tip)
    if isinstance(record, Moved) or record is None:
        return record
    if found is not None:
        _adoptable(github, found, name, where.live_path)
    _rebuild(github, branch, tip, record, where.live_path)
    title, body = words.pr_title(record), f"{marker(name)}\n{_body(record, outcome, where)}"
    if found is not None:
        github.edit_pull(found.number, title, body)
        number, url = found.number, found.url
    else:
        opened = github.create_pull(branch, where.base, title, body)
        number, url = opened.number, opened.url
    try:
        github.add_labels(number, LABEL)
    except GitHubError as error:
        return Opened(record, number, url, found is not None, f"{error.message} ({error.hint})")
    return Opened(record, number, url, reused=found is not None)


def _ours(found: OpenPull | None, app: str) -> OpenPull | None:
    if found is None or (found.by_bot and found.body.startswith(marker(app))):
        return found
    raise GitHubError(
        f"pull request #{found.number} from {branch_of(app)} is open and is not bluegreen's rollback record",
        hint=f"close it or give its branch another name: bluegreen keeps {branch_of(app)} for the record",
    )


def _adoptable(github: RollbackRepository, found: OpenPull, app: str, live_path: str) -> None:
    """An open pull request is taken over only when it is what bluegreen makes: one commit that changes only the
    app's entry of live.json (a bot's pull request with the marker and more in it is left alone, with a warning)."""
    branch = branch_of(app)
    head = github.branch_sha(branch)
    parents = github.commit_parts(head)[1] if head else ()
    files = github.pull_files(found.number)
    if head is None or len(parents) != 1 or files != (live_path,) or not _only_entry(github, app, live_path, head):
        raise GitHubError(
            f"pull request #{found.number} from {branch} carries bluegreen's marker but changes more than the entry "
            f"of {app} in {live_path}: it is not bluegreen's rollback record, and is left alone",
            hint=f"review and close it: the next switch back of {app} then opens a record of its own",
        )


def _only_entry(github: RollbackRepository, app: str, live_path: str, head: str) -> bool:
    """Whether `head` changes nothing of live.json but `app`'s entry, against its parent."""
    parent = github.commit_parts(head)[1][0]
    after, before = _desired(github, live_path, head), _desired(github, live_path, parent)
    others = [(name, entry.live, entry.version) for name, entry in after.items() if name != app]
    return app in after and others == [(n, e.live, e.version) for n, e in before.items() if n != app]


def _record_at(github: RollbackRepository, released: Record, where: Where, tip: str) -> Record | Moved | None:
    """The record against the default branch's tip: only while its entry is the released one (another change of
    the app merged meanwhile is not reverted by it)."""
    app = released.app
    asked = _desired(github, where.live_path, tip, where.base).get(app.plan.app)
    entry = rollback.entry_back(app, asked) if asked is not None else None
    if asked is None or entry is None:
        return None
    if (asked.live, asked.version) != (released.asked.live, released.asked.version):
        return Moved(asked)
    return Record(app, asked, entry)


def _desired(github: RollbackRepository, path: str, ref: str, name: str | None = None) -> Mapping[str, DesiredApp]:
    shown = name or ref[:12]
    found = github.file_text(path, ref)
    if found is None:
        raise GitHubError(f"{path} is not on {shown}", hint="the release read it from the checkout: run the job again")
    try:
        return config.parse_desired(found[0], f"{path} on {shown}").apps
    except InputError as error:
        raise GitHubError(f"{path} on {shown} is not valid: {error.message}", hint=error.hint) from None


def _rebuild(github: RollbackRepository, branch: str, tip: str, record: Record, live_path: str) -> None:
    """The record's branch made again as one commit on the default branch's tip that sets the entry, whatever
    the branch held before (never a commit on top of someone else's); left alone when it is that already."""
    found = github.file_text(live_path, tip)
    if found is None:
        raise GitHubError(f"{live_path} is not on {tip[:12]}", hint="run the job again")
    changed = with_entry(found[0], f"{live_path} on {tip[:12]}", record.entry)
    tree = github.tree_with_file(tip, live_path, changed)
    current = github.branch_sha(branch)
    if current is not None and github.commit_parts(current) == (tree, (tip,)):
        return
    message = (
        f"bluegreen: record the rollback of {record.app.plan.app} in {live_path}\n\n"
        f"{words.entry_text(record.entry)}: traffic is back on {record.entry.live.title}."
    )
    commit = github.create_commit(tree, tip, message)
    if current is None:
        github.create_branch(branch, commit)
    else:
        github.move_branch(branch, commit)


def _body(record: Record, outcome: Outcome, where: Where) -> str:
    return report.truncate_markdown(words.pr_markdown(record, outcome, where.live_path, where.run_url))


# --- what the release job calls -----------------------------------------------------------------------------


def record_rollbacks(run: Run, outcome: Outcome, desired: Mapping[str, DesiredApp], live_path: str) -> list[str]:
    """After a release: each app switched back gets its rollback record (a pull request, unless the input
    `rollback_pr` is false); the notes the report carries about them. GitHub's refusals are warnings."""
    where = Where(run.context.default_branch, live_path, run.context.run_url)
    notes = (_recorded(run, record, outcome, where) for record in rollback.records(outcome, desired))
    return [note for note in notes if note]


def _recorded(run: Run, record: Record, outcome: Outcome, where: Where) -> str | None:
    name, path = record.app.plan.app, where.live_path
    if not run.inputs.rollback_pr:
        return words.change_note(record, path, "the input rollback_pr is false")
    try:
        opened = open_record(run.github, record, outcome, where)
    except BluegreenError as error:  # GitHub's refusal, or a live.json there that cannot take the record
        return _not_opened(run, record, path, f"{error.message} ({error.hint})", error.message)
    except Exception as error:  # a bug here must not replace the release's outcome: a warning, with its name
        return _not_opened(run, record, path, f"{type(error).__name__}: {error}", "an error in bluegreen")
    if opened is None:
        return None
    if isinstance(opened, Moved):
        return words.moved_note(record, opened.now, path, where.base)
    run.progress(f"{name}: rollback record in pull request #{opened.number}")
    if opened.unlabelled:
        workflow.annotate(run.out, "warning", opened.unlabelled, title=f"pull request #{opened.number} unlabelled")
    return words.opened_note(opened.record, opened.number, opened.reused, path)


def _not_opened(run: Run, record: Record, path: str, warning: str, why: str) -> str:
    """The record not opened: a warning, and the change a person makes instead; the release's result stands."""
    title = f"the rollback pull request of {record.app.plan.app} not opened"
    workflow.annotate(run.out, "warning", warning, title=title)
    return words.change_note(record, path, f"its pull request was not opened ({why})")


def close_obsolete(github: RollbackRepository, outcome: Outcome, base: str) -> tuple[int, ...]:
    """After a release, the open rollback records of the apps it released closed, with a comment: what they
    record is no longer what is LIVE (merging one would switch back). The pull requests closed."""
    if outcome.dry_run:
        return ()
    closed = []
    for app in (done.plan.app for done in outcome.apps if done.result == "success"):
        found = github.open_pull_from(branch_of(app), base)
        if found is not None and found.by_bot and found.body.startswith(marker(app)):
            github.close_pull(found.number, words.obsolete_comment(app, outcome))
            closed.append(found.number)
    return tuple(closed)


def merged_record(pull: PullInfo | None, outcome: Outcome, desired: Mapping[str, DesiredApp]) -> str | None:
    """When the merged pull request is a rollback record of bluegreen's (github-actions[bot]'s, from the app's
    branch of this repository, its merge changing that app's entry of live.json and no other's), for an app of live.json
    (`desired`), and its release switched nothing for that app (`noop`), the report's word for it; else None."""
    if pull is None or pull.author != ACTIONS_BOT or pull.is_fork:  # the workflow's token, no other app or bot
        return None
    app = marked_app(pull.body)
    results = {done.plan.app: done.result for done in outcome.apps}
    if app is None or app not in desired or results.get(app) != "noop" or pull.head_ref != branch_of(app):
        return None
    return words.merged_note(app) if outcome.trigger.asked_for == (app,) else None


def marked_app(body: str) -> str | None:
    """The app a description's marker names, when it is one (an app name as live.json's schema has them)."""
    app = body.removeprefix("<!-- bluegreen:rollback:").partition(" -->")[0]
    named = body.startswith(marker(app)) and config.desired_value_problem("appName", app) is None
    return app if named else None
