"""What users saw while traffic moved: which requests failed, who answered, the percentiles, the first answer by
the new LIVE, and the threshold that fails verification."""

from __future__ import annotations

import pytest

from bluegreen.core import traffic
from bluegreen.core.traffic import Visit
from bluegreen.model import AppEnvironment, Color, Served, SwitchTraffic
from tests.unit.engine.world import LDC_TOOLS, THEOSHIFT, make_app

BLUE, GREEN = Color.BLUE, Color.GREEN
VERSIONS = {GREEN: "2.4.0", BLUE: "2.4.1"}
OK_GREEN = Served(200, "t_green/green", "2.4.0")
OK_BLUE = Served(200, "t_blue/blue", "2.4.1")
NO_HEADER = make_app("theoshift", THEOSHIFT.switch)  # the same app; its answers below carry no served-by


@pytest.mark.parametrize(
    ("served", "failed"),
    [
        (OK_BLUE, False),
        (Served(404, None, None), False),  # an answer, if the wrong one: verification's own requests judge that
        (Served(499, "t_blue/blue", None), False),
        (Served(500, "t_blue/blue", None), True),
        (Served(503, None, None), True),
        (Served(None, None, None, "ConnectError: refused"), True),
        (Served(200, "t_blue/blue", "2.4.1", "a late error"), True),
    ],
)
def test_a_request_failed_with_no_answer_or_a_5xx(served: Served, failed: bool) -> None:
    assert traffic.failed(served) is failed


@pytest.mark.parametrize(
    ("app", "served", "versions", "color"),
    [
        (THEOSHIFT, OK_BLUE, VERSIONS, BLUE),
        (THEOSHIFT, Served(200, "t_blue/any-server", None), VERSIONS, BLUE),  # `map`: any server of the backend
        (THEOSHIFT, OK_GREEN, VERSIONS, GREEN),
        (THEOSHIFT, Served(200, "t_blue2/blue", "2.4.1"), VERSIONS, None),  # a header names it, or nothing does
        (THEOSHIFT, Served(200, "bluegreen_unknown_host/<NOSRV>", None), VERSIONS, None),
        (LDC_TOOLS, Served(200, "ldc_tools/green", None), VERSIONS, GREEN),
        (LDC_TOOLS, Served(200, "ldc_tools/greenish", None), VERSIONS, None),  # `servers`: that server only
        (NO_HEADER, Served(200, None, "v2.4.1"), VERSIONS, BLUE),  # no header: the version, by precedence rules
        (NO_HEADER, Served(200, None, "2.4.0"), VERSIONS, GREEN),
        (NO_HEADER, Served(200, None, "2.4.1"), {GREEN: "2.4.1", BLUE: "2.4.1"}, None),  # both run it: unknown
        (NO_HEADER, Served(200, None, None), VERSIONS, None),
        (NO_HEADER, Served(200, None, "\u202e2.4.1"), VERSIONS, None),
    ],
)
def test_the_color_that_answered(
    app: AppEnvironment, served: Served, versions: dict[Color, str], color: Color | None
) -> None:
    assert traffic.color_of(served, app, versions) is color


@pytest.mark.parametrize(
    ("values", "share", "expected"),
    [
        ([], 50, None),
        ([7.0], 50, 7.0),
        ([7.0], 99, 7.0),
        ([4.0, 1.0, 3.0, 2.0], 50, 2.0),  # nearest rank: the 2nd of 4
        ([4.0, 1.0, 3.0, 2.0], 99, 4.0),
        ([float(n) for n in range(1, 101)], 50, 50.0),
        ([float(n) for n in range(1, 101)], 99, 99.0),
        ([float(n) for n in range(1, 1001)], 99, 990.0),
        ([1.0] * 99 + [500.0], 99, 1.0),  # one slow answer in a hundred is the 100th percentile, not the 99th
        ([1.0] * 98 + [500.0] * 2, 99, 500.0),
    ],
)
def test_percentiles_are_nearest_rank(values: list[float], share: float, expected: float | None) -> None:
    assert traffic.percentile(values, share) == expected


def visit(at_ms: float, served: Served, took_ms: float = 2.0, route: str | None = None) -> Visit:
    return Visit(route, at_ms / 1000, took_ms, served)


def test_the_figure_counts_each_request_once_by_what_came_of_it() -> None:
    visits = [
        visit(0, OK_GREEN, 1.0),
        visit(50, OK_GREEN, 3.0),
        visit(100, OK_BLUE, 2.0),
        visit(150, Served(503, "t_blue/blue", None), 9.0),
        visit(200, Served(None, None, None, "ReadTimeout"), 3000.0),
        visit(250, Served(404, "bluegreen_unknown_host/<NOSRV>", None), 4.0),
        visit(300, OK_BLUE, 5.0),
    ]
    figure = traffic.figure(visits, THEOSHIFT, BLUE, VERSIONS, {"lb1": 0.090})
    assert (figure.requests, figure.failed) == (7, 2)
    assert figure.by_color == {GREEN: 2, BLUE: 2}  # the 503 failed; the 404 was answered by neither color
    assert (figure.p50_ms, figure.p99_ms) == (3.0, 9.0)  # of the six answers (the timeout got none): 1 2 3 4 5 9
    assert figure.first_new_ms == pytest.approx(12.0)  # sent 10 ms after the command, answered 2 ms later


