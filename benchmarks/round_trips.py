"""Round trips over a WAN: one release at 0, 20 and 50 ms of round trip to the HAProxy hosts, and on 1 to 16 hosts.

    .venv/bin/python benchmarks/round_trips.py [--quick]

Real HAProxy, sshd and app servers on loopback (the sandbox), with a delaying TCP proxy (delay_proxy.py, a
separate process) in front of every sshd, so that everything bluegreen says over SSH pays the round trip: runtime
commands, SFTP, the lock, and the health probes of `theoshift` (`probes.via: ssh`: the app servers are reached
through the HAProxy host, as on a private network). The public entry is left local. Each release is the one a
merged pull request makes (`release_job`, as the command line and the Action run it) with the record kept on every
host as the Action keeps it (`engine.ledger.remember`), and status.json written locally (GitHub's API is not in
it). The phases are timed at the ports: connect (until every host is connected), lock (every host's), recall (the
hosts' record), pre-flight, switch and verify (the durations the release records), record, close (the locks let go
and the connections closed).

A phase's round trips are its extra time at a round trip of R over its time at 0, divided by R: the round trips it
waits for one after the other. A script, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from release_speed import APP, INITIAL, flip_desired, make_consumer  # the same consumer repository

from bluegreen import config
from bluegreen.adapters.file_ledger import FileLedger
from bluegreen.adapters.files import WorkingTree
from bluegreen.adapters.ssh import SshConnector
from bluegreen.adapters.sshkeys import load_credentials
from bluegreen.core import history
from bluegreen.core.record import Memory
from bluegreen.engine import ledger as host_record
from bluegreen.engine.jobs import release_job
from bluegreen.engine.ports import HaproxyPort, Reached, Recalled, Saved
from bluegreen.engine.release import Request
from bluegreen.model import HaproxyHost, Outcome
from bluegreen_lab import Sandbox

REPO = Path(__file__).resolve().parents[1]
PROXY = Path(__file__).resolve().parent / "delay_proxy.py"
KEY_ENV = "BLUEGREEN_SSH_KEY"
PHASES = ("connect", "lock", "preflight", "switch", "verify", "record", "close")  # the recall is in the pre-flight
PORT = re.compile(r"^\[127\.0\.0\.1\]:(\d+) ", re.MULTILINE)


@dataclass(frozen=True)
class Plan:
    """What one run measures: the labs (by host count) and, for each, the round trips (ms) to measure it at."""

    rtts: Mapping[int, Sequence[int]]
    samples: int
    warmup: int


FULL = Plan({1: (0, 20, 50), 2: (0,), 4: (0, 20, 50), 8: (0,), 16: (0, 50)}, samples=5, warmup=2)
QUICK = Plan({1: (0, 20), 2: (0, 20)}, samples=1, warmup=1)


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- timing at the ports ------------------------------------------------------------------------------------------


@dataclass
class Clock:
    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, name: str) -> None:
        self.marks[name] = time.perf_counter()

    def between(self, start: str, end: str) -> float:
        return (self.marks[end] - self.marks[start]) * 1000


@dataclass
class TimedConnector:
    inner: SshConnector
    clock: Clock

    @contextlib.asynccontextmanager
    async def reach(self, hosts: Sequence[HaproxyHost]) -> AsyncIterator[Reached]:
        self.clock.mark("connect")
        async with self.inner.reach(hosts) as found:
            self.clock.mark("connected")
            yield found
            self.clock.mark("unlocked")  # the locks are let go before the connections close


@dataclass
class HostsLedger:
    """The command line's status.json, plus the record on every host that the Action keeps (and reads first)."""

    files: FileLedger
    repository: str
    clock: Clock

    async def recall(self, hosts: Mapping[str, HaproxyPort]) -> Recalled:
        self.clock.mark("recall")
        _, recalled = await asyncio.gather(
            host_record.recall(hosts, self.repository, "state/status.json"), self.files.recall(hosts)
        )
        self.clock.mark("recalled")
        return recalled

    async def record(self, hosts: Mapping[str, HaproxyPort], outcome: Outcome) -> Saved:
        self.clock.mark("record")
        memory = Memory(int(time.time()), history.recorded(self.files.state.status, outcome))
        failed, saved = await asyncio.gather(
            host_record.remember(hosts, self.repository, "state/status.json", memory), self.files.record(hosts, outcome)
        )
        if failed:
            raise RuntimeError(f"the record was not kept on {failed}")
        self.clock.mark("recorded")
        return saved


# --- one release --------------------------------------------------------------------------------------------------


async def one_release(repo: Path, key: str) -> dict[str, float]:
    wanted = flip_desired(repo)
    tree = WorkingTree(repo)
    state = config.load_state(tree)
    credentials = load_credentials(state.environments.ssh, tree, {KEY_ENV: key}, state.environments_path)
    clock = Clock()
    connector = TimedConnector(SshConnector(credentials), clock)
    request = Request(state.desired, state.environments, state.status, (APP,))
    ledger = HostsLedger(FileLedger(state, repo), "bench/bluegreen", clock)
    start = time.perf_counter()
    outcome = await release_job(request, connector, lambda message: None, ledger, "benchmark")
    total = (time.perf_counter() - start) * 1000
    clock.mark("done")
    app = next(app for app in outcome.apps if app.plan.app == APP)
    if app.result != "success" or app.plan.to_color != wanted:
        raise RuntimeError(f"the release to {wanted.value} did not succeed: {app.result}: {app.reason}")
    durations = app.durations_ms
    return {
        "connect": clock.between("connect", "connected"),
        "lock": clock.between("connected", "recall"),
        "recall": clock.between("recall", "recalled"),
        "preflight": durations["preflight"],
        "switch": durations["switch"],
        "verify": durations["verify"],
        "record": clock.between("record", "recorded"),
        "close": clock.between("recorded", "done"),
        "total": total,
    }


