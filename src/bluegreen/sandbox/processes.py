"""The lab's process and port plumbing: free loopback ports, child processes in their own sessions that die
with us, waiting for readiness, and stopping a process with everything it started."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from bluegreen.errors import BluegreenError

POLL_S = 0.01
DEFERRED = {signal.SIGINT, signal.SIGTERM}


class SandboxError(BluegreenError):
    """The lab could not start or answer; says which part and shows the end of its log."""

    title = "sandbox failed"


def free_ports(count: int, exclude: Collection[int] = ()) -> list[int]:
    """`count` distinct free TCP ports on 127.0.0.1, none of them in `exclude`."""
    held: list[socket.socket] = []
    try:
        while len(held) < count:
            probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            probe.bind(("127.0.0.1", 0))
            held.append(probe)
        ports = [probe.getsockname()[1] for probe in held]
    finally:
        for probe in held:
            probe.close()
    clashes = [port for port in ports if port in exclude]
    return ports if not clashes else free_ports(count, exclude)


def port_accepts(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
        return True
    return False


def port_is_free(port: int) -> bool:
    """True when a server could listen on the port again (SO_REUSEADDR, as servers bind)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def spawn(argv: Sequence[str], log: Path, env: Mapping[str, str] | None = None) -> subprocess.Popen[bytes]:
    """Start a child in its own session, output to `log`; it gets SIGTERM if this (main) thread dies first."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [*_die_with_parent(), *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            env=env,
            start_new_session=True,
        )


def _die_with_parent() -> list[str]:
    # The parent-death signal follows the thread that forked: only the main thread lives as long as we do.
    setpriv = shutil.which("setpriv")
    if setpriv is None or threading.current_thread() is not threading.main_thread():
        return []
    return [setpriv, "--pdeathsig", "TERM", "--"]


def wait_for(
    ready: Callable[[], bool],
    what: str,
    *,
    process: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    timeout_s: float = 10.0,
) -> None:
    """Poll `ready` until it holds; else SandboxError naming `what`, with the end of `log`. Gives up at once
    when `process` exits."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        hint = f"see {log}" if log else "is the machine overloaded?"
        if process is not None and process.poll() is not None:
            raise SandboxError(f"{what}: exited with status {process.returncode}{log_tail(log)}", hint=hint)
        if time.monotonic() > deadline:
            raise SandboxError(f"{what}: not ready after {timeout_s:g} s{log_tail(log)}", hint=hint)
        time.sleep(POLL_S)


def trap_sigterm() -> Callable[[], None]:
    """Make SIGTERM unwind like Ctrl-C (so `with` blocks clean up); returns what puts the old handler back.
    Signal handlers live in the main thread only: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.signal(signal.SIGTERM, _exit_on_signal)

    def restore() -> None:
        signal.signal(signal.SIGTERM, previous if previous is not None else signal.SIG_DFL)

    return restore


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done: a second Ctrl-C cannot cut a cleanup short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, DEFERRED)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, DEFERRED)


def _exit_on_signal(signum: int, frame: FrameType | None) -> NoReturn:
    raise SystemExit(128 + signum)


def log_tail(log: Path | None, lines: int = 15) -> str:
    if log is None or not log.exists():
        return ""
    tail = log.read_text(errors="replace").splitlines()[-lines:]
    return "\n  " + "\n  ".join(tail) if tail else ""


def unix_command(path: Path, command: str, timeout_s: float = 5.0) -> str:
    """One line to a Unix socket (HAProxy's runtime API), the whole answer back."""
    if "\n" in command or "\r" in command:
        raise ValueError(f"one command line expected, got {command!r}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout_s)
        conn.connect(str(path))
        conn.sendall(command.encode() + b"\n")
        return b"".join(iter(lambda: conn.recv(65536), b"")).decode(errors="replace")


def stop(process: subprocess.Popen[bytes], timeout_s: float = 3.0) -> None:
    """SIGTERM the process, its group and every descendant (sshd sessions leave the group); SIGKILL stragglers."""
    if process.returncode is not None:
        return  # stopped and reaped before: its pid may belong to someone else by now
    family = descendants(process.pid)
    _signal_all(process.pid, family, signal.SIGTERM)
    try:
        process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        _signal_all(process.pid, family, signal.SIGKILL)
        process.wait(timeout_s)
    _signal_all(process.pid, [pid for pid in family if alive(pid)], signal.SIGKILL)


def _signal_all(group: int, pids: Sequence[int], signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signum)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signum)


def descendants(pid: int) -> list[int]:
    """All living descendants of `pid`, from /proc (children that left the process group included)."""
    parents = _parents()
    found: list[int] = []
    frontier = [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def alive(pid: int) -> bool:
    """True while the process runs (a zombie waiting to be reaped does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _parents() -> dict[int, int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
    return parents
