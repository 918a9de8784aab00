"""tests/githubspec.py: an exchange with the fake GitHub held against GitHub's OpenAPI description."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from jsonschema import Draft4Validator, Draft202012Validator

from tests import githubspec
from tests.fakegithub import FakeGitHub

REPO = Path(__file__).resolve().parents[2]
SHA = "aa218f56b14c9653891f9e74264a383fa43fefbd"
REF = "/repos/acme/ops/git/refs"


def git_ref(**fields: Any) -> dict[str, Any]:
    """A reference as GitHub answers POST git/refs."""
    url = "https://api.github.com/repos/acme/ops/git"
    reply = {
        "ref": "refs/heads/bluegreen/status",
        "node_id": "REF_kwDOfake",
        "url": f"{url}/refs/heads/bluegreen/status",
        "object": {"type": "commit", "sha": SHA, "url": f"{url}/commits/{SHA}"},
    }
    return {k: v for k, v in (reply | fields).items() if v is not None}


def a_file(path: str) -> dict[str, Any]:
    """A file as GitHub answers GET contents/{path}."""
    url = f"https://api.github.com/repos/acme/ops/contents/{path}?ref=main"
    html, git = (
        f"https://github.com/acme/ops/blob/main/{path}",
        f"https://api.github.com/repos/acme/ops/git/blobs/{SHA}",
    )
    return {
        "type": "file", "encoding": "base64", "size": 2, "name": path.rsplit("/", 1)[-1], "path": path,
        "content": "e30=", "sha": SHA, "url": url, "git_url": git, "html_url": html, "download_url": None,
        "_links": {"self": url, "git": git, "html": html},
    }  # fmt: skip


def create_ref(body: Any = None, status: int = 201, reply: Any = None) -> list[str]:
    body = {"ref": "refs/heads/bluegreen/status", "sha": SHA} if body is None else body
    return githubspec.problems("POST", REF, {}, body, status, git_ref() if reply is None else reply)


def names() -> list[str]:
    return [d.name for d in githubspec.descriptions()]


def test_both_descriptions_are_loaded() -> None:
    assert names()[0] == "api.github.com"
    assert any(re.fullmatch(r"ghes-3\.\d+", name) for name in names())


def test_a_valid_exchange_has_no_problem() -> None:
    assert create_ref() == []


def test_a_path_parameter_of_the_contents_api_may_hold_slashes() -> None:
    path = "state/apps/theoshift.json"
    found = githubspec.problems("GET", f"/repos/acme/ops/contents/{path}", {"ref": "main"}, None, 200, a_file(path))
    assert found == []


def test_the_most_literal_template_wins() -> None:
    """commits/{ref} takes slashes, but commits/{sha}/pulls is the operation GitHub routes this to."""
    assert githubspec.problems("GET", f"/repos/acme/ops/commits/{SHA}/pulls", {"per_page": "100"}, None, 200, []) == []


def test_every_description_prefixes_its_problems() -> None:
    found = githubspec.problems("GET", "/repos/acme/ops/unknown", {}, None, 200, {})
    assert [p.split(":")[0] for p in found] == names()
    assert found[0] == "api.github.com: GET /repos/acme/ops/unknown is not a declared operation"


def test_a_method_the_path_does_not_take_is_a_problem() -> None:
    (found, *_) = githubspec.problems("DELETE", REF, {}, None, 204, None)
    assert found.endswith("DELETE /repos/acme/ops/git/refs is not a declared operation (declared there: POST)")


def test_an_unknown_query_parameter_is_a_problem() -> None:
    (found, *_) = githubspec.problems("GET", "/repos/acme/ops/git/ref/heads/main", {"foo": "1"}, None, 200, git_ref())
    assert (
        found
        == "api.github.com: GET /repos/{owner}/{repo}/git/ref/{ref}: unknown query parameter 'foo' (declared: none)"
    )


def test_a_query_value_of_the_wrong_type_is_a_problem() -> None:
    (found, *_) = githubspec.problems("GET", "/repos/acme/ops/pulls/7/reviews", {"per_page": "many"}, None, 200, [])
    assert found.endswith(
        "GET /repos/{owner}/{repo}/pulls/{pull_number}/reviews: query parameter per_page at $: 'many' is not of type "
        "'integer'"
    )


def test_a_body_missing_a_required_field_is_a_problem() -> None:
    (found, *_) = create_ref(body={"ref": "refs/heads/bluegreen/status"})
    assert found == (
        "api.github.com: POST /repos/{owner}/{repo}/git/refs: request body at $: missing required properties (1): sha"
    )


def test_a_missing_body_is_a_problem() -> None:
    (found, *_) = githubspec.problems("POST", REF, {}, None, 201, git_ref())
    assert found.endswith("POST /repos/{owner}/{repo}/git/refs: the request body is required")


def test_an_answer_missing_a_required_field_is_a_problem() -> None:
    (found, *_) = create_ref(reply=git_ref(node_id=None))
    assert found == (
        "api.github.com: POST /repos/{owner}/{repo}/git/refs -> 201: "
        "reply at $: missing required properties (1): node_id"
    )


def test_a_wrong_value_deep_in_an_answer_is_located_by_its_json_path() -> None:
    reply = git_ref(object={"type": "commit", "sha": 7, "url": "u"})
    (found, *_) = create_ref(reply=reply)
    assert found.endswith("-> 201: reply at $.object.sha: 7 is not of type 'string'")


def test_the_branch_of_a_one_of_the_answer_meant_is_explained() -> None:
    """The contents API answers one of a directory, a file, a symlink or a submodule: a broken file is a file."""
    path = "state/status.json"
    broken = a_file(path) | {"_links": {}}
    (found, *_) = githubspec.problems("GET", f"/repos/acme/ops/contents/{path}", {}, None, 200, broken)
    assert found.endswith("-> 200: reply at $._links: missing required properties (3): git, html, self")


def test_a_one_of_whose_alternatives_overlap_takes_either() -> None:
    """GitHub's 409 for PUT contents is oneOf two error shapes that any plain error fits."""
    body = {"message": "m", "content": "e30=", "sha": SHA, "branch": "main"}
    conflict = {"message": f"state/status.json does not match {SHA}", "documentation_url": "https://docs.github.com"}
    assert githubspec.problems("PUT", "/repos/acme/ops/contents/state/status.json", {}, body, 409, conflict) == []


