"""How fast is a release, and where does the time go? Real HAProxy, sshd and app servers on loopback (the sandbox).

    .venv/bin/python benchmarks/release_speed.py [--quick]

Measures, each after a warm-up, with time.perf_counter: one runtime command over three transports (a channel to
HAProxy's socket on the established SSH connection, a remote `socat` per command on that same connection, the
OpenSSH client connecting per command), the SSH connect, the switch of one app on one host, a whole release of one
app (in-process and as a separate process) and the same release on 1, 2 and 4 hosts. Prints a Markdown table.
A script, not a test: timings depend on the machine, so nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import itertools
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import asyncssh

from bluegreen import cli, config
from bluegreen.adapters.files import WorkingTree
from bluegreen.adapters.ssh import Credentials, SshHost, connected
from bluegreen.adapters.sshkeys import load_credentials
from bluegreen.core import haproxy
from bluegreen.engine.switch import HostSwitch
from bluegreen.model import AppEnvironment, Color, Environments, HaproxyHost
from bluegreen.switching import MapSwitch
from bluegreen_lab import AppInitial, Sandbox

REPO = Path(__file__).resolve().parents[1]
KEY_ENV = "BLUEGREEN_SSH_KEY"
APP = "theoshift"  # the `map` app; ldc-tools is the `servers` app
WARMUP = 3
INITIAL = {  # what the repository's state/status.json records as LIVE
    "theoshift": AppInitial(Color.GREEN, {Color.BLUE: "2.4.1", Color.GREEN: "2.4.0"}),
    "ldc-tools": AppInitial(Color.BLUE, {Color.BLUE: "1.7.2", Color.GREEN: "1.8.0"}),
}


@dataclass(frozen=True)
class Counts:
    runtime: int = 300
    socat: int = 50
    openssh: int = 20
    connect: int = 20
    switch: int = 40  # even: the flips end where they started
    release: int = 10
    process: int = 5
    hosts: int = 6

    def quick(self) -> Counts:
        smaller = {f.name: max(2, getattr(self, f.name) // 5) for f in fields(self)}
        return replace(self, **{**smaller, "switch": smaller["switch"] + smaller["switch"] % 2})


@dataclass(frozen=True)
class Row:
    what: str
    samples: Sequence[float]

    def markdown(self) -> str:
        median = statistics.median(self.samples)
        return f"| {self.what} | {len(self.samples)} | {median:.1f} | {p95(self.samples):.1f} |"


def p95(samples: Sequence[float]) -> float:
    """The 95th percentile, interpolated between the closest ranks (the largest sample when there are few)."""
    if len(samples) < 2:
        return samples[0]
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def ms(start: float) -> float:
    return (time.perf_counter() - start) * 1000


async def clocked(action: Awaitable[object]) -> float:
    start = time.perf_counter()
    await action
    return ms(start)


async def repeat(action: Callable[[], Awaitable[float]], n: int) -> list[float]:
    """`action` times itself; the first WARMUP runs are not kept."""
    return [await action() for _ in range(WARMUP + n)][WARMUP:]


def log(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


# --- a consumer repository pointed at a lab ---------------------------------------------------------------------


def make_consumer(lab: Sandbox, into: Path) -> Path:
    shutil.copytree(REPO / "state", into / "state")
    lab.write_state(into)
    return into


def flip_desired(repo: Path) -> Color:
    """live.json asks for the color that is not LIVE now, as the next pull request would."""
    observed = json.loads((repo / "state" / "status.json").read_text())["apps"][APP]["live"]["color"]
    wanted = Color(observed).other
    path = repo / "state" / "live.json"
    document = json.loads(path.read_text())
    document["apps"][APP] = {"live": wanted.value}
    path.write_text(json.dumps(document, indent=2) + "\n")
    return wanted


def last_release(repo: Path) -> dict[str, Any]:
    record: dict[str, Any] = json.loads((repo / "state" / "status.json").read_text())["apps"][APP]["last_release"]
    return record


def check_released(repo: Path, wanted: Color, code: int, said: str) -> None:
    record = last_release(repo)
    if code != 0 or record["result"] != "success" or record["to"] != wanted.value:
        raise RuntimeError(f"the release to {wanted.value} did not succeed (exit code {code}):\n{said}")


# --- 1 to 5: one host, its SSH connection established ----------------------------------------------------------


def socat_command(command: str, socket: str) -> str:
    return f"echo {shlex.quote(command)} | socat stdio UNIX-CONNECT:{shlex.quote(socket)}"


async def over_ssh(repo: Path, key: str, key_file: Path, counts: Counts) -> list[Row]:
    state = config.load_state(WorkingTree(repo))
    credentials = load_credentials(state.environments.ssh, WorkingTree(repo), {KEY_ENV: key}, state.environments_path)
    hosts, command = state.environments.hosts, map_query(state.environments)
    async with connected(hosts, credentials) as sessions:
        rows = await transports(sessions[hosts[0].name], command, counts)
        rows.append(await openssh(hosts[0], command, repo, key_file, counts.openssh))
        log("SSH connect")
        connects = await repeat(lambda: connect_once(hosts[:1], credentials), counts.connect)
        rows.append(Row("4. SSH connect, one host (`connected()`)", connects))
        return rows + await switches(sessions[hosts[0].name], state.environments.apps, counts.switch)


async def transports(session: SshHost, command: str, counts: Counts) -> list[Row]:
    conn: asyncssh.SSHClientConnection = session._link.connection.conn  # the very connection the product uses
    remote = socat_command(command, session.host.socket)
    expected = await session.runtime(command)
    if "value=" not in expected or (await conn.run(remote, check=True)).stdout != expected:
        raise RuntimeError(f"the transports do not give the same answer to `{command}`: {expected!r}")
    log("runtime command over the established connection")
    direct = await repeat(lambda: clocked(session.runtime(command)), counts.runtime)
    log("runtime command through a remote socat process")
    socat = await repeat(lambda: clocked(conn.run(remote, check=True)), counts.socat)
    return [
        Row("1. runtime command, channel to the socket on the open SSH connection", direct),
        Row("2. runtime command, remote `socat` process on the open SSH connection", socat),
    ]


async def openssh(host: HaproxyHost, command: str, repo: Path, key_file: Path, n: int) -> Row:
    """3: the OpenSSH client, connecting for each command (and a remote `socat`)."""
    argv = [
        "ssh", "-i", str(key_file), "-o", f"UserKnownHostsFile={repo / 'state' / 'known_hosts'}", "-o",
        "BatchMode=yes", "-p", str(host.ssh.port), f"{host.ssh.user}@{host.ssh.host}",
        socat_command(command, host.socket),
    ]  # fmt: skip
    log("runtime command through the OpenSSH client, connecting each time")
    samples = await repeat(lambda: clocked(ssh_client(argv)), n)
    return Row("3. runtime command, OpenSSH client connecting per command (+ `socat`)", samples)


async def ssh_client(argv: Sequence[str]) -> None:
    pipe = asyncio.subprocess.PIPE
    process = await asyncio.create_subprocess_exec(*argv, stdout=pipe, stderr=pipe)
    out, err = await process.communicate()
    if process.returncode != 0 or b"value=" not in out:
        raise RuntimeError(f"ssh failed (exit status {process.returncode}): {err.decode(errors='replace').strip()}")


def write_key(folder: Path, key: str) -> Path:
    path = folder / "id_ed25519"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(key)
    return path


def map_query(environments: Environments) -> str:
    """`get map <file> <key>` for theoshift: a command every pre-flight sends each host."""
    switch = environments.apps[APP].switch
    if not isinstance(switch, MapSwitch):
        raise TypeError(f"{APP} is expected to switch with a map")
    return haproxy.get_map(switch.map_file, switch.key)


async def connect_once(hosts: Sequence[HaproxyHost], credentials: Credentials) -> float:
    start = time.perf_counter()
    async with connected(hosts, credentials):
        return ms(start)  # the close is not counted


async def switches(session: SshHost, apps: Mapping[str, AppEnvironment], n: int) -> list[Row]:
    rows: list[Row] = []
    for name, label in ((APP, "`map`, theoshift"), ("ldc-tools", "`servers`, ldc-tools")):
        log(f"HostSwitch.carry_out() {name}")
        totals, runtime = await flips(session, apps[name], INITIAL[name].live, n)
        rows.append(Row(f"5. switch one app on one host, {label}: total", totals))
        rows.append(Row("   of which the runtime command", runtime))
    return rows


async def flips(session: SshHost, app: AppEnvironment, live: Color, n: int) -> tuple[list[float], list[float]]:
    """Back and forth, an even number of times (warm-up included): the lab ends as it began."""
    colors = itertools.cycle((live.other, live))
    totals, runtime = [], []
    for _ in range(2 + n):
        start = time.perf_counter()
        runtime.append(await HostSwitch(session, app, next(colors)).carry_out())
        totals.append(ms(start))
    return totals[2:], runtime[2:]


# --- 6, 7: whole releases ---------------------------------------------------------------------------------------


def release_in_process(repo: Path, key: str) -> float:
    wanted = flip_desired(repo)
    out, err = io.StringIO(), io.StringIO()
    console = cli.Console(out, err, time.perf_counter())
    start = time.perf_counter()
    code = cli.run(["release", "--repo", str(repo), "--app", APP], {KEY_ENV: key}, console)
    elapsed = ms(start)
    check_released(repo, wanted, code, err.getvalue() + out.getvalue())
    return elapsed


def release_process(repo: Path, key: str) -> float:
    wanted = flip_desired(repo)
    argv = [sys.executable, "-m", "bluegreen", "release", "--repo", str(repo), "--app", APP]
    start = time.perf_counter()
    done = subprocess.run(argv, env={**os.environ, KEY_ENV: key}, capture_output=True, text=True, check=False)
    elapsed = ms(start)
    check_released(repo, wanted, done.returncode, done.stderr + done.stdout)
    return elapsed


def releases(repo: Path, key: str, n: int) -> tuple[list[float], dict[str, list[float]]]:
    """In-process releases, and the phases each recorded in status.json (pre-flight, switch, verify); `other` is
    the rest of the run: reading the state files, connecting, the lock, writing status.json, closing."""
    totals: list[float] = []
    phases: dict[str, list[float]] = {}
    for _ in range(WARMUP + n):
        totals.append(release_in_process(repo, key))
        durations = last_release(repo)["durations_ms"]
        for phase, value in {**durations, "other": totals[-1] - durations["total"]}.items():
            phases.setdefault(phase, []).append(value)
    return totals[WARMUP:], {phase: values[WARMUP:] for phase, values in phases.items() if phase != "total"}


def release_rows(lab: Sandbox, repo: Path, counts: Counts) -> list[Row]:
    log("whole release, in-process CLI")
    totals, phases = releases(repo, lab.private_key, counts.release)
    rows = [Row(f"6. whole release of `{APP}`, one host, in-process `cli.run`", totals)]
    rows += [Row(f"   of which {phase}", values) for phase, values in phases.items()]
    log("whole release, separate process")
    processes = [release_process(repo, lab.private_key) for _ in range(1 + counts.process)][1:]
    return [*rows, Row("6. whole release, separate process `python -m bluegreen release`", processes)]


def hosts_row(lab: Sandbox, repo: Path, hosts: int, n: int) -> Row:
    log(f"whole release on {hosts} host(s)")
    return Row(f"7. whole release of `{APP}`, hosts={hosts}", releases(repo, lab.private_key, n)[0])


# --- the machine, the table, the run ----------------------------------------------------------------------------


def machine(load_before: float) -> list[str]:
    lines = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "?")
    haproxy_version = subprocess.run(["haproxy", "-v"], capture_output=True, text=True, check=False).stdout
    ssh_version = subprocess.run(["ssh", "-V"], capture_output=True, text=True, check=False).stderr
    return [
        f"- cores (nproc): {len(os.sched_getaffinity(0))}; CPU: {cpu}",
        f"- {haproxy_version.splitlines()[0] if haproxy_version else 'HAProxy ?'}",
        f"- {ssh_version.strip() or 'OpenSSH ?'}; asyncssh {asyncssh.__version__}; Python {platform.python_version()}",
        f"- load average (1 min) before: {load_before:.2f}, after: {os.getloadavg()[0]:.2f}",
    ]


def table(rows: Sequence[Row]) -> str:
    head = "| Measurement | N | median ms | p95 ms |\n|---|---:|---:|---:|\n"
    return head + "\n".join(row.markdown() for row in rows) + "\n"


def one_host(layout: dict[str, Any], folder: Path, counts: Counts) -> list[Row]:
    with Sandbox(layout, INITIAL) as lab:
        repo = make_consumer(lab, folder / "one-host")
        rows = asyncio.run(over_ssh(repo, lab.private_key, write_key(folder, lab.private_key), counts))
        rows += release_rows(lab, repo, counts)
        return [*rows, hosts_row(lab, repo, 1, counts.hosts)]


def more_hosts(layout: dict[str, Any], folder: Path, hosts: int, n: int) -> Row:
    log(f"starting a lab with {hosts} HAProxy hosts")
    with Sandbox(layout, INITIAL, hosts=hosts) as lab:
        return hosts_row(lab, make_consumer(lab, folder / f"hosts-{hosts}"), hosts, n)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="about a fifth of the samples: a smoke run")
    counts = Counts().quick() if parser.parse_args(argv).quick else Counts()
    layout = json.loads((REPO / "state" / "environments.json").read_text())
    layout["apps"][APP].setdefault("verify", {})["window_s"] = 0  # no observation window: the release's own time
    began, load_before = time.perf_counter(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bluegreen-bench-") as name:
        folder = Path(name)
        rows = one_host(layout, folder, counts)
        rows += [more_hosts(layout, folder, hosts, counts.hosts) for hosts in (2, 4)]
    print("\n".join(machine(load_before)) + "\n")
    print(table(rows))
    took = time.perf_counter() - began
    print(f"Warm-up: {WARMUP} runs per measurement (2 flips for 5, 1 for the separate process). Took {took:.0f} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
