"""One error hierarchy for everything a user can be told.

    BluegreenError                 title, message, hint, location; exit code
    ├── InputError                 a state file or argument is wrong (exit 2); names file, line and field
    ├── UnreachableError           SSH, HAProxy's runtime API or an app server cannot be reached (exit 6)
    │   └── HostKeyError           the host's key is not the pinned one
    ├── RuntimeApiError            HAProxy answered a runtime command with an error (exit 6)
    ├── LockBusyError              another release holds a HAProxy host's lock (exit 6)
    ├── GitError                   a git command failed (exit 6); names the command and git's stderr
    └── GitHubError                GitHub's API refused or failed a call (exit 6); the hint names the permission

A refusal by the pre-flight and a failed release are not exceptions: they are results (see model.Outcome),
because the report has to show them in full.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where in a file a problem is: `path` as the user knows it, 1-based `line`, JSON `field` path."""

    path: str
    line: int | None = None
    field: str | None = None

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where} ({self.field})" if self.field else where


@dataclass(frozen=True)
class Problem:
    """One of several things wrong in a file, so each can be annotated on its own line."""

    location: Location
    message: str


class BluegreenError(Exception):
    title = "bluegreen failed"
    exit_code = 1

    def __init__(
        self,
        message: str,
        *,
        hint: str = "",
        location: Location | None = None,
        problems: tuple[Problem, ...] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.location = location
        # every problem found, first one first; by default just this error's own
        self.problems = problems or ((Problem(location, message),) if location else ())

    def __str__(self) -> str:
        where = f"{self.location}: " if self.location else ""
        hint = f"\n  hint: {self.hint}" if self.hint else ""
        return f"{self.title}: {where}{self.message}{hint}"


class InputError(BluegreenError):
    title = "invalid input"
    exit_code = 2


class UnreachableError(BluegreenError):
    title = "unreachable"
    exit_code = 6


class NotSentError(UnreachableError):
    """A command that never left for the host (its channel could not be opened): it changed nothing there."""


class HostKeyError(UnreachableError):
    title = "host key not verified"


class RuntimeApiError(BluegreenError):
    title = "HAProxy runtime API error"
    exit_code = 6


class LockBusyError(BluegreenError):
    title = "another release is running"
    exit_code = 6


class GitError(BluegreenError):
    title = "git failed"
    exit_code = 6


class GitHubError(BluegreenError):
    title = "GitHub API error"
    exit_code = 6


def said(error: BaseException) -> str:
    """An error in one line for a report: bluegreen's own message, or what Python says, with the error's type."""
    return error.message if isinstance(error, BluegreenError) else f"{type(error).__name__}: {error}"


# How a finished run's result ends the process (an error ends it with its own exit_code, above).
RESULT_EXIT_CODES: Mapping[str, int] = {"success": 0, "noop": 0, "refused": 3, "rolled_back": 4, "failed": 5}
INTERRUPTED_EXIT_CODE = 130  # SIGINT or SIGTERM: before the release started, or during it (the report says what)
