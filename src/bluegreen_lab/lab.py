"""The lab: real HAProxy, sshd and blue/green app servers on loopback, for the demo and the integration tests.

    with Sandbox(layout, initial, hosts=2) as lab:
        lab.environments        # the layout rewritten to point at the lab
        lab.set_app("theoshift", Color.BLUE, healthy=False)
        lab.stop_app("theoshift", Color.BLUE)  # down: connections refused
        lab.fail_pages("theoshift", Color.BLUE, 20)  # its next 20 page requests answer 503
        lab.served("theoshift", Color.BLUE)  # {user agent: {status: answers}}

    with Sandbox(layout, {"theoshift": AppInitial(live, versions, standby_disabled=True)}) as lab:
        ...                     # the STANDBY's server(s) written `disabled`: MAINT, not checked

Every process runs in its own session and is stopped with everything it started on exit, on Ctrl-C and on
SIGTERM; children also get SIGTERM if this process dies without cleaning up (setpriv --pdeathsig).
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import getpass
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import Any

from bluegreen.errors import InputError, Location
from bluegreen.model import Color
from bluegreen_lab import appserver
from bluegreen_lab.appserver import Control, read_control, write_control
from bluegreen_lab.haproxy_config import LabApp, map_files, render_map
from bluegreen_lab.host import LabHost
from bluegreen_lab.layout import (
    AppInitial,
    HostPlan,
    layout_ports,
    move_files,
    parse_layout,
    public_path,
    rewrite_environments,
    serve_apps,
)
from bluegreen_lab.processes import (
    SandboxError,
    descendants,
    release,
    reserve_ports,
    signals_deferred,
    spawn,
    stop,
    trap_sigterm,
    wait_for,
)
from bluegreen_lab.sshd import KeyPair, generate_key, prepare_privsep_dir

MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes
SAFE_PATH = re.compile(r"[A-Za-z0-9._/+-]+")  # the lab's directory: it goes into haproxy.cfg and sshd_config


class Sandbox:
    """A context manager: __enter__ starts everything and returns when it serves; __exit__ removes every trace."""

    def __init__(
        self,
        layout: Mapping[str, Any],
        initial: Mapping[str, AppInitial],
        *,
        hosts: int = 1,
        workdir: Path | None = None,
    ) -> None:
        if hosts < 1:
            raise ValueError(f"a lab needs at least one HAProxy host, not {hosts}")
        self._layout = copy.deepcopy(dict(layout))
        self._initial = dict(initial)
        self._host_count = hosts
        self._workdir = workdir
        self._dir: Path | None = None
        self._hosts: list[LabHost] = []
        self._apps: dict[str, LabApp] = {}
        self._public_paths: dict[str, str] = {}
        self._app_servers: dict[str, subprocess.Popen[bytes]] = {}
        self._ports: dict[str, int] = {}
        self._held: list[socket.socket] = []  # one per port, until the end: no other lab takes our ports
        self._environments: dict[str, Any] = {}
        self._client: KeyPair | None = None
        self._untrap: Callable[[], None] = lambda: None
        self.startup_s: float | None = None  # how long __enter__ took

    # --- lifecycle --------------------------------------------------------------------------------------------

    def __enter__(self) -> Sandbox:
        self._untrap = trap_sigterm()
        try:
            self._start()
        except BaseException:
            self._stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self._stop()

    def _start(self) -> None:
        began = time.monotonic()
        plans = self._plan()
        self._start_app_servers()
        self._client = generate_key()
        self._hosts = [LabHost(plan, tuple(self._apps.values()), generate_key()) for plan in plans]
        prepare_privsep_dir()
        for host in self._hosts:
            host.write_files(self._client.public, getpass.getuser())
            host.start_sshd()
        self._wait_app_servers()
        for host in self._hosts:
            host.start_haproxy()
        for host in self._hosts:
            host.wait_haproxy()
            host.park_standbys()
        self._hosts[0].dump_server_state()
        for host in self._hosts:
            host.wait_sshd()
        self.startup_s = time.monotonic() - began

    def _plan(self) -> list[HostPlan]:
        """Validate the layout, take ports and a directory, write the shared files: nothing runs yet."""
        parsed = parse_layout(self._layout)
        self._held = reserve_ports(2 * len(parsed) + 2 * self._host_count, exclude=layout_ports(self._layout))
        ports = [holder.getsockname()[1] for holder in self._held]
        self._ports = {f"{name}/{color.value}": ports.pop() for name in parsed for color in Color}
        self._dir = self._make_dir()
        plans = [
            HostPlan(f"lb{n}", self._dir / f"lb{n}", ports.pop(), ports.pop()) for n in range(1, self._host_count + 1)
        ]
        files = move_files(parsed, self._dir / "shared")
        apps = serve_apps(parsed, self._initial, files, self._ports)
        self._apps = {app.name: app for app in apps}
        self._public_paths = {name: public_path(app) for name, app in parsed.items()}
        self._environments = rewrite_environments(self._layout, plans, files, self._ports, getpass.getuser())
        (self._dir / "shared").mkdir(exist_ok=True)
        for map_file in map_files(apps):
            Path(map_file).write_text(render_map(apps, map_file))
        return plans

    def _make_dir(self) -> Path:
        """The lab's directory (a new temporary one unless `workdir` was given): short, for Unix socket paths."""
        folder = (self._workdir or Path(tempfile.mkdtemp(prefix="bluegreen-lab-"))).resolve()
        self._dir = folder  # from here on _stop removes it (when it is a temporary one), even if the check fails
        longest = folder / f"lb{self._host_count}" / "master.sock"
        if not SAFE_PATH.fullmatch(str(folder)) or len(str(longest)) > MAX_SOCKET_PATH:
            hint = f"use a short directory of letters, digits and ._/+- (at most {MAX_SOCKET_PATH - 20} characters)"
            raise SandboxError(f"the lab directory {folder} cannot hold HAProxy's sockets", hint=hint)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _start_app_servers(self) -> None:
        (self.dir / "apps").mkdir(exist_ok=True)
        for key, port in self._ports.items():
            app, color = key.split("/")
            control = self.dir / "apps" / f"{app}-{color}.json"
            write_control(control, Control(self._initial[app].versions[Color(color)]))
            # Run by file name, isolated (-I): the standard library only, without importing bluegreen (~4x faster).
            argv = [sys.executable, "-I", appserver.__file__, app, color, str(port), str(control)]
            self._app_servers[key] = spawn(argv, self.dir / "apps" / f"{app}-{color}.log")

    def _wait_app_servers(self) -> None:
        for key, port in self._ports.items():
            log = self.dir / "apps" / f"{key.replace('/', '-')}.log"
            ready = functools.partial(_announced, log, f"on 127.0.0.1:{port} ")  # bound: this one, not a stranger
            wait_for(ready, f"app server {key}", process=self._app_servers[key], log=log)

    def _stop(self) -> None:
        """Stop everything, even when interrupted again meanwhile (the signals wait until cleanup is done)."""
        with signals_deferred():
            for host in self._hosts:
                host.stop()
            for process in self._app_servers.values():
                stop(process)
            release(self._held)
            if self._dir is not None and self._workdir is None:
                shutil.rmtree(self._dir, ignore_errors=True)
            self._untrap()

    # --- what the lab offers ----------------------------------------------------------------------------------

    @property
    def dir(self) -> Path:
        if self._dir is None:
            raise SandboxError("the lab has not started", hint="use it inside `with Sandbox(...) as lab:`")
        return self._dir

    @property
    def environments(self) -> dict[str, Any]:
        """The layout rewritten for this lab (a copy: change it freely)."""
        return copy.deepcopy(self._environments)

    @property
    def known_hosts(self) -> str:
        """One `[127.0.0.1]:<port> ssh-ed25519 AAAA...` line per host: the pins."""
        return "".join(host.known_hosts_line for host in self._hosts)

    @property
    def private_key(self) -> str:
        """The client key in OpenSSH format: what the `ssh.key_env` variable must hold. A secret: never print it."""
        if self._client is None:
            raise SandboxError("the lab has not started", hint="use it inside `with Sandbox(...) as lab:`")
        return self._client.private

    def write_state(self, repo: Path, state_dir: str = "state") -> None:
        """environments.json into `repo/state_dir`, and known_hosts where `ssh.known_hosts` says (repo-relative)."""
        known_hosts = repo / _repo_relative(self._environments.get("ssh", {}).get("known_hosts"))
        folder = repo / state_dir
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "environments.json").write_text(json.dumps(self._environments, indent=2) + "\n")
        known_hosts.parent.mkdir(parents=True, exist_ok=True)
        known_hosts.write_text(self.known_hosts)

    def set_app(
        self,
        app: str,
        color: Color,
        *,
        version: str | None = None,
        healthy: bool | None = None,
        delay_ms: int | None = None,
        public_status: int | None = None,
    ) -> None:
        """Change what an app server answers, from its next request on (`public_status`: see appserver)."""
        path = self._control(app, color)
        now = read_control(path)
        write_control(
            path,
            dataclasses.replace(
                now,
                version=now.version if version is None else version,
                healthy=now.healthy if healthy is None else healthy,
                delay_ms=now.delay_ms if delay_ms is None else delay_ms,
                public_status=now.public_status if public_status is None else public_status,
            ),
        )

    def fail_pages(self, app: str, color: Color, count: int) -> None:
        """The next `count` requests for a page of that app server (anything but its health check and version)
        answer 503, as a page that breaks for a moment does: HAProxy's check and bluegreen's probes still pass."""
        path = self._control(app, color)
        now = read_control(path)
        write_control(path, dataclasses.replace(now, fail_pages=count, burst=now.burst + 1))

    def served(self, app: str, color: Color) -> dict[str, dict[int, int]]:
        """Every answer that app server gave, by the request's User-Agent and the answer's status."""
        url = f"http://{self.app_address(app, color)}{appserver.SERVED}"
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never a proxy
        with opener.open(url, timeout=5) as answer:
            found: dict[str, dict[str, int]] = json.loads(answer.read())
        return {agent: {int(status): n for status, n in statuses.items()} for agent, statuses in found.items()}

    def _control(self, app: str, color: Color) -> Path:
        return self.dir / "apps" / f"{self._app(app).name}-{Color(color).value}.json"

    def stop_app(self, app: str, color: Color) -> None:
        """Stop that app server: from now on its port refuses connections, as a crashed app's does."""
        stop(self._app_servers[f"{self._app(app).name}/{Color(color).value}"])

    def runtime(self, command: str, host: int = 0) -> str:
        """One command to that host's runtime API, locally (for assertions)."""
        return self._host(host).runtime(command)

    def reload_haproxy(self, host: int = 0) -> None:
        self._host(host).reload()

    def stop_haproxy(self, host: int = 0) -> None:
        self._host(host).stop_haproxy()

    def haproxy_worker(self, host: int = 0) -> int:
        """The pid of that host's HAProxy worker (the process that serves the runtime socket and the traffic)."""
        pid = self._host(host).worker_pid()
        if pid is None:
            raise SandboxError(f"lb{host + 1}: HAProxy's worker does not answer", hint="is HAProxy running?")
        return pid

    def ssh_session(self, client_port: int, host: int = 0) -> list[int]:
        """The sshd process(es) serving the SSH connection from 127.0.0.1:`client_port` (none once it is gone)."""
        return self._host(host).ssh_session(client_port)

    def ssh_sessions(self, host: int = 0) -> list[int]:
        """The sshd process of every SSH connection to that host now (also those that come through a jump host)."""
        return self._host(host).ssh_sessions()

    def sftp_servers(self, client_port: int, host: int = 0) -> list[int]:
        """The SFTP server processes of that SSH connection."""
        return self._host(host).sftp_servers(client_port)

    def ssh_logins(self, host: int = 0) -> list[int]:
        """The client port of every SSH login that host's sshd accepted, oldest first."""
        return self._host(host).ssh_logins()

    def public_url(self, app: str, host: int = 0) -> str:
        return f"http://127.0.0.1:{self.frontend_port(host)}{self._public_paths[self._app(app).name]}"

    def frontend_port(self, host: int = 0) -> int:
        return self._host(host).plan.frontend_port

    def sshd_port(self, host: int = 0) -> int:
        return self._host(host).plan.sshd_port

    def app_address(self, app: str, color: Color) -> str:
        """`127.0.0.1:<port>` of that app server."""
        return self._app(app).addresses[Color(color)]

    def pids(self) -> tuple[int, ...]:
        """Every process of the lab now running, HAProxy's workers and sshd's sessions included."""
        hosts = [pid for host in self._hosts for pid in host.pids()]
        apps = [process.pid for process in self._app_servers.values() if process.poll() is None]
        return (*hosts, *apps, *(child for pid in apps for child in descendants(pid)))

    def ports(self) -> tuple[int, ...]:
        """Every TCP port the lab took: app servers, frontends, sshds."""
        hosts = [port for host in self._hosts for port in (host.plan.frontend_port, host.plan.sshd_port)]
        return (*self._ports.values(), *hosts)

    def _host(self, index: int) -> LabHost:
        if not 0 <= index < len(self._hosts):
            raise IndexError(f"the lab has {len(self._hosts)} HAProxy host(s); no host {index}")
        return self._hosts[index]

    def _app(self, name: str) -> LabApp:
        if name not in self._apps:
            raise KeyError(f"the lab has no app {name!r}; it has {sorted(self._apps)}")
        return self._apps[name]


def _announced(log: Path, words: str) -> bool:
    return log.exists() and words in log.read_text(errors="replace")


def _repo_relative(path: object) -> PurePosixPath:
    relative = PurePosixPath(path) if isinstance(path, str) and path else None
    if relative is None or relative.is_absolute() or ".." in relative.parts:
        raise InputError(
            f"known_hosts path {path!r} must be a path inside the repository",
            hint="e.g. state/known_hosts",
            location=Location("state/environments.json", field="ssh.known_hosts"),
        )
    return relative
