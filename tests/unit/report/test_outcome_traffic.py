"""What users saw during the switch, as the release report and its JSON say it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from bluegreen.model import Color, Outcome, SwitchTraffic
from bluegreen.report import outcome_json, outcome_markdown, outcome_text
from tests.unit.report.test_outcome import ROLLED_BACK, SUCCESS, lines

BLUE, GREEN = Color.BLUE, Color.GREEN
CLEAN = SwitchTraffic(412, 0, {GREEN: 140, BLUE: 272}, 3.04, 11.4, 4.2)


@pytest.mark.parametrize(
    ("figure", "line"),
    [
        (
            CLEAN,
            "Users during the switch: 412 requests, 0 failed; Green 140 → Blue 272; p50 3.0 ms, p99 11 ms; "
            "first answer by Blue 4.2 ms after the switch command",
        ),
        (
            SwitchTraffic(10, 2, {GREEN: 3, BLUE: 4}, 0.8, 3000.0, None),
            "Users during the switch: 10 requests, 2 failed; Green 3 → Blue 4; 1 answered by neither color; "
            "p50 0.8 ms, p99 3000 ms; no answer by Blue after the switch command",
        ),
        (
            SwitchTraffic(10, 0, {GREEN: 2, BLUE: 7}, 1.0, 2.0, 3.0, failed_old=1),
            "Users during the switch: 10 requests, 0 failed (and 1 on the old LIVE Green, not counted); "
            "Green 2 → Blue 7; p50 1.0 ms, p99 2.0 ms; first answer by Blue 3.0 ms after the switch command",
        ),
        (
            SwitchTraffic(1, 1, {GREEN: 0, BLUE: 0}, None, None, None),
            "Users during the switch: 1 request, 1 failed; Green 0 → Blue 0; "
            "no answer by Blue after the switch command",
        ),
    ],
)
def test_the_apps_block_says_what_users_saw(figure: SwitchTraffic, line: str) -> None:
    outcome = Outcome((dataclasses.replace(SUCCESS, traffic=figure),))
    assert line in lines(outcome_text(outcome))
    assert line in lines(outcome_markdown(outcome))


def test_a_rolled_back_release_says_it_too_in_the_release_direction() -> None:
    figure = SwitchTraffic(30, 4, {GREEN: 6, BLUE: 20}, 2.0, 9.0, 3.0)
    text = outcome_text(Outcome((dataclasses.replace(ROLLED_BACK, traffic=figure),)))
    assert "Users during the switch: 30 requests, 4 failed; Green 6 → Blue 20; " in text


def test_without_a_figure_there_is_no_line() -> None:
    assert "Users during the switch" not in outcome_text(Outcome((SUCCESS,)))


def test_json_carries_the_figure_with_both_colors_or_null() -> None:
    data = outcome_json(Outcome((dataclasses.replace(SUCCESS, traffic=CLEAN),)))
    assert json.loads(json.dumps(data)) == data
    assert data["apps"]["theoshift"]["traffic"] == {  # type: ignore[index]
        "requests": 412,
        "failed": 0,
        "failed_old": 0,
        "by_color": {"blue": 272, "green": 140},
        "p50_ms": 3.04,
        "p99_ms": 11.4,
        "first_new_ms": 4.2,
    }
    assert outcome_json(Outcome((SUCCESS,)))["apps"]["theoshift"]["traffic"] is None  # type: ignore[index]
