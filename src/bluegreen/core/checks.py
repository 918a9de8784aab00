"""HAProxy's health checks as the rules read them. Pure."""

from __future__ import annotations

from bluegreen.model import ServerView

PASSING_CHECKS = ("L7OK", "L7OKC", "L6OK", "L4OK")


def check_passing(view: ServerView) -> bool:
    """HAProxy checks this server and its last check passed (UP, or DRAIN for a parked standby)."""
    status = view.status.split(" ")[0]
    return status in ("UP", "DRAIN") and view.check_status in PASSING_CHECKS


def check_settled(view: ServerView) -> bool:
    """Passing, and HAProxy no longer counting checks toward a verdict. A server just taken out of maintenance
    shows `DRAIN 1/2` (or `UP 1/2`) with the check status it had before maintenance until its next check has run:
    only a plain `UP` or `DRAIN` tells that a check passed since."""
    return view.status in ("UP", "DRAIN") and view.check_status in PASSING_CHECKS


_CHECK_HINTS = {
    "L4CON": "HAProxy cannot connect to it: start the STANDBY's app server, or fix the server's address in haproxy.cfg",
    "L4TOUT": "HAProxy's connection to it timed out: check the server's address in haproxy.cfg and any firewall",
    "SOCKERR": "HAProxy's check hit a socket error: see HAProxy's log",
    "L6TOUT": "the TLS handshake of HAProxy's check timed out: check the server's `ssl` settings in haproxy.cfg",
    "L6RSP": "the TLS handshake of HAProxy's check failed: check the server's `ssl` and `verify` in haproxy.cfg",
    "L7STS": "the app answers HAProxy's check with a wrong status: fix its health endpoint, or `option httpchk` "
    "and `http-check expect` in haproxy.cfg",
    "L7TOUT": "the app does not answer HAProxy's check within `timeout check`: find out why it is slow",
    "L7RSP": "the app's answer to HAProxy's check is not valid HTTP: fix its health endpoint",
}
_NOT_CHECKED = (
    "HAProxy ran no check of it in time: give the server `check` in haproxy.cfg, or raise "
    "verify.standby_check_wait_s above its `inter` plus `timeout check`"
)


def check_hint(check_status: str) -> str:
    """What to fix when HAProxy's check of a server says `check_status` (`L4CON`, `L7STS`, ...)."""
    if check_status in ("", "INI", "UNK"):
        return _NOT_CHECKED
    return _CHECK_HINTS.get(check_status, f"see HAProxy's log for the check of the server ({check_status})")