# --- a lab behind the delaying proxy ------------------------------------------------------------------------------


@contextlib.contextmanager
def delayed(lab: Sandbox, repo: Path, rtt_ms: int) -> Iterator[None]:
    """The consumer's environments.json and known_hosts pointed at a proxy `rtt_ms` in front of each sshd (at 0,
    straight at the sshds)."""
    environments, known_hosts = lab.environments, lab.known_hosts
    proxy = None
    if rtt_ms:
        ports = [host["ssh"]["port"] for host in environments["haproxy"]["hosts"]]
        argv = [sys.executable, "-I", str(PROXY), "--rtt-ms", str(rtt_ms), *(f"0:127.0.0.1:{port}" for port in ports)]
        proxy = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
        assert proxy.stdout is not None
        said = proxy.stdout.readline().split()
        if not said or said[0] != "ready":
            raise RuntimeError(f"the delaying proxy did not start: {said}")
        moved = dict(zip(ports, map(int, said[1:]), strict=True))
        for host in environments["haproxy"]["hosts"]:
            host["ssh"]["port"] = moved[host["ssh"]["port"]]
        known_hosts = PORT.sub(lambda found: f"[127.0.0.1]:{moved[int(found.group(1))]} ", known_hosts)
    (repo / "state" / "environments.json").write_text(json.dumps(environments, indent=2) + "\n")
    (repo / "state" / "known_hosts").write_text(known_hosts)
    try:
        yield
    finally:
        if proxy is not None:
            proxy.terminate()
            proxy.wait(10)


@dataclass(frozen=True)
class Measured:
    hosts: int
    rtt_ms: int
    runs: Sequence[Mapping[str, float]]

    def median(self, phase: str) -> float:
        return statistics.median(run[phase] for run in self.runs)


def measure_lab(layout: dict[str, Any], hosts: int, rtts: Sequence[int], plan: Plan, folder: Path) -> list[Measured]:
    log(f"a lab with {hosts} HAProxy host(s)")
    found = []
    with Sandbox(layout, INITIAL, hosts=hosts) as lab:
        repo = make_consumer(lab, folder / f"hosts-{hosts}")
        for rtt in rtts:
            log(f"  {hosts} host(s) at {rtt} ms RTT")
            with delayed(lab, repo, rtt):
                runs = [asyncio.run(one_release(repo, lab.private_key)) for _ in range(plan.warmup + plan.samples)]
            found.append(Measured(hosts, rtt, runs[plan.warmup :]))
    return found


# --- the tables ---------------------------------------------------------------------------------------------------


def latency_table(measured: Sequence[Measured]) -> str:
    rows = ["| hosts | RTT ms | N | " + " | ".join(PHASES) + " | total ms | round trips (+ over 0 ms) |"]
    rows.append("|---:|---:|---:|" + "---:|" * len(PHASES) + "---:|---:|")
    base = {m.hosts: m for m in measured if m.rtt_ms == 0}
    for m in measured:
        zero = base.get(m.hosts)
        cells = [f"{m.median(phase):.0f}" for phase in PHASES]
        if m.rtt_ms and zero is not None:
            trips = [(m.median(phase) - zero.median(phase)) / m.rtt_ms for phase in PHASES]
            cells = [f"{cell} ({trip:+.1f})" for cell, trip in zip(cells, trips, strict=True)]
            extra = f"{(m.median('total') - zero.median('total')) / m.rtt_ms:+.1f}"
        else:
            extra = ""
        rows.append(
            f"| {m.hosts} | {m.rtt_ms} | {len(m.runs)} | "
            + " | ".join(cells)
            + f" | {m.median('total'):.0f} | {extra} |"
        )
    return "\n".join(rows) + "\n"


def ratio_table(measured: Sequence[Measured]) -> str:
    one = {m.rtt_ms: m for m in measured if m.hosts == 1}
    rows = ["| hosts | RTT ms | median ms | x one host at that RTT |", "|---:|---:|---:|---:|"]
    for m in sorted(measured, key=lambda m: (m.rtt_ms, m.hosts)):
        single = one.get(m.rtt_ms)
        ratio = f"{m.median('total') / single.median('total'):.2f}" if single else ""
        rows.append(f"| {m.hosts} | {m.rtt_ms} | {m.median('total'):.0f} | {ratio} |")
    return "\n".join(rows) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="one sample, 1 and 2 hosts, 0 and 20 ms: a smoke run")
    plan = QUICK if parser.parse_args(argv).quick else FULL
    layout = json.loads((REPO / "state" / "environments.json").read_text())
    began, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bluegreen-rtt-") as name:
        measured = [
            found for hosts, rtts in plan.rtts.items() for found in measure_lab(layout, hosts, rtts, plan, Path(name))
        ]
    print(f"- load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}\n")
    print("Phases, median ms (and round trips waited for, over the same lab at 0 ms):\n")
    print(latency_table(measured))
    print(ratio_table(measured))
    print(f"Warm-up: {plan.warmup} releases per row, not counted. Took {time.perf_counter() - began:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