def test_an_undeclared_status_is_a_problem() -> None:
    (found, *_) = create_ref(status=418, reply={"message": "I'm a teapot"})
    assert (
        found
        == "api.github.com: POST /repos/{owner}/{repo}/git/refs: status 418 is not declared (declared: 201, 409, 422)"
    )


@pytest.mark.parametrize("status", [401, 502])
def test_statuses_any_operation_may_answer_check_only_the_request(status: int) -> None:
    error = {"message": f"HTTP {status}", "documentation_url": "https://docs.github.com/rest"}
    assert create_ref(status=status, reply=error) == []
    assert create_ref(body={}, status=status, reply=error) != []


def test_a_reply_that_may_have_no_body_has_none() -> None:
    pull = "/repos/acme/ops/pulls/7"
    assert githubspec.problems("GET", pull, {}, None, 304, None) == []
    (found, *_) = githubspec.problems("GET", pull, {}, None, 304, {"message": "Not Modified"})
    assert found.endswith('a 304 reply has no body, this one has {"message": "Not Modified"}')


def test_the_schemas_are_json_schema_for_draft_2020_12_and_draft_4() -> None:
    for description in githubspec.descriptions():
        schemas = [p["schema"] for op in description.operations for p in op.parameters.values()]
        schemas += [op.request_body["schema"] for op in description.operations if op.request_body]
        schemas += [s for op in description.operations for s in op.responses.values() if s is not None]
        everything = {"$defs": description.defs, "anyOf": schemas}
        Draft202012Validator.check_schema(everything)
        Draft4Validator.check_schema(everything)
        assert "'nullable':" not in str(schemas)
        assert Draft4Validator(git_ref_schema(description) | {"$defs": description.defs}).is_valid(git_ref())


