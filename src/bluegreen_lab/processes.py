"""The lab's process and port plumbing: loopback ports held for us, child processes in their own sessions that die
with us, waiting for readiness, and stopping a process with everything it started."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import NoReturn

from bluegreen.errors import BluegreenError

POLL_S = 0.01
LOWEST_PORT = 20000
DEFERRED = {signal.SIGINT, signal.SIGTERM}


class SandboxError(BluegreenError):
    """The lab could not start or answer; says which part and shows the end of its log."""

    title = "sandbox failed"


def reserve_ports(count: int, exclude: Collection[int] = ()) -> list[socket.socket]:
    """`count` free TCP ports on 127.0.0.1, none in `exclude`, each held by a bound socket until closed.

    A holder is bound without SO_REUSEADDR (so no other lab can take the port: it asks the same way), then gets
    SO_REUSEADDR (so our own server, which sets it as HAProxy, sshd and http.server all do, can bind and listen
    while the holder stays). Ports come from below the kernel's ephemeral range when there is room: outgoing
    connections never land there."""
    low, _ = ephemeral_range()
    candidates = [port for port in range(LOWEST_PORT, low) if port not in exclude]
    candidates = random.sample(candidates, len(candidates)) if len(candidates) >= 10 * count else [0] * 10 * count
    held: list[socket.socket] = []
    for holder in filter(None, map(_hold, candidates)):
        if holder.getsockname()[1] in exclude:
            holder.close()
            continue
        held.append(holder)
        if len(held) == count:
            return held
    release(held)
    raise SandboxError(f"no {count} free TCP ports on 127.0.0.1", hint="too many labs or servers running?")


def release(holders: Iterable[socket.socket]) -> None:
    for holder in holders:
        holder.close()


def _hold(port: int) -> socket.socket | None:
    holder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        holder.bind(("127.0.0.1", port))
    except OSError:
        holder.close()
        return None
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    return holder


def ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
    except (OSError, ValueError):
        return (32768, 60999)
    return (int(low), int(high))


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


def spawn(argv: Sequence[str], log: Path) -> subprocess.Popen[bytes]:
    """Start a child in its own session, output to `log`; it gets SIGTERM if this (main) thread dies first."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [*_die_with_parent(), *argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
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
    """One line to a Unix socket (HAProxy's runtime API, or its master CLI), the whole answer back. The line is
    followed by the end of what we send: the master CLI answers only then."""
    if "\n" in command or "\r" in command:
        raise ValueError(f"one command line expected, got {command!r}")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout_s)
        conn.connect(str(path))
        conn.sendall(command.encode() + b"\n")
        conn.shutdown(socket.SHUT_WR)
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


def socket_holders(local_port: int, remote_port: int, pids: Iterable[int]) -> list[int]:
    """Those of `pids` that hold the loopback TCP connection between those ports (found by its socket's inode)."""
    inodes = {f"socket:[{inode}]" for inode in _tcp_inodes(local_port, remote_port)}
    return [pid for pid in pids if inodes & _fd_links(pid)]


def _tcp_inodes(local_port: int, remote_port: int) -> set[str]:
    """/proc/net/tcp: `sl local_address rem_address st ... uid timeout inode`, addresses as `0100007F:1F90`."""
    found = set()
    with contextlib.suppress(OSError):
        for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
            fields = line.split()
            if (int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)) == (local_port, remote_port):
                found.add(fields[9])
    return found


def _fd_links(pid: int) -> set[str]:
    links = set()
    with contextlib.suppress(OSError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(OSError):
                links.add(str(fd.readlink()))
    return links


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def children(pid: int) -> list[int]:
    return [child for child, parent in _parents().items() if parent == pid]


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
