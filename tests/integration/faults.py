"""The fault matrix (docs/faults.md): an integration test is one of its rows when it asks for the `fault` fixture.

    watch = fault.watch("HAProxy down on one of two hosts", "lb2: HAProxy stopped before the run", lab, consumer)
    ran = consumer.run("release")
    watch.record(ran.code, ran.out + ran.err, said="cannot open HAProxy's runtime socket", down=("lb2",))

`watch` reads what every host routes, from the real HAProxy (its runtime socket on this machine, not through
bluegreen's SSH), and status.json; `record` reads both again and asserts, for every row:

- every host that answers routes each app to exactly one color, and the file HAProxy reads on a reload (the map
  file, the server-state file) names the same color: a reload would not move the traffic;
- every host is on the same color, and status.json names it as LIVE;
- the exit code means what the README's table says, given what the traffic did (3, 6: nothing moved; 4: what was
  rolled back is back; 5: some host is on the new color, or cannot be read; 130: only what switched moved);
- each app's recorded result, and each host's label in it (`switched`, `restored`, ...), is true of HAProxy;
- the report holds a line with `said`, and the row quotes that whole line as bluegreen wrote it.

Only the fault's name and where it was injected are the test's own words: everything else in a row is observed.
Values that differ from run to run (ports, the lab's folder, times, ids) are replaced by `{port}`, `{lab}`, ...
With BLUEGREEN_FAULT_ROWS naming a folder, a test that passed writes its rows there (JSON lines, one file per
test); scripts/faults renders docs/faults.md from them (tests/faults_table.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from bluegreen import report
from bluegreen.core.outcome import exit_code
from bluegreen.model import STEPS, Color, Outcome
from bluegreen_lab import Sandbox

ROWS_ENV = "BLUEGREEN_FAULT_ROWS"
DOCUMENTED_EXITS = (0, 2, 3, 4, 5, 6, 130)  # README, "The command line"; 1 is a bug, never a row's answer
# srv_admin_state bits that keep new traffic away from a server: maintenance (forced, inherited, resolution,
# hostname) and drain. 0x04 (`disabled` in the config) is not one: it can stay set on a server put back to ready.
NOT_READY = 0x01 | 0x02 | 0x08 | 0x10 | 0x20 | 0x40
SAID_LIMIT = 320
PROGRESS = re.compile(r"^\s*\[\s*\d+\.\d+s\]\s*")  # `  [  0.42s] ...`: a progress line on stderr
# `4 Confirm switch ❌ `: a step's number, name and mark, as the terminal report opens its line
STEP_PREFIX = re.compile(r"^\d+\s+(?:" + "|".join(re.escape(name) for name in STEPS) + r")\s+\S+\s+")
MIN_LOAD = 50  # requests through the public entry while the fault runs, for "0 failed" to say something

Status = Mapping[str, Any]
StatusSource = Callable[[], Status | None]


@dataclass(frozen=True)
class Route:
    """One app on one host: the color HAProxy sends new requests to (None: neither, or both), and the color the
    file it reads on a reload names (`kept`; `keeps` False when the app has no such file)."""

    color: Color | None
    words: str
    kept: Color | None = None
    keeps: bool = False


Routes = Mapping[str, Mapping[str, Route | None]]  # app -> host -> route (None: HAProxy does not answer)


@dataclass(frozen=True)
class Row:
    fault: str
    where: str
    did: str
    exit: str
    traffic: str
    status: str
    said: str
    load: str
    test: str

    def json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)


@dataclass(frozen=True)
class Load:
    """What keep-alive load through the public entry saw while the fault ran (tests/integration/load.py), and
    of the requests started once bluegreen had returned (`after`: None when not measured)."""

    requests: int
    failed: int
    after: tuple[int, int] | None = None  # (requests, failed) started after bluegreen returned
    retried_cut: bool = False  # a request on a connection a reload closed was sent once more (RFC 9112, 9.3.1)


@dataclass
class Matrix:
    """The `fault` fixture: the rows of one test."""

    test: str
    rows: list[Row] = field(default_factory=list)

    def watch(self, fault: str, where: str, lab: Sandbox, status: StatusSource | None = None) -> Watch:
        """Start watching: what every host routes now, and status.json now (`status` reads it, e.g.
        `consumer.status`; None where there is no status.json to hold against HAProxy)."""
        watch = Watch(self, fault, where, lab, status or (lambda: None))
        watch.start()
        return watch

    def write(self, folder: Path) -> None:
        if self.rows:
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", self.test).strip("_") + ".jsonl"
            (folder / name).write_text("".join(row.json() + "\n" for row in self.rows), encoding="utf-8")


@dataclass
class Watch:
    matrix: Matrix
    fault: str
    where: str
    lab: Sandbox
    read_status: StatusSource
    before: Routes = field(default_factory=dict)
    status_before: Status | None = None

    def start(self) -> None:
        self.before, self.status_before = routes(self.lab), self.read_status()
        problems = _routing_problems(self.before, (), self.status_before)
        assert not problems, "the lab is not consistent before the fault:\n" + "\n".join(problems)

    def record(
        self,
        exit: int | Sequence[int],
        report: str,
        said: str,
        *,
        down: Collection[str] = (),
        load: Load | None = None,
    ) -> Row:
        """The fault has run: read everything again, assert the invariants, keep the row. `exit` is the exit code
        (several, in order, when the row runs several processes: the rules judge the last); `report` what the
        user was shown; `said` a piece of its line that tells what happened; `down` the hosts the fault itself
        stopped (not read)."""
        exits = (exit,) if isinstance(exit, int) else tuple(exit)
        after, status = routes(self.lab), self.read_status()
        records = _new_records(self.status_before, status)
        line = _line(report, said)
        apart = [app for app, record in records.items() if record.get("result") == "failed" and exits[-1] == 5]
        problems = [
            *_routing_problems(after, down, status, apart),
            *_exit_problems(exits[-1], self.before, after, records),
            *_record_problems(self.before, after, records),
            *([] if line else [f"the report has no line with {said!r}:\n{report}"]),
            *_load_problems(load),
        ]
        assert not problems, f"{self.fault}: the fault matrix's rules do not hold:\n- " + "\n- ".join(problems)
        row = Row(
            self.fault,
            self.where,
            self._plain(_did(records, status != self.status_before)),
            " then ".join(map(_exit_words, exits)),
            _traffic(after),
            _status_words(status, self.status_before, [app for app in apart if len(_colors_of(after[app])) > 1]),
            self._plain(_quoted(report, line, said)),
            _load_words(load),
            self.matrix.test,
        )
        self.matrix.rows.append(row)
        return row

    def _plain(self, text: str) -> str:
        return plain(text, self.lab.dir)


def shown(outcome: Outcome) -> tuple[int, str]:
    """What the command line makes of an outcome: its exit code and its report (for a row that runs the engine
    in-process, with a fault injected at a host's port)."""
    return exit_code(outcome), report.outcome_text(outcome)


# --- what HAProxy routes ----------------------------------------------------------------------------------------


def routes(lab: Sandbox) -> dict[str, dict[str, Route | None]]:
    environments = lab.environments
    hosts = [host["name"] for host in environments["haproxy"]["hosts"]]
    found: dict[str, dict[str, Route | None]] = {app: {} for app in environments["apps"]}
    for index, host in enumerate(hosts):
        answers = _answers(lab, index)
        for app, entry in environments["apps"].items():
            found[app][host] = _route(lab, index, entry["switch"]) if answers else None
    return found


def _answers(lab: Sandbox, index: int) -> bool:
    try:
        return "Name: HAProxy" in lab.runtime("show info", index)
    except OSError:
        return False


def _route(lab: Sandbox, index: int, switch: Mapping[str, Any]) -> Route:
    if switch["method"] == "map":
        answer = lab.runtime(f"get map {switch['map_file']} {switch['key']}", index)
        value = m.group(1) if (m := re.search(r'value="([^"]*)"', answer)) else None
        backends, words, path = switch["backends"], value or " ".join(answer.split()), Path(switch["map_file"])
        if not path.exists():  # HAProxy would not load its config again: a reload fails, and moves nothing
            return Route(_named(backends, value), words)
        return Route(_named(backends, value), words, _named(backends, _map_line(path, switch["key"])), True)
    backend, servers, state_file = switch["backend"], switch["servers"], switch.get("state_file")
    running = _admin_states(lab.runtime(f"show servers state {backend}", index), backend)
    ready = frozenset(name for name, admin in running.items() if not admin & NOT_READY)
    words = f"{backend}: {', '.join(sorted(ready)) or 'no server'} ready"
    if not state_file:
        return Route(_ready_color(servers, ready), words)
    path = Path(state_file)
    kept = _admin_states(path.read_text() if path.exists() else "", backend)
    # on a reload, a server the file does not name starts as the config says: ready (the lab's parks none)
    reloaded = frozenset(name for name in running if not kept.get(name, 0) & NOT_READY)
    return Route(_ready_color(servers, ready), words, _ready_color(servers, reloaded), True)


def _map_line(path: Path, key: str) -> str | None:
    lines = path.read_text().splitlines()
    return next((parts[1] for parts in map(str.split, lines) if len(parts) == 2 and parts[0] == key), None)


def _named(names: Mapping[str, str], value: str | None) -> Color | None:
    return next((Color(color) for color, name in names.items() if name == value), None)


def _admin_states(state: str, backend: str) -> dict[str, int]:
    """`backend`'s servers by admin state, from `show servers state` (or the file it is dumped to)."""
    rows = [line.split() for line in state.splitlines() if not line.startswith("#")]
    return {row[3]: int(row[6]) for row in rows if len(row) > 6 and row[1] == backend}


def _ready_color(servers: Mapping[str, str], ready: frozenset[str]) -> Color | None:
    return next((Color(color) for color, name in servers.items() if ready == {name}), None)


# --- the rules --------------------------------------------------------------------------------------------------


def _routing_problems(
    found: Routes, down: Collection[str], status: Status | None, apart: Collection[str] = ()
) -> list[str]:
    """`apart`: the apps whose hosts may be on different colors: recorded `failed` with exit 5 (act by hand),
    where the labels must say which host is where, and status.json names one of their colors. Their files are
    not held against each host: the lab's hosts share one map file and one state file (lab/shared/), which can
    agree with one color only."""
    problems = []
    silent = sorted({host for by_host in found.values() for host, route in by_host.items() if route is None})
    if silent != sorted(down):
        problems.append(f"HAProxy does not answer on {silent or 'no host'}; the fault stopped {sorted(down)}")
    for app, by_host in found.items():
        colors = {route.color for route in by_host.values() if route is not None}
        for host, route in by_host.items():
            problems += _route_problems(app, host, route, app in apart)
        if len(colors) > 1 and app not in apart:
            problems.append(f"{app} is on {_colors(colors)} at once: {dict(by_host)}")
        live = _status_live(status, app)
        if status is not None and colors and (live not in colors or (colors != {live} and app not in apart)):
            problems.append(
                f"status.json says {app} is LIVE on {_colors({live})}, HAProxy routes it to {_colors(colors)}"
            )
    return problems


def _route_problems(app: str, host: str, route: Route | None, apart: bool = False) -> list[str]:
    if route is None:
        return []
    if route.color is None:
        return [f"{host} routes {app} to {route.words}: not exactly one color"]
    if route.keeps and route.kept != route.color and not apart:
        kept = route.kept.title if route.kept else "neither color"
        return [f"{host} routes {app} to {route.color.title}, but a reload would read {kept}"]
    return []


def _exit_problems(code: int, before: Routes, after: Routes, records: Mapping[str, Status]) -> list[str]:
    moved = sorted(app for app in after if _colors_of(after[app]) != _colors_of(before[app]))
    results = {app: record.get("result") for app, record in records.items()}
    if code not in DOCUMENTED_EXITS:
        return [f"exit code {code} is not one the README documents (1 is a bug)"]
    if code in (2, 3, 6) and moved:
        return [f"exit code {code} says nothing was changed, but {', '.join(moved)} moved"]
    if code == 130 and {app for app in moved if results.get(app) != "success"}:
        return [f"exit code 130 says only what the report says switched moved, but {moved} moved: {results}"]
    if code == 0 and set(results.values()) - {"success", "noop"}:
        return [f"exit code 0 says released, but the record says {results}"]
    if code == 4 and ("rolled_back" not in results.values() or "failed" in results.values()):
        return [f"exit code 4 says switched back, but the record says {results}"]
    if code == 5 and "failed" not in results.values():
        return [f"exit code 5 says traffic could not be restored, but the record says {results}"]
    return []


def _record_problems(before: Routes, after: Routes, records: Mapping[str, Status]) -> list[str]:
    """Each app's result and host labels in what the run recorded, held against HAProxy."""
    problems = []
    for app, record in records.items():
        now = {host: route.color for host, route in after[app].items() if route is not None}
        old, to = _one(before[app]), Color(record["to"]) if record.get("to") else None
        result, unread = record.get("result"), len(now) < len(after[app])
        wanted = {"success": to, "rolled_back": old, "refused": old}.get(str(result))
        if wanted is not None and set(now.values()) - {wanted}:
            problems.append(f"{app}: recorded {result}, but HAProxy routes it to {_colors(set(now.values()))}")
        if result == "failed" and to not in now.values() and not unread:
            problems.append(f"{app}: recorded failed (act by hand), but every host is back on {_colors({old})}")
        for host, label in (record.get("hosts") or {}).items():
            claimed = _claimed(str(label), old, to)
            if host in now and claimed is not None and now[host] != claimed:
                problems.append(f"{app}: the report says {host} {label!r}, but it routes to {_colors({now[host]})}")
    return problems


def _claimed(label: str, old: Color | None, to: Color | None) -> Color | None:
    """The color a host's label in the record claims it is on (None: a label that claims none, e.g. unknown).
    A failed host's label is `failed: <error>; <what it was read back as>`."""
    if label.startswith("failed: "):
        label = label.rsplit("; ", 1)[-1]
    if "repaired" in label:
        return to  # the switch made again, or not, where the host already routed to the wanted LIVE
    if label.startswith(("restored", "unchanged")):
        return old
    if label.startswith("switched"):
        return to
    if label.startswith("unknown"):
        return None
    raise AssertionError(f"a host label the fault matrix does not know: {label!r} (teach faults._claimed)")


def _new_records(before: Status | None, after: Status | None) -> dict[str, Status]:
    """Each app's last release, where this run recorded a new one."""
    if after is None:
        return {}
    old = (before or {}).get("apps", {})
    return {
        app: entry["last_release"]
        for app, entry in after.get("apps", {}).items()
        if entry.get("last_release") and entry["last_release"] != old.get(app, {}).get("last_release")
    }


# --- what the row says ------------------------------------------------------------------------------------------


def _did(records: Mapping[str, Status], rewritten: bool) -> str:
    if not records:
        return "recorded no release" if rewritten else "recorded nothing"
    return "; ".join(f"{app}: {record['result']}{_hosts(record.get('hosts') or {})}" for app, record in records.items())


def _hosts(hosts: Mapping[str, str]) -> str:
    return f" ({', '.join(f'{host} {label}' for host, label in hosts.items())})" if hosts else ""


def _exit_words(code: int) -> str:
    return "killed by SIGKILL" if code == -9 else str(code)


def _traffic(found: Routes) -> str:
    parts = []
    for app, by_host in found.items():
        hosts: dict[str, list[str]] = {}
        for host, route in by_host.items():
            if route is not None:
                hosts.setdefault(_colors({route.color}), []).append(host)
        parts.append(f"{app} " + ", ".join(f"{color} on {', '.join(on)}" for color, on in hosts.items()))
    silent = sorted({host for by_host in found.values() for host, route in by_host.items() if route is None})
    return "; ".join(parts) + (f" ({', '.join(silent)}: HAProxy down)" if silent else "")


def _status_words(status: Status | None, before: Status | None, apart: Collection[str] = ()) -> str:
    if status is None:
        return "none"
    named = [f"names {_colors({_status_live(status, app)})} LIVE for {app}, whose hosts are apart" for app in apart]
    return "; ".join(named or ["agrees"]) + ("" if status != before else " (not rewritten)")


def _load_problems(load: Load | None) -> list[str]:
    if load is None:
        return []
    few = [f"only {load.requests} requests ran under load (at least {MIN_LOAD})"] if load.requests < MIN_LOAD else []
    return few + (["no request was started after bluegreen returned"] if load.after == (0, 0) else [])


def _load_words(load: Load | None) -> str:
    """How many requests failed varies from run to run: 0 exactly, otherwise `some`."""
    if load is None:
        return ""
    words = f"{_some(load.failed)} of {MIN_LOAD}+"
    words += f"; {_some(load.after[1])} once bluegreen returned" if load.after else ""
    return words + (" (a request cut by a reload is sent once more)" if load.retried_cut else "")


def _some(count: int) -> str:
    return "0" if count == 0 else "some"


def _line(report: str, said: str) -> str | None:
    return next((line for line in report.splitlines() if said in line), None)


def _quoted(report: str, line: str | None, said: str) -> str:
    """The report's headline and, if it is another line, the clause of the line that tells what happened (a step's
    line joins its findings with `; `)."""
    lines = [text.strip() for text in report.splitlines() if not PROGRESS.match(text)]  # stderr's progress
    headline = next((text for text in lines if text and not text.startswith("<!--")), "").lstrip("# ")
    cells = _cells(_unprogressed(line or "")).strip()
    step = STEP_PREFIX.match(cells)  # a step's line: each clause is quoted under the step's name and mark
    clause = next((part for part in cells.split("; ") if said in part), "").strip()
    if step:
        clause = " ".join(step.group(0).split()) + " " + STEP_PREFIX.sub("", clause)
    text = " … ".join([headline, *([clause] if clause and clause not in headline else [])])
    return text if len(text) <= SAID_LIMIT else text[: SAID_LIMIT - 1] + "…"


def _cells(line: str) -> str:
    """A Markdown table's row as the terminal shows it: its cells, without the pipes."""
    if not line.startswith("|"):
        return line
    return "  ".join(cell.strip() for cell in line.strip().strip("|").split(" | "))


def _unprogressed(line: str) -> str:
    return PROGRESS.sub("", line)


_RUN_SPECIFIC = (
    (r"/tmp/bluegreen-lab-[\w.-]+", "{lab}"),
    (r"/tmp/pytest-of-[^/\s]+/pytest-\d+/[^/\s]+", "{tmp}"),
    (r"127\.0\.0\.1(\]?):\d+", r"127.0.0.1\1:{port}"),
    (r"\b[\w.-]+@127\.0\.0\.1\b", "{user}@127.0.0.1"),  # the lab's SSH user is whoever runs the tests
    (r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", "{time}"),
    (r"\d+(?:\.\d+)? ms\b", "{n} ms"),
    (r"\b[0-9a-f]{40}\b", "{sha}"),
    (r"\bcommit `?[0-9a-f]{7,12}\b`?", "commit {sha}"),
    (r"\bbluegreen-(check-)?[0-9a-f]{8}\b", r"bluegreen-\1{id}"),
    (r"\bpid \d+", "pid {n}"),
)


def plain(text: str, lab_dir: Path | None = None) -> str:
    """`text` without what differs from run to run, on one line."""
    text = text.replace(str(lab_dir), "{lab}") if lab_dir else text
    for pattern, replacement in _RUN_SPECIFIC:
        text = re.sub(pattern, replacement, text)
    return " ".join(text.split())


# --- small helpers ----------------------------------------------------------------------------------------------


def _colors_of(by_host: Mapping[str, Route | None]) -> set[Color | None]:
    return {route.color for route in by_host.values() if route is not None}


def _one(by_host: Mapping[str, Route | None]) -> Color | None:
    colors = _colors_of(by_host)
    return next(iter(colors)) if len(colors) == 1 else None


def _colors(colors: Collection[Color | None]) -> str:
    named = sorted(color.title if color else "neither color" for color in colors)
    return " and ".join(named) if named else "no host"


def _status_live(status: Status | None, app: str) -> Color | None:
    live = ((status or {}).get("apps", {}).get(app) or {}).get("live") or {}
    return Color(live["color"]) if live.get("color") else None
