"""Properties of the runtime API's pure half: no input turns one command into two or gains an argument, no answer
makes a parser fail with anything but RuntimeApiError, and rewriting a map file changes exactly one key."""

from __future__ import annotations

import string
from collections.abc import Callable

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bluegreen.core import haproxy
from bluegreen.errors import RuntimeApiError
from bluegreen.model import HostInfo, ServerView
from bluegreen.switching.base import AdminState
from tests.unit.core.test_haproxy import GET_MAP_FOUND, GET_MAP_MISSING, INFO, SERVERS_STATE, STAT

# --- inputs -------------------------------------------------------------------------------------------------------

NAME_CHARS = string.ascii_letters + string.digits + "_.:-"
# what could split a command or add an argument, and look-alikes a lax check (\s, \w, `$`) would let through
SEPARATORS = (";", "\n", "\r", "\r\n", "\x00", " ", "\t", "\x0b", "\x0c", "\x85", "\u2028", "\u00a0", "\u3000")
OTHER_HOSTILE = ("#", "/", "..", "%[", "$(", "`", '"', "'", "\\", "é", "ℌ", "１", "\ufeff", "\U0001f600")

# the allowed patterns, [A-Za-z0-9_.:-]{1,253} and /[A-Za-z0-9_./-]{1,255} without a `..` segment
valid_names = st.text(NAME_CHARS, min_size=1, max_size=253)
_segments = st.text(NAME_CHARS.replace(":", ""), max_size=24).filter(lambda segment: segment != "..")
valid_paths = (
    st.lists(_segments, min_size=1, max_size=8)
    .map(lambda segments: "/" + "/".join(segments))
    .filter(lambda value: 2 <= len(value) <= 256)
)
_hostile_pieces = st.one_of(st.sampled_from(SEPARATORS), st.sampled_from(SEPARATORS + OTHER_HOSTILE))


@st.composite
def injected(draw: st.DrawFn, valid: st.SearchStrategy[str]) -> str:
    """A valid value with one or two hostile pieces put anywhere in it."""
    value = draw(valid)
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(value)))
        value = value[:at] + draw(_hostile_pieces) + value[at:]
    return value


hostile_text = st.one_of(
    injected(valid_names),
    st.text(),  # any unicode, control characters included
    st.lists(st.one_of(st.sampled_from(NAME_CHARS), _hostile_pieces), max_size=30).map("".join),
    st.text(NAME_CHARS, min_size=245, max_size=300),  # around the 253 limit
    valid_names.map(lambda value: value + "\n"),  # what a regex `$` lets through
)
hostile_paths = st.one_of(
    injected(valid_paths),
    hostile_text,
    hostile_text.map(lambda value: "/" + value),
    valid_paths.map(lambda value: value + "/.."),
    valid_paths.map(lambda value: value + "/../etc/passwd"),
    st.text(NAME_CHARS + "/", min_size=250, max_size=300).map(lambda value: "/" + value),  # around 255
)
states = st.sampled_from(("ready", "drain", "maint"))  # TargetState: a Literal, so mypy checks what callers pass


def assert_one_command(command: str, words: list[str]) -> None:
    """`command` is exactly `words` joined by single spaces, and nothing in it can end a command or add an argument."""
    for forbidden in (";", "\n", "\r", "\x00"):
        assert forbidden not in command
    assert command.isprintable()  # no control, format, line/paragraph separator or non-ASCII space characters
    assert command.split(" ") == words
    assert all(word and word.split() == [word] for word in words)


def assert_safe_argument(built: str, value: str) -> None:
    assert built == value
    assert_one_command(f"x {built}", ["x", value])


# --- commands -----------------------------------------------------------------------------------------------------


@given(hostile_text)
@example("theoshift; shutdown sessions server ldc/blue")
@example("a\n")
@example("x" * 254)
def test_name_returns_its_input_as_one_safe_word_or_refuses(value: str) -> None:
    try:
        built = haproxy.name(value)
    except ValueError:
        return
    assert_safe_argument(built, value)
    assert set(value) <= set(NAME_CHARS)
    assert 1 <= len(value) <= 253


