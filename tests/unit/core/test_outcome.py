"""How a finished run's outcome ends the process: the exit code both faces give it."""

from __future__ import annotations

import pytest

from bluegreen.core.outcome import exit_code
from bluegreen.model import Outcome
from tests.unit.report.test_outcome import FAILED, NOOP, NOT_STARTED, REFUSED, ROLLED_BACK, SUCCESS


@pytest.mark.parametrize(
    ("outcome", "code"),
    [
        (Outcome((SUCCESS,)), 0),
        (Outcome((NOOP,)), 0),
        (Outcome(()), 0),
        (Outcome((REFUSED,)), 3),
        (Outcome((SUCCESS, ROLLED_BACK)), 4),
        (Outcome((ROLLED_BACK, FAILED)), 5),
        (Outcome((SUCCESS, NOT_STARTED), interrupted=True), 130),  # something switched, not all: interrupted
        (Outcome((NOT_STARTED,), interrupted=True), 130),
        (Outcome((SUCCESS,), interrupted=True), 130),
        (Outcome((ROLLED_BACK, NOT_STARTED), interrupted=True), 4),  # a switch back says more
        (Outcome((FAILED, NOT_STARTED), interrupted=True), 5),  # and traffic not restored, most
    ],
)
def test_the_exit_code_follows_the_result_and_an_interrupt(outcome: Outcome, code: int) -> None:
    assert exit_code(outcome) == code
