"""HAProxy's runtime API: building commands from checked names, and reading the answers; and the files HAProxy
reads on a reload (the map file, the server-state file), read as it reads them. Pure.

Every command is one line. Names and paths are validated again here (the schemas check them once already),
because a space, a `;` or a newline would turn one command into several.
The API answers a failed command with text and a successful `set` with nothing: `expect_empty` turns the
former into a RuntimeApiError, since the transport (and socat) cannot tell them apart.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from bluegreen.errors import RuntimeApiError
from bluegreen.model import HostInfo, ServerView
from bluegreen.switching.base import (
    TARGET_STATES,
    AdminState,
    Answers,
    KeptMapEntry,
    KeptRead,
    KeptServerStates,
    MapEntry,
    Read,
    ServerStates,
    SetMapEntry,
    SetServerStates,
    TargetState,
    kept_path,
)

_NAME = re.compile(r"[A-Za-z0-9_.:-]{1,253}")
_PATH = re.compile(r"/[A-Za-z0-9_./-]{1,255}")


def name(value: str) -> str:
    """A backend, server or map key as it may appear in a runtime command."""
    if not _NAME.fullmatch(value):
        raise ValueError(f"unsafe HAProxy name {value!r}")
    return value


def path(value: str) -> str:
    if not _PATH.fullmatch(value) or "/../" in f"{value}/":
        raise ValueError(f"unsafe path {value!r}")
    return value


# --- commands -------------------------------------------------------------------------------------------------

SHOW_INFO = "show info"
SHOW_STAT = "show stat"
SHOW_CLI_LEVEL = "show cli level"  # the socket's level: `admin` for a switch


def get_map(map_file: str, key: str) -> str:
    return f"get map {path(map_file)} {name(key)}"


def set_map(map_file: str, key: str, backend: str) -> str:
    return f"set map {path(map_file)} {name(key)} {name(backend)}"


def show_servers_state(backend: str | None = None) -> str:
    return "show servers state" if backend is None else f"show servers state {name(backend)}"


def set_server_state(backend: str, server: str, state: TargetState) -> str:
    if state not in TARGET_STATES:  # data that crossed the port: a `;` here would be a second command
        raise ValueError(f"unsafe server state {state!r}")
    return f"set server {name(backend)}/{name(server)} state {state}"


RuntimeRead = MapEntry | ServerStates


def read_command(read: RuntimeRead) -> str:
    """The one command that answers a switch method's read of the runtime."""
    if isinstance(read, MapEntry):
        return get_map(read.map_file, read.key)
    return show_servers_state(read.backend)


def runtime_reads(reads: Sequence[Read]) -> tuple[RuntimeRead, ...]:
    """The reads a runtime command answers, in order."""
    return tuple(read for read in reads if isinstance(read, MapEntry | ServerStates))


def kept_files(reads: Sequence[Read]) -> tuple[str, ...]:
    """The files the other reads are answered from, each once (checked paths: they go into an SFTP request)."""
    return tuple(
        dict.fromkeys(path(kept_path(read)) for read in reads if isinstance(read, KeptMapEntry | KeptServerStates))
    )


def change_command(change: SetMapEntry | SetServerStates) -> str:
    """A runtime change as one command line (`;` separates the commands of one line)."""
    if isinstance(change, SetMapEntry):
        return set_map(change.map_file, change.key, change.value)
    return "; ".join(set_server_state(change.backend, server, state) for server, state in change.states)


@dataclass(frozen=True)
class Unreadable:
    """A file that could not be read (no SFTP, no permission, not UTF-8 text): why, in words."""

    why: str


FileText = str | Unreadable | None  # a file's text; None: there is no such file


def answers(reads: Sequence[Read], texts: Sequence[str], host: str, files: Mapping[str, FileText] = {}) -> Answers:
    """The answers to `reads`: HAProxy's text for each runtime read (`texts`, in their order), and the files the
    kept reads are answered from, by path (`kept_files`)."""
    entries: dict[MapEntry, str | None] = {}
    states: dict[str, dict[str, AdminState]] = {}
    for read, text in zip(runtime_reads(reads), texts, strict=True):
        if isinstance(read, MapEntry):
            entries[read] = parse_get_map(text, read.key, host)
        else:
            states[read.backend] = parse_servers_state(text, host)
    kept = [read for read in reads if isinstance(read, KeptMapEntry | KeptServerStates)]
    return _kept_answers(kept, files, Answers(entries, states))


_CONFIG_STATES = "a reload starts the servers as haproxy.cfg writes them"


def _kept_answers(reads: Sequence[KeptRead], files: Mapping[str, FileText], found: Answers) -> Answers:
    entries: dict[KeptMapEntry, str | None] = {}
    states: dict[KeptServerStates, dict[str, AdminState]] = {}
    unkept: dict[KeptRead, str] = {}
    unread: dict[KeptRead, str] = {}
    for read in reads:
        text = files[kept_path(read)]
        if isinstance(text, Unreadable):
            unread[read] = text.why
        elif text is None:  # without its map file HAProxy does not load the configuration at all
            missing = "a reload would fail" if isinstance(read, KeptMapEntry) else _CONFIG_STATES
            unkept[read] = f"does not exist: {missing}"
        elif isinstance(read, KeptMapEntry):
            entries[read] = map_file_value(text, read.key)
        elif (by_backend := parse_state_file(text)) is None:
            unkept[read] = f"is not a server-state file: {_CONFIG_STATES}"
        else:
            states[read] = by_backend.get(read.backend, {})
    return Answers(found.entries, found.states, entries, states, unkept, unread)