@given(hostile_paths)
@example("/etc/..")
@example("/etc/../passwd")
@example("/a\n")
@example("/" + "a" * 256)
def test_path_returns_its_input_as_one_safe_word_that_never_climbs_or_refuses(value: str) -> None:
    try:
        built = haproxy.path(value)
    except ValueError:
        return
    assert_safe_argument(built, value)
    assert value.startswith("/")
    assert ".." not in value.split("/")


@st.composite
def arguments(draw: st.DrawFn, *kinds: str) -> list[str]:
    """Valid names and paths for `kinds`, but one of them (the one a test is about) hostile."""
    values = [draw(valid_paths if kind == "path" else valid_names) for kind in kinds]
    at = draw(st.integers(0, len(kinds) - 1))
    values[at] = draw(hostile_paths if kinds[at] == "path" else hostile_text)
    return values


@given(arguments("path", "name"))
def test_get_map_is_one_command_of_four_words(args: list[str]) -> None:
    map_file, key = args
    try:
        command = haproxy.get_map(map_file, key)
    except ValueError:
        return
    assert_one_command(command, ["get", "map", map_file, key])


@given(arguments("path", "name", "name"))
def test_set_map_is_one_command_of_five_words(args: list[str]) -> None:
    map_file, key, backend = args
    try:
        command = haproxy.set_map(map_file, key, backend)
    except ValueError:
        return
    assert_one_command(command, ["set", "map", map_file, key, backend])


@given(arguments("name"))
def test_show_servers_state_is_one_command_of_four_words(args: list[str]) -> None:
    [backend] = args
    try:
        command = haproxy.show_servers_state(backend)
    except ValueError:
        return
    assert_one_command(command, ["show", "servers", "state", backend])


@given(arguments("name", "name"), states)
def test_set_server_state_is_one_command_naming_one_server(args: list[str], state: str) -> None:
    backend, server = args
    try:
        command = haproxy.set_server_state(backend, server, state)  # type: ignore[arg-type]  # one of TargetState
    except ValueError:
        return
    assert_one_command(command, ["set", "server", f"{backend}/{server}", "state", state])
    assert command.split(" ")[2].count("/") == 1  # exactly one backend/server pair


# each builder with valid arguments; "path" arguments may hold `/` and `..` (not as a segment), names `..`
BUILDERS: list[tuple[Callable[..., str], tuple[str, ...], tuple[str, ...]]] = [
    (haproxy.name, ("a.test",), ("name",)),
    (haproxy.path, ("/etc/haproxy/apps.map",), ("path",)),
    (haproxy.get_map, ("/etc/haproxy/apps.map", "a.test"), ("path", "name")),
    (haproxy.set_map, ("/etc/haproxy/apps.map", "a.test", "a_blue"), ("path", "name", "name")),
    (haproxy.show_servers_state, ("ldc",), ("name",)),
    (lambda backend, server: haproxy.set_server_state(backend, server, "drain"), ("ldc", "green"), ("name", "name")),
]
ALLOWED_PIECES = {"name": {".."}, "path": {"/", ".."}}


@pytest.mark.parametrize("piece", SEPARATORS + OTHER_HOSTILE)
def test_every_hostile_piece_is_refused_anywhere_in_any_argument(piece: str) -> None:
    """The sure net under the properties above: each piece at the start, middle and end of each argument."""
    for build, valid, kinds in BUILDERS:
        assert build(*valid)
        for at, (argument, kind) in enumerate(zip(valid, kinds, strict=True)):
            if piece in ALLOWED_PIECES[kind]:
                continue
            for position in (0, 1, len(argument)):
                args = list(valid)
                args[at] = argument[:position] + piece + argument[position:]
                with pytest.raises(ValueError, match="unsafe"):
                    build(*args)


