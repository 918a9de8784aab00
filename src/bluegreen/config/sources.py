"""Where the repository's files are read from: the working tree (the command line, adapters/files.WorkingTree) or
one commit's objects (the Action, adapters/git.GitTree). Either way a file is a regular file inside the
repository, bounded, strict UTF-8 (config/paths.py), and its messages name it the way the user knows it."""

from __future__ import annotations

from typing import Protocol


class Source(Protocol):
    """The files of a repository as one version of it has them."""

    def read(self, path: str) -> str | None:
        """The text of the repository-relative `path`; None when there is no such file."""
        ...

    def display(self, path: str) -> str:
        """`path` as messages show it: `state/live.json`, or `state/live.json (base branch 1a2b3c4d5e6f)`."""
        ...
