"""The GitHub adapter (PyGithub): the pull request behind a pushed commit, the sticky PR comment, the sticky drift
issue, commit statuses, approvals and deployments.

The only module that talks to GitHub. It reaches the API at the URL it is given (the Action's `GITHUB_API_URL`, so
GitHub Enterprise Server works too), lets PyGithub's `GithubRetry` deal with 5xx answers and rate limits, and turns
every PyGithub or network error into a `GitHubError` naming the call and the permission the workflow's token needs.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import islice
from typing import Any, Literal
from urllib.parse import quote

import requests
from github import Auth, Github, GithubException, GithubRetry, RateLimitExceededException, UnknownObjectException
from github.GithubObject import NotSet
from github.Issue import Issue
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest

from bluegreen.core.pulls import approval, reverted_pull
from bluegreen.errors import GitHubError, InputError

# GitHub's 409 answers to a write that lost a race: the file changed (`<path> does not match <sha>`), or the
# branch moved while the commit was made (`refs/heads/main expected to be at <sha>`). Others (protection) stay.
STALE = ("does not match", "expected to be at")
COMMENT_LIMIT = 65_536  # GitHub refuses a longer comment body

# PyGithub's retry, chosen on purpose (README, "The GitHub Action"). Tried again: a server error of GitHub's
# (500, 502, 503, 504), a 429, and a 403 that is a rate limit (GithubRetry tells it by Retry-After or the
# message); for every method bluegreen uses, writes included: each of its writes may be repeated (a status or a
# deployment status adds one entry, the comment is found by its marker and edited (a copy left by a creation
# that landed before its 5xx is deleted at the next edit), status.json is a compare-and-swap). At most
# `retry_total` more tries, `retry_backoff_s` doubling between them; a rate limit is waited for as GitHub says
# (Retry-After, the reset time, a minute for a secondary limit), but never longer
# than RATE_LIMIT_WAIT_S: a release holds its locks meanwhile, so a longer wait is an error that says so.
RETRY_STATUSES = (429, 500, 502, 503, 504)
RETRY_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})
RATE_LIMIT_WAIT_S = 60.0
DESCRIPTION_LIMIT = 140  # a commit status's description
TITLE_LIMIT = 256  # an issue's title
CommitState = Literal["pending", "success", "failure", "error"]
DeploymentState = Literal["in_progress", "success", "failure", "error"]

_NAME = r"[A-Za-z0-9_.-]+"
_REPOSITORY = re.compile(rf"{_NAME}/{_NAME}")
_SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_MARKER = re.compile(r"<!-- [A-Za-z0-9_.:/-]+ -->")
_FORK_HINT = "a pull request from a fork gets a read-only token"
PULL_REQUESTS_SETTING = (
    'let GitHub Actions open pull requests: Settings > Actions > General > Workflow permissions > "Allow GitHub '
    "Actions to create and approve pull requests\" (the organisation's setting too, if it has one), or set the "
    "input rollback_pr to false"
)


@dataclass(frozen=True)
class Written:
    commit: str


@dataclass(frozen=True)
class IssueInfo:
    number: int
    url: str  # the page a person opens (html_url)


class StaleFile(GitHubError):
    """The file changed on the branch since it was read: read it again, then write."""


@dataclass(frozen=True)
class OpenPull:
    """An open pull request as the rollback record needs it: whose it is, and where its head is."""

    number: int
    url: str  # the page a person opens (html_url)
    body: str
    by_bot: bool  # opened by the workflow's token, github-actions[bot] (no other bot counts)
    head_ref: str


@dataclass(frozen=True)
class PullInfo:
    number: int
    title: str
    body: str
    author: str
    url: str  # the page a person opens (html_url)
    merged: bool
    merge_commit_sha: str | None
    head_sha: str
    head_repo: str | None  # owner/name; None once a fork is deleted
    base_repo: str
    base_ref: str
    head_ref: str = ""  # the branch it was merged from

    @property
    def is_fork(self) -> bool:
        return self.head_repo is None or self.head_repo.lower() != self.base_repo.lower()

    @property
    def reverts(self) -> int | None:
        return reverted_pull(self.title, self.body, self.base_repo)


def fit_line(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """One line of at most `limit` characters, cut with an ellipsis."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


MAX_PULL_COMMITS = 250  # GitHub lists at most this many commits of a pull request


