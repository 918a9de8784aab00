"""The pull request rules: what a revert reverts, and whose approval counts."""

from __future__ import annotations

import pytest

from bluegreen.core.pulls import approval, reverted_pull

# each reviewer's (permission, role_name) on the repository, as GET collaborators/{user}/permission tells it
ACCESS = {
    "bob": ("write", "write"), "carol": ("admin", "admin"), "maya": ("write", "maintain"),
    "reader": ("read", "read"), "triager": ("read", "triage"), "auditor": ("read", "auditor"),
    "stranger": ("none", "none"), "releaser": ("write", "release-manager"),
}  # fmt: skip


def access(user: str) -> tuple[str, str]:
    return ACCESS.get(user, ("none", "none"))


@pytest.mark.parametrize(
    ("reviews", "pushers", "approved", "why"),
    [
        ([], (), False, "no approving review of the merged head"),
        ([("bob", "APPROVED")], (), True, "approved by bob"),
        ([("alice", "APPROVED")], (), False, "no approval that counts; not counted: alice is its author"),
        ([("ALICE", "APPROVED")], (), False, "not counted: ALICE is its author"),
        (
            [("bob", "APPROVED"), ("bob", "CHANGES_REQUESTED")],
            (),
            False,
            "review of the merged head; changes requested by bob",
        ),
        ([("bob", "CHANGES_REQUESTED"), ("bob", "APPROVED")], (), True, "approved by bob"),
        ([("bob", "APPROVED"), ("bob", "COMMENTED")], (), True, "approved by bob"),
        ([("bob", "APPROVED"), ("bob", "DISMISSED")], (), False, "no approving review of the merged head"),
        (
            [("bob", "APPROVED"), ("carol", "CHANGES_REQUESTED")],
            (),
            True,
            "approved by bob; changes requested by carol",
        ),
        ([("carol", "APPROVED"), ("bob", "APPROVED")], (), True, "approved by bob, carol"),
        ([("bob", "PENDING")], (), False, "no approving review of the merged head"),
        # a pusher (an author or committer of a commit) never approves their own push, whatever their access
        (
            [("carol", "APPROVED")],
            ("carol",),
            False,
            "no approval that counts; not counted: carol pushed commits to it",
        ),
        ([("carol", "APPROVED")], ("Carol",), False, "not counted: carol pushed commits to it"),
        ([("carol", "APPROVED"), ("bob", "APPROVED")], ("carol",), True, "approved by bob; not counted: carol pushed"),
        # only write, maintain or admin access counts (permission write/admin; a custom role by its base)
        ([("maya", "APPROVED")], (), True, "approved by maya"),
        ([("releaser", "APPROVED")], (), True, "approved by releaser"),
        ([("reader", "APPROVED")], (), False, "no approval that counts; not counted: reader has read access only"),
        ([("triager", "APPROVED")], (), False, "not counted: triager has triage (read) access only"),
        ([("auditor", "APPROVED")], (), False, "not counted: auditor has auditor (read) access only"),
        ([("stranger", "APPROVED")], (), False, "not counted: stranger has no access to the repository"),
        ([("nobody", "APPROVED")], (), False, "not counted: nobody has no access to the repository"),
        (
            [("alice", "APPROVED"), ("reader", "APPROVED"), ("mallory", "APPROVED"), ("bob", "CHANGES_REQUESTED")],
            ("alice", "mallory"),
            False,
            "no approval that counts; not counted: alice is its author, mallory pushed commits to it, reader has read "
            "access only; changes requested by bob",
        ),
    ],
)
def test_approval(reviews: list[tuple[str, str]], pushers: tuple[str, ...], approved: bool, why: str) -> None:
    result, reason = approval("alice", reviews, access=access, pushers=pushers)
    assert result is approved
    assert why in reason


def test_approval_asks_the_access_only_of_those_it_could_count() -> None:
    asked: list[str] = []

    def recorded(user: str) -> tuple[str, str]:
        asked.append(user)
        return access(user)

    reviews = [("alice", "APPROVED"), ("mallory", "APPROVED"), ("bob", "APPROVED"), ("carol", "CHANGES_REQUESTED")]
    assert approval("alice", reviews, access=recorded, pushers={"mallory"}) == (
        True,
        "approved by bob; not counted: alice is its author, mallory pushed commits to it; changes requested by carol",
    )
    assert asked == ["bob"]


@pytest.mark.parametrize(
    ("older", "unlinked", "why"),
    [
        ({"bob"}, 0, "approved by carol; not counted: bob approved an older push"),
        ({"carol"}, 0, "approved by carol"),  # approved the merged head too: no word about the older one
        ({"dave"}, 0, "approved by carol; not counted: dave approved an older push"),
        (set(), 1, "approved by carol; 1 commit has an author or committer GitHub links to no account, who could "
                   "not be excluded"),
        (set(), 3, "approved by carol; 3 commits have an author or committer GitHub links to no account, who could "
                   "not be excluded"),
    ],
)  # fmt: skip
def test_approval_tells_older_approvals_and_unlinked_commits(older: set[str], unlinked: int, why: str) -> None:
    reviews = [("carol", "APPROVED")]
    assert approval("alice", reviews, access=access, older=older, unlinked=unlinked) == (True, why)


@pytest.mark.parametrize(
    ("title", "body", "expected"),
    [
        ('Revert "Flip theoshift to blue"', "Reverts acme/ops#7", 7),
        ('Revert "Flip theoshift to blue"', "Reverts acme/ops#7\r\n\nBlue was slow.", 7),
        ('Revert "Flip theoshift to blue"', "\n  Reverts ACME/Ops#7  \n", 7),
        ('Revert "Flip theoshift to blue"', "Reverts #123", 123),
        ('Revert "Revert "Flip theoshift to blue""', "Reverts acme/ops#9", 9),
        ("Flip theoshift to blue", "Reverts acme/ops#7", None),
        ("revert theoshift", "Reverts acme/ops#7", None),
        ('Revert "Flip theoshift to blue"', "", None),
        ('Revert "Flip theoshift to blue"', "Blue was slow.\nReverts acme/ops#7", None),
        ('Revert "Flip theoshift to blue"', "Reverts mallory/ops#7", None),
        ('Revert "Flip theoshift to blue"', "Reverts acme/ops#7abc", None),
        ('Revert "Flip theoshift to blue"', "Reverts acme/ops#0", None),
        ('Revert "Flip theoshift to blue"', "Reverts acme/ops#12345678901", None),
        ('Revert "Flip theoshift to blue"', "Reverts acme/ops#-7", None),
        ('Revert "Flip theoshift to blue"', "Reverts acme/ops#7; rm -rf /", None),
        ('Revert "Flip theoshift to blue"', "Reverts acme/ops#٧", None),
        ('Revert "Flip theoshift to blue"', "Reverts https://example.test/acme/ops/pull/7", None),
    ],
)
def test_reverted_pull(title: str, body: str, expected: int | None) -> None:
    assert reverted_pull(title, body, "acme/ops") == expected