@given(valid_paths, valid_names, valid_names, valid_names, states)
def test_valid_names_always_build_and_appear_verbatim(
    map_file: str, key: str, backend: str, server: str, state: str
) -> None:
    assert haproxy.name(key) == key
    assert haproxy.path(map_file) == map_file
    assert_one_command(haproxy.get_map(map_file, key), ["get", "map", map_file, key])
    assert_one_command(haproxy.set_map(map_file, key, backend), ["set", "map", map_file, key, backend])
    assert_one_command(haproxy.show_servers_state(backend), ["show", "servers", "state", backend])
    assert_one_command(
        haproxy.set_server_state(backend, server, state),  # type: ignore[arg-type]  # one of TargetState
        ["set", "server", f"{backend}/{server}", "state", state],
    )


# --- answers ------------------------------------------------------------------------------------------------------

FIELD_NOISE = st.one_of(
    st.sampled_from(["", "-", "-1", "1e3", "0x10", "NaN", "١٢", " 7 ", "9" * 30, "9" * 5000, '"', '"a,b"', "* L7OK"]),
    st.sampled_from(["FRONTEND", "BACKEND", "#", "=", ":", ",", " ", "found=yes", "value="]),
    st.text(max_size=8),
)
LINE_ENDS = st.sampled_from(["\n", "\r\n", "\r"])


@st.composite
def near(draw: st.DrawFn, seed: str, separator: str) -> str:
    """`seed` (a real answer) with lines dropped, doubled or blanked, fields dropped, added or replaced."""
    lines: list[str] = []
    for line in seed.splitlines():
        fields = line.split(separator)
        operation = draw(st.sampled_from(["keep"] * 4 + ["drop", "double", "blank", "cut", "extend", "field", "noise"]))
        if operation == "keep":
            lines.append(line)
        elif operation == "double":
            lines += [line, line]
        elif operation == "blank":
            lines += [line, draw(st.sampled_from(["", " ", "\t"]))]
        elif operation == "cut":
            lines.append(separator.join(fields[: draw(st.integers(0, max(0, len(fields) - 1)))]))
        elif operation == "extend":
            lines.append(separator.join(fields + draw(st.lists(FIELD_NOISE, min_size=1, max_size=3))))
        elif operation == "field":
            index = draw(st.integers(0, len(fields) - 1))
            lines.append(separator.join([*fields[:index], draw(FIELD_NOISE), *fields[index + 1 :]]))
        elif operation == "noise":
            lines.append(draw(st.text(max_size=20)))
    end = draw(LINE_ENDS)
    return end.join(lines) + draw(st.sampled_from(["", end, end * 2]))


# symbols of the formats, so noise sometimes looks like an answer
FORMAT_ALPHABET = st.sampled_from([*"# ,=:\n\r\t\"'*-01789", "pxname", "svname", "be_id", "Name", "HAProxy"])
noise = st.one_of(st.text(), st.lists(FORMAT_ALPHABET, max_size=40).map("".join))
hosts = st.sampled_from(["lb1", "lb-2.example.test", ""])


def answers(seed: str, separator: str, header: str) -> st.SearchStrategy[str]:
    return st.one_of(noise, near(seed, separator), noise.map(lambda tail: header + tail))


def returns_or_refuses(parse: Callable[[], object]) -> object | None:
    """What `parse` returns; None when it refused with RuntimeApiError. Any other exception fails the test."""
    try:
        return parse()
    except RuntimeApiError as error:
        refused = error
    assert refused.message
    return None


@given(answers(INFO, ": ", "Name: HAProxy\nPid: "), hosts)
def test_parse_info_returns_host_info_or_refuses(answer: str, host: str) -> None:
    info = returns_or_refuses(lambda: haproxy.parse_info(answer, host))
    if info is not None:
        assert isinstance(info, HostInfo)
        assert info.name == host
        assert type(info.version) is str
        assert type(info.pid) is int
        assert type(info.uptime_s) is int


@given(
    st.one_of(answers(GET_MAP_FOUND, ", ", "found=yes, value="), near(GET_MAP_MISSING, ", ")),
    st.text(max_size=10),
    hosts,
)
def test_parse_get_map_returns_a_value_or_none_or_refuses(answer: str, key: str, host: str) -> None:
    value = returns_or_refuses(lambda: haproxy.parse_get_map(answer, key, host))
    assert value is None or type(value) is str


