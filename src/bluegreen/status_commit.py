"""state/status.json as bluegreen's own record on GitHub: read back, and committed through the REST API.

The release reads the record bluegreen itself sealed (see seal), not whatever the branch holds: the rollback
rule skips the newer-version check on the strength of that history, so a hand edit (a pull request, or another
workflow's token, adding a fake earlier release) must not count. A later edit is named in the report, and the
next record is written over it.

Writing is a compare-and-swap on the file's blob sha: if the file changed since it was read, GitHub answers 409
and the write is tried again on the new sha. No git runs and no credential is left in the checkout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from . import config
from .errors import GitHubError, InputError
from .github_api import PathCommit, RepoFile, StaleFile, Written
from .gitrefs import with_skip_ci

ATTEMPTS = 3
WINDOW = 8  # versions of status.json looked at for bluegreen's newest record
Render = Callable[[str | None], str]  # the file's text, given the blob id of the version it replaces


class StatusRepository(Protocol):
    """What this needs of GitHub; github_api.GitHub is one."""

    def file(self, path: str, ref: str) -> RepoFile | None: ...
    def path_commits(self, path: str, branch: str, limit: int = 20) -> list[PathCommit]: ...
    def put_file(self, path: str, text: str, message: str, branch: str, sha: str | None) -> Written: ...
    def branch_exists(self, branch: str) -> bool: ...
    def create_branch(self, branch: str, sha: str) -> None: ...


@dataclass(frozen=True)
class Record:
    """status.json on the branch it is committed to, as far as bluegreen may believe it."""

    text: str | None  # bluegreen's newest sealed record; None: there is none (no history is believed)
    sequence: int = 0  # that record's count: the next record is one more
    note: str | None = None  # why the branch's file is not simply bluegreen's newest record, for the report


def read_record(github: StatusRepository, path: str, branch: str, key: bytes) -> Record:
    """bluegreen's newest record among the last WINDOW versions of `path` on `branch`: sealed with `key`, naming
    the version it replaced (the one before it on the branch), and counting highest (an old record put back on
    top is a replay, not the newest)."""
    if not github.branch_exists(branch):
        return Record(None)
    commits = github.path_commits(path, branch, limit=WINDOW + 1)
    versions = [_version(github, path, commit.sha) for commit in commits]
    sealed = [
        (index, found, opened)
        for index, found in enumerate(versions[:WINDOW])
        if found is not None
        and (opened := config.opened_seal(found.text, key)) is not None
        and opened.previous == _sha(versions[index + 1 : index + 2])
    ]
    if not sealed:
        return Record(None, note=_no_record(path, branch)) if commits else Record(None)
    index, found, opened = max(sealed, key=lambda entry: (entry[2].sequence, -entry[0]))
    note = None if index == 0 else _not_newest(path, commits[0], commits[index])
    return Record(found.text, opened.sequence, note)


def _version(github: StatusRepository, path: str, sha: str) -> RepoFile | None:
    """The file at one commit; None when that commit deleted it or it cannot be read as a state file."""
    try:
        return github.file(path, sha)
    except InputError:
        return None


def _sha(replaced: list[RepoFile | None]) -> str | None:
    return replaced[0].sha if replaced and replaced[0] is not None else None


def _no_record(path: str, branch: str) -> str:
    return (
        f"no version of {path} on `{branch}` is sealed by this deploy key: the release believes no earlier "
        "history (no switch back counts as a rollback) and its record replaces the file"
    )


def _not_newest(path: str, tip: PathCommit, own: PathCommit) -> str:
    who = tip.author or "an author GitHub does not know"
    return (
        f"{path} was changed after bluegreen's last record (commit {tip.sha[:12]} by {who}): the release reads "
        f"bluegreen's own record of commit {own.sha[:12]}, and its record replaces the change"
    )


@dataclass(frozen=True)
class Committed:
    commit: str | None  # None: nothing to change, or not committed (see warning)
    warning: str | None = None  # why it was not committed, with the fix


def commit_record(
    github: StatusRepository,
    path: str,
    render: Render,
    message: str,
    branch: str,
    *,
    start: str | None = None,
    attempts: int = ATTEMPTS,
) -> Committed:
    """Set `path` on `branch` to render(blob id of the version it replaces) in one commit (a new `branch` starts
    at commit `start`), retried while the file keeps changing under it. GitHub's refusals (branch protection,
    permissions) become the warning."""
    try:
        if start is not None and not github.branch_exists(branch):
            github.create_branch(branch, start)
        return _compare_and_swap(github, path, render, with_skip_ci(message), branch, attempts)
    except GitHubError as error:
        return Committed(None, warning=_refused_warning(path, branch, error))


def _compare_and_swap(
    github: StatusRepository, path: str, render: Render, message: str, branch: str, attempts: int
) -> Committed:
    for _ in range(attempts):
        current = github.file(path, branch)
        text = render(current.sha if current else None)
        if current is not None and current.text == text:
            return Committed(None)
        try:
            written = github.put_file(path, text, message, branch, current.sha if current else None)
        except StaleFile:
            continue
        return Committed(written.commit)
    return Committed(
        None,
        warning=f"{path} was not committed: it changed on `{branch}` during each of {attempts} attempts. Nothing "
        "is lost: the report carries the result. Re-run the job to record it.",
    )


def _refused_warning(path: str, branch: str, error: GitHubError) -> str:
    lead = f"{path} was not committed to `{branch}` ({error.message}). Nothing is lost: the report carries the result."
    if "403" in error.message or "401" in error.message:
        return f"{lead} To record it, give the job `permissions: contents: write`."
    return (
        f"{lead} To record it, let the workflow's token write to the branch (a bypass for GitHub Actions in the "
        "branch protection or ruleset), or commit the status to a separate branch (the input `status_branch`)."
    )