# --- answers --------------------------------------------------------------------------------------------------


def expect_empty(command: str, answer: str, host: str) -> None:
    """A `set` succeeded only when HAProxy answered nothing."""
    if answer.strip():
        raise RuntimeApiError(
            f"{host}: `{command}` was refused: {answer.strip()}",
            hint="check the names in state/environments.json against the HAProxy configuration",
        )


def parse_info(answer: str, host: str) -> HostInfo:
    fields = dict(_key_values(answer, ":"))
    if fields.get("Name") != "HAProxy" or "Pid" not in fields:
        raise RuntimeApiError(f"{host}: `show info` did not answer like HAProxy: {answer[:200]!r}")
    return HostInfo(
        name=host,
        version=fields.get("Version", "unknown"),
        uptime_s=_int(fields.get("Uptime_sec", "0")),
        pid=_int(fields["Pid"]),
    )


def parse_get_map(answer: str, key: str, host: str) -> str | None:
    """The value a map holds for `key`; None when the map has no such key."""
    fields = dict(_key_values(answer.replace(", ", "\n"), "="))
    if fields.get("found") == "no":
        return None
    if fields.get("found") != "yes" or "value" not in fields:
        raise RuntimeApiError(f"{host}: cannot read map entry {key!r}: {answer.strip()[:200]}")
    return fields["value"].strip('"')


def parse_stat(answer: str, host: str) -> tuple[ServerView, ...]:
    """The server rows of `show stat` (CSV, read by its header's names)."""
    lines = answer.strip().splitlines()
    if not lines or not lines[0].startswith("# pxname,"):
        raise RuntimeApiError(f"{host}: `show stat` did not answer a CSV table: {answer[:200]!r}")
    header = lines[0][2:].split(",")
    try:
        rows = [dict(zip(header, row, strict=False)) for row in csv.reader(lines[1:]) if row]
    except csv.Error as exc:  # e.g. a field over csv's size limit
        raise RuntimeApiError(f"{host}: `show stat` answered unreadable CSV: {exc}") from None
    if any("svname" not in row for row in rows):
        raise RuntimeApiError(f"{host}: `show stat` answered a row without a server name: {answer[:200]!r}")
    return tuple(_server_view(row) for row in rows if row["svname"] not in ("FRONTEND", "BACKEND"))


def _server_view(row: Mapping[str, str]) -> ServerView:
    return ServerView(
        backend=row["pxname"],
        server=row["svname"],
        status=row.get("status", ""),
        check_status=row.get("check_status", "").removeprefix("* "),
        sessions=_int(row.get("scur", "0")),
        http_5xx=_int(row.get("hrsp_5xx", "0")),
        weight=_int(row.get("weight", "0")),
    )


def parse_servers_state(answer: str, host: str) -> dict[str, AdminState]:
    """One backend's servers by name, from `show servers state <backend>`."""
    rows = _state_rows(answer)
    if rows is None:
        raise RuntimeApiError(f"{host}: `show servers state` answered: {answer.strip()[:200]}")
    if any(not row.keys() >= _STATE_COLUMNS for row in rows):
        raise RuntimeApiError(
            f"{host}: `show servers state` answered a row with columns missing: {answer.strip()[:200]}"
        )
    return {row["srv_name"]: _admin_state(row) for row in rows}


def parse_state_file(text: str) -> dict[str, dict[str, AdminState]] | None:
    """Every backend's servers by name, from a server-state file (`show servers state` dumped); None when the text
    is not one (HAProxy then ignores it on a reload). A row cut short is skipped, as HAProxy skips it."""
    rows = _state_rows(text)
    if rows is None:
        return None
    backends: dict[str, dict[str, AdminState]] = {}
    for row in rows:
        if row.keys() >= _STATE_COLUMNS:
            backends.setdefault(row["be_name"], {})[row["srv_name"]] = _admin_state(row)
    return backends


_STATE_COLUMNS = frozenset({"be_name", "srv_name", "srv_admin_state"})


def _state_rows(text: str) -> list[dict[str, str]] | None:
    """The rows of `show servers state` text by its header's column names (the version line `1`, then the
    `# be_id be_name ...` header); None when the text does not start so."""
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2 or lines[0].strip() != "1" or not lines[1].startswith("# "):
        return None
    header = lines[1][2:].split()
    return [dict(zip(header, line.split(), strict=False)) for line in lines[2:] if not line.startswith("#")]


def _admin_state(row: Mapping[str, str]) -> AdminState:
    return AdminState(row["be_name"], row["srv_name"], _int(row["srv_admin_state"]))


def map_file_value(text: str, key: str) -> str | None:
    """The value a map file gives `key`, as HAProxy loads it: the first line whose first word is the key (a `#`
    comment never starts with a checked key); None when no line has it."""
    for line in text.splitlines():
        fields = line.split(None, 1)
        if fields and fields[0] == key:
            return fields[1].strip() if len(fields) > 1 else ""
    return None


def _key_values(text: str, separator: str) -> Iterable[tuple[str, str]]:
    for line in text.splitlines():
        key, found, value = line.partition(separator)
        if found:
            yield key.strip(), value.strip()


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        return 0


def rewrite_map(text: str, key: str, value: str) -> str:
    """The map file with `key` pointing at `value` on one line (a repeat of the key is dropped): other lines,
    comments included, stay as they are."""
    lines, found = [], False
    for line in text.splitlines():
        fields = line.split()
        if fields and fields[0] == key:
            if found:
                continue
            line, found = f"{key} {value}", True
        lines.append(line)
    if not found:
        lines.append(f"{key} {value}")
    return "\n".join(lines) + "\n"
