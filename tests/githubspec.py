"""GitHub's own OpenAPI description of its REST API, to hold the fake GitHub (tests/fakegithub.py) honest.

`problems(method, path, query, body, status, reply)` says what is wrong with one exchange, as GitHub describes
it in every file of tests/data/github-openapi/ (api.github.com and the oldest GitHub Enterprise Server the
package ships; regenerate them with scripts/github-openapi): the request must be a declared operation (the path
matched against the path templates), with declared query parameters, a JSON body valid against the operation's
request body schema, and the reply valid against the response schema declared for its status. An empty list
means GitHub would have accepted the request and could have answered that.

Some answers GitHub gives to any operation without declaring them per operation: 401 (bad credentials), 403 (a
permission the token lacks, a rate limit), 404 (what the token may not see), 422 (validation failed), 429 (a
secondary rate limit), and 5xx (a server error). When the operation does not declare that status, a 4xx body must
still be GitHub's basic error (a `message` and a `documentation_url`, strings; `status` may follow), a 5xx body is
not checked; the request always is. Any other undeclared status is a problem.

GitHub's description has known errors: places where GitHub answers what its description says it never does (a
pull request's `head.repo` is null once its fork is deleted). KNOWN_ERRORS lists each, with the issue that reports
it, and is applied to exactly that location of that answer, nowhere else.

A test that asks the fake for a path GitHub does not have (to see its 404) says so: `problems(..., undeclared=True)`
then checks only that the answer is a basic error, and that the path is indeed undeclared.

`example(operation, status)` is GitHub's own example answer, as the description gives it (api.github.com): the
fake GitHub builds its payloads from these.

GitHub writes `oneOf` where its alternatives overlap (PUT contents answers 409 with one of two error shapes that
any `{"message": ...}` fits), so a oneOf here means at least one of them, as GitHub's own clients read it.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

DATA = Path(__file__).resolve().parent / "data" / "github-openapi"
# Draft 2020-12, but a oneOf that more than one alternative matches is no problem (see the docstring)
ONE_OF_AS_ANY_OF = {"oneOf": Draft202012Validator.VALIDATORS["anyOf"]}
GitHubValidator: type[Validator] = validators.extend(Draft202012Validator, ONE_OF_AS_ANY_OF)  # type: ignore[no-untyped-call]
NO_BODY = {204, 304}
MAX_MESSAGE = 160  # characters of one validator message (they quote the failing value)
MAX_ERRORS = 5  # per checked value; the rest are counted
REFERENCE = "api.github.com"  # the description whose examples the fake GitHub is built from
# 4xx answers GitHub gives to any operation (its REST docs: troubleshooting, rate limits), not declared per
# operation: their body is GitHub's basic error, with its message and documentation link
ANY_OPERATION_4XX = {401, 403, 404, 422, 429}
ERROR_REQUIRED = ["message", "documentation_url"]


@dataclass(frozen=True)
class KnownError:
    """A place where GitHub's description is wrong about what GitHub answers, as an issue reports it."""

    operation: str  # e.g. "GET /repos/{owner}/{repo}/pulls/{pull_number}"
    status: str
    at: str  # the JSON path in the answer, [*] for any item of a list
    accepts: Any  # the value GitHub sends there that the description does not allow
    issue: str


# Each entry widens the check at one location of one answer, for one value. Remove an entry when the description
# is fixed (tests/unit/test_githubspec.py says so when the description starts to allow the value by itself).
KNOWN_ERRORS = (
    # A pull request from a fork that was deleted since: GitHub answers `"head": {"repo": null, ...}`, its
    # description says `repo` is a repository (`pull-request`; the issue was closed as fixed, this pin says otherwise)
    KnownError(
        "GET /repos/{owner}/{repo}/pulls/{pull_number}",
        "200",
        "$.head.repo",
        None,
        "https://github.com/github/rest-api-description/issues/424",
    ),
    # ... and so in a list of pull requests (`pull-request-simple`)
    KnownError(
        "GET /repos/{owner}/{repo}/commits/{commit_sha}/pulls",
        "200",
        "$[*].head.repo",
        None,
        "https://github.com/github/rest-api-description/issues/1811",
    ),
    KnownError(
        "GET /repos/{owner}/{repo}/pulls",
        "200",
        "$[*].head.repo",
        None,
        "https://github.com/github/rest-api-description/issues/1811",
    ),
)