def git_ref_schema(description: githubspec.Description) -> dict[str, Any]:
    (op,) = [op for op in description.operations if op.key == "POST /repos/{owner}/{repo}/git/refs"]
    schema: dict[str, Any] = op.responses["201"]
    return schema


def test_the_files_hold_the_operations_the_script_lists_and_its_pin() -> None:
    script = (REPO / "scripts" / "github-openapi").read_text()
    listed = {f"{m} {p}" for m, p in re.findall(r'^    \("([A-Z]+)", "([^"]+)"\),$', script, re.MULTILINE)}
    version = re.search(r'^VERSION = "(.+)"$', script, re.MULTILINE)
    integrity = re.search(r'^INTEGRITY = "(.+)"$', script, re.MULTILINE)
    assert version
    assert integrity
    assert len(listed) >= 19
    for description in githubspec.descriptions():
        assert {op.key for op in description.operations} == listed, "run scripts/github-openapi"
        assert description.header["package"] == "@octokit/openapi"
        assert (description.header["version"], description.header["integrity"]) == (version[1], integrity[1])


# --- errors GitHub answers to any operation, paths asked on purpose, known errors of the description ------------

STATUSES = "/repos/acme/ops/statuses/" + SHA
ERROR = {"message": "Resource not accessible by integration", "documentation_url": "https://docs.github.com/rest"}


@pytest.mark.parametrize("status", [401, 403, 404, 422, 429])
def test_an_undeclared_4xx_that_github_answers_anywhere_is_held_to_its_basic_error(status: int) -> None:
    body = {"state": "success", "context": "bluegreen/plan"}
    assert githubspec.problems("POST", STATUSES, {}, body, status, ERROR | {"status": str(status)}) == []
    (found, *_) = githubspec.problems("POST", STATUSES, {}, body, status, {"message": "no link"})
    assert found == (
        f"api.github.com: POST /repos/{{owner}}/{{repo}}/statuses/{{sha}} -> {status}: "
        "reply at $: missing required properties (1): documentation_url"
    )
    (found, *_) = githubspec.problems("POST", STATUSES, {}, body, status, ERROR | {"status": status})
    assert found.endswith(f"reply at $.status: {status} is not of type 'string'")


def test_an_undeclared_4xx_still_has_its_request_checked() -> None:
    (found, *_) = githubspec.problems("POST", STATUSES, {}, {"state": "ok"}, 403, ERROR)
    assert "request body at $.state: 'ok' is not one of" in found


