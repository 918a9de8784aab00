"""The Action's record: kept on the HAProxy hosts (see ledger), and published to the branch as status.json
through GitHub's REST API.

Publishing is a compare-and-swap on the file's blob sha: if the file changed since it was read, GitHub answers 409
and the write is tried again on the new version. No git runs and no credential is left in the checkout. The
history is never read back from the branch: whatever a person or another workflow's token wrote there since, it
is the record the hosts keep.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from bluegreen import config
from bluegreen.adapters.github import StaleFile, Written
from bluegreen.core import history
from bluegreen.core.gitrefs import blob_id, with_skip_ci
from bluegreen.core.record import Memory
from bluegreen.engine import ledger
from bluegreen.engine.ports import HaproxyPort, Recalled, Saved
from bluegreen.errors import GitHubError
from bluegreen.model import Outcome, Status

ATTEMPTS = 3


class StatusRepository(Protocol):
    """What this needs of GitHub; adapters.github.GitHub is one."""

    def file_sha(self, path: str, ref: str) -> str | None: ...
    def put_file(self, path: str, text: str, message: str, branch: str, sha: str | None) -> Written: ...
    def branch_exists(self, branch: str) -> bool: ...
    def create_branch(self, branch: str, sha: str) -> None: ...


@dataclass(frozen=True)
class Committed:
    commit: str | None  # None: the file held it already, or not committed (see warning)
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
            return Committed(None)
        try:
            written = github.put_file(path, text, message, branch, current)
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


@dataclass
class GitHubLedger:
    """The Action's ledger (release.Ledger): the history is the record the HAProxy hosts keep (see ledger); a
    release keeps the new one there, under the lock, then publishes it to the branch as status.json."""

    github: StatusRepository
    repository: str  # owner/name: the hosts keep one record per repository and status.json
    path: str
    branch: str  # where status.json is published: the default branch or `status_branch`
    start: str | None = None  # a status branch that does not exist yet starts at this commit
    commit_status: bool = True  # publish to the branch (the hosts keep the record either way)
    stale: Callable[[Status], str | None] = lambda status: None  # the release's check that its commit is not old
    memory: Memory | None = None
    status: Status = field(default_factory=Status)  # the history recalled
    notes: list[str] = field(default_factory=list)
    refused: str | None = None  # the history could not be told: nothing is switched, nothing recorded
    warning: str | None = None  # why the record was not published

    async def recall(self, hosts: Mapping[str, HaproxyPort]) -> Recalled:
        found = await ledger.recall(hosts, self.repository, self.path)
        if found.conflict:
            self.refused = found.conflict
            return Recalled(Status(), found.conflict)
        self.notes += [found.note] if found.note else []
        if found.memory is None:
            self.notes.append(
                "no HAProxy host holds a record of bluegreen's yet: no earlier history counts (no switch back is a "
                f"rollback); the next release's record starts it, and {self.path} is published from it"
            )
            return Recalled(Status())
        self.memory, self.status = found.memory, found.memory.status
        self.notes += [note] if (note := await asyncio.to_thread(self._published_differs)) else []
        return Recalled(self.status, self.stale(self.status))

    async def record(self, hosts: Mapping[str, HaproxyPort], outcome: Outcome) -> Saved:
        if self.refused:
            return Saved(False, f"nothing recorded: {self.refused}")
        if outcome.refusal is None and all(app.result == "noop" for app in outcome.apps):
            return Saved(True, "nothing to record")
        status = history.recorded(self.status, outcome)
        sequence = (self.memory.sequence if self.memory else 0) + 1
        failed = await ledger.remember(hosts, self.repository, self.path, Memory(sequence, status))
        kept = sorted(set(hosts) - set(failed))
        if not kept:
            return Saved(False, "bluegreen's record was kept on no HAProxy host: " + _hosts(failed))
        published = await asyncio.to_thread(self._publish, status, outcome)
        missing = f"; not on {_hosts(failed)}" if failed else ""
        return Saved(not failed, f"recorded on {', '.join(kept)}{missing}; {published}")

    def _publish(self, status: Status, outcome: Outcome) -> str:
        if not self.commit_status:
            return f"{self.path} not published: the input commit_status is false"
        message = f"bluegreen: record {outcome.result} in {self.path}"
        text = config.dump_status(status)
        committed = commit_record(self.github, self.path, text, message, self.branch, start=self.start)
        if committed.warning:
            self.warning = committed.warning
            return f"{self.path} not published: see the warning"
        where = f"commit {committed.commit[:12]}" if committed.commit else "unchanged"
        return f"published to {self.path} on {self.branch} ({where})"

    def _published_differs(self) -> str | None:
        """Whether the branch's status.json is still the published copy of the record; the report says if not."""
        try:
            published = self.github.file_sha(self.path, self.branch)
        except GitHubError:  # only for the report: the history does not depend on it
            return None
        if published is None or self.memory is None or published == blob_id(config.dump_status(self.memory.status)):
            return None
        return (
            f"{self.path} on `{self.branch}` differs from bluegreen's record (kept on the HAProxy hosts): it was "
            "changed since, or bluegreen's last copy of it could not be committed. The history is the record; its "
            "next copy replaces the file"
        )


def _hosts(failed: Mapping[str, str]) -> str:
    return "; ".join(f"{host}: {why}" for host, why in sorted(failed.items()))