class GitHub:
    """One repository on one GitHub (github.com or an Enterprise Server), reached with one token."""

    def __init__(
        self,
        token: str,
        api_url: str,
        repository: str,
        *,
        retry_total: int = 3,
        lag_attempts: int = 5,
        lag_delay_s: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        retry_backoff_s: float = 0.5,
        timeout_s: int = 15,
        write_interval_s: float = 1.0,
        rate_limit_wait_s: float = RATE_LIMIT_WAIT_S,
    ) -> None:
        _check_inputs(token, api_url, repository)
        self._token, self._api_url, self._repository = token, api_url.rstrip("/"), repository
        self._lag_attempts, self._lag_delay_s, self._sleep = max(lag_attempts, 1), lag_delay_s, sleep
        retry = GithubRetry(
            total=retry_total,
            backoff_factor=retry_backoff_s,
            status_forcelist=list(RETRY_STATUSES),
            allowed_methods=RETRY_METHODS,
            secondary_rate_wait=min(60.0, rate_limit_wait_s),
            max_rate_limit_wait=rate_limit_wait_s,
            raise_on_status=False,
        )
        # lazy: an object is fetched only when a field is read that its URL does not already tell
        self._github = Github(
            auth=Auth.Token(token), base_url=self._api_url, retry=retry, timeout=timeout_s, lazy=True,
            user_agent="bluegreen", seconds_between_requests=None, seconds_between_writes=write_interval_s or None,
        )  # fmt: skip
        self._repo = self._github.get_repo(repository)

    def __repr__(self) -> str:
        return f"GitHub({self._api_url!r}, {self._repository!r})"

    def __enter__(self) -> GitHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._github.close()

    def pull(self, number: int) -> PullInfo:
        with self._call(f"reading pull request #{number}", "pull-requests: read"):
            return _pull_info(self._repo.get_pull(number))

    def merged_pull_for_commit(self, sha: str, *, just_pushed: bool = True) -> PullInfo | None:
        """The pull request merged as `sha`; None after `lag_attempts` asks (a direct push, without one).

        GitHub links a pushed commit to its pull request a little after the push, so an empty answer is asked again
        (only once for an older commit, `just_pushed=False`, which GitHub has long linked if it ever will).
        """
        _check_sha(sha)
        for attempt in range(self._lag_attempts if just_pushed else 1):
            if attempt:
                self._sleep(self._lag_delay_s)
            found = self._merged_pull_now(sha)
            if found:
                return found
        return None

    def _merged_pull_now(self, sha: str) -> PullInfo | None:
        with self._call(f"finding the pull request of commit {sha[:12]}", "contents: read, pull-requests: read"):
            merged = [p for p in map(_pull_info, self._repo.get_commit(sha).get_pulls()) if p.merged]
            by_merge = next((p for p in merged if p.merge_commit_sha == sha), None)
            rebased = [p for p in merged if p.head_sha == sha]  # a rebase or fast-forward merge keeps the head sha
            if by_merge or not rebased:
                return by_merge
            return next((p for p in rebased if p.base_ref == self._repo.default_branch), None)

    def file_sha(self, path: str, ref: str) -> str | None:
        """The blob id of a file at `ref`, whatever its size or content; None when it does not exist there."""
        _check_path(path)
        with self._call(f"looking at {path} at {ref[:40]}", "contents: read"):
            try:
                found = self._repo.get_contents(path, ref=ref)
            except UnknownObjectException:
                return None
            return None if isinstance(found, list) or found.type != "file" else found.sha

    def put_file(self, path: str, text: str, message: str, branch: str, sha: str | None) -> Written:
        """One commit on `branch` that sets `path` to `text`, as the token's own identity (the workflow token's
        commits are github-actions[bot]'s). `sha` is the blob being replaced (None: a new
        file): GitHub refuses with 409 when the file changed since, raised here as StaleFile."""
        _check_path(path)
        with self._call(f"committing {path} to {branch}", "contents: write"):
            try:
                if sha is None:
                    written = self._repo.create_file(path, message, text, branch=branch)
                else:
                    written = self._repo.update_file(path, message, text, sha, branch=branch)
            except GithubException as exc:
                if exc.status == 409 and any(word in _github_message(exc) for word in STALE):
                    raise StaleFile(f"{path} changed on {branch} since it was read") from exc
                raise
            commit: dict[str, Any] = written["commit"].raw_data  # complete: raw_data fetches nothing
            return Written(str(commit["sha"]))

    def branch_exists(self, branch: str) -> bool:
        with self._call(f"looking for branch {branch}", "contents: read"):
            try:
                return bool(self._repo.get_git_ref(f"heads/{branch}").object.sha)  # (lazy: reading it asks GitHub)
            except UnknownObjectException:
                return False

    def create_branch(self, branch: str, sha: str) -> None:
        _check_sha(sha)
        with self._call(f"creating branch {branch}", "contents: write"):
            self._repo.create_git_ref(f"refs/heads/{branch}", sha)

    # --- the rollback pull request (action/rollback_pr.py): its branch, live.json on it, the pull request -------

    def branch_sha(self, branch: str) -> str | None:
        """The commit `branch` points at; None when there is no such branch."""
        with self._call(f"looking for branch {branch}", "contents: read"):
            try:
                return str(self._repo.get_git_ref(f"heads/{branch}").object.sha)
            except UnknownObjectException:
                return None

    def move_branch(self, branch: str, sha: str) -> None:
        """Point `branch` at commit `sha`, whatever it pointed at (for a branch that only bluegreen writes)."""
        _check_sha(sha)
        with self._call(f"moving branch {branch} to {sha[:12]}", "contents: write"):
            # (PyGithub's GitRef.edit would PATCH the `git/ref/` URL it read the ref from: GitHub has `git/refs/`)
            url = f"{self._repo.url}/git/refs/heads/{quote(branch, safe='/')}"
            self._repo.requester.requestJsonAndCheck("PATCH", url, input={"sha": sha, "force": True})

    def file_text(self, path: str, ref: str) -> tuple[str, str] | None:
        """A file's text at `ref` and its blob id; None when there is no such file there."""
        _check_path(path)
        with self._call(f"reading {path} at {ref[:40]}", "contents: read"):
            try:
                found = self._repo.get_contents(path, ref=ref)
            except UnknownObjectException:
                return None
            if isinstance(found, list) or found.type != "file":
                return None
            data = found.decoded_content
        try:
            return data.decode("utf-8"), found.sha
        except UnicodeDecodeError:
            raise GitHubError(f"{path} at {ref[:40]} is not UTF-8 text", hint="fix the file on the branch") from None

    def tree_with_file(self, parent: str, path: str, text: str) -> str:
        """The tree of commit `parent` with `path` set to `text`, made through the git database API (a tree's sha
        is its content's: the same change on the same parent is the same tree)."""
        _check_path(path)
        base_tree, _ = self.commit_parts(parent)
        entry = {"path": path, "mode": "100644", "type": "blob", "content": text}
        with self._call(f"making a tree with {path} on {parent[:12]}", "contents: write"):
            _, tree = self._repo.requester.requestJsonAndCheck(
                "POST", f"{self._repo.url}/git/trees", input={"base_tree": base_tree, "tree": [entry]}
            )
        return str(tree["sha"])

    def create_commit(self, tree: str, parent: str, message: str) -> str:
        """A new commit of `tree` on `parent`, by the token's owner, on no branch yet: its sha."""
        _check_sha(tree)
        _check_sha(parent)
        made = {"message": message, "tree": tree, "parents": [parent]}
        with self._call(f"making a commit on {parent[:12]}", "contents: write"):
            _, commit = self._repo.requester.requestJsonAndCheck("POST", f"{self._repo.url}/git/commits", input=made)
        return str(commit["sha"])

    def commit_parts(self, sha: str) -> tuple[str, tuple[str, ...]]:
        """A commit's tree and parents."""
        _check_sha(sha)
        with self._call(f"reading commit {sha[:12]}", "contents: read"):
            _, found = self._repo.requester.requestJsonAndCheck("GET", f"{self._repo.url}/git/commits/{sha}")
        return str(found["tree"]["sha"]), tuple(str(parent["sha"]) for parent in found["parents"])

    def pull_files(self, number: int) -> tuple[str, ...]:
        """The paths a pull request changes (GitHub lists at most 3,000)."""
        with self._call(f"listing the files of pull request #{number}", "pull-requests: read"):
            return tuple(changed.filename for changed in self._repo.get_pull(number).get_files())

    def open_pull_from(self, branch: str, base: str) -> OpenPull | None:
        """The open pull request from this repository's `branch` into `base` (GitHub allows one), if any."""
        owner = self._repository.split("/")[0]
        with self._call(f"looking for an open pull request from {branch}", "pull-requests: read"):
            found = next(iter(self._repo.get_pulls(state="open", head=f"{owner}:{branch}", base=base)), None)
            return None if found is None else _open_pull(found)

    def create_pull(self, branch: str, base: str, title: str, body: str) -> OpenPull:
        """A new pull request from `branch` into `base`. A POST that GitHub carried out before an error it then
        answered (retried by GithubRetry) finds the pull request already open: that one is returned."""
        with self._call(f"opening a pull request from {branch}", "pull-requests: write"):
            try:
                return _open_pull(self._repo.create_pull(base=base, head=branch, title=title, body=body))
            except GithubException as exc:
                said = _github_message(exc)
                if exc.status == 403 and "not permitted to create" in said:
                    raise GitHubError(f"opening a pull request from {branch}: GitHub answered 403 {said}",
                                      hint=PULL_REQUESTS_SETTING) from exc  # fmt: skip
                if exc.status == 422 and "already exists" in said:
                    found = self.open_pull_from(branch, base)
                    if found is not None:
                        return found
                raise

    def edit_pull(self, number: int, title: str, body: str) -> None:
        with self._call(f"editing pull request #{number}", "pull-requests: write"):
            self._repo.get_pull(number).edit(title=title, body=body)  # (lazy: one PATCH, no read first)

    def close_pull(self, number: int, comment: str) -> None:
        """A pull request closed unmerged, after a comment that says why."""
        with self._call(f"closing pull request #{number}", "pull-requests: write"):
            self._repo.get_issue(number).create_comment(comment)
            self._repo.get_pull(number).edit(state="closed")

    def add_labels(self, number: int, *labels: str) -> None:
        """Labels on a pull request (GitHub makes a label that does not exist yet)."""
        with self._call(f"labelling pull request #{number}", "pull-requests: write"):
            # (PyGithub's add_to_labels sends a bare list, which GitHub's description no longer declares)
            url = f"{self._repo.url}/issues/{number}/labels"
            self._repo.requester.requestJsonAndCheck("POST", url, input={"labels": list(labels)})

    def upsert_comment(self, number: int, marker: str, body: str) -> int:
        """The one comment of its kind on the pull request (the one starting with `marker`): edited, else created.
        A creation GitHub carried out but answered with a 5xx is sent again by the retry (GitHub cannot tell it
        landed): the copy it made is deleted at the next edit, so one comment stays, the one edited."""
        if not _MARKER.fullmatch(marker):
            raise ValueError(f"not a marker like <!-- bluegreen:plan -->: {marker!r}")
        text = f"{marker}\n{body}"
        if len(text) > COMMENT_LIMIT:  # never sent: GitHub would refuse it, and a cut here could break Markdown
            raise GitHubError(
                f"the comment on pull request #{number} has {len(text):,} characters, over GitHub's {COMMENT_LIMIT:,}",
                hint="this is a bug of bluegreen's (report.truncate_markdown keeps reports under it): please report it",
            )
        with self._call(f"writing the comment on pull request #{number}", "pull-requests: write"):
            issue = self._repo.get_issue(number)
            ours = [comment for comment in issue.get_comments() if _ours(comment, marker)]
            if not ours:
                return issue.create_comment(text).id
            ours[0].edit(text)
            for copy in ours[1:]:
                copy.delete()
            return ours[0].id

    def upsert_issue(self, marker: str, label: str, title: str, body: str) -> tuple[IssueInfo, bool]:
        """The one open issue of its kind (a bot's, labelled `label`, its body starting with `marker`): edited, else
        opened (True). A younger copy, which a retried creation may have left, is closed as not planned."""
        text = _marked(marker, body, "the issue")
        with self._call("writing the drift issue", "issues: write"):
            mine = self._our_issues(marker, label)
            if not mine:
                issue = self._repo.create_issue(fit_line(title, TITLE_LIMIT), text, labels=[label])
                return IssueInfo(issue.number, issue.html_url), True
            first, *copies = mine
            first.edit(title=fit_line(title, TITLE_LIMIT), body=text)
            for copy in copies:
                copy.edit(state="closed", state_reason="not_planned")
            return IssueInfo(first.number, first.html_url), False

    def close_issues(self, marker: str, label: str, comment: str) -> tuple[IssueInfo, ...]:
        """Every open issue of its kind, each with `comment`, closed as completed; none open: nothing is written."""
        text = _marked(marker, comment, "the closing comment")
        with self._call("closing the drift issue", "issues: write"):
            closed = []
            for issue in self._our_issues(marker, label):
                issue.create_comment(text)
                issue.edit(state="closed", state_reason="completed")
                closed.append(IssueInfo(issue.number, issue.html_url))
            return tuple(closed)

    def _our_issues(self, marker: str, label: str) -> list[Issue]:
        """The open issues of one kind, oldest first. GitHub lists pull requests among issues: those are left out, told
        by their page (a listed issue has no `pull_request` field, and reading one would fetch each issue again)."""
        listed = self._repo.get_issues(state="open", labels=[label], sort="created", direction="asc")
        return [issue for issue in listed if "/pull/" not in issue.html_url and _ours(issue, marker)]

    def set_status(
        self,
        sha: str,
        state: CommitState,
        description: str,
        context: str = "bluegreen/plan",
        target_url: str | None = None,
    ) -> None:
        _check_sha(sha)
        with self._call(f"setting the {context} status of commit {sha[:12]}", "statuses: write"):
            commit = self._repo.get_commit(sha)
            commit.create_status(state, target_url or NotSet, fit_line(description), context)

    def approved_by_other(self, number: int) -> tuple[bool, str]:
        """Whether an approval counts, in the spirit of GitHub's "approval of the most recent reviewable push": a
        review of the head that was merged (not of an older one), the reviewer's latest state, by someone with
        write, maintain or admin access to the repository who is neither the author nor an author or committer of
        any of its commits. A pull request with more commits than GitHub lists (250) is never approved: who made
        them cannot be told."""
        with self._call(f"reading the reviews and commits of pull request #{number}", "pull-requests: read"):
            pull = self._repo.get_pull(number)
            head = pull.head.sha
            listed = [r for r in pull.get_reviews() if r.user is not None]
            reviews = [(r.user.login, r.state) for r in listed if r.commit_id == head]
            older = {r.user.login for r in listed if r.commit_id != head and r.state == "APPROVED"}
            # attributes, not raw_data: reading raw_data of a listed commit would fetch each one again
            commits = list(islice(pull.get_commits(), MAX_PULL_COMMITS))
            if pull.commits > len(commits):  # fail closed: an unlisted commit's maker would not be excluded
                many = f"it has {pull.commits} commits, more than GitHub lists ({MAX_PULL_COMMITS})"
                return False, f"{many}: who made them cannot be told"
            people = [person for commit in commits for person in (commit.author, commit.committer)]
            pushers = {person.login for person in people if person is not None}
            unlinked = sum(1 for commit in commits if commit.author is None or commit.committer is None)
            return approval(
                pull.user.login, reviews, access=self._access, pushers=pushers, older=older, unlinked=unlinked
            )

    def _access(self, login: str) -> tuple[str, str]:
        """`login`'s base permission and role on the repository; ("none", "none") when GitHub answers 404 (no
        collaborator)."""
        with self._call(f"reading the permission of {login} on the repository", "metadata: read"):
            url = f"{self._repo.url}/collaborators/{quote(login, safe='')}/permission"
            try:
                _, data = self._repo.requester.requestJsonAndCheck("GET", url)
            except GithubException as exc:
                if exc.status == 404:
                    return "none", "none"
                raise
            answer = data if isinstance(data, dict) else {}
            return str(answer.get("permission") or "none"), str(answer.get("role_name") or "")

    def create_deployment(self, ref: str, environment: str, description: str) -> int:
        with self._call(f"creating a deployment of {ref} to {environment}", "deployments: write"):
            deployment = self._repo.create_deployment(
                ref, auto_merge=False, required_contexts=[], environment=environment,
                description=fit_line(description), transient_environment=False, production_environment=True,
            )  # fmt: skip
            return deployment.id

    def deployment_status(
        self,
        deployment_id: int,
        state: DeploymentState,
        description: str,
        environment_url: str | None = None,
        log_url: str | None = None,
    ) -> None:
        with self._call(f"setting the status of deployment {deployment_id}", "deployments: write"):
            # GitHub takes `target_url` as the log's URL (PyGithub has no `log_url`)
            self._repo.get_deployment(deployment_id).create_status(
                state, target_url=log_url or NotSet, description=fit_line(description),
                environment_url=environment_url or NotSet,
            )  # fmt: skip

    @contextmanager
    def _call(self, call: str, permission: str) -> Iterator[None]:
        try:
            yield
        except GithubException as exc:
            message = f"{call}: GitHub answered {exc.status} {_github_message(exc)}"
            raise GitHubError(message.replace(self._token, "***"), hint=_hint(exc, permission)) from exc
        except requests.RequestException as exc:
            message = f"{call}: no answer from {self._api_url} ({type(exc).__name__})"
            raise GitHubError(message, hint="check GITHUB_API_URL and the network, then run the job again") from exc