def test_a_path_asked_on_purpose_is_held_to_the_basic_error_only() -> None:
    teleport = "/repos/acme/ops/teleport"
    not_found = {"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}
    assert githubspec.problems("GET", teleport, {}, None, 404, not_found, undeclared=True) == []
    (found, *_) = githubspec.problems("GET", teleport, {}, None, 404, {"message": "Not Found"}, undeclared=True)
    assert found.endswith(
        "GET /repos/acme/ops/teleport -> 404: reply at $: missing required properties (1): documentation_url"
    )
    (found, *_) = githubspec.problems("GET", teleport, {}, None, 200, {}, undeclared=True)
    assert found.endswith("status 200 is not one GitHub answers to any operation")
    (found, *_) = githubspec.problems("GET", "/repos/acme/ops", {}, None, 404, not_found, undeclared=True)
    assert found == (
        "api.github.com: GET /repos/acme/ops was expected to be undeclared, it is GET /repos/{owner}/{repo}"
    )


def a_pull(**head: Any) -> dict[str, Any]:
    """GitHub's own example of a pull request, its head changed by `head`."""
    pull: dict[str, Any] = githubspec.example("GET /repos/{owner}/{repo}/pulls/{pull_number}", "200")
    pull["requested_teams"] = []  # GitHub's example team lacks its (required) `type`
    pull["head"] |= head
    return pull


def test_a_known_error_of_the_description_is_accepted_where_it_is_known_only() -> None:
    """A pull request whose fork was deleted has `head.repo: null` (rest-api-description#424), nothing else may."""
    pull = "/repos/acme/ops/pulls/7"
    assert githubspec.problems("GET", pull, {}, None, 200, a_pull()) == []
    assert githubspec.problems("GET", pull, {}, None, 200, a_pull(repo=None)) == []
    (found, *_) = githubspec.problems(
        "GET", pull, {}, None, 200, a_pull(repo=None) | {"base": a_pull()["head"] | {"repo": None}}
    )
    assert found.endswith("-> 200: reply at $.base.repo: None is not of type 'object'")
    (found, *_) = githubspec.problems("GET", pull, {}, None, 200, a_pull(repo=False))
    assert found.endswith("-> 200: reply at $.head.repo: False is not of type 'object'")
    listed = [a_pull(repo=None)]
    for key in ("merged", "mergeable", "rebaseable", "mergeable_state", "merged_by", "comments", "review_comments"):
        listed[0].pop(key, None)
    commit_pulls = f"/repos/acme/ops/commits/{SHA}/pulls"
    assert githubspec.problems("GET", commit_pulls, {}, None, 200, listed) == []


def schema_at(description: githubspec.Description, schema: Any, at: str) -> Any:
    """The subschema that describes the value at JSON path `at` ($.a.b, $[*].a)."""
    node = schema
    for name, item in re.findall(r"\.(\w+)|(\[\*\])", at.removeprefix("$")):
        while "$ref" in node:
            node = description.defs[node["$ref"].removeprefix("#/$defs/")]
        node = node["items"] if item else node["properties"][name]
    return node


@pytest.mark.parametrize("known", githubspec.KNOWN_ERRORS, ids=lambda k: f"{k.operation} {k.at}")
def test_each_known_error_is_still_an_error_of_the_description(known: githubspec.KnownError) -> None:
    """When GitHub fixes its description, this says which entry of KNOWN_ERRORS to remove."""
    assert known.issue.startswith("https://github.com/github/rest-api-description/issues/")
    for description in githubspec.descriptions():
        schema = description.operation(known.operation).responses[known.status]
        at = schema_at(description, schema, known.at)
        validator = githubspec.GitHubValidator(at | {"$defs": description.defs})
        assert not validator.is_valid(known.accepts), f"{description.name} now allows it: remove the entry"


def test_examples_are_githubs_own_answers_and_fresh_copies() -> None:
    repo = githubspec.example("GET /repos/{owner}/{repo}", "200")
    assert repo["full_name"] == "octocat/Hello-World"
    repo["full_name"] = "changed"
    assert githubspec.example("GET /repos/{owner}/{repo}", "200")["full_name"] == "octocat/Hello-World"
    a_file = githubspec.example("GET /repos/{owner}/{repo}/contents/{path}", "200", "response-if-content-is-a-file")
    assert a_file["type"] == "file"
    with pytest.raises(KeyError, match="has no example"):
        githubspec.example("GET /repos/{owner}/{repo}", "404")


# --- the fake GitHub answers with GitHub's examples, made its own -----------------------------------------------


def strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in strings(item)]
    return [value] if isinstance(value, str) else []


def test_the_fakes_answers_are_complete_and_point_at_the_fake(fake_github: FakeGitHub) -> None:
    fake_github.add_pull(7, "Release", "", "alice", "b" * 40, True, "a" * 40)
    fake_github.add_pull(8, "From a fork", "", "mallory", "c" * 40, False, None, head_repo="mallory/ops")
    fake_github.add_pull(9, "From a deleted fork", "", "eve", "d" * 40, False, None, fork_deleted=True)
    fake_github.add_review(7, "bob", "APPROVED")
    fake_github.add_comment(7, "see https://github.com/acme/ops/pull/7", author="carol")
    for number in (7, 8, 9):
        fake_github.associate("a" * 40, number)
    bearer = {"Authorization": f"Bearer {fake_github.token}"}
    paths = [
        "",
        "/pulls/7",
        "/pulls/8",
        "/pulls/9",
        "/pulls/7/reviews",
        "/issues/7/comments",
        f"/commits/{'a' * 40}/pulls",
    ]
    answers = [httpx.get(f"{fake_github.url}/repos/acme/ops{path}", headers=bearer) for path in paths]
    assert [a.status_code for a in answers] == [200] * len(paths)
    listed = answers[-1].json()
    assert [pull["number"] for pull in listed] == [7, 8, 9]  # a pull request in a list keeps its number
    assert "merged" not in listed[0]
    assert answers[1].json()["merged"] is True
    assert answers[3].json()["head"]["repo"] is None
    urls = [s for a in answers for s in strings(a.json()) if "://" in s or s.startswith("git@")]
    host = fake_github.web_url.removeprefix("http://")
    ours = (fake_github.web_url, f"git://{host}/", f"git@{host.split(':')[0]}:")
    foreign = [u for u in urls if not u.startswith(ours)]
    assert foreign == ["see https://github.com/acme/ops/pull/7"]  # the comment's text, nothing of GitHub's examples
    assert not any("octocat" in s or "Hello-World" in s for a in answers for s in strings(a.json()))


