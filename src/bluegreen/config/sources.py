"""Where the repository's files are read from: the working tree (the command line) or one commit's objects (the
Action, see gitobjects.GitTree). Either way a file is a regular file inside the repository, bounded, strict
UTF-8 (safefile), and its messages name it the way the user knows it."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from bluegreen.adapters import files as safefile


class Source(Protocol):
    """The files of a repository as one version of it has them."""

    def read(self, path: str) -> str | None:
        """The text of the repository-relative `path`; None when there is no such file."""
        ...

    def display(self, path: str) -> str:
        """`path` as messages show it: `state/live.json`, or `state/live.json (base branch 1a2b3c4d5e6f)`."""
        ...


class WorkingTree:
    """The files as they are on disk under `root` (the command line's `--repo`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, path: str) -> str | None:
        return safefile.read_text(self.root, path, self.display(path))

    def display(self, path: str) -> str:
        return path
