"""Runtime API commands are built only from safe names, and answers are read by their real shapes."""

from __future__ import annotations

import pytest

from bluegreen.core import haproxy
from bluegreen.core.checks import check_passing
from bluegreen.errors import RuntimeApiError
from bluegreen.switching.base import KeptMapEntry, KeptRead, KeptServerStates, MapEntry, Read, kept_path

# Answers captured from HAProxy 2.6.12 (Debian 12) on this kind of machine.
GET_MAP_FOUND = (
    'type=str, case=sensitive, found=yes, idx=tree, key="theoshift.example.test", '
    'value="theoshift_green", type="str"\n\n'
)
GET_MAP_MISSING = "type=str, case=sensitive, found=no\n\n"
SERVERS_STATE_HEADER = (
    "# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight"
    " srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state"
    " srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port"
    " srv_check_addr srv_agent_addr srv_agent_port"
)
SERVERS_STATE = f"""1
{SERVERS_STATE_HEADER}
6 ldc 1 blue 127.0.0.1 2 0 1 1 1 15 3 4 6 0 0 0 - 19101 - 0 0 - - 0
6 ldc 2 green 127.0.0.1 2 8 1 1 0 15 3 4 6 0 0 0 - 19101 - 0 0 - - 0
6 ldc 3 old 127.0.0.1 2 5 1 1 0 15 3 4 6 0 0 0 - 19101 - 0 0 - - 0
6 ldc 4 back 127.0.0.1 2 4 1 1 0 15 3 4 6 0 0 0 - 19101 - 0 0 - - 0

"""
STAT = (
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,status,weight,check_status,hrsp_5xx\n"
    "fe,FRONTEND,,,0,0,9978,0,OPEN,,,0\n"
    "ldc,blue,0,0,2,0,,0,UP,1,L7OK,3\n"
    "ldc,green,0,0,0,0,,0,DRAIN,1,* L7OK,0\n"
    "ldc,gone,0,0,0,0,,0,DOWN,1,L4CON,0\n"
    "ldc,off,0,0,0,0,,0,MAINT,1,,0\n"
    "ldc,BACKEND,0,0,2,0,,0,UP,2,,3\n\n"
)
INFO = "Name: HAProxy\nVersion: 2.6.12-1+deb12u4\nPid: 4240\nUptime_sec: 17\n\n"


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            lambda: haproxy.get_map("/etc/haproxy/apps.map", "theoshift.example.test"),
            "get map /etc/haproxy/apps.map theoshift.example.test",
        ),
        (
            lambda: haproxy.set_map("/etc/haproxy/apps.map", "a.test", "a_blue"),
            "set map /etc/haproxy/apps.map a.test a_blue",
        ),
        (lambda: haproxy.set_server_state("ldc", "green", "drain"), "set server ldc/green state drain"),
        (lambda: haproxy.show_servers_state("ldc"), "show servers state ldc"),
        (lambda: haproxy.show_servers_state(), "show servers state"),
    ],
)
def test_commands_are_one_line_from_safe_names(command: object, expected: str) -> None:
    assert command() == expected  # type: ignore[operator]


@pytest.mark.parametrize(
    "hostile",
    [
        "theoshift; shutdown sessions server ldc/blue",
        "a b",
        "a\nshow info",
        "%[req.hdr(host)]",
        "",
        "x" * 300,
        "ldc/green",
        "$(id)",
    ],
)
def test_hostile_names_are_refused(hostile: str) -> None:
    with pytest.raises(ValueError, match="unsafe HAProxy name"):
        haproxy.set_server_state("ldc", hostile, "ready")
    with pytest.raises(ValueError, match="unsafe HAProxy name"):
        haproxy.set_map("/etc/haproxy/apps.map", hostile, "a_blue")


@pytest.mark.parametrize("hostile", ["relative.map", "/etc/../etc/passwd", "/a b", "/a;show info", "/a\n"])
def test_hostile_paths_are_refused(hostile: str) -> None:
    with pytest.raises(ValueError, match="unsafe path"):
        haproxy.get_map(hostile, "a.test")


