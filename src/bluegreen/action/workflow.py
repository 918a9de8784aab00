"""GitHub Actions' workflow commands and files: annotations, outputs, the job summary.

https://docs.github.com/actions/reference/workflow-commands-for-github-actions
Everything a user controls is escaped, so a value can neither end an annotation early nor start a new command.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Literal, TextIO

from bluegreen.errors import BluegreenError

Level = Literal["error", "warning", "notice"]


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def annotate(
    out: TextIO, level: Level, message: str, *, title: str = "", file: str = "", line: int | None = None
) -> None:
    fields = [f"title={_property(title)}" if title else "", f"file={_property(file)}" if file else ""]
    fields.append(f"line={line}" if line else "")
    joined = ",".join(field for field in fields if field)
    out.write(f"::{level}{' ' + joined if joined else ''}::{_data(message)}\n")


def annotate_error(out: TextIO, error: BluegreenError) -> None:
    """One annotation per problem, on the file and line it names, so the PR's diff shows it in place."""
    hint = f" ({error.hint})" if error.hint else ""
    if not error.problems:
        annotate(out, "error", error.message + hint, title=error.title)
    for problem in error.problems:
        where = problem.location
        field = f"{where.field}: " if where.field else ""
        annotate(out, "error", field + problem.message + hint, title=error.title, file=where.path, line=where.line)


def write_outputs(path: str | None, outputs: Mapping[str, str]) -> None:
    """Append to $GITHUB_OUTPUT with a random delimiter, so no value can end its own block early."""
    if not path:
        return
    with Path(path).open("a", encoding="utf-8") as handle:
        for name, value in outputs.items():
            delimiter = f"ghadelimiter_{secrets.token_hex(8)}"
            handle.write(f"{name}<<{delimiter}\n{value}\n{delimiter}\n")


def append_summary(path: str | None, markdown: str) -> None:
    if path:
        with Path(path).open("a", encoding="utf-8") as handle:
            handle.write(markdown.rstrip() + "\n")