@dataclass(frozen=True)
class Operation:
    key: str  # e.g. "GET /repos/{owner}/{repo}/contents/{path}"
    method: str
    template: str
    pattern: re.Pattern[str]
    parameters: dict[tuple[str, str], dict[str, Any]]  # (in, name) -> parameter
    request_body: dict[str, Any] | None
    responses: dict[str, Any]  # status -> schema (None: no body)
    examples: dict[str, dict[str, Any]]  # status -> GitHub's example answers, by name

    @property
    def literal(self) -> int:
        """How much of the template is fixed text: of two templates that match, GitHub routes to the more literal."""
        return len(re.sub(r"\{[^}]*\}", "", self.template))


@dataclass
class Description:
    """One description file: api.github.com.json or ghes-3.NN.json."""

    name: str
    header: dict[str, Any]
    operations: list[Operation]
    defs: dict[str, Any]
    basic_error: dict[str, Any]  # GitHub's error answer, as its components describe it (nothing required there)
    _validators: dict[str, Validator] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, file: Path) -> Description:
        doc = json.loads(file.read_text())
        operations = [_operation(key, op) for key, op in sorted(doc["operations"].items())]
        return cls(file.stem, doc["header"], operations, doc.get("$defs", {}), doc["basic-error"])

    def operation(self, key: str) -> Operation:
        found = [op for op in self.operations if op.key == key]
        if not found:
            raise KeyError(f"{self.name} does not declare {key} (add it to scripts/github-openapi)")
        return found[0]

    def validator(self, where: str, schema: Any) -> Validator:
        """A validator for `schema`, whose `$ref`s point into this file's `$defs`; cached by `where`."""
        if where not in self._validators:
            root = {**schema, "$defs": self.defs} if isinstance(schema, dict) else schema
            self._validators[where] = GitHubValidator(root)
        return self._validators[where]

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        found = [(op, m) for op in self.operations if op.method == method and (m := op.pattern.fullmatch(path))]
        if not found:
            return None, {}
        op, matched = max(found, key=lambda pair: pair[0].literal)
        return op, {name: unquote(value) for name, value in matched.groupdict().items()}

    def problems(
        self,
        method: str,
        path: str,
        query: Mapping[str, str],
        body: Any,
        status: int,
        reply: Any,
        *,
        undeclared: bool = False,
    ) -> list[str]:
        method = method.upper()
        op, values = self.match(method, path)
        if undeclared:  # a path asked on purpose to see GitHub's 404: it must be one GitHub does not have
            if op is not None:
                return [f"{method} {path} was expected to be undeclared, it is {op.key}"]
            return self._error_problems(f"{method} {path} -> {status}: reply", status, reply)
        if op is None:
            others = sorted({o.method for o in self.operations if o.pattern.fullmatch(path)})
            known = f" (declared there: {', '.join(others)})" if others else ""
            return [f"{method} {path} is not a declared operation{known}"]
        found = self._request_problems(op, values, query, body)
        return found + self._reply_problems(op, status, reply)

    def _request_problems(
        self, op: Operation, values: dict[str, str], query: Mapping[str, str], body: Any
    ) -> list[str]:
        found: list[str] = []
        for name, value in sorted(values.items()):
            found += self._parameter_problems(op, "path", name, value)
        for name, value in sorted(query.items()):
            if ("query", name) not in op.parameters:
                declared = sorted(n for where, n in op.parameters if where == "query")
                found.append(f"{op.key}: unknown query parameter {name!r} (declared: {', '.join(declared) or 'none'})")
            else:
                found += self._parameter_problems(op, "query", name, value)
        for (where, name), parameter in sorted(op.parameters.items()):
            if where == "query" and parameter["required"] and name not in query:
                found.append(f"{op.key}: required query parameter {name!r} is missing")
        if op.request_body is None:
            if body is not None:
                found.append(f"{op.key}: sends a request body, the operation takes none")
        elif body is None:
            if op.request_body["required"]:
                found.append(f"{op.key}: the request body is required")
        else:
            found += self._schema_problems(f"{op.key}: request body", op.key + " body", op.request_body["schema"], body)
        return found

    def _parameter_problems(self, op: Operation, where: str, name: str, value: str) -> list[str]:
        schema = op.parameters[(where, name)]["schema"]
        what = f"{op.key}: {where} parameter {name}"
        return self._schema_problems(what, f"{op.key} {where} {name}", schema, _coerced(value, schema))

    def _reply_problems(self, op: Operation, status: int, reply: Any) -> list[str]:
        declared = op.responses
        code = str(status)
        if code not in declared:
            if "default" in declared:
                code = "default"
            elif status in ANY_OPERATION_4XX or status >= 500:
                return self._error_problems(f"{op.key} -> {status}: reply", status, reply)
            else:
                statuses = ", ".join(sorted(declared))
                return [f"{op.key}: status {status} is not declared (declared: {statuses})"]
        if status in NO_BODY:
            return [] if reply is None else [f"{op.key}: a {status} reply has no body, this one has {_short(reply)}"]
        schema = declared[code]
        if schema is None:
            return []
        known = [k for k in KNOWN_ERRORS if (k.operation, k.status) == (op.key, code)]
        return self._schema_problems(f"{op.key} -> {status}: reply", f"{op.key} {code}", schema, reply, known)

    def _error_problems(self, what: str, status: int, reply: Any) -> list[str]:
        """An error GitHub answers to any operation: a 4xx is its basic error; a 5xx is not checked."""
        if status >= 500:
            return []
        if status not in ANY_OPERATION_4XX:
            return [f"{what}: status {status} is not one GitHub answers to any operation"]
        schema = self.basic_error | {"required": ERROR_REQUIRED}
        return self._schema_problems(what, "basic-error", schema, reply)

    def _schema_problems(
        self, what: str, where: str, schema: Any, instance: Any, known: list[KnownError] | None = None
    ) -> list[str]:
        errors = [e for error in self.validator(where, schema).iter_errors(instance) for e in _specific(error)]
        errors = [e for e in errors if not any(_is_known(k, e) for k in known or [])]
        messages: dict[str, list[str]] = {}  # JSON path -> messages, in the validator's order
        missing: dict[str, list[str]] = {}  # JSON path -> required properties that are absent
        told: set[tuple[str, int]] = set()  # (JSON path, required list): one error per absent property, told once
        for error in errors:
            at = _json_path(error)
            required = error.validator_value
            if error.validator == "required" and isinstance(error.instance, dict) and isinstance(required, list):
                if (at, id(required)) not in told:
                    told.add((at, id(required)))
                    missing.setdefault(at, []).extend(name for name in required if name not in error.instance)
            else:
                messages.setdefault(at, []).append(_truncated(error.message))
        for at, names in missing.items():
            unique = list(dict.fromkeys(names))
            text = f"missing required properties ({len(unique)}): {', '.join(unique)}"
            messages.setdefault(at, []).insert(0, _truncated(text))
        alike: dict[tuple[str, str], list[str]] = {}  # the same problem in every item of a list is told once
        for at in sorted(messages):
            for message in messages[at]:
                alike.setdefault((re.sub(r"\[\d+\]", "[*]", at), message), []).append(at)
        found = [
            f"{what} at {ats[0]}: {message}" if len(ats) == 1 else f"{what} at {at} ({len(ats)} items): {message}"
            for (at, message), ats in alike.items()
        ]
        if len(found) > MAX_ERRORS:
            found[MAX_ERRORS:] = [f"{what}: and {len(found) - MAX_ERRORS} more"]
        return found


