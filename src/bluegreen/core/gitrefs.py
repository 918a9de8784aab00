"""Git names as values, pure: a branch name git and GitHub accept, a blob's id, and the `[skip ci]` marker."""

from __future__ import annotations

import hashlib
import re

from bluegreen.errors import InputError, Location

SKIP_CI = "[skip ci]"
# git check-ref-format's rules, and no leading `-` (it would read as an option), at most 200 characters
_BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[-/.]|/$|\.$|/\.|\.lock(/|$)")


def branch_name(value: str, location: Location) -> str:
    """`value` when it is a branch name (`main`, `ops/status`), else an InputError at `location`."""
    if not value or value == "@" or len(value) > 200 or _BAD_REF.search(value):
        shown = value if len(value) <= 80 else value[:77] + "..."
        raise InputError(
            f"{shown!r} is not a branch name",
            hint="name a branch like `main` or `bluegreen-status` (no spaces, `..`, `~^:?*[\\`, or leading `-`)",
            location=location,
        )
    return value


def with_skip_ci(message: str) -> str:
    """The message with `[skip ci]` on its subject line, so the status commit starts no workflow."""
    if SKIP_CI in message:
        return message
    subject, newline, body = message.partition("\n")
    return f"{subject.rstrip()} {SKIP_CI}".lstrip() + newline + body


def blob_id(text: str) -> str:
    """git's id of a blob holding `text` (what GitHub's contents API calls a file's sha)."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's object id
