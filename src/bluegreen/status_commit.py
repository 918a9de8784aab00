"""state/status.json as bluegreen's own record on GitHub: read back, and committed through the REST API.

The release reads the record bluegreen itself committed, not whatever the branch holds: the rollback rule skips
the newer-version check on the strength of that history, so a hand edit (a pull request that adds a fake earlier
release) must not count. bluegreen's own commits are made with the workflow's token through the contents API:
GitHub makes them as github-actions[bot] and signs them, which no pull request can imitate. A later hand edit
is named in the report, and the next record is written over it.

Writing is a compare-and-swap on the file's blob sha: if the file changed since it was read, GitHub answers 409
and the write is tried again on the new sha. No git runs and no credential is left in the checkout.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from .errors import GitHubError
from .github_api import PathCommit, RepoFile, StaleFile, Written
from .gitrefs import with_skip_ci

ATTEMPTS = 3


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

    text: str | None  # the text of bluegreen's own newest commit of the file; None: there is none
    note: str | None = None  # why the branch's file is not simply bluegreen's record, for the report


def read_record(github: StatusRepository, path: str, branch: str) -> Record:
    if not github.branch_exists(branch):
        return Record(None)
    commits = github.path_commits(path, branch)
    own = next((commit for commit in commits if commit.by_workflow), None)
    if not commits:
        return Record(None)
    if own is None:
        return Record(
            None,
            f"no commit of {path} on `{branch}` is bluegreen's own (made by the workflow's token): the release "
            "trusts no earlier history (no rollback is recognised) and its record replaces the file",
        )
    found = github.file(path, own.sha)
    note = None
    if own is not commits[0]:
        who = commits[0].author or "an author GitHub does not know"
        note = (
            f"{path} was changed by hand after bluegreen's last record (commit {commits[0].sha[:12]} by {who}): "
            f"the release reads bluegreen's own record of commit {own.sha[:12]}, and its record replaces the change"
        )
    return Record(found.text if found else None, note)


@dataclass(frozen=True)
class Committed:
    commit: str | None  # None: nothing to change, or not committed (see warning)
    verified: bool = False
    warning: str | None = None  # why it was not committed, with the fix


def commit_record(
    github: StatusRepository,
    path: str,
    text: str,
    message: str,
    branch: str,
    *,
    start: str | None = None,
    attempts: int = ATTEMPTS,
) -> Committed:
    """Set `path` on `branch` to `text` in one commit (a new `branch` starts at commit `start`), retried while
    the file keeps changing under it. GitHub's refusals (branch protection, permissions) become the warning."""
    try:
        if start is not None and not github.branch_exists(branch):
            github.create_branch(branch, start)
        return _compare_and_swap(github, path, text, with_skip_ci(message), branch, attempts)
    except GitHubError as error:
        return Committed(None, warning=_refused_warning(path, branch, error))


def _compare_and_swap(
    github: StatusRepository, path: str, text: str, message: str, branch: str, attempts: int
) -> Committed:
    for _ in range(attempts):
        current = github.file(path, branch)
        if current is not None and current.text == text:
            return Committed(None)
        try:
            written = github.put_file(path, text, message, branch, current.sha if current else None)
        except StaleFile:
            continue
        return Committed(written.commit, written.verified)
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
