"""A fake GitHub REST API on loopback: the one stand-in in bluegreen's tests.

A real HTTP server in a thread that PyGithub reaches through its `base_url` (the Action's `GITHUB_API_URL`). Its
answers are shaped after GitHub's own payloads (a pull request in a list has no `merged` field, only `merged_at`,
as on GitHub), it pages with `Link` headers, refuses a wrong token with 401, says 404 for what it does not know,
and records every request so a test can assert what was sent. Seed it, point the adapter at `.url`, then assert.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

DOCS = "https://docs.github.com/rest"
EPOCH = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
REVIEW_STATES = {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"}
COMMIT_STATES = {"error", "failure", "pending", "success"}
DEPLOYMENT_STATES = {"error", "failure", "inactive", "in_progress", "queued", "pending", "success"}
REPO = r"/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)"

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


@dataclass
class _Association:
    numbers: list[int] = field(default_factory=list)
    after_calls: int = 0
    asked: int = 0


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
        self._pulls: dict[int, dict[str, Any]] = {}
        self._reviews: dict[int, list[dict[str, Any]]] = {}
        self._comments: list[dict[str, Any]] = []
        self._associations: dict[str, _Association] = {}
        self._statuses: dict[str, list[dict[str, Any]]] = {}
        self._deployments: list[dict[str, Any]] = []
        self._deployment_statuses: dict[int, list[dict[str, Any]]] = {}
        self._ids = 1000
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
        """A review of the pull request's head as it is now (or of `commit_id`), by a `MEMBER` (or `association`)."""
        assert state in REVIEW_STATES, state
        with self._lock:
            review = {"id": self._next_id(), "user": _user(user), "state": state, "submitted_at": self._stamp()}
            commit = commit_id or self._pulls[number]["head_sha"]
            self._reviews.setdefault(number, []).append(
                review | {"body": "", "commit_id": commit, "author_association": association}
            )

    def add_comment(self, number: int, body: str, author: str = "octocat") -> int:
        with self._lock:
            return int(self._new_comment(number, body, author)["id"])

    def associate(self, sha: str, number: int, *, after_calls: int = 0) -> None:
        """What GET commits/{sha}/pulls lists; empty for the first `after_calls` asks (GitHub's lag)."""
        with self._lock:
            association = self._associations.setdefault(sha, _Association())
            association.numbers.append(number)
            association.after_calls = max(association.after_calls, after_calls)

    def fail_next(self, method: str, path_regex: str, status: int, times: int = 1, message: str = "") -> None:
        with self._lock:
            failure = _Failure(method.upper(), re.compile(path_regex), status, times, message or f"HTTP {status}")
            self._failures.append(failure)

    # --- assertions ---------------------------------------------------------------------------------------------

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def comments(self, number: int) -> list[str]:
        with self._lock:
            return [c["body"] for c in self._comments if c["number"] == number]

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
        with self._lock:
            self._calls.append(Call(method, path, query, body, headers))
            failure = self._take_failure(method, path)
            if failure:
                return failure.status, {"message": failure.message, "documentation_url": DOCS}, {}
            if not _authorized(headers.get("authorization", ""), self.token):
                return 401, {"message": "Bad credentials", "documentation_url": DOCS, "status": "401"}, {}
            return self._route(method, path, query, body)

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
            ("GET", "", lambda r: (200, self._repo_json(), {})),
            ("GET", r"/pulls/(?P<n>\d+)", lambda r: self._pull_reply(int(r.match["n"]))),
            ("GET", r"/pulls/(?P<n>\d+)/reviews", self._reviews_reply),
            ("GET", r"/commits/(?P<sha>[^/]+)/pulls", self._commit_pulls),
            ("GET", r"/issues/(?P<n>\d+)/comments", self._comments_reply),
            ("POST", r"/issues/(?P<n>\d+)/comments", self._create_comment),
            ("PATCH", r"/issues/comments/(?P<id>\d+)", self._edit_comment),
            ("POST", r"/statuses/(?P<sha>[0-9a-fA-F]{40,64})", self._create_status),
            ("POST", r"/deployments", self._create_deployment),
            ("POST", r"/deployments/(?P<id>\d+)/statuses", self._deployment_status),
            ("GET", r"/contents/(?P<path>[A-Za-z0-9_./-]+)", self._contents),
        ]

    # --- endpoints (called with the lock held) ------------------------------------------------------------------

    def _contents(self, r: _Request) -> Reply | None:
        """A file at a ref, read from `git_dir` with git itself, shaped like GitHub's contents object."""
        ref, path = r.query.get("ref", self.default_branch), r.match["path"]
        if self.git_dir is None or not re.fullmatch(r"[0-9A-Za-z_./-]+", ref):
            return None
        shown = subprocess.run(
            ["git", "--git-dir", str(self.git_dir), "show", f"{ref}:{path}"], capture_output=True, check=False
        )
        if shown.returncode != 0:
            return None
        content = shown.stdout
        return 200, {
            "type": "file", "encoding": "base64", "size": len(content), "name": path.rsplit("/", 1)[-1],
            "path": path, "content": base64.b64encode(content).decode(), "sha": hashlib.sha1(content).hexdigest(),  # noqa: S324
            "url": self._api(f"contents/{path}?ref={ref}"),
            "html_url": f"{self.web_url}/{self.repository}/blob/{ref}/{path}",
            "git_url": None, "download_url": None, "_links": {},
        }, {}  # fmt: skip

    def _pull_reply(self, number: int) -> Reply | None:
        return (200, self._pull_json(self._pulls[number], full=True), {}) if number in self._pulls else None

    def _reviews_reply(self, r: _Request) -> Reply | None:
        number = int(r.match["n"])
        if number not in self._pulls:
            return None
        reviews = [review | {"pull_request_url": self._api(f"pulls/{number}")} for review in self._reviews[number]]
        return self._paged(reviews, r)

    def _commit_pulls(self, r: _Request) -> Reply:
        association = self._associations.get(r.match["sha"], _Association())
        association.asked += 1
        numbers = [] if association.asked <= association.after_calls else association.numbers
        return self._paged([self._pull_json(self._pulls[n], full=False) for n in numbers], r)

    def _comments_reply(self, r: _Request) -> Reply | None:
        number = int(r.match["n"])
        if number not in self._pulls:
            return None
        return self._paged([c for c in self._comments if c["number"] == number], r)

    def _create_comment(self, r: _Request) -> Reply | None:
        number = int(r.match["n"])
        if number not in self._pulls:
            return None
        problem = _comment_problem(r.body)
        return problem or (201, self._public(self._new_comment(number, r.body["body"], self.actor)), {})

    def _edit_comment(self, r: _Request) -> Reply | None:
        comment = next((c for c in self._comments if c["id"] == int(r.match["id"])), None)
        problem = _comment_problem(r.body)
        if comment is None or problem:
            return problem
        comment.update(body=r.body["body"], updated_at=self._stamp())
        return 200, self._public(comment), {}

    def _create_status(self, r: _Request) -> Reply:
        sha, body = r.match["sha"], r.body
        if not isinstance(body, dict) or body.get("state") not in COMMIT_STATES:
            return _invalid("Status", "state")
        status = {"id": self._next_id(), "state": body["state"], "description": body.get("description")}
        status |= {"target_url": body.get("target_url"), "context": body.get("context", "default")}
        status |= {"url": self._api(f"statuses/{sha}"), "creator": _user(self.actor), "created_at": self._stamp()}
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
        status = {"id": self._next_id(), "state": body["state"], "creator": _user(self.actor)}
        status |= {k: body.get(k, "") for k in ("description", "environment_url", "target_url")}
        status["log_url"] = body.get("log_url") or status["target_url"]  # GitHub: target_url is log_url's old name
        url = self._api(f"deployments/{deployment_id}")
        status |= {"url": f"{url}/statuses/{status['id']}", "deployment_url": url, "created_at": self._stamp()}
        self._deployment_statuses.setdefault(deployment_id, []).append(status)
        return 201, status, {}

    # --- payloads -----------------------------------------------------------------------------------------------

    def _repo_json(self, full_name: str | None = None) -> dict[str, Any]:
        full_name = full_name or self.repository
        owner, name = full_name.split("/")
        url = f"{self.url}/repos/{full_name}"
        return {
            "id": 1296269, "node_id": "R_kgDOfake", "name": name, "full_name": full_name, "private": True,
            "owner": _user(owner) | {"type": "Organization"}, "html_url": f"{self.web_url}/{full_name}",
            "url": url, "pulls_url": f"{url}/pulls{{/number}}", "issues_url": f"{url}/issues{{/number}}",
            "statuses_url": f"{url}/statuses/{{sha}}", "deployments_url": f"{url}/deployments",
            "default_branch": self.default_branch, "fork": full_name != self.repository, "archived": False,
            "visibility": "private", "created_at": "2020-01-01T00:00:00Z", "updated_at": "2024-05-01T12:00:00Z",
        }  # fmt: skip

    def _pull_json(self, pull: dict[str, Any], *, full: bool) -> dict[str, Any]:
        n, at = pull["number"], pull["at"]
        head_repo = pull["head_repo"] and self._repo_json(pull["head_repo"])
        payload = {
            "url": self._api(f"pulls/{n}"), "id": 5000 + n, "number": n,
            "state": "closed" if pull["merged"] else "open",
            "title": pull["title"], "body": pull["body"], "user": _user(pull["author"]),
            "html_url": f"{self.web_url}/{self.repository}/pull/{n}", "issue_url": self._api(f"issues/{n}"),
            "created_at": at, "updated_at": at, "closed_at": at if pull["merged"] else None,
            "merged_at": at if pull["merged"] else None, "merge_commit_sha": pull["merge_commit_sha"],
            "head": {"label": pull["head_ref"], "ref": pull["head_ref"], "sha": pull["head_sha"], "repo": head_repo},
            "base": {"label": pull["base_ref"], "ref": pull["base_ref"], "sha": "b" * 40, "repo": self._repo_json()},
            "draft": False, "author_association": "MEMBER",
        }  # fmt: skip
        # as on GitHub, only a single pull request (not one in a list) says whether it is merged
        return payload | ({"merged": pull["merged"], "mergeable": None, "comments": 0} if full else {})

    def _deployment_json(self, deployment_id: int, sha: str, body: dict[str, Any]) -> dict[str, Any]:
        url = self._api(f"deployments/{deployment_id}")
        environment = body.get("environment", "production")
        return {
            "url": url, "id": deployment_id, "node_id": f"DE_{deployment_id}", "sha": sha, "ref": body["ref"],
            "task": body.get("task", "deploy"), "payload": body.get("payload", {}), "environment": environment,
            "original_environment": environment, "description": body.get("description"),
            "creator": _user(self.actor), "created_at": self._stamp(), "updated_at": self._stamp(),
            "statuses_url": f"{url}/statuses", "repository_url": self._api(""),
            "auto_merge": body.get("auto_merge", True), "required_contexts": body.get("required_contexts"),
            "transient_environment": body.get("transient_environment", False),
            "production_environment": body.get("production_environment", environment == "production"),
        }  # fmt: skip

    def _new_comment(self, number: int, body: str, author: str) -> dict[str, Any]:
        comment_id, at = self._next_id(), self._stamp()
        comment = {
            "id": comment_id, "node_id": f"IC_{comment_id}", "number": number, "body": body, "user": _user(author),
            "url": self._api(f"issues/comments/{comment_id}"), "issue_url": self._api(f"issues/{number}"),
            "html_url": f"{self.web_url}/{self.repository}/pull/{number}#issuecomment-{comment_id}",
            "created_at": at, "updated_at": at, "author_association": "MEMBER",
        }  # fmt: skip
        self._comments.append(comment)
        return comment

    def _paged(self, items: list[dict[str, Any]], r: _Request) -> Reply:
        per_page = min(max(_int(r.query.get("per_page"), 30), 1), 100)
        page, last = max(_int(r.query.get("page"), 1), 1), max((len(items) + per_page - 1) // per_page, 1)
        links = {"next": page + 1, "last": last} if page < last else {}
        links |= {"first": 1, "prev": page - 1} if page > 1 else {}
        link = ", ".join(f'<{self._page_url(r, n)}>; rel="{rel}"' for rel, n in links.items())
        shown = [self._public(item) for item in items[(page - 1) * per_page : page * per_page]]
        return 200, shown, {"Link": link} if link else {}

    def _page_url(self, r: _Request, page: int) -> str:
        return f"{self.url}{r.path}?{urlencode(r.query | {'page': str(page)})}"

    @staticmethod
    def _public(item: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in item.items() if k != "number"}

    def _api(self, rest: str) -> str:
        return f"{self.url}/repos/{self.repository}/{rest}".rstrip("/")

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
            data = json.dumps(payload).encode()
            self.send_response(status)
            for name, value in (extra | {"Content-Type": "application/json; charset=utf-8"}).items():
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


def _user(login: str) -> dict[str, Any]:
    user_id = int(hashlib.sha256(login.encode()).hexdigest()[:7], 16)
    return {"login": login, "id": user_id, "type": "Bot" if login.endswith("[bot]") else "User"}


def _not_found() -> Reply:
    return 404, {"message": "Not Found", "documentation_url": DOCS, "status": "404"}, {}


def _invalid(resource: str, name: str) -> Reply:
    error = {"resource": resource, "field": name, "code": "invalid"}
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


def _int(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() else default
