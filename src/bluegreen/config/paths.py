"""What a file of the repository may be, before anyone opens it: a plain path inside the repository, at most
MAX_BYTES, strict UTF-8. Pure; the opening itself is adapters/files.py (the working tree) and adapters/git.py
(one commit's objects)."""

from __future__ import annotations

import re

from bluegreen.errors import InputError, Location

MAX_BYTES = 1024 * 1024
_SEGMENT = re.compile(r"[A-Za-z0-9_.-]{1,255}")


def repo_path(value: str, what: str, location: Location) -> str:
    """`value` as a path inside a repository: relative, `/`-separated, plain names, no `.`, `..` or `.git` segment
    (git's own folder holds the credentials actions/checkout may persist)."""
    parts = value.strip("/").split("/") if value else []
    safe = bool(parts) and not value.startswith("/") and len(value) <= 1024
    if not safe or any(part in (".", "..") or part.lower() == ".git" or not _SEGMENT.fullmatch(part) for part in parts):
        raise InputError(
            f"{what} {quoted(value)} is not a path inside the repository",
            hint="give a relative path of letters, digits and `_ . -` separated by `/`, without `..`, e.g. `state`",
            location=location,
        )
    return "/".join(parts)


def decode(data: bytes, display: str) -> str:
    """Strict UTF-8 (a leading BOM dropped); an error says where, never what."""
    try:
        return data.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise InputError(
            f"{display} is not UTF-8 text (line {line}, byte {exc.start + 1})",
            hint="save the file as UTF-8; its content is not shown, in case it holds a secret",
            location=Location(display, line),
        ) from None


def quoted(value: str) -> str:
    shown = value if len(value) <= 80 else value[:77] + "..."
    return repr(shown)