def _marked(marker: str, body: str, what: str) -> str:
    """`body` behind its hidden marker, or an error before any request when GitHub would refuse it."""
    if not _MARKER.fullmatch(marker):
        raise ValueError(f"not a marker like <!-- bluegreen:drift -->: {marker!r}")
    text = f"{marker}\n{body}"
    if len(text) > COMMENT_LIMIT:
        raise GitHubError(
            f"{what} has {len(text):,} characters, over GitHub's {COMMENT_LIMIT:,}",
            hint="this is a bug of bluegreen's (report.truncate_markdown keeps reports under it): please report it",
        )
    return text


ACTIONS_BOT = "github-actions[bot]"  # whom the workflow's GITHUB_TOKEN writes as


def _ours(comment: IssueComment | Issue, marker: str) -> bool:
    """The sticky comment (or issue) is the workflow token's, github-actions[bot]'s: a person, or another app or
    bot that posts the marker at the start of its text, does not get the report written into theirs (nor its text
    taken for bluegreen's)."""
    user = comment.user
    return (comment.body or "").startswith(marker) and user is not None and user.login == ACTIONS_BOT


def _open_pull(pull: PullRequest) -> OpenPull:
    by_bot = pull.user is not None and pull.user.login == ACTIONS_BOT  # the workflow's token; no other app or bot
    return OpenPull(pull.number, pull.html_url, pull.body or "", by_bot, pull.head.ref)