@given(answers(STAT, ",", "# pxname,svname\n"), hosts)
@example("# pxname,svname,scur\nldc\n", "lb1")  # a row too short to name its server
@example("# pxname,svname,scur\nldc,blue,1\n\nldc,green,0\n", "lb1")  # an empty line between rows
@example("# pxname,\nldc,blue\n", "lb1")  # a header without `svname`
@example("# pxname,svname\nldc," + "x" * 140_000 + "\n", "lb1")  # a field over csv's field size limit
def test_parse_stat_returns_server_views_or_refuses(answer: str, host: str) -> None:
    views = returns_or_refuses(lambda: haproxy.parse_stat(answer, host))
    if views is not None:
        assert type(views) is tuple
        for view in views:
            assert isinstance(view, ServerView)
            assert all(type(getattr(view, field)) is str for field in ("backend", "server", "status", "check_status"))
            assert all(type(getattr(view, field)) is int for field in ("sessions", "http_5xx", "weight"))
            assert view.server not in ("FRONTEND", "BACKEND")


@given(answers(SERVERS_STATE, " ", "1\n# be_id be_name srv_name srv_admin_state\n"), hosts)
@example("1\n# be_id be_name srv_id srv_name srv_admin_state\n6 ldc 1\n", "lb1")  # a row missing columns
@example("1\n# be_id srv_id\n6 1\n", "lb1")  # a header without the columns read
def test_parse_servers_state_returns_admin_states_or_refuses(answer: str, host: str) -> None:
    states = returns_or_refuses(lambda: haproxy.parse_servers_state(answer, host))
    if states is not None:
        assert type(states) is dict
        for server, state in states.items():
            assert isinstance(state, AdminState)
            assert state.server == server
            assert type(state.backend) is str
            assert type(state.admin) is int
            assert state.label in ("ready", "drain", "maint")


@given(st.one_of(noise, st.sampled_from(["", "\n\n", " \r\n", "No such server.\n"])), st.text(max_size=40), hosts)
def test_expect_empty_refuses_exactly_the_answers_with_text(answer: str, command: str, host: str) -> None:
    if answer.strip():
        with pytest.raises(RuntimeApiError):
            haproxy.expect_empty(command, answer, host)
    else:
        haproxy.expect_empty(command, answer, host)  # accepted: no RuntimeApiError


# --- map files ----------------------------------------------------------------------------------------------------


@st.composite
def map_texts(draw: st.DrawFn, key: str) -> str:
    """Map files that may hold `key` (once, twice, indented, as a prefix of another key) among other lines."""
    line = st.one_of(
        st.builds(lambda value: f"{key} {value}", valid_names),
        st.builds(lambda space, value: f"{space}{key}{space}{value}", st.sampled_from([" ", "\t", "  "]), valid_names),
        st.builds(lambda other, value: f"{other} {value}", valid_names, valid_names),
        st.builds(lambda value: f"{key}.other {value}", valid_names),
        st.sampled_from(["", "# apps", f"# {key} old", "   ", key]),
        st.text(max_size=20),
    )
    end = draw(LINE_ENDS)
    return end.join(draw(st.lists(line, max_size=8))) + draw(st.sampled_from(["", end]))


@st.composite
def rewrites(draw: st.DrawFn) -> tuple[str, str, str]:
    key = draw(valid_names)
    return draw(st.one_of(map_texts(key), st.text())), key, draw(valid_names)


def first_field_is(line: str, key: str) -> bool:
    return line.split()[:1] == [key]


@given(rewrites())
@example(("a.test a_green\na.test a_old\n", "a.test", "a_blue"))  # a key listed twice
def test_rewrite_map_sets_one_line_for_the_key_and_keeps_every_other_line(case: tuple[str, str, str]) -> None:
    text, key, value = case
    rewritten = haproxy.rewrite_map(text, key, value)
    assert rewritten.endswith("\n")
    lines = rewritten.splitlines()
    assert [line for line in lines if first_field_is(line, key)] == [f"{key} {value}"]
    others = [line for line in text.splitlines() if not first_field_is(line, key)]
    assert [line for line in lines if not first_field_is(line, key)] == others
    assert haproxy.rewrite_map(rewritten, key, value) == rewritten