def test_get_map_answers() -> None:
    assert haproxy.parse_get_map(GET_MAP_FOUND, "theoshift.example.test", "lb1") == "theoshift_green"
    assert haproxy.parse_get_map(GET_MAP_MISSING, "x", "lb1") is None
    with pytest.raises(RuntimeApiError, match="lb1: cannot read map entry"):
        haproxy.parse_get_map("Unknown map identifier. Please use #<id> or <file>.\n\n", "x", "lb1")


@pytest.mark.parametrize(
    "answer", ["entry not found.\n\n", "No such server.\n\n", "Permission denied\n\n", "Unknown command.\n"]
)
def test_a_set_that_answers_text_failed(answer: str) -> None:
    with pytest.raises(RuntimeApiError, match=f"lb2: `set map /m k v` was refused: {answer.strip()}"):
        haproxy.expect_empty("set map /m k v", answer, "lb2")


def test_a_set_that_answers_nothing_succeeded() -> None:
    haproxy.expect_empty("set server ldc/blue state ready; set server ldc/green state drain", "\n\n", "lb1")


def test_servers_state_reads_admin_bits() -> None:
    states = haproxy.parse_servers_state(SERVERS_STATE, "lb1")
    assert {name: state.label for name, state in states.items()} == {
        "blue": "ready",
        "green": "drain",
        "old": "maint",  # 0x01 forced maintenance (with 0x04)
        "back": "ready",  # 0x04 alone: config `disabled` left over on a server set back to ready
    }


def test_servers_state_refuses_an_error_answer() -> None:
    with pytest.raises(RuntimeApiError, match="show servers state"):
        haproxy.parse_servers_state("Can't find backend.\n\n", "lb1")


@pytest.mark.parametrize(
    "answer",
    [
        f"1\n{SERVERS_STATE_HEADER}\n6 ldc 1\n",  # a row cut short (was a KeyError)
        "1\n# be_id srv_id\n6 1\n",  # a header without the columns read (was a KeyError)
    ],
)
def test_servers_state_refuses_rows_with_columns_missing(answer: str) -> None:
    with pytest.raises(RuntimeApiError, match="lb1: `show servers state` answered a row with columns missing"):
        haproxy.parse_servers_state(answer, "lb1")


def test_stat_rows_are_read_by_header_names() -> None:
    views = {view.server: view for view in haproxy.parse_stat(STAT, "lb1")}
    assert set(views) == {"blue", "green", "gone", "off"}
    assert (views["blue"].sessions, views["blue"].http_5xx, views["blue"].check_status) == (2, 3, "L7OK")
    assert views["green"].check_status == "L7OK"  # a check in progress is shown as "* L7OK"
    assert [name for name, view in views.items() if check_passing(view)] == ["blue", "green"]


def test_stat_refuses_a_non_csv_answer() -> None:
    with pytest.raises(RuntimeApiError, match="show stat"):
        haproxy.parse_stat("Permission denied\n", "lb1")


def test_stat_skips_an_empty_line_between_rows() -> None:
    views = haproxy.parse_stat("# pxname,svname,scur\nldc,blue,1\n\nldc,green,0\n", "lb1")
    assert [(view.server, view.sessions) for view in views] == [("blue", 1), ("green", 0)]


@pytest.mark.parametrize(
    "answer",
    [
        "# pxname,svname,scur\nldc\n",  # a row too short to name its server (was a KeyError)
        "# pxname,\nldc,blue\n",  # a header without svname (was a KeyError)
        "# pxname,svname\nldc," + "x" * 140_000 + "\n",  # a field over csv's size limit (was a csv.Error)
    ],
)
def test_stat_refuses_rows_it_cannot_read(answer: str) -> None:
    with pytest.raises(RuntimeApiError, match="lb1: `show stat` answered"):
        haproxy.parse_stat(answer, "lb1")