def bare_repository(root: Path) -> tuple[Path, str, str]:
    """A bare repository with one commit on main holding state/status.json: (its folder, the commit, the blob)."""
    env = {
        "PATH": os.environ.get("PATH", ""), "GIT_CONFIG_NOSYSTEM": "1", "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_AUTHOR_NAME": "Alice", "GIT_AUTHOR_EMAIL": "alice@example.test", "GIT_AUTHOR_DATE": "2024-05-01T12:00:00Z",
        "GIT_COMMITTER_NAME": "Alice", "GIT_COMMITTER_EMAIL": "alice@example.test",
        "GIT_COMMITTER_DATE": "2024-05-01T12:00:00Z", "GIT_INDEX_FILE": str(root / "index"),
    }  # fmt: skip
    bare = root / "origin.git"

    def git(*args: str, stdin: str | None = None) -> str:
        done = subprocess.run(["git", "--git-dir", str(bare), *args], input=stdin, capture_output=True, text=True,
                              env=env, check=True)  # fmt: skip
        return done.stdout.strip()

    subprocess.run(["git", "init", "-q", "--bare", str(bare)], env=env, check=True)
    blob = git("hash-object", "-w", "--stdin", stdin="{}\n")
    git("update-index", "--add", "--cacheinfo", f"100644,{blob},state/status.json")
    commit = git("commit-tree", git("write-tree"), "-m", "first", stdin="")
    git("update-ref", "refs/heads/main", commit)
    return bare, commit, blob


def test_the_fakes_git_endpoints_answer_like_github(fake_github: FakeGitHub, tmp_path: Path) -> None:
    """The contents and refs endpoints, served from a git repository: each exchange is GitHub's."""
    fake_github.git_dir, main, blob = bare_repository(tmp_path)
    api, bearer = f"{fake_github.url}/repos/acme/ops", {"Authorization": f"Bearer {fake_github.token}"}
    contents = f"{api}/contents/state/status.json"
    put = {"message": "status", "content": "eyJhIjogMX0K", "branch": "main"}
    answers = [
        httpx.get(contents, params={"ref": "main"}, headers=bearer),
        httpx.put(contents, json=put | {"sha": blob}, headers=bearer),
        httpx.put(contents, json=put | {"sha": blob}, headers=bearer),  # stale: 409
        httpx.put(contents, json=put, headers=bearer),  # no sha for a file that is there: 422
        httpx.put(f"{api}/contents/state/new.json", json=put, headers=bearer),
        httpx.get(f"{api}/git/ref/heads/main", headers=bearer),
        httpx.get(f"{api}/git/ref/heads/nowhere", headers=bearer),
        httpx.post(f"{api}/git/refs", json={"ref": "refs/heads/bluegreen/status", "sha": main}, headers=bearer),
        httpx.post(f"{api}/git/refs", json={"ref": "refs/heads/bluegreen/status", "sha": main}, headers=bearer),
    ]
    assert [a.status_code for a in answers] == [200, 200, 409, 422, 201, 200, 404, 201, 422]
    assert fake_github.spec_problems == []
    written = answers[1].json()
    assert written["commit"]["verification"]["verified"] is True
    assert written["commit"]["author"]["name"] == "github-actions[bot]"