def _pull_info(pull: PullRequest) -> PullInfo:
    head_repo = pull.head.repo
    return PullInfo(
        number=pull.number, title=pull.title, body=pull.body or "", author=pull.user.login, url=pull.html_url,
        merged=pull.merged_at is not None, merge_commit_sha=pull.merge_commit_sha, head_sha=pull.head.sha,
        head_repo=head_repo.full_name if head_repo else None, base_repo=pull.base.repo.full_name,
        base_ref=pull.base.ref, head_ref=pull.head.ref,
    )  # fmt: skip


def _check_inputs(token: str, api_url: str, repository: str) -> None:
    if not token.strip():
        raise InputError("no GitHub token", hint="pass the workflow's token (github.token) to the action")
    if not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", api_url):
        raise InputError(f"not a GitHub API URL: {api_url!r}", hint="GITHUB_API_URL is like https://api.github.com")
    if not _REPOSITORY.fullmatch(repository) or ".." in repository:
        raise InputError(f"not a repository name: {repository!r}", hint="GITHUB_REPOSITORY is like owner/name")


def _check_path(path: str) -> None:
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*", path) or ".." in path.split("/"):
        raise ValueError(f"not a repository path: {path!r}")


def _check_sha(sha: str) -> None:
    if not _SHA.fullmatch(sha):
        raise InputError(f"not a full commit sha: {sha[:80]!r}", hint="pass the 40-hex-digit sha (GITHUB_SHA)")


def _github_message(exc: GithubException) -> str:
    data = exc.data if isinstance(exc.data, dict) else {}
    details = [e.get("message") or e.get("code") for e in data.get("errors") or [] if isinstance(e, dict)]
    text = "; ".join(str(part) for part in [data.get("message") or exc.message or "", *details] if part)
    return fit_line(text, 300)


def _hint(exc: GithubException, permission: str) -> str:
    if isinstance(exc, RateLimitExceededException) or exc.status == 429 or exc.status >= 500:
        return "GitHub is failing or limiting requests (already retried): run the job again later"
    return {
        401: "GitHub refused the token (wrong or expired): pass the workflow's token (github.token) to the action",
        403: f"the token lacks a permission: give the workflow `permissions: {permission}`; {_FORK_HINT}",
        404: f"check the repository and number, and that the token may read it (`permissions: {permission}`)",
        409: "GitHub refused because of the repository's state (a conflict): see the message",
        422: "GitHub refused the request's content: see the message",
    }.get(exc.status, f"the workflow needs `permissions: {permission}`; {_FORK_HINT}")