def test_info() -> None:
    info = haproxy.parse_info(INFO, "lb1")
    assert (info.name, info.version, info.pid, info.uptime_s) == ("lb1", "2.6.12-1+deb12u4", 4240, 17)
    with pytest.raises(RuntimeApiError, match="did not answer like HAProxy"):
        haproxy.parse_info("Unknown command\n", "lb1")


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("a.test a_green\nb.test b_blue\n", "a.test a_blue\nb.test b_blue\n"),
        ("# apps\n\na.test   a_green\n", "# apps\n\na.test a_blue\n"),
        ("b.test b_blue", "b.test b_blue\na.test a_blue\n"),
        ("a.test.other x\n", "a.test.other x\na.test a_blue\n"),
        ("a.test a_green\nb.test b_blue\na.test a_old\n", "a.test a_blue\nb.test b_blue\n"),  # was two lines
    ],
)
def test_rewrite_map_changes_one_key_and_keeps_the_rest(before: str, after: str) -> None:
    assert haproxy.rewrite_map(before, "a.test", "a_blue") == after


@pytest.mark.parametrize("state", ["ready; shutdown sessions server ldc/blue", "READY", "", "maint\n"])
def test_a_server_state_outside_the_three_is_refused(state: str) -> None:
    with pytest.raises(ValueError, match="unsafe server state"):
        haproxy.set_server_state("ldc", "blue", state)  # type: ignore[arg-type]


# --- the files a reload reads -----------------------------------------------------------------------------------

# A lab host's server-state file, as `show servers state` dumped it (HAProxy 2.6.12): ldc_tools/green was written
# `disabled` in haproxy.cfg (0x04) and is in forced maintenance (0x01); after `state drain` it is 12 (0x04 | 0x08).
STATE_FILE_TEXT = f"""1
{SERVERS_STATE_HEADER}
4 theoshift_blue 1 blue 127.0.0.1 2 0 1 1 0 15 3 3 6 0 0 0 - 24293 - 0 0 - - 0
5 theoshift_green 1 green 127.0.0.1 2 0 1 1 0 15 3 3 6 0 0 0 - 29762 - 0 0 - - 0
6 ldc_tools 1 blue 127.0.0.1 2 0 1 1 0 15 3 3 6 0 0 0 - 24295 - 0 0 - - 0
6 ldc_tools 2 green 127.0.0.1 0 5 1 1 0 1 0 0 14 0 0 0 - 21699 - 0 0 - - 0

"""
DRAINED = STATE_FILE_TEXT.replace("127.0.0.1 0 5 1 1 0 1 0 0 14", "127.0.0.1 2 12 1 1 0 1 0 2 6")


@pytest.mark.parametrize(
    ("text", "found"),
    [
        (
            STATE_FILE_TEXT,
            {
                "theoshift_blue": {"blue": "ready"},
                "theoshift_green": {"green": "ready"},
                "ldc_tools": {"blue": "ready", "green": "maint"},
            },
        ),
        (
            DRAINED,
            {
                "theoshift_blue": {"blue": "ready"},
                "theoshift_green": {"green": "ready"},
                "ldc_tools": {"blue": "ready", "green": "drain"},
            },
        ),
        # the columns are read by the header's names, wherever they are
        (
            "1\n# srv_admin_state be_id srv_name be_name\n8 6 blue ldc_tools\n0 6 green ldc_tools\n",
            {"ldc_tools": {"blue": "drain", "green": "ready"}},
        ),
        # a row cut short is skipped, as HAProxy skips it; the rest still counts
        (
            f"1\n{SERVERS_STATE_HEADER}\n6 ldc_tools 1\n6 ldc_tools 2 green 127.0.0.1 2 0 1\n",
            {"ldc_tools": {"green": "ready"}},
        ),
        (f"1\n{SERVERS_STATE_HEADER}\n", {}),  # a dump of a configuration without servers
        ("", None),  # empty: HAProxy warns and ignores it
        ("2\n# be_id be_name\n", None),  # a version HAProxy 2.6 does not read
        ("Can't find backend.\n\n", None),  # an error answer dumped by a careless reload script
        ("theoshift.example.test theoshift_green\n", None),  # the map file, given as the state file
    ],
    ids=["dumped", "drained", "columns by name", "short row", "no servers", "empty", "version 2", "error", "map"],
)
def test_a_server_state_file_is_read_by_its_header(text: str, found: dict[str, dict[str, str]] | None) -> None:
    backends = haproxy.parse_state_file(text)
    labels = (
        None if backends is None else {b: {s: state.label for s, state in by.items()} for b, by in backends.items()}
    )
    assert labels == found


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("theoshift.test t_green\n", "t_green"),
        ("# theoshift.test t_blue\ntheoshift.test\tt_green\n", "t_green"),  # a comment, a tab
        ("other.test t_blue\n\n  theoshift.test   t_green  \n", "t_green"),  # blank line, spaces around
        ("theoshift.test t_green\ntheoshift.test t_blue\n", "t_green"),  # the first line wins
        ("theoshift.test.example t_blue\ntheoshift.tes t_blue\n", None),  # the key is the whole first word
        ("theoshift.test\n", ""),  # no value: neither color's backend
        ("", None),
    ],
    ids=["one line", "comment and tab", "spaces", "first wins", "whole word", "no value", "empty"],
)
def test_a_map_files_line_for_a_key_is_read_as_haproxy_loads_it(text: str, value: str | None) -> None:
    assert haproxy.map_file_value(text, "theoshift.test") == value


