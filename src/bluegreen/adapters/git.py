"""The checkout's git objects, read without running git: a commit's files and parents, and what changed.

The Action decides from commits, never from the working tree: the pull request's proposal is the commit GitHub
checked out, and what was reviewed is its base commit. dulwich reads the object store directly, so no git
process runs, no configuration of the repository is read (no filter driver, hook or fsmonitor can run), and a
workspace owned by another user needs no `safe.directory`. A file is read only when it is a plain blob: a
symbolic link, a submodule or a folder at a state file's path is refused, and a blob is read at most
config.paths.MAX_BYTES long.
"""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from dulwich.errors import NotGitRepository, NotTreeError
from dulwich.graph import find_merge_base
from dulwich.object_store import tree_lookup_path
from dulwich.objects import Blob, Commit, ObjectID, Tree
from dulwich.repo import Repo

from bluegreen.config.paths import MAX_BYTES, decode, repo_path
from bluegreen.errors import InputError, Location

SHA = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_GITLINK = 0o160000


class MissingCommit(LookupError):
    """The commit is not in the checkout (a shallow clone, or one that was never fetched)."""


def full_sha(value: object) -> str | None:
    """`value` when it is a full commit sha (40 or 64 lowercase hex digits), else None."""
    return value if isinstance(value, str) and SHA.fullmatch(value) else None


class Checkout:
    """A repository's object store, opened once; `with Checkout.open(path) as checkout:`."""

    def __init__(self, repo: Repo, path: Path) -> None:
        self._repo = repo
        self.path = path

    @classmethod
    @contextmanager
    def open(cls, path: Path) -> Iterator[Checkout]:
        try:
            repo = Repo(str(path))
        except (NotGitRepository, OSError) as exc:
            raise InputError(
                f"{path} is not a git checkout",
                hint="check out the repository first (actions/checkout), with `persist-credentials: false`",
                location=Location("GITHUB_WORKSPACE"),
            ) from exc
        try:
            yield cls(repo, path)
        finally:
            repo.close()

    def head(self) -> str:
        try:
            return self._repo.head().decode()
        except KeyError as exc:
            raise MissingCommit("HEAD") from exc

    @property
    def shallow(self) -> bool:
        """Whether the checkout was fetched with a depth (its history is cut somewhere)."""
        return bool(self._repo.get_shallow())

    def has(self, sha: str) -> bool:
        try:
            self._commit(sha)
        except MissingCommit:
            return False
        return True

    def parents(self, sha: str) -> tuple[str, ...]:
        return tuple(parent.decode() for parent in self._commit(sha).parents)

    def read(self, sha: str, path: str, display: str, *, limit: int = MAX_BYTES) -> str | None:
        """The text of `path` in commit `sha`; None when the commit has no such file."""
        data = self.blob(sha, path, display, limit=limit)
        return None if data is None else decode(data, display)

    def blob(self, sha: str, path: str, display: str, *, limit: int = MAX_BYTES) -> bytes | None:
        found = self._entry(sha, path, display)
        if found is None:
            return None
        mode, blob_id = found
        if stat.S_ISLNK(mode) or mode == _GITLINK or stat.S_ISDIR(mode):
            kind = "a symbolic link" if stat.S_ISLNK(mode) else "a submodule" if mode == _GITLINK else "a folder"
            raise InputError(
                f"{display}: `{path}` is {kind} in commit {sha[:12]}; bluegreen reads only regular files",
                hint="commit the file itself (a link could point at a secret outside the repository)",
                location=Location(display),
            )
        blob = self._repo.object_store[ObjectID(blob_id)]
        if not isinstance(blob, Blob):
            return None
        data: bytes = blob.as_raw_string()
        if len(data) > limit:
            raise InputError(f"{display} is larger than {limit // 1024} KiB", location=Location(display))
        return data

    def merge_base(self, first: str, second: str) -> str | None:
        """The newest commit both descend from; None when the history is not in the checkout."""
        try:
            found = find_merge_base(self._repo, [self._commit(first).id, self._commit(second).id])
        except (KeyError, MissingCommit):
            return None
        return found[0].decode() if found else None

    def same_file(self, first: str, second: str, path: str) -> bool:
        """Whether `path` is the same blob (or equally absent) in two commits."""
        return self._entry(first, path, path) == self._entry(second, path, path)

    def commits_touching(self, base: str | None, head: str, path: str, *, limit: int = 200) -> list[str]:
        """The commits after `base` up to `head` that changed `path`, oldest first; just `head` when `base` is
        unknown or not an ancestor (a force-push), or when the history is not in the checkout."""
        if base is None or not self.has(base) or not self.is_ancestor(base, head):
            return [head]
        walker = self._repo.get_walker(
            include=[ObjectID(head.encode())],
            exclude=[ObjectID(base.encode())],
            paths=[path.encode()],
            max_entries=limit,
        )
        with suppress(KeyError):
            return [entry.commit.id.decode() for entry in walker][::-1]
        return [head]

    def is_ancestor(self, base: str, head: str) -> bool:
        """Whether `base` is `head` or in its history, as far as the checkout holds it."""
        seen: set[str] = set()
        todo = [head]
        while todo and len(seen) < 100_000:
            sha = todo.pop()
            if sha == base:
                return True
            if sha in seen:
                continue
            seen.add(sha)
            with suppress(MissingCommit):
                todo.extend(self.parents(sha))
        return False

    def _commit(self, sha: str) -> Commit:
        if full_sha(sha) is None:
            raise MissingCommit(sha)
        try:
            found = self._repo.object_store[ObjectID(sha.encode())]
        except KeyError as exc:
            raise MissingCommit(sha) from exc
        if not isinstance(found, Commit):
            raise MissingCommit(sha)
        return found

    def _entry(self, sha: str, path: str, display: str) -> tuple[int, bytes] | None:
        tree = self._commit(sha).tree
        name = repo_path(path, "the file", Location(display)).encode()
        try:
            mode, blob_id = tree_lookup_path(self._lookup, tree, name)
        except (KeyError, NotTreeError):
            return None
        return mode, blob_id

    def _lookup(self, sha: bytes) -> Tree | Blob:
        found = self._repo.object_store[ObjectID(sha)]
        if not isinstance(found, Tree | Blob):
            raise KeyError(sha)
        return found


class GitTree:
    """The files of one commit, as config.Source: what a state file said in that commit."""

    def __init__(self, checkout: Checkout, sha: str, label: str = "") -> None:
        self.checkout, self.sha, self.label = checkout, sha, label

    def read(self, path: str) -> str | None:
        return self.checkout.read(self.sha, path, self.display(path))

    def display(self, path: str) -> str:
        return f"{path} ({self.label})" if self.label else path
