"""A blue/green app server for the lab: `python -m bluegreen_lab.appserver APP COLOR PORT CONTROL_FILE`
(the lab runs this file by name, `python -I .../appserver.py ...`: same program, no package import).

HTTP/1.1 with keep-alive, Content-Length always set. It re-reads its control file (JSON: version, healthy,
delay_ms, public_status, fail_pages, burst) on every request, so a test changes it live. `GET /health` answers
200 `ok` (503 when unhealthy), `GET /version` JSON {"app", "color", "version"}, `GET /` a line naming all three.
`delay_ms` slows every answer except /health, so a slow app stays in HAProxy's rotation. `public_status` (e.g. 500)
is the answer to every request but /health that comes through HAProxy (a Host header other than the server's own
address), as an app misconfigured for its public name answers: its own health check and direct probes still pass.
A new `burst` makes the next `fail_pages` requests for a page (anything but /health and /version, so health checks
and version probes still pass) answer 503, as a page that breaks for a moment does. `GET /lab/served` answers, as
JSON {user agent: {status: count}}, every answer it gave (but these). Standard library only: it starts in ~50 ms.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

SERVED = "/lab/served"


@dataclass(frozen=True)
class Control:
    version: str
    healthy: bool = True
    delay_ms: int = 0
    public_status: int = 0  # 0: answer as usual
    fail_pages: int = 0  # page requests that answer 503, from the time `burst` changes
    burst: int = 0


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"


def read_control(path: Path) -> Control:
    raw = json.loads(path.read_text())
    return Control(
        str(raw["version"]),
        bool(raw["healthy"]),
        int(raw["delay_ms"]),
        int(raw.get("public_status", 0)),
        int(raw.get("fail_pages", 0)),
        int(raw.get("burst", 0)),
    )


def write_control(path: Path, control: Control) -> None:
    """Write atomically (temp file + rename): a request never reads half a file."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=".control-", delete=False) as temp:
        json.dump(asdict(control), temp)
    Path(temp.name).replace(path)


def answer(path: str, app: str, color: str, control: Control, proxied: bool = False) -> Answer:
    """What the app server says to `GET path` (`proxied`: through HAProxy, by its Host header): pure, so the table
    of answers is easy to read and test."""
    route = path.split("?", 1)[0]
    if route == "/health":
        return Answer(200, b"ok\n") if control.healthy else Answer(503, b"unhealthy\n")
    if proxied and control.public_status:
        return Answer(control.public_status, b"misconfigured for its public name\n")
    if route == "/version":
        body = json.dumps({"app": app, "color": color, "version": control.version})
        return Answer(200, body.encode(), "application/json")
    if route == "/":
        return Answer(200, f"{app} {color} {control.version}\n".encode())
    return Answer(404, b"not found\n")


UNPAGED = ("/health", "/version", SERVED)  # what a burst of failing pages leaves alone


class AppServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default listen backlog is 5: with 16 lab hosts, each HAProxy checking every server every
    # 100 ms, bursts of checks overflowed it, connections were dropped, and HAProxy saw L4TOUT
    request_queue_size = 256

    def __init__(self, port: int, app: str, color: str, control: Path) -> None:
        super().__init__(("127.0.0.1", port), Handler)
        self.app, self.color, self.control = app, color, control
        self.lock = threading.Lock()
        self.served: Counter[tuple[str, int]] = Counter()  # (user agent, status) -> answers
        self.burst, self.failing = 0, 0

    def fails(self, route: str, control: Control) -> bool:
        """Whether this page request is one of the burst's failures."""
        with self.lock:
            if control.burst != self.burst:
                self.burst, self.failing = control.burst, control.fail_pages
            if route in UNPAGED or self.failing <= 0:
                return False
            self.failing -= 1
            return True

    def count(self, agent: str, status: int) -> None:
        with self.lock:
            self.served[(agent, status)] += 1

    def counted(self) -> dict[str, dict[str, int]]:
        with self.lock:
            found: dict[str, dict[str, int]] = {}
            for (agent, status), n in sorted(self.served.items()):
                found.setdefault(agent, {})[str(status)] = n
            return found


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes: no 40 ms delayed-ACK stall
    server: AppServer

    def do_GET(self) -> None:
        route = self.path.split("?", 1)[0]
        if route == SERVED:
            self._send(Answer(200, json.dumps(self.server.counted()).encode(), "application/json"))
            return
        reply = self._reply(route)
        self.server.count(self.headers.get("User-Agent", ""), reply.status)
        self._send(reply)

    def _reply(self, route: str) -> Answer:
        try:
            control = read_control(self.server.control)
        except (OSError, ValueError, KeyError) as exc:
            return Answer(500, f"control file unreadable: {exc}\n".encode())
        if control.delay_ms > 0 and not self.path.startswith("/health"):
            time.sleep(control.delay_ms / 1000)
        if self.server.fails(route, control):
            return Answer(503, b"failing on purpose\n")
        proxied = self.headers.get("Host") != f"127.0.0.1:{self.server.server_port}"
        return answer(self.path, self.server.app, self.server.color, control, proxied)

    def _send(self, reply: Answer) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: HAProxy checks every 100 ms."""


def main(argv: list[str]) -> int:
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    app, color, port, control = argv
    with AppServer(int(port), app, color, Path(control)) as server:
        print(f"app server {app}/{color} listening on 127.0.0.1:{port} (pid {os.getpid()})", flush=True)
        server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
