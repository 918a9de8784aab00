"""The Action's record: status.json committed through GitHub's REST API, and the history read back from the
exact version the HAProxy hosts remember (see ledger).

Writing is a compare-and-swap on the file's blob sha: if the file changed since it was read, GitHub answers 409
and the write is tried again on the new version. No git runs and no credential is left in the checkout. Reading
never trusts the branch: whatever a person or another workflow's token wrote there since, the history is the
blob whose id the hosts keep, fetched by that id.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from . import config, ledger
from .errors import GitHubError, InputError
from .github_api import StaleFile, Written
from .gitrefs import blob_id, with_skip_ci
from .ledger import Memory
from .model import Outcome, Status
from .release import Recalled, Saved
from .ssh import HostSession

ATTEMPTS = 3


class StatusRepository(Protocol):
    """What this needs of GitHub; github_api.GitHub is one."""

    def file_sha(self, path: str, ref: str) -> str | None: ...
    def blob_text(self, sha: str) -> str | None: ...
    def put_file(self, path: str, text: str, message: str, branch: str, sha: str | None) -> Written: ...
    def branch_exists(self, branch: str) -> bool: ...
    def create_branch(self, branch: str, sha: str) -> None: ...


@dataclass(frozen=True)
class Committed:
    commit: str | None  # None: the file held it already, or not committed (see warning)
    blob: str | None = None  # the file's blob id as it is now (what the hosts are to remember)
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
        current = github.file_sha(path, branch)  # the blob id only: a hand edit too large to read is replaced too
        if current == blob_id(text):
            return Committed(None, current)
        try:
            written = github.put_file(path, text, message, branch, current)
        except StaleFile:
            continue
        return Committed(written.commit, written.blob)
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


@dataclass
class GitHubLedger:
    """The Action's ledger (release.Ledger): the history is the status.json the HAProxy hosts remember, fetched
    by its blob id; a release commits the new one through the API and the hosts remember it, under the lock."""

    github: StatusRepository
    repository: str  # owner/name: the hosts keep one memory per repository and status.json
    path: str
    branch: str  # where status.json is committed: the default branch or `status_branch`
    start: str | None = None  # a status branch that does not exist yet starts at this commit
    commit_status: bool = True
    stale: Callable[[Status], str | None] = lambda status: None  # the release's check that its commit is not old
    memory: Memory | None = None
    status: Status = field(default_factory=Status)
    notes: list[str] = field(default_factory=list)
    warning: str | None = None

    async def recall(self, sessions: Mapping[str, HostSession]) -> Recalled:
        found = await ledger.recall(sessions, self.repository, self.path)
        if found.conflict:
            return Recalled(Status(), found.conflict)
        self.notes += [found.note] if found.note else []
        if found.memory is None:
            self.notes.append(
                f"no HAProxy host remembers a record of bluegreen's yet: no earlier history counts (no switch back "
                f"is a rollback); the next release's record of {self.path} starts it"
            )
            return Recalled(Status())
        self.notes += [note] if (note := await asyncio.to_thread(self._edited, found.memory)) else []
        text = await asyncio.to_thread(self.github.blob_text, found.memory.blob)
        if text is None:
            return Recalled(Status(), _lost(self.path, found.memory))
        try:
            status = config.parse_status(text, f"{self.path} (bluegreen's record {found.memory.blob[:12]})")
        except InputError as error:
            return Recalled(Status(), f"bluegreen's record of {self.path} cannot be read: {error.message}")
        self.memory, self.status = found.memory, status
        return Recalled(status, self.stale(status))

    def _edited(self, memory: Memory) -> str | None:
        """Whether the branch's status.json is still the record the hosts remember; the report says so if not."""
        current = self.github.file_sha(self.path, self.branch)
        if current is None or current == memory.blob:
            return None
        return (
            f"{self.path} on `{self.branch}` is not the record bluegreen last wrote (blob {memory.blob[:12]}, which "
            "the HAProxy hosts remember): it was changed since, by hand or by another workflow. The history is "
            "bluegreen's record; its next record replaces the file"
        )

    def save(self, outcome: Outcome) -> Saved:
        if not self.commit_status:
            return Saved(True, f"{self.path} not committed: the input commit_status is false")
        if outcome.refusal is None and all(app.result == "noop" for app in outcome.apps):
            return Saved(True, "nothing to record")
        text = config.dump_status(config.recorded(self.status, outcome))
        message = f"bluegreen: record {outcome.result} in {self.path}"
        committed = commit_record(self.github, self.path, text, message, self.branch, start=self.start)
        if committed.warning:
            self.warning = committed.warning
            return Saved(False, committed.warning)
        where = f"commit {committed.commit[:12]} on {self.branch}" if committed.commit else f"already on {self.branch}"
        return Saved(True, f"{self.path} records the observed LIVE ({where})", committed.blob, committed.commit)

    async def remember(self, sessions: Mapping[str, HostSession], saved: Saved) -> Saved:
        if saved.record is None:
            return saved
        sequence = (self.memory.sequence if self.memory else 0) + 1
        failed = await ledger.remember(
            sessions, self.repository, self.path, Memory(sequence, saved.record, saved.commit)
        )
        if not failed:
            return saved
        hosts = "; ".join(f"{host}: {why}" for host, why in sorted(failed.items()))
        return Saved(False, f"{saved.detail}, but not every HAProxy host remembers it ({hosts})", saved.record)


def _lost(path: str, memory: Memory) -> str:
    where = f" (committed in {memory.commit[:12]})" if memory.commit else ""
    return (
        f"the record of {path} that the HAProxy hosts remember, blob {memory.blob[:12]}{where}, is not on GitHub any "
        "more, so the history cannot be read and nothing is switched. If the repository was rewritten on purpose, "
        "remove the memory files beside the release lock on each host (`<lock path>.record-*`) to start a new history"
    )
