"""Versions, one set of rules for every layer: parsing, precedence, sameness and the label people read."""

from __future__ import annotations

import semver


def parse_version(text: str | None) -> semver.Version | None:
    if text is None:
        return None
    try:
        return semver.Version.parse(text.strip().removeprefix("v"), optional_minor_and_patch=True)
    except ValueError:
        return None


def compare(left: str | None, right: str | None) -> int | None:
    """Semantic version precedence (pre-releases included), or None when either is not a version."""
    a, b = parse_version(left), parse_version(right)
    return None if a is None or b is None else a.compare(b)


def same_version(left: str | None, right: str | None) -> bool:
    if left is None or right is None:
        return False
    return compare(left, right) == 0 if parse_version(left) and parse_version(right) else left == right


def plain(version: str) -> str:
    """The version without spaces around it or its `v`: `v2.4.1+build.7` is `2.4.1+build.7`."""
    return version.strip().removeprefix("v")


def label(version: str | None) -> str:
    """`2.4.1` and `v2.4.1` both read `v2.4.1`; a version that is not a number is shown as it is."""
    if not version:
        return "version unknown"
    bare = version[1:] if version[:1] in "vV" and version[1:2].isdigit() else version
    return f"v{bare}" if bare[:1].isdigit() else bare