def test_kept_reads_are_answered_from_their_files_each_read_once() -> None:
    entry, states = KeptMapEntry("/m.map", "theoshift.test"), KeptServerStates("/state", "ldc_tools")
    other = KeptMapEntry("/m.map", "ldc-tools.test")
    reads: list[Read] = [MapEntry("/m.map", "theoshift.test"), entry, states, other]
    assert haproxy.runtime_reads(reads) == (MapEntry("/m.map", "theoshift.test"),)
    assert haproxy.kept_files(reads) == ("/m.map", "/state")
    files = {"/m.map": "theoshift.test t_blue\n", "/state": DRAINED}
    found = haproxy.answers(reads, [GET_MAP_FOUND], "lb1", files)
    assert found.entries == {MapEntry("/m.map", "theoshift.test"): "theoshift_green"}
    assert found.kept_entries == {entry: "t_blue", other: None}
    assert {name: state.label for name, state in found.kept_states[states].items()} == {
        "blue": "ready",
        "green": "drain",
    }
    assert found.unkept == {}


@pytest.mark.parametrize(
    ("read", "text", "why"),
    [
        (KeptMapEntry("/m.map", "k"), None, "does not exist: a reload would fail"),
        (KeptServerStates("/s", "b"), None, "does not exist: a reload starts the servers as haproxy.cfg writes them"),
        (
            KeptServerStates("/s", "b"),
            "",
            "is not a server-state file: a reload starts the servers as haproxy.cfg writes them",
        ),
    ],
    ids=["no map file", "no state file", "not a state file"],
)
def test_a_file_that_tells_nothing_says_why(read: KeptRead, text: haproxy.FileText, why: str) -> None:
    found = haproxy.answers([read], [], "lb1", {kept_path(read): text})
    assert (found.unkept, found.unread) == ({read: why}, {})


@pytest.mark.parametrize(
    ("read", "why"),
    [
        (KeptMapEntry("/m.map", "k"), "lb1: Permission denied"),
        (KeptServerStates("/s", "b"), "lb1: cannot start SFTP"),
    ],
    ids=["map unreadable", "no SFTP"],
)
def test_a_file_that_cannot_be_read_is_told_apart_from_one_that_tells_nothing(read: KeptRead, why: str) -> None:
    """It tells nothing either way, but nothing is known of it: a drift to show, not a repair to make."""
    found = haproxy.answers([read], [], "lb1", {kept_path(read): haproxy.Unreadable(why)})
    assert (found.unkept, found.unread) == ({}, {read: why})


def test_a_backend_the_state_file_does_not_name_has_no_servers_there() -> None:
    read = KeptServerStates("/s", "other_backend")
    assert haproxy.answers([read], [], "lb1", {"/s": STATE_FILE_TEXT}).kept_states == {read: {}}


def test_a_kept_path_is_checked_before_it_reaches_sftp() -> None:
    with pytest.raises(ValueError, match="unsafe path"):
        haproxy.kept_files([KeptMapEntry("/etc/haproxy/../shadow", "k")])
