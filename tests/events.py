"""GitHub event payloads for the Action's tests: real example payloads with this test's values patched in,
validated against GitHub's official webhook schemas whenever they are beside the repository."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

DATA = Path(__file__).parent / "data" / "webhooks"
SCHEMAS = Path(__file__).resolve().parents[2] / "shared" / "github-webhooks" / "schemas"


def _example(name: str) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((DATA / f"{name}.payload.json").read_text())
    return payload


@functools.cache
def _registry() -> Registry[Any] | None:
    if not SCHEMAS.is_dir():
        return None
    schemas = [json.loads(path.read_text()) for path in SCHEMAS.rglob("*.json")]
    return Registry().with_resources(
        (schema["$id"], Resource.from_contents(schema, default_specification=DRAFT7)) for schema in schemas
    )


def validated(payload: dict[str, Any], schema_id: str) -> dict[str, Any]:
    """The payload, after checking it against GitHub's schema `schema_id` (e.g. `push$event`) when available."""
    registry = _registry()
    if registry is not None:
        validator = jsonschema.Draft7Validator({"$ref": schema_id}, registry=registry)
        problems = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(payload)]
        assert not problems, f"not a valid {schema_id} payload: {problems[:3]}"
    return payload


def _repository(payload: dict[str, Any], full_name: str, default_branch: str) -> None:
    owner, name = full_name.split("/")
    repo = payload["repository"]
    repo.update(name=name, full_name=full_name, default_branch=default_branch)
    repo["owner"]["login"] = owner


def pull_request(
    action: str,
    number: int,
    head_sha: str,
    *,
    repository: str = "acme/ops",
    head_repository: str | None = None,
    author: str = "alice",
    default_branch: str = "main",
) -> dict[str, Any]:
    name = {"opened": "pull_request.opened", "synchronize": "pull_request.synchronize"}.get(
        action, "pull_request.closed"
    )
    payload = copy.deepcopy(_example(name))
    _repository(payload, repository, default_branch)
    pull = payload["pull_request"]
    payload["number"] = pull["number"] = number
    pull["user"]["login"] = author
    pull["html_url"] = f"https://github.example/{repository}/pull/{number}"
    pull["head"]["sha"] = head_sha
    pull["head"]["repo"]["full_name"] = head_repository or repository
    pull["base"]["repo"]["full_name"] = repository
    pull["base"]["ref"] = default_branch
    return validated(payload, f"pull_request${action}")


def push(
    after: str, before: str, *, repository: str = "acme/ops", branch: str = "main", default_branch: str = "main"
) -> dict[str, Any]:
    payload = copy.deepcopy(_example("push.with-new-branch"))
    _repository(payload, repository, default_branch)
    payload.update(ref=f"refs/heads/{branch}", after=after, before=before, created=False)
    payload["head_commit"]["id"] = after
    return validated(payload, "push$event")


def workflow_dispatch(mode: str, *, repository: str = "acme/ops", default_branch: str = "main") -> dict[str, Any]:
    payload = copy.deepcopy(_example("workflow_dispatch"))
    _repository(payload, repository, default_branch)
    payload["inputs"] = {"mode": mode}
    payload["ref"] = f"refs/heads/{default_branch}"
    return validated(payload, "workflow_dispatch$event")


def schedule(
    cron: str = "17,47 * * * *", *, repository: str = "acme/ops", default_branch: str = "main"
) -> dict[str, Any]:
    """A scheduled run's event: its cron line, with the repository and the sender as GitHub has added them since 2022
    (an older GitHub Enterprise Server sends the cron line alone). GitHub publishes no webhook schema for it: it is
    an event of Actions only."""
    dispatch = copy.deepcopy(_example("workflow_dispatch"))
    _repository(dispatch, repository, default_branch)
    return {"schedule": cron, "repository": dispatch["repository"], "sender": dispatch["sender"]}