def _operation(key: str, op: dict[str, Any]) -> Operation:
    parameters = {(p["in"], p["name"]): p for p in op["parameters"]}
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", op["path"]):
        if part.startswith("{"):
            name = part[1:-1]
            multi = parameters.get(("path", name), {}).get("multi_segment", False)
            pattern += f"(?P<{name}>{'.+' if multi else '[^/]+'})"
        else:
            pattern += re.escape(part)
    responses = {status: response["schema"] for status, response in op["responses"].items()}
    examples = {status: response["examples"] for status, response in op["responses"].items() if "examples" in response}
    return Operation(
        key, op["method"], op["path"], re.compile(pattern), parameters, op["requestBody"], responses, examples
    )


def _is_known(known: KnownError, error: ValidationError) -> bool:
    """Whether `error` is the known error of GitHub's description: its value, at its location."""
    value = error.instance
    same = type(value) is type(known.accepts) and value == known.accepts
    return same and re.sub(r"\[\d+\]", "[*]", _json_path(error)) == known.at


def _coerced(value: str, schema: Any) -> Any:
    """A path or query string as the JSON value its schema means (`per_page=100` is the integer 100)."""
    types = schema.get("type", []) if isinstance(schema, dict) else []
    types = [types] if isinstance(types, str) else types
    if "integer" in types and re.fullmatch(r"-?\d+", value):
        return int(value)
    if "number" in types and re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    if "boolean" in types and value in {"true", "false"}:
        return value == "true"
    if "array" in types:
        return value.split(",")
    return value


