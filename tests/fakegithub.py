"""A fake GitHub REST API on loopback: the one stand-in in bluegreen's tests.

A real HTTP server in a thread that PyGithub reaches through its `base_url` (the Action's `GITHUB_API_URL`). It
pages with `Link` headers, refuses a wrong token with 401, says 404 for what it does not know, and records every
request so a test can assert what was sent. Seed it, point the adapter at `.url`, then assert.

Its answers are GitHub's own: each payload is GitHub's example answer for the operation, from the pinned OpenAPI
description (tests/data/github-openapi/, `githubspec.example`), with the fake's values patched in (ids, logins,
shas, times, what was stored) and every URL of the example rebased onto the fake (`.url`, `.web_url`). So a payload
has every property GitHub's has (a pull request in a list has no `merged` field, only `merged_at`, as on GitHub),
and grows with the description. A URL of the example that the fake does not rebase is an error, never sent. Every
exchange is held against GitHub's description (tests/githubspec.py); the `fake_github` fixture fails a test that
broke it. A test that asks for a path GitHub does not have says so with `expect_undeclared`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import os
import re
import subprocess
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

from tests import githubspec  # GitHub's OpenAPI description: its example answers, and the check of each exchange

DOCS = "https://docs.github.com/rest"
EPOCH = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
REVIEW_STATES = {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"}
COMMIT_STATES = {"error", "failure", "pending", "success"}
DEPLOYMENT_STATES = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
# a collaborator's role -> the base permission GitHub's `permission` field gives it (maintain is write, triage read)
ROLES = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read", "none": "none"}
# the role a reviewer seeded with add_review gets by default, by the review's author_association (others: none)
ASSOCIATION_ROLES = {"OWNER": "admin", "MEMBER": "write", "COLLABORATOR": "write"}
MAX_PULL_COMMITS = 250  # GitHub lists at most this many commits of a pull request
REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"
BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")
REPO_ID = 1296269
# the operations whose example answers the payloads are built from
GET_REPO = "GET /repos/{owner}/{repo}"
GET_PULL = "GET /repos/{owner}/{repo}/pulls/{pull_number}"
COMMIT_PULLS = "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls"
REVIEWS = "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews"
PULL_COMMITS = "GET /repos/{owner}/{repo}/pulls/{pull_number}/commits"
PERMISSION = "GET /repos/{owner}/{repo}/collaborators/{username}/permission"
COMMENTS = "GET /repos/{owner}/{repo}/issues/{issue_number}/comments"
CREATE_STATUS = "POST /repos/{owner}/{repo}/statuses/{sha}"
CREATE_DEPLOYMENT = "POST /repos/{owner}/{repo}/deployments"
DEPLOYMENT_STATUS = "POST /repos/{owner}/{repo}/deployments/{deployment_id}/statuses"
GET_CONTENTS = "GET /repos/{owner}/{repo}/contents/{path}"
PUT_CONTENTS = "PUT /repos/{owner}/{repo}/contents/{path}"
GET_REF = "GET /repos/{owner}/{repo}/git/ref/{ref}"
ADD_LABELS = "POST /repos/{owner}/{repo}/issues/{issue_number}/labels"
GET_GIT_COMMIT = "GET /repos/{owner}/{repo}/git/commits/{commit_sha}"
CREATE_GIT_COMMIT = "POST /repos/{owner}/{repo}/git/commits"
CREATE_TREE = "POST /repos/{owner}/{repo}/git/trees"
PULL_FILES = "GET /repos/{owner}/{repo}/pulls/{pull_number}/files"
CREATE_ISSUE = "POST /repos/{owner}/{repo}/issues"
ISSUE_STATES = {"open", "closed"}
STATE_REASONS = {"completed", "not_planned", "duplicate", "reopened", None}

Reply = tuple[int, Any, dict[str, str]]


@dataclass(frozen=True)
class _Request:
    path: str
    match: dict[str, str]
    query: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Call:
    method: str
    path: str  # without the API prefix, e.g. /repos/acme/ops/pulls/7
    query: dict[str, str]
    json_body: Any
    headers: dict[str, str]


@dataclass
class _Failure:
    method: str
    path: re.Pattern[str]
    status: int
    times: int
    message: str
    headers: dict[str, str]
    landed: bool = False  # carried out first, then answered with the failure


@dataclass
class _Hook:
    method: str
    path: re.Pattern[str]
    action: Callable[[], object]


@dataclass
class _Association:
    numbers: list[int] = field(default_factory=list)
    after_calls: int = 0
    asked: int = 0


@dataclass(frozen=True)
class _PullCommit:
    sha: str
    author: str | None  # the GitHub login the commit's author is linked to; None: an address GitHub does not know
    committer: str | None


@dataclass(frozen=True)
class _Role:
    role_name: str  # what GitHub's `role_name` says: admin, maintain, write, triage, read, or a custom role
    permission: str  # the base permission: admin, write, read or none


@dataclass
class _Comment:
    number: int  # of the issue (pull request) it is on: the fake's own, not in GitHub's payload
    json: dict[str, Any]


class FakeGitHub:
    """`with FakeGitHub("acme/ops") as gh:` serves the API at `gh.url` until the block ends."""

    def __init__(
        self,
        repository: str = "acme/ops",
        default_branch: str = "main",
        *,
        token: str = "ghs_fake_token",  # noqa: S107  (a test token)
        prefix: str = "",
        actor: str = "github-actions[bot]",
        git_dir: Path | None = None,
    ) -> None:
        self.repository, self.default_branch, self.token = repository, default_branch, token
        self.git_dir = git_dir  # the repository's contents are served from this (bare) git repository
        self.prefix, self.actor = prefix.rstrip("/"), actor
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._failures: list[_Failure] = []
        self._hooks: list[_Hook] = []
        self._pulls: dict[int, dict[str, Any]] = {}
        self._reviews: dict[int, list[dict[str, Any]]] = {}
        self._pull_commits: dict[int, list[_PullCommit]] = {}  # unseeded: the head, by the pull request's author
        self._roles: dict[str, _Role | None] = {}  # lowercased login -> role (None: not a collaborator)
        self._comments: list[_Comment] = []
        self._issues: dict[int, dict[str, Any]] = {}  # issues (not pull requests) by number, as stored
        self._associations: dict[str, _Association] = {}
        self._statuses: dict[str, list[dict[str, Any]]] = {}
        self._deployments: list[dict[str, Any]] = []
        self._deployment_statuses: dict[int, list[dict[str, Any]]] = {}
        self._ids = 1000
        self._signed: set[str] = set()  # commits made through the API: signed by GitHub
        self._protected: dict[str, str] = {}  # branch -> GitHub's refusal of a write to it
        self.spec_problems: list[str] = []  # what tests/githubspec.py found wrong with each exchange
        self._undeclared: set[tuple[str, str]] = set()  # (method, path) a test asks although GitHub has no such path
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self.web_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = self.web_url + self.prefix
        quick_shutdown = {"poll_interval": 0.02}
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs=quick_shutdown, daemon=True)

    def __enter__(self) -> FakeGitHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    # --- seeding ------------------------------------------------------------------------------------------------

    def add_pull(
        self,
        number: int,
        title: str,
        body: str,
        author: str,
        head_sha: str,
        merged: bool,
        merge_commit_sha: str | None,
        base_ref: str = "main",
        head_repo: str | None = None,
        *,
        head_ref: str = "release",
        fork_deleted: bool = False,
    ) -> None:
        """`head_repo` None means a branch of this repository; `fork_deleted` makes GitHub's `head.repo` null."""
        with self._lock:
            self._pulls[number] = {
                "number": number, "title": title, "body": body, "author": author, "head_sha": head_sha,
                "merged": merged, "merge_commit_sha": merge_commit_sha, "base_ref": base_ref, "head_ref": head_ref,
                "head_repo": None if fork_deleted else head_repo or self.repository, "at": self._stamp(),
            }  # fmt: skip
            self._reviews.setdefault(number, [])

    def add_review(
        self, number: int, user: str, state: str, *, commit_id: str | None = None, association: str = "MEMBER"
    ) -> None:
        """A review of the pull request's head as it is now (or of `commit_id`), by a `MEMBER` (or `association`).
        Unless set_permission said otherwise, a reviewer who is an OWNER has admin on the repository, a MEMBER or
        COLLABORATOR write, anyone else no access (GET collaborators/{user}/permission answers 404)."""
        assert state in REVIEW_STATES, state
        with self._lock:
            if user.lower() not in self._roles:
                role = ASSOCIATION_ROLES.get(association)
                self._roles[user.lower()] = _Role(role, ROLES[role]) if role else None
            commit = commit_id or self._pulls[number]["head_sha"]
            self._reviews.setdefault(number, []).append(
                self._review_json(number, user, state, commit_id=commit, association=association)
            )

    def add_pull_commit(self, number: int, sha: str, author_login: str | None, committer_login: str | None) -> None:
        """A commit of the pull request (GET pulls/{n}/commits lists them in the order added, each with the previous
        one as its parent), its author and committer linked to these GitHub logins (None: an address GitHub links
        to no account). Until one is added, the pull request has one commit: its head, by its author."""
        assert re.fullmatch(r"[0-9a-f]{40}", sha), sha
        with self._lock:
            self._pull_commits.setdefault(number, []).append(_PullCommit(sha, author_login, committer_login))

    def set_permission(self, user: str, role: str | None, *, permission: str | None = None) -> None:
        """`user`'s role on the repository: admin, maintain, write, triage, read or none, or a custom role with its
        base `permission`; None: not a collaborator (GET collaborators/{user}/permission answers 404)."""
        base = permission or ROLES.get(role or "none")
        assert role is None or base in set(ROLES.values()), (role, permission)
        with self._lock:
            self._roles[user.lower()] = None if role is None else _Role(role, str(base))

    def add_comment(self, number: int, body: str, author: str = "octocat") -> int:
        with self._lock:
            return int(self._new_comment(number, body, author)["id"])

    def associate(self, sha: str, number: int, *, after_calls: int = 0) -> None:
        """What GET commits/{sha}/pulls lists; empty for the first `after_calls` asks (GitHub's lag)."""
        with self._lock:
            association = self._associations.setdefault(sha, _Association())
            association.numbers.append(number)
            association.after_calls = max(association.after_calls, after_calls)

    def protect(self, branch: str, message: str = "") -> None:
        """Branch protection: the contents API refuses writes to `branch` (409, as GitHub answers)."""
        with self._lock:
            self._protected[branch] = message or (
                "Could not update file: 1 of 1 required status check is expected. Changes must be made through a "
                "pull request."
            )

    def mark_merged(self, number: int, merge_commit_sha: str) -> None:
        """A pull request (opened through the API, say) merged on GitHub as `merge_commit_sha`."""
        with self._lock:
            self._pulls[number].update(merged=True, merge_commit_sha=merge_commit_sha, at=self._stamp())

    def close_pull(self, number: int) -> None:
        """A pull request closed without merging."""
        with self._lock:
            self._pulls[number]["closed"] = True

    def pull(self, number: int) -> dict[str, Any]:
        """What the fake holds of a pull request: title, body, author, head_ref, head_sha, labels, merged, ..."""
        with self._lock:
            return dict(self._pulls[number])

    def open_pulls(self) -> list[int]:
        with self._lock:
            return [n for n, p in self._pulls.items() if not p["merged"] and not p.get("closed")]

    def fail_next(
        self,
        method: str,
        path_regex: str,
        status: int,
        times: int = 1,
        message: str = "",
        headers: dict[str, str] | None = None,
        *,
        landed: bool = False,
    ) -> None:
        """The next `times` matching requests get `status` (and `headers`, e.g. a rate limit's `Retry-After`),
        before anything is done: as GitHub's front end answers a 502, or a secondary rate limit. With `landed`,
        each is carried out first and then answered so: a 502 from a proxy that lost GitHub's answer."""
        with self._lock:
            text = message or f"HTTP {status}"
            headers = dict(headers or {})
            failure = _Failure(method.upper(), re.compile(path_regex), status, times, text, headers, landed)
            self._failures.append(failure)

    def before_next(self, method: str, path_regex: str, action: Callable[[], object]) -> None:
        """Run `action` once, right before the next matching request is handled: something else happens on
        GitHub at that moment (another commit lands on the branch, say)."""
        with self._lock:
            self._hooks.append(_Hook(method.upper(), re.compile(path_regex), action))

    def expect_undeclared(self, method: str, path: str) -> None:
        """A test asks `method path` (without the API prefix) on purpose although GitHub has no such operation, to
        see the fake's 404: that exchange is then held only to GitHub's basic error (and to being undeclared)."""
        with self._lock:
            self._undeclared.add((method.upper(), path))

    # --- assertions ---------------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def comments(self, number: int) -> list[str]:
        with self._lock:
            return [c.json["body"] for c in self._comments if c.number == number]

    def statuses(self, sha: str) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._statuses.get(sha, []))

    def deployments(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._deployments)

    def deployment_statuses(self, deployment_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._deployment_statuses.get(deployment_id, []))

    # --- serving ------------------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: Any) -> Reply:
        parts = urlsplit(target)
        path = parts.path[len(self.prefix) :] if parts.path.startswith(self.prefix + "/") else "/-" + parts.path
        query = dict(parse_qsl(parts.query))
        self._run_hook(method, path)
        with self._lock:
            self._calls.append(Call(method, path, query, body, headers))
            failure = self._take_failure(method, path)
            reply: Reply
            if failure and not failure.landed:
                reply = failure.status, {"message": failure.message, "documentation_url": DOCS}, failure.headers
            elif not _authorized(headers.get("authorization", ""), self.token):
                reply = 401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, {}
            else:
                try:
                    reply = self._route(method, path, query, body)
                except ExampleError as error:  # told at the test's end, with the exchanges' problems
                    self.spec_problems.append(f"fake GitHub: {method} {path}: {error}")
                    reply = 500, {"message": str(error), "documentation_url": DOCS}, {}
            if failure and failure.landed:
                reply = failure.status, {"message": failure.message, "documentation_url": DOCS}, failure.headers
            undeclared = (method.upper(), path) in self._undeclared
            self.spec_problems += githubspec.problems(method, path, query, body, *reply[:2], undeclared=undeclared)
            return reply

    def _run_hook(self, method: str, path: str) -> None:
        """Outside the lock: the action may be slow (git) or ask the fake itself."""
        with self._lock:
            hook = next((h for h in self._hooks if h.method == method and h.path.search(path)), None)
            if hook is not None:
                self._hooks.remove(hook)
        if hook is not None:
            hook.action()

    def _take_failure(self, method: str, path: str) -> _Failure | None:
        for failure in self._failures:
            if failure.times > 0 and failure.method == method and failure.path.search(path):
                failure.times -= 1
                return failure
        return None

    def _route(self, method: str, path: str, query: dict[str, str], body: Any) -> Reply:
        for verb, pattern, serve in self._routes():
            found = re.fullmatch(REPO + pattern, path)
            if verb == method and found and f"{found['owner']}/{found['name']}".lower() == self.repository.lower():
                reply = serve(_Request(path, found.groupdict(), query, body))
                if reply is not None:
                    return reply
        return _not_found()

    def _routes(self) -> list[tuple[str, str, Callable[[_Request], Reply | None]]]:
        return [
            ("GET", "", lambda r: (200, self._repo_json(full=True), {})),
            ("GET", r"/pulls/(?P<n>\d+)", lambda r: self._pull_reply(int(r.match["n"]))),
            ("GET", r"/pulls/(?P<n>\d+)/reviews", self._reviews_reply),
            ("GET", r"/pulls/(?P<n>\d+)/commits", self._pull_commits_reply),
            ("GET", r"/collaborators/(?P<user>[^/]+)/permission", self._permission_reply),
            ("GET", r"/commits/(?P<sha>[^/]+)/pulls", self._commit_pulls),
            ("GET", r"/issues/(?P<n>\d+)/comments", self._comments_reply),
            ("POST", r"/issues/(?P<n>\d+)/comments", self._create_comment),
            ("PATCH", r"/issues/comments/(?P<id>\d+)", self._edit_comment),
            ("DELETE", r"/issues/comments/(?P<id>\d+)", self._delete_comment),
            ("POST", r"/statuses/(?P<sha>[0-9a-fA-F]{40,64})", self._create_status),
            ("POST", r"/deployments", self._create_deployment),
            ("POST", r"/deployments/(?P<id>\d+)/statuses", self._deployment_status),
            ("GET", r"/contents/(?P<path>[A-Za-z0-9_./-]+)", self._contents),
            ("PUT", r"/contents/(?P<path>[A-Za-z0-9_./-]+)", self._put_contents),
            ("GET", r"/git/ref/heads/(?P<branch>[A-Za-z0-9_./-]+)", self._get_ref),
            ("POST", r"/git/refs", self._create_ref),
            *self._pull_request_routes(),
            *self._issue_routes(),
        ]

    # --- endpoints (called with the lock held) ------------------------------------------------------------------

    def _contents(self, r: _Request) -> Reply | None:
        """A file at a ref, read from `git_dir` with git itself, shaped like GitHub's contents object."""
        ref, path = r.query.get("ref", self.default_branch), r.match["path"]
        if self.git_dir is None or not re.fullmatch(r"[0-9A-Za-z_./-]+", ref):
            return None
        blob = self._git_out("rev-parse", "--verify", "--quiet", f"{ref}:{path}")
        if blob is None or self._git_out("cat-file", "-t", blob) != "blob":
            return None
        content = self._git_bytes("cat-file", "blob", blob)
        return 200, self._content_json(path, ref, blob, content, full=True), {}

    def _put_contents(self, r: _Request) -> Reply | None:
        """One commit on the branch, made as the token's owner (github-actions[bot]) and signed: the contents API.
        The blob sha in the body is a compare-and-swap: a stale one answers 409, as on GitHub."""
        body, path = r.body, r.match["path"]
        if self.git_dir is None or not isinstance(body, dict) or not isinstance(body.get("message"), str):
            return _invalid("Contents", "message")
        branch = str(body.get("branch") or self.default_branch)
        tip = self._git_out("rev-parse", "--verify", "--quiet", f"refs/heads/{branch}^{{commit}}")
        if tip is None:
            return 404, {"message": f"Branch {branch} not found", "documentation_url": DOCS, "status": "404"}, {}
        current = self._git_out("rev-parse", "--verify", "--quiet", f"{tip}:{path}")
        if current is not None and body.get("sha") != current:
            if body.get("sha") is None:
                return 422, {"message": 'Invalid request.\n\n"sha" wasn\'t supplied.', "documentation_url": DOCS}, {}
            return 409, {"message": f"{path} does not match {body.get('sha')}", "documentation_url": DOCS}, {}
        if branch in self._protected:
            return 409, {"message": self._protected[branch], "documentation_url": DOCS}, {}
        commit = self._commit_file(tip, path, base64.b64decode(str(body.get("content", ""))), body["message"])
        self._git_out("update-ref", f"refs/heads/{branch}", commit, tip)
        self._signed.add(commit)
        blob = str(self._git_out("rev-parse", f"{commit}:{path}"))
        content = self._content_json(path, branch, blob, self._git_bytes("cat-file", "blob", blob), full=False)
        return (200 if current else 201), {"content": content, "commit": self._git_commit_json(commit)}, {}

    def _get_ref(self, r: _Request) -> Reply | None:
        sha = (
            self._git_out("rev-parse", "--verify", "--quiet", f"refs/heads/{r.match['branch']}")
            if self.git_dir
            else None
        )
        return None if sha is None else (200, self._ref_json(f"refs/heads/{r.match['branch']}", sha), {})

    def _create_ref(self, r: _Request) -> Reply | None:
        body = r.body
        if self.git_dir is None or not isinstance(body, dict) or not isinstance(body.get("ref"), str):
            return _invalid("Reference", "ref")
        ref, sha = body["ref"], str(body.get("sha", ""))
        if not re.fullmatch(r"refs/heads/[A-Za-z0-9_./-]+", ref) or self._git_out("cat-file", "-t", sha) != "commit":
            return 422, {"message": "Reference update failed", "documentation_url": DOCS, "status": "422"}, {}
        if self._git_out("rev-parse", "--verify", "--quiet", ref) is not None:
            return 422, {"message": "Reference already exists", "documentation_url": DOCS, "status": "422"}, {}
        self._git_out("update-ref", ref, sha, "0" * 40)
        return 201, self._ref_json(ref, sha), {}

    def _pull_reply(self, number: int) -> Reply | None:
        return (200, self._pull_json(self._pulls[number], full=True), {}) if number in self._pulls else None

    def _reviews_reply(self, r: _Request) -> Reply | None:
        number = int(r.match["n"])
        if number not in self._pulls:
            return None
        return self._paged(self._reviews[number], r)

    def _pull_commits_reply(self, r: _Request) -> Reply | None:
        """GET pulls/{n}/commits: the pull request's commits, oldest first, at most 250 (as GitHub lists them)."""
        number = int(r.match["n"])
        if number not in self._pulls:
            return None
        commits = self._commits_of(number)[:MAX_PULL_COMMITS]
        parents = ["b" * 40] + [c.sha for c in commits]  # the first one's parent: the base (see _pull_json)
        return self._paged([self._pull_commit_json(c, parent) for c, parent in zip(commits, parents, strict=False)], r)

    def _permission_reply(self, r: _Request) -> Reply | None:
        """GET collaborators/{user}/permission: the user's role; 404 for one who is not a collaborator."""
        login = unquote(r.match["user"])
        role = self._roles.get(login.lower())
        if role is None:
            return None
        return 200, self._permission_json(login, role), {}

    def _commit_pulls(self, r: _Request) -> Reply:
        association = self._associations.get(r.match["sha"], _Association())
        association.asked += 1
        numbers = [] if association.asked <= association.after_calls else association.numbers
        return self._paged([self._pull_json(self._pulls[n], full=False) for n in numbers], r)

    def _comments_reply(self, r: _Request) -> Reply | None:
        number = int(r.match["n"])
        if number not in self._pulls and number not in self._issues:
            return None
        return self._paged([c.json for c in self._comments if c.number == number], r)

    def _create_comment(self, r: _Request) -> Reply | None:
        number = int(r.match["n"])
        if number not in self._pulls and number not in self._issues:
            return None
        problem = _comment_problem(r.body)
        return problem or (201, self._new_comment(number, r.body["body"], self.actor), {})

    def _delete_comment(self, r: _Request) -> Reply | None:
        comment = next((c for c in self._comments if c.json["id"] == int(r.match["id"])), None)
        if comment is None:
            return None
        self._comments.remove(comment)
        return 204, None, {}

    def _edit_comment(self, r: _Request) -> Reply | None:
        comment = next((c.json for c in self._comments if c.json["id"] == int(r.match["id"])), None)
        problem = _comment_problem(r.body)
        if comment is None or problem:
            return problem
        comment.update(body=r.body["body"], updated_at=self._stamp())
        return 200, comment, {}

    def _create_status(self, r: _Request) -> Reply:
        sha, body = r.match["sha"], r.body
        if not isinstance(body, dict) or body.get("state") not in COMMIT_STATES:
            return _invalid("Status", "state")
        status = self._status_json(self._next_id(), sha, body)
        self._statuses.setdefault(sha, []).append(status)
        return 201, status, {}

    def _create_deployment(self, r: _Request) -> Reply:
        body = r.body
        if not isinstance(body, dict) or not isinstance(body.get("ref"), str):
            return _invalid("Deployment", "ref")
        sha = _resolve(body["ref"])
        failing = [s["context"] for s in self._statuses.get(sha, []) if s["state"] != "success"]
        if body.get("required_contexts") is None and failing:
            return 409, {"message": f"Conflict: Commit status checks failed for {body['ref']}.", "errors": []}, {}
        deployment = self._deployment_json(self._next_id(), sha, body)
        self._deployments.append(deployment)
        return 201, deployment, {}

    def _deployment_status(self, r: _Request) -> Reply | None:
        deployment_id, body = int(r.match["id"]), r.body
        if not any(d["id"] == deployment_id for d in self._deployments):
            return None
        if not isinstance(body, dict) or body.get("state") not in DEPLOYMENT_STATES:
            return _invalid("DeploymentStatus", "state")
        deployment = next(d for d in self._deployments if d["id"] == deployment_id)
        status = self._deployment_status_json(self._next_id(), deployment, body)
        self._deployment_statuses.setdefault(deployment_id, []).append(status)
        return 201, status, {}

    # --- pull requests opened, edited and labelled through the API (the rollback record) -------------------------

    def _pull_request_routes(self) -> list[tuple[str, str, Callable[[_Request], Reply | None]]]:
        return [
            ("GET", r"/pulls", self._list_pulls),
            ("POST", r"/pulls", self._create_pull),
            ("PATCH", r"/pulls/(?P<n>\d+)", self._edit_pull),
            ("POST", r"/issues/(?P<n>\d+)/labels", self._add_labels),
            ("PATCH", r"/git/refs/heads/(?P<branch>[A-Za-z0-9_./-]+)", self._move_ref),
            ("GET", r"/git/commits/(?P<sha>[0-9a-f]{40})", self._get_git_commit),
            ("POST", r"/git/trees", self._create_tree),
            ("POST", r"/git/commits", self._create_git_commit),
            ("GET", r"/pulls/(?P<n>\d+)/files", self._pull_files_reply),
        ]

    def _list_pulls(self, r: _Request) -> Reply:
        """GET pulls: filtered by `state` (open by default), `head` (`owner:branch`) and `base`, newest first."""
        state, head, base = r.query.get("state", "open"), r.query.get("head"), r.query.get("base")
        owner = self.repository.split("/")[0]

        def wanted(pull: dict[str, Any]) -> bool:
            closed = pull["merged"] or pull.get("closed", False)
            if state != "all" and closed != (state == "closed"):
                return False
            if head is not None and head != f"{owner}:{pull['head_ref']}":
                return False
            return base is None or base == pull["base_ref"]

        found = [pull for _, pull in sorted(self._pulls.items(), reverse=True) if wanted(pull)]
        return self._paged([self._pull_json(pull, full=False) for pull in found], r)

    def _create_pull(self, r: _Request) -> Reply:
        """POST pulls, as GitHub refuses one: a head branch it does not have, one without commits beyond the base,
        or one that already has an open pull request into that base (422 each)."""
        body = r.body if isinstance(r.body, dict) else {}
        head, base = body.get("head"), body.get("base")
        if not isinstance(head, str) or not isinstance(base, str):
            return _invalid("PullRequest", "head")
        tip = self._git_out("rev-parse", "--verify", "--quiet", f"refs/heads/{head}^{{commit}}")
        base_tip = self._git_out("rev-parse", "--verify", "--quiet", f"refs/heads/{base}^{{commit}}")
        if tip is None or base_tip is None:
            return _invalid("PullRequest", "head" if tip is None else "base")
        if self._git_out("merge-base", "--is-ancestor", tip, base_tip) is not None:
            return _custom("PullRequest", f"No commits between {base} and {head}")
        owner = self.repository.split("/")[0]
        if any(not p["merged"] and not p.get("closed") and (p["head_ref"], p["base_ref"]) == (head, base)
               for p in self._pulls.values()):  # fmt: skip
            return _custom("PullRequest", f"A pull request already exists for {owner}:{head}.")
        number = max([*self._pulls, *self._issues], default=0) + 1  # one sequence with issues, as on GitHub
        self._pulls[number] = {
            "number": number, "title": str(body.get("title", "")), "body": str(body.get("body", "")),
            "author": self.actor, "head_sha": tip, "merged": False, "merge_commit_sha": None, "base_ref": base,
            "head_ref": head, "head_repo": self.repository, "at": self._stamp(), "labels": [],
        }  # fmt: skip
        self._reviews.setdefault(number, [])
        return 201, self._pull_json(self._pulls[number], full=True), {}

    def _edit_pull(self, r: _Request) -> Reply | None:
        number = int(r.match["n"])
        if number not in self._pulls:
            return None
        body = r.body if isinstance(r.body, dict) else {}
        pull = self._pulls[number]
        pull.update({key: str(body[key]) for key in ("title", "body") if key in body})
        if body.get("state") == "closed":
            pull["closed"] = True
        return 200, self._pull_json(pull, full=True), {}

    def _add_labels(self, r: _Request) -> Reply | None:
        """POST issues/{n}/labels: `{"labels": [...]}` or a plain list of names; a new name makes a new label."""
        number = int(r.match["n"])
        if number not in self._pulls:
            return None
        given = r.body.get("labels") if isinstance(r.body, dict) else r.body
        if not isinstance(given, list) or not all(isinstance(name, str) for name in given):
            return _invalid("Label", "labels")
        labels = self._pulls[number].setdefault("labels", [])
        labels += [name for name in given if name not in labels]
        return 200, [self._label_json(name) for name in labels], {}

    def _move_ref(self, r: _Request) -> Reply | None:
        """PATCH git/refs/heads/{branch}: to `sha`; only forward unless `force` (422, as GitHub answers)."""
        ref, body = f"refs/heads/{r.match['branch']}", r.body if isinstance(r.body, dict) else {}
        current = self._git_out("rev-parse", "--verify", "--quiet", ref) if self.git_dir else None
        if current is None:
            return 422, {"message": "Reference does not exist", "documentation_url": DOCS, "status": "422"}, {}
        sha = str(body.get("sha", ""))
        if self._git_out("cat-file", "-t", sha) != "commit":
            return 422, {"message": "Object does not exist", "documentation_url": DOCS, "status": "422"}, {}
        forward = self._git_out("merge-base", "--is-ancestor", current, sha) is not None
        if not forward and body.get("force") is not True:
            return 422, {"message": "Update is not a fast forward", "documentation_url": DOCS, "status": "422"}, {}
        self._git_out("update-ref", ref, sha, current)
        return 200, self._ref_json(ref, sha), {}

    def _get_git_commit(self, r: _Request) -> Reply | None:
        sha = r.match["sha"]
        if self.git_dir is None or self._git_out("cat-file", "-t", sha) != "commit":
            return None
        return 200, self._git_commit_json(sha, _example(GET_GIT_COMMIT, "200")), {}

    def _create_tree(self, r: _Request) -> Reply | None:
        """POST git/trees: `base_tree` with each entry's `content` written as a blob at its `path` (the only form
        of an entry the fake knows); a base tree that does not exist answers 422, as on GitHub."""
        body = r.body if isinstance(r.body, dict) else {}
        base, entries = body.get("base_tree"), body.get("tree")
        if self.git_dir is None or not isinstance(entries, list):
            return _invalid("Tree", "tree")
        if not isinstance(base, str) or self._git_out("cat-file", "-t", base) != "tree":
            return 422, {"message": "base_tree is not a valid tree oid", "documentation_url": DOCS, "status": "422"}, {}
        with tempfile.TemporaryDirectory() as scratch:
            index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self._git_out("read-tree", base, env=index)
            for entry in entries:
                if not isinstance(entry, dict) or not isinstance(entry.get("content"), str):
                    return _invalid("Tree", "content")
                blob = self._git_out("hash-object", "-w", "--stdin", stdin=entry["content"].encode())
                self._git_out("update-index", "--add", "--cacheinfo", f"100644,{blob},{entry['path']}", env=index)
            tree = str(self._git_out("write-tree", env=index))
        listed = []
        for line in str(self._git_out("ls-tree", "-l", tree)).splitlines():
            mode, kind, sha, size, path = line.split(None, 4)
            listed.append({"path": path, "mode": mode, "type": kind, "sha": sha,
                           **({"size": int(size)} if kind == "blob" else {}),
                           "url": self._api(f"git/{kind}s/{sha}")})  # fmt: skip
        example = _example(CREATE_TREE, "201")
        return 201, self._shaped(example, {}, {
            "sha": tree, "url": self._api(f"git/trees/{tree}"), "tree": listed, "truncated": False,
        }), {}  # fmt: skip

    def _create_git_commit(self, r: _Request) -> Reply | None:
        """POST git/commits: by the token's owner (github-actions[bot]), committed and signed by GitHub."""
        body = r.body if isinstance(r.body, dict) else {}
        tree, parents, message = body.get("tree"), body.get("parents", []), body.get("message")
        if self.git_dir is None or not isinstance(message, str) or not isinstance(tree, str):
            return _invalid("Commit", "message")
        if self._git_out("cat-file", "-t", tree) != "tree" or any(
            self._git_out("cat-file", "-t", str(parent)) != "commit" for parent in parents
        ):
            return 422, {"message": "Tree SHA does not exist", "documentation_url": DOCS, "status": "422"}, {}
        stamp = self._stamp()
        identity = {
            "GIT_AUTHOR_NAME": BOT[0], "GIT_AUTHOR_EMAIL": BOT[1], "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com", "GIT_COMMITTER_DATE": stamp,
        }  # fmt: skip
        self._next_id()
        linked = [arg for parent in parents for arg in ("-p", str(parent))]
        commit = str(self._git_out("commit-tree", tree, *linked, "-F", "-", stdin=message.encode(), env=identity))
        self._signed.add(commit)
        return 201, self._git_commit_json(commit, _example(CREATE_GIT_COMMIT, "201")), {}

    def _pull_files_reply(self, r: _Request) -> Reply | None:
        """GET pulls/{n}/files: what the pull request's head changes against its merge base with the base branch."""
        number = int(r.match["n"])
        if number not in self._pulls or self.git_dir is None:
            return None
        pull = self._pulls[number]
        head = self._git_out("rev-parse", "--verify", "--quiet", f"refs/heads/{pull['head_ref']}") or pull["head_sha"]
        base = self._git_out("merge-base", f"refs/heads/{pull['base_ref']}", head)
        if base is None:
            return self._paged([], r)
        statuses = {"A": "added", "M": "modified", "D": "removed"}
        example = _example(PULL_FILES, "200")[0]
        files = []
        for line in str(self._git_out("diff", "--no-renames", "--numstat", base, head)).splitlines():
            added, removed, path = line.split("\t", 2)
            status = str(self._git_out("diff", "--no-renames", "--name-status", base, head, "--", path))[:1]
            blob = self._git_out("rev-parse", "--verify", "--quiet", f"{head}:{path}") or "0" * 40
            files.append(self._shaped(example, {}, {
                "sha": blob, "filename": path, "status": statuses.get(status, "changed"), "additions": int(added),
                "deletions": int(removed), "changes": int(added) + int(removed),
                "blob_url": self._web(f"blob/{head}/{path}"), "raw_url": self._web(f"raw/{head}/{path}"),
                "contents_url": self._api(f"contents/{path}?ref={head}"),
            }, drop=("patch",)))  # fmt: skip
        return self._paged(files, r)

    def _label_json(self, name: str) -> dict[str, Any]:
        label_id = _number(f"label:{name}")
        return self._shaped(_example(ADD_LABELS, "200")[0], {}, {
            "id": label_id, "node_id": _node_id("Label", label_id), "url": self._api(f"labels/{quote(name)}"),
            "name": name, "description": "", "color": "ededed", "default": False,
        })  # fmt: skip

    # --- issues: listed (pull requests among them, as GitHub lists them), opened, edited, closed; labels ---------

    def add_issue(self, title: str, body: str, author: str = "octocat", labels: tuple[str, ...] = ()) -> int:
        """An open issue that someone opened (a person unless `author` ends in [bot]): its number."""
        with self._lock:
            return int(self._new_issue(title, body, author, list(labels))["number"])

    def issues(self, state: str | None = None) -> list[dict[str, Any]]:
        """The issues (not pull requests) as GitHub shows them, oldest first; only open or closed ones with `state`."""
        with self._lock:
            return [self._issue_json(i) for i in self._issues.values() if state in (None, i["state"])]

    def _issue_routes(self) -> list[tuple[str, str, Callable[[_Request], Reply | None]]]:
        return [
            ("GET", r"/issues", self._list_issues),
            ("POST", r"/issues", self._create_issue),
            ("PATCH", r"/issues/(?P<n>\d+)", self._edit_issue),
        ]

    def _list_issues(self, r: _Request) -> Reply:
        """GET issues: open ones unless `state` says otherwise, having every label of `labels`, by creation time
        (or `sort=updated`), oldest first with `direction=asc`; GitHub's list holds pull requests too."""
        state, wanted = r.query.get("state", "open"), {n for n in r.query.get("labels", "").split(",") if n}
        listed = [self._issue_json(i) for i in self._issues.values()]
        listed += [self._pull_as_issue(pull) for pull in self._pulls.values()]
        chosen = [
            i for i in listed
            if state in ("all", i["state"]) and wanted <= {label["name"] for label in i["labels"]}
        ]  # fmt: skip
        key = "updated_at" if r.query.get("sort") == "updated" else "created_at"
        chosen.sort(key=lambda i: (i[key], i["number"]), reverse=r.query.get("direction", "desc") != "asc")
        return self._paged(chosen, r)

    def _create_issue(self, r: _Request) -> Reply:
        body = r.body
        if not isinstance(body, dict) or not isinstance(body.get("title"), str | int) or not str(body["title"]):
            return _invalid("Issue", "title")
        names = [label if isinstance(label, str) else label.get("name", "") for label in body.get("labels") or []]
        issue = self._new_issue(str(body["title"]), str(body.get("body") or ""), self.actor, names)
        return 201, self._issue_json(issue), {}

    def _edit_issue(self, r: _Request) -> Reply | None:
        issue, body = self._issues.get(int(r.match["n"])), r.body
        if issue is None:
            return None
        if not isinstance(body, dict) or body.get("state", "open") not in ISSUE_STATES:
            return _invalid("Issue", "state")
        if body.get("state_reason") not in STATE_REASONS:
            return _invalid("Issue", "state_reason")
        closing = body.get("state") == "closed" and issue["state"] == "open"
        issue.update({key: body[key] for key in ("title", "body") if isinstance(body.get(key), str)})
        if "state" in body:
            issue["state"] = body["state"]
            issue["state_reason"] = body.get("state_reason", "completed") if body["state"] == "closed" else "reopened"
        issue["closed_at"] = (self._stamp() if closing else issue["closed_at"]) if issue["state"] == "closed" else None
        issue["updated_at"] = self._stamp()
        return 200, self._issue_json(issue), {}

    def _new_issue(self, title: str, body: str, author: str, labels: list[str]) -> dict[str, Any]:
        number = max([99, *self._pulls, *self._issues]) + 1  # one sequence with pull requests, as on GitHub
        at = self._stamp()  # (a label GitHub does not have yet is made: _label_json)
        self._issues[number] = {
            "number": number, "id": self._next_id(), "title": title, "body": body, "author": author,
            "labels": list(dict.fromkeys(labels)), "state": "open", "state_reason": None, "created_at": at,
            "updated_at": at, "closed_at": None,
        }  # fmt: skip
        return self._issues[number]

    def _issue_json(self, issue: dict[str, Any]) -> dict[str, Any]:
        n = issue["number"]
        url = self._api(f"issues/{n}")
        closed = issue["state"] == "closed"
        return self._shaped(_example(CREATE_ISSUE, "201"), {}, {
            "id": issue["id"], "node_id": _node_id("Issue", issue["id"]), "url": url, "number": n,
            "repository_url": self._api(""), "labels_url": f"{url}/labels{{/name}}", "comments_url": f"{url}/comments",
            "events_url": f"{url}/events", "html_url": self._web(f"issues/{n}"), "state": issue["state"],
            "state_reason": issue["state_reason"], "title": issue["title"], "body": issue["body"],
            "user": self._user(issue["author"]), "labels": [self._label_json(name) for name in issue["labels"]],
            "assignee": None, "assignees": [], "milestone": None, "locked": False, "active_lock_reason": None,
            "comments": sum(1 for c in self._comments if c.number == n), "closed_at": issue["closed_at"],
            "closed_by": self._user(self.actor) if closed else None, "created_at": issue["created_at"],
            "updated_at": issue["updated_at"], "author_association": "NONE", "pinned_comment": None,
        }, drop=("pull_request",))  # fmt: skip

    def _pull_as_issue(self, pull: dict[str, Any]) -> dict[str, Any]:
        """A pull request as GET issues lists it: an issue with a `pull_request` field."""
        n, merged = pull["number"], pull["merged"]
        html, at, closed = self._web(f"pull/{n}"), pull["at"], merged or pull.get("closed", False)
        stored = {
            "number": n, "id": 5000 + n, "title": pull["title"], "body": pull["body"], "author": pull["author"],
            "labels": pull.get("labels", []), "state": "closed" if closed else "open",
            "state_reason": "completed" if closed else None,
            "created_at": at, "updated_at": at, "closed_at": at if closed else None,
        }  # fmt: skip
        links: dict[str, str | None] = {"url": self._api(f"pulls/{n}"), "html_url": html, "diff_url": f"{html}.diff"}
        links |= {"patch_url": f"{html}.patch", "merged_at": at if merged else None}
        return self._issue_json(stored) | {"html_url": html, "pull_request": links}

    # --- payloads: GitHub's example answer of each operation, with the fake's values in it -----------------------

    def _shaped(
        self, example: Any, rebase: dict[str, str], values: dict[str, Any], drop: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        """GitHub's `example` answer with the fake's `values` over it: every property that GitHub's example has, its
        URLs rebased (`rebase`: a URL of the example -> the fake's, each URL starting with one moved along), `drop`
        left out (what describes nothing the fake has, e.g. a template repository). A URL left from the example that
        does not point at the fake is an error (`values` are the fake's own: a commit message may name anything)."""
        if not isinstance(example, dict):
            raise ExampleError(f"GitHub's example is not an object: {example!r:.100}")
        kept = {key: _rebased(value, rebase) for key, value in example.items() if key not in values and key not in drop}
        stray = _stray_urls(kept, self.web_url)
        if stray:
            raise ExampleError(f"GitHub's example has URLs the fake does not rebase: {', '.join(stray)}")
        return kept | values

    def _user(self, login: str, kind: str = "") -> dict[str, Any]:
        """An account as GitHub shows one (simple-user): a `Bot` when the login ends in [bot], else a `User` (or
        `kind`, e.g. `Organization`)."""
        example = _example(GET_PULL, "200")["user"]
        kind = kind or ("Bot" if login.endswith("[bot]") else "User")
        user_id = _number(login)
        url = f"{self.url}/users/{quote(login)}"
        html = f"{self.web_url}/apps/{login.removesuffix('[bot]')}" if kind == "Bot" else f"{self.web_url}/{login}"
        return self._shaped(example, {example["url"]: url, example["html_url"]: html}, {
            "login": login, "id": user_id, "node_id": _node_id(kind, user_id), "type": kind, "site_admin": False,
            "url": url, "html_url": html, "avatar_url": f"{self.web_url}/avatars/u/{user_id}?v=4", "gravatar_id": "",
        })  # fmt: skip

    def _repo_json(self, full_name: str | None = None, *, full: bool = False) -> dict[str, Any]:
        """A repository as a pull request's head or base shows it; `full`: as GET /repos/{owner}/{repo} does."""
        full_name = full_name or self.repository
        owner, name = full_name.split("/")
        ours = full_name.lower() == self.repository.lower()
        example = _example(GET_REPO, "200") if full else _example(GET_PULL, "200")["base"]["repo"]
        url, html, web = f"{self.url}/repos/{full_name}", f"{self.web_url}/{full_name}", urlsplit(self.web_url)
        repo_id = REPO_ID if ours else _number(full_name)
        owner_json = self._user(owner, "Organization" if ours else "")
        counts: dict[str, Any] = {
            key: 0 for key in example if key.endswith("_count") or key in {"forks", "watchers", "open_issues"}
        }
        values = counts | {
            "id": repo_id, "node_id": "R_kgDOfake" if ours else _node_id("Repository", repo_id), "name": name,
            "full_name": full_name, "private": True, "owner": owner_json, "html_url": html, "url": url,
            "description": None, "fork": not ours, "homepage": None, "language": None, "license": None,
            "git_url": f"git://{web.netloc}/{full_name}.git", "ssh_url": f"git@{web.hostname}:{full_name}.git",
            "clone_url": f"{html}.git", "svn_url": html, "mirror_url": None, "topics": [], "size": 0,
            "default_branch": self.default_branch, "archived": False, "disabled": False, "is_template": False,
            "visibility": "private", "created_at": "2020-01-01T00:00:00Z", "updated_at": "2024-05-01T12:00:00Z",
            "pushed_at": "2024-05-01T12:00:00Z",
            "permissions": {"admin": False, "maintain": False, "push": True, "triage": True, "pull": True},
        }  # fmt: skip
        if "organization" in example:
            values["organization"] = owner_json if owner_json["type"] == "Organization" else None
        rebase = {example["url"]: url, example["html_url"]: html}
        return self._shaped(example, rebase, values, drop=("template_repository", "parent", "source"))

    def _pull_json(self, pull: dict[str, Any], *, full: bool) -> dict[str, Any]:
        """A pull request as GET pulls/{n} shows it (`full`), else as a list shows one (pull-request-simple: as on
        GitHub, no `merged`, only `merged_at`)."""
        n, at, merged, head_sha = pull["number"], pull["at"], pull["merged"], pull["head_sha"]
        example = _example(GET_PULL, "200") if full else _example(COMMIT_PULLS, "200")[0]
        url, html, issue = self._api(f"pulls/{n}"), self._web(f"pull/{n}"), self._api(f"issues/{n}")
        links = {
            "self": url, "html": html, "issue": issue, "comments": f"{issue}/comments",
            "review_comments": f"{url}/comments", "review_comment": self._api("pulls/comments{/number}"),
            "commits": f"{url}/commits", "statuses": self._api(f"statuses/{head_sha}"),
        }  # fmt: skip
        head_owner = (pull["head_repo"] or f"{pull['author']}/-").split("/")[0]  # a deleted fork: its author's
        base_owner = self.repository.split("/")[0]
        head_kind = "Organization" if head_owner == base_owner else ""
        head_repo = pull["head_repo"] and self._repo_json(pull["head_repo"])
        values = {
            "url": url, "id": 5000 + n, "node_id": _node_id("PullRequest", 5000 + n), "number": n,
            "state": "closed" if merged or pull.get("closed") else "open", "locked": False, "active_lock_reason": None,
            "title": pull["title"], "body": pull["body"], "user": self._user(pull["author"]),
            "html_url": html, "diff_url": f"{html}.diff", "patch_url": f"{html}.patch", "issue_url": issue,
            "commits_url": links["commits"], "review_comments_url": links["review_comments"],
            "review_comment_url": links["review_comment"], "comments_url": links["comments"],
            "statuses_url": links["statuses"], "_links": {rel: {"href": href} for rel, href in links.items()},
            "labels": [self._label_json(name) for name in pull.get("labels", [])],
            "milestone": None, "assignee": None, "assignees": [], "requested_reviewers": [],
            "requested_teams": [], "created_at": at, "updated_at": at,
            "closed_at": at if merged or pull.get("closed") else None,
            "merged_at": at if merged else None, "merge_commit_sha": pull["merge_commit_sha"],
            "head": {"label": f"{head_owner}:{pull['head_ref']}", "ref": pull["head_ref"], "sha": head_sha,
                     "user": self._user(head_owner, head_kind), "repo": head_repo},
            "base": {"label": f"{base_owner}:{pull['base_ref']}", "ref": pull["base_ref"], "sha": "b" * 40,
                     "user": self._user(base_owner, "Organization"), "repo": self._repo_json()},
            "draft": False, "author_association": "MEMBER", "auto_merge": None,
        }  # fmt: skip
        if full:  # as on GitHub, only a single pull request (not one in a list) says whether it is merged
            comments = sum(1 for c in self._comments if c.number == n)
            values |= {
                "merged": merged, "mergeable": None, "rebaseable": None, "mergeable_state": "unknown",
                "merged_by": self._user(pull["author"]) if merged else None, "comments": comments,
                "review_comments": 0, "maintainer_can_modify": False, "commits": len(self._commits_of(n)),
                "additions": 1, "deletions": 1, "changed_files": 1,
            }  # fmt: skip
        return self._shaped(example, {}, values)

    def _commits_of(self, number: int) -> list[_PullCommit]:
        pull = self._pulls[number]
        return self._pull_commits.get(number) or [_PullCommit(pull["head_sha"], pull["author"], pull["author"])]

    def _pull_commit_json(self, commit: _PullCommit, parent: str) -> dict[str, Any]:
        """A commit as GET pulls/{n}/commits lists it: the git commit, and the GitHub accounts it is linked to."""
        example = _example(PULL_COMMITS, "200")[0]
        sha, at = commit.sha, self._stamp()

        def identity(login: str | None) -> dict[str, Any]:
            email = f"{_number(login)}+{login}@users.noreply.github.com" if login else "someone@laptop.invalid"
            return {"name": login or "Someone", "email": email, "date": at}

        inner = {
            "url": self._api(f"git/commits/{sha}"), "author": identity(commit.author),
            "committer": identity(commit.committer), "message": f"Change {sha[:7]}",
            "tree": {"url": self._api(f"git/trees/{sha}"), "sha": sha}, "comment_count": 0,
            "verification": self._verification(sha),
        }  # fmt: skip
        return self._shaped(example, {}, {
            "url": self._api(f"commits/{sha}"), "sha": sha, "node_id": f"C_{sha[:12]}",
            "html_url": self._web(f"commit/{sha}"), "comments_url": self._api(f"commits/{sha}/comments"),
            "commit": self._shaped(example["commit"], {}, inner),
            "author": self._user(commit.author) if commit.author else None,
            "committer": self._user(commit.committer) if commit.committer else None,
            "parents": [{"url": self._api(f"commits/{parent}"), "sha": parent}],
        })  # fmt: skip

    def _permission_json(self, login: str, role: _Role) -> dict[str, Any]:
        """A collaborator's permission (GET collaborators/{user}/permission), with the user as a collaborator."""
        example = _example(PERMISSION, "200")
        levels = ["read", "triage", "write", "maintain", "admin"]
        level = role.role_name if role.role_name in levels else role.permission
        rank = levels.index(level) if level in levels else -1  # none: not even read
        flags = dict(zip(["pull", "triage", "push", "maintain", "admin"], [rank >= n for n in range(5)], strict=True))
        user = self._user(login) | {"permissions": flags, "role_name": role.role_name}
        return self._shaped(example, {}, {"permission": role.permission, "role_name": role.role_name, "user": user})

    def _review_json(self, number: int, login: str, state: str, *, commit_id: str, association: str) -> dict[str, Any]:
        review_id = self._next_id()
        html, pull = self._web(f"pull/{number}#pullrequestreview-{review_id}"), self._api(f"pulls/{number}")
        return self._shaped(_example(REVIEWS, "200")[0], {}, {
            "id": review_id, "node_id": _node_id("PullRequestReview", review_id), "user": self._user(login),
            "body": "", "state": state, "html_url": html, "pull_request_url": pull,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull}}, "submitted_at": self._stamp(),
            "commit_id": commit_id, "author_association": association,
        })  # fmt: skip

    def _status_json(self, status_id: int, sha: str, body: dict[str, Any]) -> dict[str, Any]:
        creator, at = self._user(self.actor), self._stamp()
        return self._shaped(_example(CREATE_STATUS, "201"), {}, {
            "url": self._api(f"statuses/{sha}"), "avatar_url": creator["avatar_url"], "id": status_id,
            "node_id": _node_id("StatusContext", status_id), "state": body["state"],
            "description": body.get("description"), "target_url": body.get("target_url"),
            "context": body.get("context", "default"), "created_at": at, "updated_at": at, "creator": creator,
        })  # fmt: skip

    def _deployment_json(self, deployment_id: int, sha: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self._api(f"deployments/{deployment_id}")
        environment = body.get("environment", "production")
        return self._shaped(_example(CREATE_DEPLOYMENT, "201"), {}, {
            "url": url, "id": deployment_id, "node_id": f"DE_{deployment_id}", "sha": sha, "ref": body["ref"],
            "task": body.get("task", "deploy"), "payload": body.get("payload", {}), "environment": environment,
            "original_environment": environment, "description": body.get("description"),
            "creator": self._user(self.actor), "created_at": self._stamp(), "updated_at": self._stamp(),
            "statuses_url": f"{url}/statuses", "repository_url": self._api(""),
            "auto_merge": body.get("auto_merge", True), "required_contexts": body.get("required_contexts"),
            "transient_environment": body.get("transient_environment", False),
            "production_environment": body.get("production_environment", environment == "production"),
        })  # fmt: skip

    def _deployment_status_json(
        self, status_id: int, deployment: dict[str, Any], body: dict[str, Any]
    ) -> dict[str, Any]:
        url, at, target = deployment["url"], self._stamp(), body.get("target_url", "")
        return self._shaped(_example(DEPLOYMENT_STATUS, "201"), {}, {
            "url": f"{url}/statuses/{status_id}", "id": status_id,
            "node_id": _node_id("DeploymentStatus", status_id), "state": body["state"],
            "creator": self._user(self.actor), "description": body.get("description", ""),
            "environment": body.get("environment", deployment["environment"]), "target_url": target,
            "log_url": body.get("log_url") or target,  # GitHub: target_url is log_url's old name
            "environment_url": body.get("environment_url", ""), "created_at": at, "updated_at": at,
            "deployment_url": url, "repository_url": self._api(""),
        })  # fmt: skip

    def _content_json(self, path: str, ref: str, blob: str, content: bytes, *, full: bool) -> dict[str, Any]:
        """A file as the contents API shows it: with its content (`full`: GET contents), else as PUT's `content`."""
        example = (
            _example(GET_CONTENTS, "200", "response-if-content-is-a-file")
            if full
            else _example(PUT_CONTENTS, "201")["content"]
        )
        url, git, html = (
            self._api(f"contents/{path}?ref={ref}"),
            self._api(f"git/blobs/{blob}"),
            self._web(f"blob/{ref}/{path}"),
        )
        values = {
            "type": "file", "size": len(content), "name": path.rsplit("/", 1)[-1], "path": path, "sha": blob,
            "url": url, "html_url": html, "git_url": git,
            "download_url": f"{self.web_url}/raw/{self.repository}/{ref}/{path}",
            "_links": {"self": url, "git": git, "html": html},
        }  # fmt: skip
        if full:
            values |= {"encoding": "base64", "content": base64.b64encode(content).decode()}
        return self._shaped(example, {}, values)

    def _commit_file(self, parent: str, path: str, content: bytes, message: str) -> str:
        """A commit of `parent`'s tree with `path` set to `content`, by github-actions[bot], committed by GitHub."""
        assert self.git_dir is not None
        blob = self._git_out("hash-object", "-w", "--stdin", stdin=content)
        with tempfile.TemporaryDirectory() as scratch:
            index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
            self._git_out("read-tree", parent, env=index)
            self._git_out("update-index", "--add", "--cacheinfo", f"100644,{blob},{path}", env=index)
            tree = str(self._git_out("write-tree", env=index))
        stamp = self._stamp()
        identity = {
            "GIT_AUTHOR_NAME": BOT[0], "GIT_AUTHOR_EMAIL": BOT[1], "GIT_AUTHOR_DATE": stamp,
            "GIT_COMMITTER_NAME": "GitHub", "GIT_COMMITTER_EMAIL": "noreply@github.com", "GIT_COMMITTER_DATE": stamp,
        }  # fmt: skip
        self._next_id()
        return str(self._git_out("commit-tree", tree, "-p", parent, "-F", "-", stdin=message.encode(), env=identity))

    def _git_commit_json(self, sha: str, example: Any = None) -> dict[str, Any]:
        """A commit as the git database API shows it (the contents API's `commit`, or `example`'s shape)."""
        fields = str(
            self._git_out("show", "-s", "--format=%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%T%x00%P%x00%B", sha)
        )
        an, ae, ad, cn, ce, cd, tree, parents, message = fields.split("\0", 8)
        return self._shaped(example or _example(PUT_CONTENTS, "201")["commit"], {}, {
            "sha": sha, "node_id": f"C_{sha[:12]}", "url": self._api(f"git/commits/{sha}"),
            "html_url": self._web(f"commit/{sha}"),
            "author": {"name": an, "email": ae, "date": _utc(ad)},
            "committer": {"name": cn, "email": ce, "date": _utc(cd)},
            "tree": {"sha": tree, "url": self._api(f"git/trees/{tree}")}, "message": message.rstrip("\n"),
            "parents": [{"sha": p, "url": self._api(f"git/commits/{p}"), "html_url": self._web(f"commit/{p}")}
                        for p in parents.split()],
            "verification": self._verification(sha),
        })  # fmt: skip

    def _verification(self, sha: str) -> dict[str, Any]:
        if sha in self._signed:
            signature = "-----BEGIN PGP SIGNATURE-----\n\nfake\n-----END PGP SIGNATURE-----\n"
            return {"verified": True, "reason": "valid", "signature": signature, "payload": f"tree {sha}\n",
                    "verified_at": self._stamp()}  # fmt: skip
        return {"verified": False, "reason": "unsigned", "signature": None, "payload": None, "verified_at": None}

    def _ref_json(self, ref: str, sha: str) -> dict[str, Any]:
        return self._shaped(_example(GET_REF, "200"), {}, {
            "ref": ref, "node_id": f"REF_{sha[:12]}", "url": self._api(f"git/{ref}"),
            "object": {"type": "commit", "sha": sha, "url": self._api(f"git/commits/{sha}")},
        })  # fmt: skip

    def _git_out(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> str | None:
        """git in the served repository: its output, stripped; None when it fails."""
        done = self._git_run(args, stdin, env)
        return done.stdout.decode().strip() if done.returncode == 0 else None

    def _git_bytes(self, *args: str) -> bytes:
        done = self._git_run(args, None, None)
        assert done.returncode == 0, done.stderr
        return done.stdout

    def _git_run(
        self, args: tuple[str, ...], stdin: bytes | None, env: dict[str, str] | None
    ) -> subprocess.CompletedProcess[bytes]:
        clean = {"PATH": os.environ.get("PATH", ""), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull}
        command = ["git", "--git-dir", str(self.git_dir), *args]
        return subprocess.run(command, input=stdin, capture_output=True, env=clean | (env or {}), check=False)

    def _new_comment(self, number: int, body: str, author: str) -> dict[str, Any]:
        comment_id, at = self._next_id(), self._stamp()
        page = f"{'issues' if number in self._issues else 'pull'}/{number}#issuecomment-{comment_id}"
        comment = self._shaped(_example(COMMENTS, "200")[0], {}, {
            "id": comment_id, "node_id": f"IC_{comment_id}", "body": body, "user": self._user(author),
            "url": self._api(f"issues/comments/{comment_id}"), "issue_url": self._api(f"issues/{number}"),
            "html_url": self._web(page),
            "created_at": at, "updated_at": at, "author_association": "MEMBER",
        })  # fmt: skip
        self._comments.append(_Comment(number, comment))
        return comment

    def _paged(self, items: list[dict[str, Any]], r: _Request) -> Reply:
        per_page = min(max(_int(r.query.get("per_page"), 30), 1), 100)
        page, last = max(_int(r.query.get("page"), 1), 1), max((len(items) + per_page - 1) // per_page, 1)
        links = {"next": page + 1, "last": last} if page < last else {}
        links |= {"first": 1, "prev": page - 1} if page > 1 else {}
        link = ", ".join(f'<{self._page_url(r, n)}>; rel="{rel}"' for rel, n in links.items())
        return 200, items[(page - 1) * per_page : page * per_page], {"Link": link} if link else {}

    def _page_url(self, r: _Request, page: int) -> str:
        return f"{self.url}{r.path}?{urlencode(r.query | {'page': str(page)})}"

    def _api(self, rest: str) -> str:
        return f"{self.url}/repos/{self.repository}/{rest}".rstrip("/")

    def _web(self, rest: str) -> str:
        return f"{self.web_url}/{self.repository}/{rest}"

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _stamp(self) -> str:
        return (EPOCH + timedelta(seconds=self._ids)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _handler_for(fake: FakeGitHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            status, payload, extra = fake.handle(self.command, self.path, headers, _json(raw))
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            kind = {} if payload is None else {"Content-Type": "application/json; charset=utf-8"}
            for name, value in (extra | kind).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _serve

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the calls are recorded instead."""

    return Handler


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return {"unparsable": raw.decode(errors="replace")}


def _authorized(header: str, token: str) -> bool:
    scheme, _, given = header.partition(" ")
    return scheme.lower() in {"token", "bearer"} and given == token


class ExampleError(AssertionError):
    """GitHub's example answer has what the fake cannot make its own (a URL it does not rebase, say)."""


@functools.cache
def _example(operation: str, status: str, name: str | None = None) -> Any:
    """GitHub's example answer (githubspec.example), shared: never changed in place (`_rebased` copies it)."""
    return githubspec.example(operation, status, name)


def _rebased(value: Any, rebase: dict[str, str]) -> Any:
    """A copy of `value` in which each string starting with a key of `rebase` (the longest, up to a URL boundary)
    starts with that key's value instead: GitHub's example URLs, moved onto the fake."""
    if isinstance(value, dict):
        return {key: _rebased(item, rebase) for key, item in value.items()}
    if isinstance(value, list):
        return [_rebased(item, rebase) for item in value]
    if isinstance(value, str):
        for old in sorted(rebase, key=len, reverse=True):
            if value.startswith(old) and value[len(old) : len(old) + 1] in {"", "/", "{", "?", "#", "."}:
                return rebase[old] + value[len(old) :]
    return value


def _stray_urls(value: Any, home: str, at: str = "$") -> list[str]:
    """The strings in `value` that look like URLs (of the web, or of git) and do not start with `home`."""
    if isinstance(value, dict):
        return [stray for key, item in value.items() for stray in _stray_urls(item, home, f"{at}.{key}")]
    if isinstance(value, list):
        return [stray for n, item in enumerate(value) for stray in _stray_urls(item, home, f"{at}[{n}]")]
    if isinstance(value, str) and re.match(r"[a-z][a-z0-9+.-]*://|git[@:]", value) and not value.startswith(home):
        return [f"{at} = {value}"]
    return []


def _number(name: str) -> int:
    """A stable id for a login or a repository's full name."""
    return int(hashlib.sha256(name.encode()).hexdigest()[:7], 16)


def _node_id(kind: str, number: int) -> str:
    """A global node id in GitHub's legacy form, e.g. `MDQ6VXNlcjE=` for the User with id 1."""
    return base64.b64encode(f"0{len(kind)}:{kind}{number}".encode()).decode()


def _not_found() -> Reply:
    return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, {}


def _invalid(resource: str, name: str) -> Reply:
    error = {"resource": resource, "field": name, "code": "invalid"}
    return 422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS, "status": "422"}, {}


def _custom(resource: str, message: str) -> Reply:
    """GitHub's 422 for a request it understood and will not do (`errors[].code` custom, with its message)."""
    error = {"resource": resource, "code": "custom", "message": message}
    return 422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS, "status": "422"}, {}


def _comment_problem(body: Any) -> Reply | None:
    if not isinstance(body, dict) or not isinstance(body.get("body"), str):
        return _invalid("IssueComment", "body")
    if len(body["body"]) > 65_536:
        too_long = "Body is too long (maximum is 65536 characters)"
        error = {"resource": "IssueComment", "code": "custom", "message": too_long}
        return 422, {"message": "Validation Failed", "errors": [error], "documentation_url": DOCS}, {}
    return None


def _resolve(ref: str) -> str:
    return ref if re.fullmatch(r"[0-9a-f]{40}", ref) else hashlib.sha1(ref.encode()).hexdigest()  # noqa: S324


def _utc(iso: str) -> str:
    """git's ISO date as GitHub writes it: UTC, `Z`."""
    return datetime.fromisoformat(iso).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default
