"""The lab itself, against the real processes: routing to the initial LIVE colors, live control of the app
servers, health checks, SSH with pinned keys, reloads, several hosts, and nothing left behind."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncssh
import httpx
import pytest

from bluegreen.errors import InputError, Location
from bluegreen.model import Color
from bluegreen_lab import AppInitial, Sandbox
from bluegreen_lab.host import stat_rows
from bluegreen_lab.processes import alive, port_is_free

pytestmark = pytest.mark.integration

HOSTS = {"theoshift": "theoshift.example.test", "ldc-tools": "ldc-tools.example.test"}


def get(lab: Sandbox, app: str, host: int = 0) -> httpx.Response:
    return httpx.get(lab.public_url(app, host), headers={"Host": HOSTS[app]}, timeout=5)


def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def server_status(lab: Sandbox, backend: str, server: str, host: int = 0) -> str:
    rows = stat_rows(lab.runtime("show stat -1 4 -1", host))
    return next(row["status"] for row in rows if (row["pxname"], row["svname"]) == (backend, server))


async def connect(lab: Sandbox, host: int = 0, known_hosts: str | None = None) -> asyncssh.SSHClientConnection:
    return await asyncssh.connect(
        "127.0.0.1",
        port=lab.sshd_port(host),
        username=lab.environments["haproxy"]["hosts"][host]["ssh"]["user"],
        known_hosts=asyncssh.import_known_hosts(known_hosts or lab.known_hosts),
        client_keys=[asyncssh.import_private_key(lab.private_key)],
        agent_path=None,
        config=None,
        connect_timeout=5,
    )


@pytest.mark.parametrize(
    ("app", "served_by", "color", "version"),
    [("theoshift", "theoshift_green/green", "green", "2.4.0"), ("ldc-tools", "ldc_tools/blue", "blue", "1.7.2")],
)
def test_requests_reach_the_initial_live_color(
    sandbox: Sandbox, app: str, served_by: str, color: str, version: str
) -> None:
    answer = get(sandbox, app)
    assert answer.status_code == 200
    assert answer.headers["X-Served-By"] == served_by
    assert answer.json() == {"app": app, "color": color, "version": version}


def test_an_unknown_host_gets_404(sandbox: Sandbox) -> None:
    answer = httpx.get(sandbox.public_url("theoshift"), headers={"Host": "nobody.example.test"})
    assert answer.status_code == 404


def test_the_standby_server_is_parked_in_drain(sandbox: Sandbox) -> None:
    assert server_status(sandbox, "ldc_tools", "blue") == "UP"
    assert server_status(sandbox, "ldc_tools", "green") == "DRAIN"


APP_SERVER_ANSWERS = [
    ("/health", 200, "ok\n"),
    ("/version", 200, '{"app": "theoshift", "color": "blue", "version": "2.4.1"}'),
    ("/version?x=1", 200, '{"app": "theoshift", "color": "blue", "version": "2.4.1"}'),
    ("/", 200, "theoshift blue 2.4.1\n"),
    ("/nothing", 404, "not found\n"),
    ("/../../etc/passwd", 404, "not found\n"),
]


def test_the_app_server_answers_over_keep_alive(sandbox: Sandbox) -> None:
    with httpx.Client(base_url=f"http://{sandbox.app_address('theoshift', Color.BLUE)}") as client:
        for path, status, body in APP_SERVER_ANSWERS:
            answer = client.get(path)
            assert (answer.status_code, answer.text) == (status, body), path
            assert answer.http_version == "HTTP/1.1"
            assert answer.headers["Content-Length"] == str(len(body))
            assert "close" not in answer.headers.get("Connection", "")


def test_delay_slows_answers_but_not_health(sandbox: Sandbox) -> None:
    sandbox.set_app("theoshift", Color.BLUE, delay_ms=300)
    address = f"http://{sandbox.app_address('theoshift', Color.BLUE)}"
    assert httpx.get(f"{address}/health").elapsed.total_seconds() < 0.25
    assert httpx.get(f"{address}/version").elapsed.total_seconds() >= 0.3


@pytest.mark.parametrize("known_hosts", ["/etc/ssh/known_hosts", "../outside", "state/../../outside", ""])
def test_write_state_keeps_the_pins_inside_the_repository(
    make_sandbox: Callable[..., Sandbox], layout: dict[str, Any], tmp_path: Path, known_hosts: str
) -> None:
    layout["ssh"]["known_hosts"] = known_hosts
    lab = make_sandbox(layout=layout)
    with pytest.raises(InputError) as refused:
        lab.write_state(tmp_path / "repo")
    assert refused.value.location == Location("state/environments.json", field="ssh.known_hosts")
    assert not (tmp_path / "repo").exists()


def test_set_app_changes_the_version_answered(sandbox: Sandbox) -> None:
    sandbox.set_app("theoshift", Color.GREEN, version="2.5.0")
    assert get(sandbox, "theoshift").json()["version"] == "2.5.0"


def test_a_burst_of_failing_pages_spares_health_and_version_and_every_answer_is_counted(sandbox: Sandbox) -> None:
    address = f"http://{sandbox.app_address('theoshift', Color.BLUE)}"
    sandbox.fail_pages("theoshift", Color.BLUE, 2)
    with httpx.Client(base_url=address, headers={"User-Agent": "lab-test"}) as client:
        assert [client.get(path).status_code for path in ("/health", "/version", "/", "/", "/")] == [
            200,
            200,
            503,
            503,
            200,
        ]
        sandbox.fail_pages("theoshift", Color.BLUE, 1)  # a new burst, of one
        assert [client.get("/").status_code for _ in range(2)] == [503, 200]
    assert sandbox.served("theoshift", Color.BLUE)["lab-test"] == {200: 4, 503: 3}
    assert "lab-test" not in sandbox.served("theoshift", Color.GREEN)


def test_an_unhealthy_app_server_goes_down(sandbox: Sandbox) -> None:
    sandbox.set_app("theoshift", Color.BLUE, healthy=False)
    assert httpx.get(f"http://{sandbox.app_address('theoshift', Color.BLUE)}/health").status_code == 503
    assert eventually(lambda: server_status(sandbox, "theoshift_blue", "blue") == "DOWN")


def test_the_rewritten_layout_points_at_the_lab(sandbox: Sandbox) -> None:
    environments = sandbox.environments
    standby = environments["apps"]["theoshift"]["colors"]["blue"]
    assert httpx.get(f"http://{standby}/version").json() == {"app": "theoshift", "color": "blue", "version": "2.4.1"}
    assert environments["apps"]["ldc-tools"]["public"]["url"] == sandbox.public_url("ldc-tools")
    assert environments["haproxy"]["hosts"][0]["ssh"]["port"] == sandbox.sshd_port()
    state_file = Path(environments["apps"]["ldc-tools"]["switch"]["state_file"])
    assert "ldc_tools 2 green" in state_file.read_text()


def test_write_state_writes_the_layout_and_the_pins(sandbox: Sandbox, tmp_path: Path) -> None:
    sandbox.write_state(tmp_path)
    assert json.loads((tmp_path / "state" / "environments.json").read_text()) == sandbox.environments
    assert (tmp_path / "state" / "known_hosts").read_text() == sandbox.known_hosts


async def test_ssh_with_the_generated_key_reaches_the_runtime_api(sandbox: Sandbox) -> None:
    async with await connect(sandbox) as conn:
        reader, writer = await conn.open_unix_connection(sandbox.environments["haproxy"]["hosts"][0]["socket"])
        writer.write(b"show info\n")
        assert "Name: HAProxy" in (await reader.read()).decode()


async def test_a_wrong_host_key_pin_is_refused(sandbox: Sandbox) -> None:
    impostor = asyncssh.generate_private_key("ssh-ed25519").export_public_key().decode()
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        await connect(sandbox, known_hosts=f"[127.0.0.1]:{sandbox.sshd_port()} {impostor}")


def test_a_reload_keeps_serving_and_changes_the_worker(sandbox: Sandbox) -> None:
    """Every GET under keep-alive load is answered 200. The old worker closes its idle keep-alive connections
    when it stops, so a request racing that close is retried once on a new connection, as RFC 9112 (9.3.1)
    lets a client do for an idempotent request (browsers do; HAProxy 2.6 has no idle-close-on-response)."""
    answers: list[int | str] = []
    done = threading.Event()

    def load() -> None:
        with httpx.Client(headers={"Host": HOSTS["theoshift"]}, timeout=5) as client:
            while not done.is_set():
                answers.append(get_retrying_a_closed_connection(client, sandbox.public_url("theoshift")))

    worker = pid_of_worker(sandbox)
    loader = threading.Thread(target=load)
    loader.start()
    try:
        assert eventually(lambda: len(answers) >= 3)
        sandbox.reload_haproxy()
        after = len(answers)
        assert eventually(lambda: len(answers) >= after + 10)  # served by the new worker too
    finally:
        done.set()
        loader.join()
    assert pid_of_worker(sandbox) != worker
    assert set(answers) == {200}
    assert server_status(sandbox, "ldc_tools", "green") == "DRAIN"  # the state file carried the standby's state


def get_retrying_a_closed_connection(client: httpx.Client, url: str) -> int | str:
    for attempt in (1, 2):
        try:
            return client.get(url).status_code
        except (httpx.RemoteProtocolError, httpx.ReadError) as exc:  # closed or reset while we sent
            if attempt == 2:
                return repr(exc)
        except httpx.HTTPError as exc:
            return repr(exc)
    raise AssertionError("unreachable")


def pid_of_worker(lab: Sandbox, host: int = 0) -> int:
    info = dict(line.split(": ", 1) for line in lab.runtime("show info", host).splitlines() if ": " in line)
    return int(info["Pid"])


async def test_two_hosts(make_sandbox: Callable[..., Sandbox]) -> None:
    lab = make_sandbox(hosts=2)
    hosts = lab.environments["haproxy"]["hosts"]
    assert [host["name"] for host in hosts] == ["lb1", "lb2"]
    assert hosts[0]["socket"] != hosts[1]["socket"]
    assert len(lab.known_hosts.splitlines()) == 2
    for index in (0, 1):
        assert get(lab, "theoshift", index).headers["X-Served-By"] == "theoshift_green/green"
        assert server_status(lab, "ldc_tools", "green", index) == "DRAIN"
        async with await connect(lab, index) as conn:
            reader, writer = await conn.open_unix_connection(hosts[index]["socket"])
            writer.write(b"show info\n")
            assert f"Pid: {pid_of_worker(lab, index)}" in (await reader.read()).decode()


def test_custom_initial_state(make_sandbox: Callable[..., Sandbox], initial: dict[str, AppInitial]) -> None:
    lab = make_sandbox(initial=initial | {"ldc-tools": AppInitial(Color.GREEN, {Color.BLUE: "1", Color.GREEN: "2"})})
    assert get(lab, "ldc-tools").json() == {"app": "ldc-tools", "color": "green", "version": "2"}
    assert server_status(lab, "ldc_tools", "blue") == "DRAIN"


def test_stop_haproxy_stops_serving(sandbox: Sandbox) -> None:
    sandbox.stop_haproxy()
    with pytest.raises(httpx.ConnectError):
        get(sandbox, "theoshift")


async def test_nothing_is_left_after_exit(layout: dict[str, Any], initial: dict[str, AppInitial]) -> None:
    """Not even an SSH session still open at exit (sshd's sessions leave its process group)."""
    with Sandbox(layout, initial) as lab:
        conn = await connect(lab)
        session = await conn.create_process("echo started; exec sleep 30")
        assert await session.stdout.readline() == "started\n"
        pids, ports, folder = lab.pids(), lab.ports(), lab.dir
        assert len(pids) >= 8  # 4 app servers, HAProxy's master and worker, sshd and its session
        assert b"sleep\x0030\x00" in map(command_line, pids)
    conn.abort()
    session.close()
    assert [pid for pid in pids if alive(pid)] == []
    assert [port for port in ports if not port_is_free(port)] == []
    assert not folder.exists()


def command_line(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()


LAB_SCRIPT = """
import json, sys, time
from bluegreen.errors import InputError, Location
from bluegreen.model import Color
from bluegreen_lab import AppInitial, Sandbox
layout, live = json.loads(sys.argv[1]), json.loads(sys.argv[2])
initial = {app: AppInitial(Color(color), {Color.BLUE: "1", Color.GREEN: "2"}) for app, color in live.items()}
with Sandbox(layout, initial) as lab:
    print(json.dumps({"pids": lab.pids(), "ports": lab.ports(), "dir": str(lab.dir)}), flush=True)
    time.sleep(60)
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGKILL])
def test_a_signalled_lab_leaves_no_process(layout: dict[str, Any], signum: signal.Signals) -> None:
    """SIGTERM and Ctrl-C clean up in full; even SIGKILL leaves no process (the children get SIGTERM)."""
    live = json.dumps({"theoshift": "green", "ldc-tools": "blue"})
    with subprocess.Popen(
        [sys.executable, "-c", LAB_SCRIPT, json.dumps(layout), live], stdout=subprocess.PIPE, text=True
    ) as owner:
        assert owner.stdout is not None
        started = json.loads(owner.stdout.readline())
        owner.send_signal(signum)
        owner.wait(10)
    assert eventually(lambda: not any(alive(pid) for pid in started["pids"]))
    assert eventually(lambda: all(port_is_free(port) for port in started["ports"]))
    if signum != signal.SIGKILL:
        assert not Path(started["dir"]).exists()
    shutil.rmtree(started["dir"], ignore_errors=True)