@pytest.mark.parametrize(
    ("app", "at_ms", "served", "route", "against"),
    [
        (THEOSHIFT, 5, Served(500, None, None), None, False),  # before the command: the old LIVE's, whoever it was
        (THEOSHIFT, 5, Served(None, None, None, "ReadTimeout"), None, False),
        (THEOSHIFT, 15, Served(500, None, None), None, True),  # after it, nothing names the old LIVE: the release's
        (THEOSHIFT, 15, Served(None, None, None, "ConnectError: refused"), None, True),
        (THEOSHIFT, 15, Served(500, "t_green/green", None), None, False),  # named as the old LIVE's: draining
        (NO_HEADER, 15, Served(500, None, "2.4.0"), None, False),  # no header: its version names the old LIVE
        (THEOSHIFT, 5, Served(500, "t_blue/blue", None), None, True),  # the new LIVE's own, whenever
        (THEOSHIFT, 15, Served(500, None, None), "lb2", False),  # each route by its own host's command (20 ms)
        (THEOSHIFT, 25, Served(500, None, None), "lb2", True),
        (THEOSHIFT, 25, Served(500, None, None), "lb3", False),  # a host that was sent no command
    ],
)
def test_a_failure_counts_against_the_release_only_after_the_command_and_not_by_the_old_live(
    app: AppEnvironment, at_ms: float, served: Served, route: str | None, against: bool
) -> None:
    visits = [visit(at_ms, served, route=route), visit(40, OK_BLUE, route=route)]
    figure = traffic.figure(visits, app, BLUE, VERSIONS, {"lb1": 0.010, "lb2": 0.020})
    assert (figure.failed, figure.failed_old) == ((1, 0) if against else (0, 1))
    assert figure.by_color == {GREEN: 0, BLUE: 1}


def test_by_color_names_both_colors_old_first_even_when_one_got_nothing() -> None:
    figure = traffic.figure([visit(10, OK_BLUE)], THEOSHIFT, BLUE, VERSIONS, {"lb1": 0.0})
    assert list(figure.by_color.items()) == [(GREEN, 0), (BLUE, 1)]


def test_nothing_sent_is_an_empty_figure() -> None:
    assert traffic.figure([], THEOSHIFT, BLUE, VERSIONS, {}) == SwitchTraffic(
        0, 0, {GREEN: 0, BLUE: 0}, None, None, None, failed_old=0
    )


@pytest.mark.parametrize(
    ("visits", "commanded", "first"),
    [
        # through each host: timed from that host's own command, and the slowest host counts
        (
            [visit(20, OK_BLUE, 1.0, "lb1"), visit(30, OK_BLUE, 1.0, "lb2")],
            {"lb1": 0.010, "lb2": 0.005},
            26.0,
        ),
        # from here: timed from the first host's command
        ([visit(20, OK_BLUE, 1.0), visit(40, OK_BLUE, 1.0)], {"lb1": 0.010, "lb2": 0.005}, 16.0),
        # a host that needed no switch (it was on the new LIVE already) says nothing of the moment
        ([visit(20, OK_BLUE, 1.0, "lb1"), visit(0, OK_BLUE, 1.0, "lb2")], {"lb1": 0.010}, 11.0),
        # answers by the old LIVE and failures do not count, nor an answer that came before the command
        (
            [visit(0, OK_BLUE, 1.0), visit(12, OK_GREEN), visit(14, Served(None, None, None, "x")), visit(16, OK_BLUE)],
            {"lb1": 0.010},
            8.0,
        ),
        # a 5xx the new LIVE answered itself reached it
        ([visit(15, Served(503, "t_blue/blue", None), 1.0)], {"lb1": 0.010}, 6.0),
        # a switched host whose requests never reached the new LIVE: no moment to tell
        ([visit(20, OK_BLUE, 1.0, "lb1"), visit(20, OK_GREEN, 1.0, "lb2")], {"lb1": 0.010, "lb2": 0.010}, None),
        # no host was sent its command (the switch failed before it)
        ([visit(20, OK_GREEN, 1.0)], {}, None),
    ],
)
def test_the_first_answer_by_the_new_live_after_the_switch_command(
    visits: list[Visit], commanded: dict[str, float], first: float | None
) -> None:
    found = traffic.first_new_ms(visits, THEOSHIFT, BLUE, VERSIONS, commanded)
    assert found == (None if first is None else pytest.approx(first))


def test_the_first_failure_is_the_first_sent_in_words() -> None:
    visits = [
        visit(30, Served(None, None, None, "ConnectError: refused")),
        visit(10, Served(502, None, None)),
        visit(0, OK_GREEN),
    ]
    assert traffic.first_failure(visits) == "status 502, served by ?"
    assert traffic.first_failure([visits[0]]) == "ConnectError: refused"
    assert traffic.first_failure([visit(0, OK_BLUE)]) is None


FIRST = "status 503, served by t_blue/blue"


@pytest.mark.parametrize(
    ("failed", "allowed", "problems"),
    [
        (0, 0, []),
        (2, 2, []),
        (
            1,
            0,
            ["users during the switch: 1 of 40 requests failed (allowed 0; first: status 503, served by t_blue/blue)"],
        ),
        (
            3,
            2,
            ["users during the switch: 3 of 40 requests failed (allowed 2; first: status 503, served by t_blue/blue)"],
        ),
    ],
)
def test_more_failed_requests_than_allowed_fail_verification(failed: int, allowed: int, problems: list[str]) -> None:
    figure = SwitchTraffic(40, failed, {GREEN: 10, BLUE: 30 - failed}, 1.0, 2.0, 3.0)
    assert traffic.problems(figure, allowed, FIRST) == problems


def test_a_failure_without_words_still_names_the_figure() -> None:
    figure = SwitchTraffic(5, 1, {GREEN: 0, BLUE: 4}, 1.0, 2.0, 3.0)
    assert traffic.problems(figure, 0, None) == ["users during the switch: 1 of 5 requests failed (allowed 0)"]
