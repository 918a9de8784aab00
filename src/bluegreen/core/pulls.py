"""What a pull request's facts mean, pure: which one a revert reverts, and whether its approval counts (GitHub's
rule, made stricter where the API cannot tell). The GitHub adapter brings the facts."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection

_NAME = r"[A-Za-z0-9_.-]+"
_REVERTS = re.compile(rf"Reverts (?:(?P<repo>{_NAME}/{_NAME}))?#(?P<number>[1-9][0-9]{{0,9}})")
# A collaborator's base `permission` (admin, write, read, none) that may push and merge: `role_name` maintain is
# write's, triage read's, and a custom role has one of these as its base.
WRITE_PERMISSIONS = frozenset({"admin", "write"})
Access = Callable[[str], tuple[str, str]]  # a login -> its (permission, role_name) on the repository


def reverted_pull(title: str, body: str, repository: str) -> int | None:
    """The pull request that GitHub's Revert button says this one reverts: its title is `Revert "<title>"` and its
    body starts `Reverts owner/repo#123` (or `Reverts #123`); None for anything else."""
    first_line = next(iter(body.strip().splitlines()), "").strip()
    found = _REVERTS.fullmatch(first_line)
    if not title.startswith('Revert "') or not found:
        return None
    same_repository = found["repo"] is None or found["repo"].lower() == repository.lower()
    return int(found["number"]) if same_repository else None


def latest_reviews(reviews: list[tuple[str, str]]) -> dict[str, str]:
    """Each reviewer's state that counts (reviews in order): a later comment does not undo an approval."""
    latest: dict[str, str] = {}
    for user, state in reviews:
        if state in {"APPROVED", "CHANGES_REQUESTED", "DISMISSED"}:
            latest[user] = state
    return latest


def not_counted(user: str, author: str, pushers: Collection[str], access: Access) -> str | None:
    """Why `user`'s approval does not count, None when it does. Not the author's, nor one of an author or committer
    of the pull request's commits (GitHub's rule: not by whoever pushed what is approved; the commits' authors and
    committers stand in for the pushers, whom the API does not name); and only by someone with write, maintain or
    admin access to the repository. `access` is asked only about someone who is neither author nor committer."""
    login = user.lower()
    if login == author.lower():
        return "is its author"
    if login in {pusher.lower() for pusher in pushers}:
        return "pushed commits to it"
    permission, role = access(user)
    if permission in WRITE_PERMISSIONS:
        return None
    if permission == "read":
        return f"has {role} ({permission}) access only" if role not in {"", "read"} else "has read access only"
    return "has no access to the repository" if permission == "none" else f"has {permission} access, not write"


def approval(
    author: str,
    reviews: list[tuple[str, str]],
    *,
    access: Access,
    pushers: Collection[str] = (),
    older: Collection[str] = (),
    unlinked: int = 0,
) -> tuple[bool, str]:
    """Whether an approval counts, and who approved, who was not counted and why (for the report).

    `reviews`: (user, state) of the merged head, in order; each reviewer's latest state counts (latest_reviews).
    `pushers`: the GitHub logins of the pull request's commits' authors and committers. `access`: a reviewer's
    permission (see not_counted). `older`: who approved an older push (told, never counted). `unlinked`: how many
    commits GitHub links to no account (whoever made them cannot be excluded: told).
    """
    latest = latest_reviews(reviews)
    counted: list[str] = []
    skipped: list[str] = []
    for user in sorted((u for u, s in latest.items() if s == "APPROVED"), key=str.lower):
        why = not_counted(user, author, pushers, access)
        if why is None:
            counted.append(user)
        else:
            skipped.append(f"{user} {why}")
    reviewed = {user.lower() for user in latest}
    skipped += [f"{u} approved an older push" for u in sorted(older, key=str.lower) if u.lower() not in reviewed]
    blockers = sorted((u for u, s in latest.items() if s == "CHANGES_REQUESTED"), key=str.lower)
    if counted:
        parts = [f"approved by {', '.join(counted)}"]
    else:
        parts = ["no approval that counts" if skipped else "no approving review of the merged head"]
    parts += [f"not counted: {', '.join(skipped)}"] if skipped else []
    parts += [f"changes requested by {', '.join(blockers)}"] if blockers else []
    if unlinked:
        commits = "1 commit has" if unlinked == 1 else f"{unlinked} commits have"
        parts.append(f"{commits} an author or committer GitHub links to no account, who could not be excluded")
    return bool(counted), "; ".join(parts)