def _specific(error: ValidationError) -> list[ValidationError]:
    """The errors of the branch of a failed oneOf/anyOf that the value most likely meant: the one that agrees with
    its type and its discriminating property (e.g. the contents API's `type: file`), else the one with fewest kinds
    of error (then the first).
    """
    if error.validator not in {"oneOf", "anyOf"} or not error.context:
        return [error]
    branches: dict[Any, list[ValidationError]] = {}
    for sub in error.context:
        branches.setdefault(sub.relative_schema_path[0], []).append(sub)

    def rank(item: tuple[Any, list[ValidationError]]) -> tuple[bool, bool, int, int]:
        index, errors = item
        mistyped = any(e.validator == "type" and not e.relative_path for e in errors)
        discriminated = any(e.validator in {"enum", "const"} and len(e.relative_path) == 1 for e in errors)
        kinds = {(tuple(map(str, e.relative_path)), e.validator) for e in errors}  # 15 absent properties: one kind
        return mistyped, discriminated, len(kinds), int(index)

    _, chosen = min(branches.items(), key=rank)
    return [specific for sub in chosen for specific in _specific(sub)]


def _truncated(message: str) -> str:
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 3] + "..."


def _json_path(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}" if re.fullmatch(r"\w+", part) else f"[{part!r}]"
    return path


def _short(value: Any) -> str:
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + "..."


@functools.cache
def descriptions() -> tuple[Description, ...]:
    files = sorted(DATA.glob("*.json"))
    if not files:
        raise FileNotFoundError(f"no GitHub OpenAPI descriptions in {DATA}: run scripts/github-openapi")
    return tuple(Description.load(file) for file in files)


def problems(
    method: str,
    path: str,
    query: Mapping[str, str],
    body: Any,
    status: int,
    reply: Any,
    *,
    undeclared: bool = False,
) -> list[str]:
    """What is wrong with this exchange (`path` without the API prefix), per description, e.g.
    `api.github.com: POST /repos/{owner}/{repo}/statuses/{sha}: request body at $.state: 'ok' is not one of [...]`.
    `undeclared`: the path is one GitHub does not have, asked on purpose (its answer must be GitHub's basic error).
    """
    return [
        f"{d.name}: {p}"
        for d in descriptions()
        for p in d.problems(method, path, query, body, status, reply, undeclared=undeclared)
    ]


def example(operation: str, status: str, name: str | None = None) -> Any:
    """GitHub's own example answer of `operation` with `status` (api.github.com), a fresh copy; `name` picks one
    of several (e.g. the contents API's `response-if-content-is-a-file`), else the first.
    """
    (reference,) = [d for d in descriptions() if d.name == REFERENCE]
    examples = reference.operation(operation).examples.get(status, {})
    if not examples:
        raise KeyError(f"{REFERENCE}: {operation} -> {status} has no example (run scripts/github-openapi)")
    value = examples[name] if name is not None else next(iter(examples.values()))
    return copy.deepcopy(value)
