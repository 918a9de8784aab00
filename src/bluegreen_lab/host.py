"""One HAProxy host of the lab: its HAProxy (master-worker, foreground child) and its sshd, in its own directory."""

from __future__ import annotations

import csv
import functools
import io
import os
import re
import signal
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bluegreen.switching import ServersSwitch
from bluegreen_lab.haproxy_config import LabApp, disabled_servers, render_haproxy_cfg, state_files
from bluegreen_lab.layout import HostPlan
from bluegreen_lab.processes import (
    SandboxError,
    alive,
    children,
    command_line,
    descendants,
    socket_holders,
    spawn,
    stop,
    unix_command,
    wait_for,
)
from bluegreen_lab.sshd import KeyPair, known_hosts_line, render_sshd_config, sshd_argv, write_secret

HAPROXY = "/usr/sbin/haproxy"


class LabHost:
    """One host's processes and files; the Sandbox decides when each step runs."""

    def __init__(self, plan: HostPlan, apps: Sequence[LabApp], host_key: KeyPair) -> None:
        self.plan = plan
        self.apps = tuple(apps)
        self.host_key = host_key
        self.haproxy: subprocess.Popen[bytes] | None = None
        self.sshd: subprocess.Popen[bytes] | None = None

    @property
    def known_hosts_line(self) -> str:
        return known_hosts_line(self.plan.sshd_port, self.host_key.public)

    def write_files(self, client_public: str, user: str) -> None:
        folder = self.plan.dir
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        cfg = render_haproxy_cfg(self.apps, frontend_port=self.plan.frontend_port, admin_socket=str(self._admin))
        (folder / "haproxy.cfg").write_text(cfg)
        write_secret(folder / "ssh_host_ed25519_key", self.host_key.private + "\n")
        write_secret(folder / "authorized_keys", client_public + "\n")
        (folder / "sshd_config").write_text(render_sshd_config(port=self.plan.sshd_port, folder=folder, user=user))

    def start_sshd(self) -> None:
        self.sshd = spawn(sshd_argv(self.plan.dir / "sshd_config"), self.plan.dir / "sshd.log")

    def start_haproxy(self) -> None:
        argv = [HAPROXY, "-W", "-S", str(self.plan.dir / "master.sock"), "-f", str(self.plan.dir / "haproxy.cfg")]
        self.haproxy = spawn(argv, self._haproxy_log)

    def wait_sshd(self) -> None:
        ready = functools.partial(_speaks_ssh, self.plan.sshd_port)
        wait_for(ready, f"{self.plan.name}: sshd", process=self.sshd, log=self.plan.dir / "sshd.log")

    def wait_haproxy(self) -> None:
        """Until the runtime API answers and every server's health check has passed (L7OK), but those written
        `disabled`, which HAProxy holds in MAINT and does not check."""
        what = f"{self.plan.name}: HAProxy health checks"
        wait_for(self._all_checked, what, process=self.haproxy, log=self._haproxy_log)

    def park_standbys(self) -> None:
        """`servers` apps: the LIVE server ready, the STANDBY in drain (still health-checked, no new traffic), or
        left in MAINT where haproxy.cfg writes it `disabled`."""
        for app in self.apps:
            if isinstance(app.switch, ServersSwitch):
                parked = () if app.standby_disabled else ((app.live.other, "drain"),)
                for color, state in ((app.live, "ready"), *parked):
                    self._must(f"set server {app.switch.backend}/{app.switch.servers[color]} state {state}")

    def dump_server_state(self) -> None:
        """`show servers state` into every state file, atomically: what an operator's reload script does."""
        for path in map(Path, state_files(self.apps)):
            state = self.runtime("show servers state")
            with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".state-", delete=False) as temp:
                temp.write(state)
            Path(temp.name).replace(path)

    def runtime(self, command: str) -> str:
        return unix_command(self._admin, command)

    def worker_pid(self) -> int | None:
        try:
            info = self.runtime("show info")
        except OSError:
            return None
        pids = [line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("Pid:")]
        return int(pids[0]) if pids else None

    def reload(self) -> None:
        """A graceful reload through the master (SIGUSR2), done when a new worker answers and the master, which
        executes itself again, counts the reload: a SIGUSR2 before that would be lost."""
        if self.haproxy is None or self.haproxy.poll() is not None:
            raise SandboxError(f"{self.plan.name}: HAProxy is not running", hint="start a new Sandbox")
        old, reloads = self.worker_pid(), self.master_reloads()
        self.dump_server_state()
        os.kill(self.haproxy.pid, signal.SIGUSR2)
        what = f"{self.plan.name}: reload"

        def done() -> bool:
            return self.worker_pid() not in (None, old) and self.master_reloads() not in (None, reloads)

        wait_for(done, what, process=self.haproxy, log=self._haproxy_log)

    def master_reloads(self) -> int | None:
        """How many reloads the master counts (`show proc`), None while it does not answer."""
        try:
            answer = unix_command(self.plan.dir / "master.sock", "show proc")
        except OSError:
            return None
        rows = [line.split() for line in answer.splitlines()]
        return next((int(row[2]) for row in rows if len(row) > 2 and row[1] == "master"), None)

    def stop_haproxy(self) -> None:
        if self.haproxy is not None:
            stop(self.haproxy)

    def stop(self) -> None:
        for process in (self.haproxy, self.sshd):
            if process is not None:
                stop(process)

    def ssh_session(self, client_port: int) -> list[int]:
        """The sshd process(es) serving the SSH connection that comes from 127.0.0.1:`client_port`."""
        if self.sshd is None:
            return []
        return socket_holders(self.plan.sshd_port, client_port, descendants(self.sshd.pid))

    def ssh_sessions(self) -> list[int]:
        """Every connection's sshd (the listener's children), whoever connected, through a jump host too."""
        if self.sshd is None:
            return []
        return [pid for pid in children(self.sshd.pid) if alive(pid)]

    def sftp_servers(self, client_port: int) -> list[int]:
        """The SFTP servers (`internal-sftp`, a child of the session's sshd) of that connection."""
        children = [child for pid in self.ssh_session(client_port) for child in descendants(pid)]
        return [pid for pid in children if "sftp" in command_line(pid)]

    def ssh_logins(self) -> list[int]:
        """The client port of every login sshd accepted, oldest first, from its log."""
        log = (self.plan.dir / "sshd.log").read_text(errors="replace")
        return [int(port) for port in re.findall(r"^Accepted publickey for \S+ from \S+ port (\d+)", log, re.M)]

    def pids(self) -> list[int]:
        started = [process.pid for process in (self.haproxy, self.sshd) if process and process.poll() is None]
        return started + [child for pid in started for child in descendants(pid)]

    @property
    def _admin(self) -> Path:
        return self.plan.admin_socket

    @property
    def _haproxy_log(self) -> Path:
        return self.plan.dir / "haproxy.log"

    def _all_checked(self) -> bool:
        try:
            rows = stat_rows(self.runtime("show stat -1 4 -1"))
        except OSError:
            return False
        disabled = disabled_servers(self.apps)
        checked = [row for row in rows if (row.get("pxname"), row.get("svname")) not in disabled]
        maint = [row for row in rows if (row.get("pxname"), row.get("svname")) in disabled]
        return (
            bool(rows)
            and all(_check_status(row) == "L7OK" for row in checked)
            and all(row.get("status") == "MAINT" for row in maint)
        )

    def _must(self, command: str) -> None:
        answer = self.runtime(command).strip()
        if answer:
            raise SandboxError(f"{self.plan.name}: `{command}` answered {answer!r}", hint=f"see {self._haproxy_log}")


def stat_rows(csv_text: str) -> list[dict[str, str]]:
    """`show stat` CSV as rows keyed by the header's names (`# pxname,svname,...`)."""
    return list(csv.DictReader(io.StringIO(csv_text.removeprefix("# "))))


def _check_status(row: dict[str, str]) -> str:
    return row.get("check_status", "").removeprefix("* ")  # `* ` while a check runs


def _speaks_ssh(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as conn:
            return conn.recv(8).startswith(b"SSH-")
    except OSError:
        return False
