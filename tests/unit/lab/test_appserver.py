"""The lab's app server's answers: a pure table (bluegreen_lab.appserver.answer)."""

from __future__ import annotations

import pytest

from bluegreen_lab.appserver import Control, answer


@pytest.mark.parametrize(
    ("path", "control", "proxied", "status"),
    [
        ("/health", Control("1.0"), False, 200),
        ("/health", Control("1.0", healthy=False), False, 503),
        ("/version", Control("1.0"), True, 200),
        ("/version", Control("1.0", public_status=500), False, 200),  # asked directly: fine
        ("/version", Control("1.0", public_status=500), True, 500),  # through HAProxy: misconfigured
        ("/health", Control("1.0", public_status=500), True, 200),  # its health check passes
        ("/nowhere", Control("1.0"), True, 404),
    ],
)
def test_the_answer_follows_the_control_file(path: str, control: Control, proxied: bool, status: int) -> None:
    assert answer(path, "theoshift", "blue", control, proxied).status == status
