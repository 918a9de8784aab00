"""HAProxy's health checks as the rules read them. Pure."""

from __future__ import annotations

from bluegreen.model import ServerView

PASSING_CHECKS = ("L7OK", "L7OKC", "L6OK", "L4OK")


def check_passing(view: ServerView) -> bool:
    """HAProxy checks this server and its last check passed (UP, or DRAIN for a parked standby)."""
    status = view.status.split(" ")[0]
    return status in ("UP", "DRAIN") and view.check_status in PASSING_CHECKS
