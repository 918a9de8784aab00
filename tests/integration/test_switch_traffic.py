"""What users saw during the switch, on the real lab: the report's figure against what the app servers served and
what a keep-alive load generator of the test's own counted, from the command line and through the Action (its PR
comment); and a moment of 5xx that the figure catches."""

from __future__ import annotations

import json
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from bluegreen.adapters.http import TRAFFIC_USER_AGENT
from bluegreen.model import Color
from bluegreen_lab import Sandbox
from tests.conftest import MakeSandbox
from tests.integration.actionrig import Rig
from tests.integration.conftest import Consumer, MakeConsumer
from tests.integration.test_action import FLIP, merge_pr, open_pr, push_run

pytestmark = pytest.mark.integration

BLUE, GREEN = Color.BLUE, Color.GREEN
APPS = ("theoshift", "ldc-tools")
LOAD_AGENT = "lab-load"
CLIENTS_PER_APP = 2
MAX_LOAD_S = 60.0  # a bound, in case a release hangs: the load stops on its own
LINE = re.compile(r"Users during the switch: (\d+) requests?, (\d+) failed; (\w+) (\d+) → (\w+) (\d+);")


@dataclass
class Load:
    """Keep-alive clients on the public entry, counting for themselves each answer by who served it."""

    lab: Sandbox
    stop: threading.Event = field(default_factory=threading.Event)
    served: Counter[tuple[str, str]] = field(default_factory=Counter)  # (app, X-Served-By) -> answers
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    def __enter__(self) -> Load:
        self.threads = [
            threading.Thread(target=self.client, args=(app,)) for app in APPS for _ in range(CLIENTS_PER_APP)
        ]
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join()

    def client(self, app: str) -> None:
        headers = {"Host": self.lab.environments["apps"][app]["public"]["host_header"], "User-Agent": LOAD_AGENT}
        deadline = time.monotonic() + MAX_LOAD_S
        with httpx.Client(headers=headers, timeout=5) as client:  # keep-alive: one connection, reused
            while not self.stop.is_set() and time.monotonic() < deadline:
                self.record(app, client)

    def record(self, app: str, client: httpx.Client) -> None:
        try:
            answer = client.get(self.lab.public_url(app))
            failure = None if answer.status_code == 200 else f"{app}: status {answer.status_code}"
        except httpx.HTTPError as exc:
            answer, failure = None, f"{app}: {type(exc).__name__}: {exc}"
        with self.lock:
            if failure or answer is None:
                self.failures.append(failure or "?")
            else:
                self.served[(app, answer.headers.get("X-Served-By", "?"))] += 1

    def count(self, app: str, color: Color) -> int:
        """What the load generator counted as served by that app's color (its served-by names the color)."""
        return sum(n for (name, by), n in self.served.items() if name == app and by.rsplit("/", 1)[-1] == color)


def answers(lab: Sandbox, agent: str) -> dict[tuple[str, Color], Counter[int]]:
    """What each app server says it answered `agent`, by status."""
    return {(app, color): Counter(lab.served(app, color).get(agent, {})) for app in APPS for color in Color}


def since(before: dict[tuple[str, Color], Counter[int]], lab: Sandbox, agent: str) -> dict[Any, Counter[int]]:
    after = answers(lab, agent)
    return {key: after[key] - before[key] for key in after}


def configure(consumer: Consumer, **verify: object) -> None:
    """The consumer's environments.json with these verify settings for every app, theoshift's users through
    the HAProxy host's SSH connection and ldc-tools' from here."""
    path = consumer.path / "state" / "environments.json"
    document = json.loads(path.read_text())
    for app in APPS:
        document["apps"][app].setdefault("verify", {}).update(verify)
    document["apps"]["theoshift"]["public"]["via"] = "ssh"
    path.write_text(json.dumps(document))


def test_under_keep_alive_load_the_figure_is_zero_failures_and_counts_what_the_app_servers_served(
    consumer: Consumer, sandbox: Sandbox
) -> None:
    configure(consumer, traffic_rate=50, window_s=0.5)
    probe_before, load_before = answers(sandbox, TRAFFIC_USER_AGENT), answers(sandbox, LOAD_AGENT)
    with Load(sandbox) as load:
        consumer.live(theoshift="blue", ldc_tools="green")
        forward = consumer.run("release", "--json")
        forward_served = since(probe_before, sandbox, TRAFFIC_USER_AGENT)
        between = answers(sandbox, TRAFFIC_USER_AGENT)
        consumer.live(theoshift="green", ldc_tools="blue")
        back = consumer.run("release")
        back_served = since(between, sandbox, TRAFFIC_USER_AGENT)
    assert (forward.code, back.code) == (0, 0), forward.err + back.err + back.out

    # The load generator's own count: no failure, and each answer it counted is one an app server gave it.
    assert load.failures == []
    load_served = since(load_before, sandbox, LOAD_AGENT)
    for app in APPS:
        for color in Color:
            assert load_served[(app, color)] == Counter({200: load.count(app, color)}), (app, color)
    assert sum(load.served.values()) > 200

    # The report's figure (JSON, going to Blue/Green): zero failures, every request one an app server answered.
    for app in APPS:
        figure = forward.json()["apps"][app]["traffic"]
        by_color = {color: forward_served[(app, color)][200] for color in Color}
        assert figure["failed"] == 0
        assert figure["by_color"] == {color.value: n for color, n in by_color.items()}
        assert (
            figure["requests"] == sum(by_color.values()) == sum(sum(forward_served[(app, c)].values()) for c in Color)
        )
        assert figure["requests"] >= 15  # most of the 25 due at 50 per second in the 0.5 s window alone
        assert 0 <= figure["first_new_ms"] < 1000
        assert figure["p50_ms"] <= figure["p99_ms"] < 1000

    # The report as the terminal shows it (going back): the same agreement, read from the words.
    lines = [LINE.search(line) for line in back.out.splitlines() if line.startswith("Users during the switch")]
    assert len(lines) == 2, back.out
    for app, found in zip(APPS, lines, strict=True):
        assert found is not None
        requests, failed, old, old_n, new, new_n = found.groups()
        counted = {color.title: back_served[(app, color)][200] for color in Color}
        assert (int(failed), {old: int(old_n), new: int(new_n)}) == (0, counted)
        assert int(requests) == sum(counted.values())


def test_through_the_action_the_pr_comment_under_keep_alive_load_says_what_the_load_generator_counted(
    rig: Rig, sandbox: Sandbox
) -> None:
    """The Action in its own process, as GitHub runs it, releases both apps of a merged PR while the test's
    keep-alive clients run: the PR comment's figure for each app is zero failures, as the load generator counted
    none, and its requests by color are the ones the app servers answered the release's probe."""
    environments = json.loads((rig.dev / "state" / "environments.json").read_text())
    for app in APPS:
        environments["apps"][app].setdefault("verify", {}).update(traffic_rate=50, window_s=0.5)
    rig.commit("Watch users for half a second", {"state/environments.json": environments})
    open_pr(rig, 12, FLIP)
    merged = merge_pr(rig, 12)
    probe_before, load_before = answers(sandbox, TRAFFIC_USER_AGENT), answers(sandbox, LOAD_AGENT)
    with Load(sandbox) as load:
        released = push_run(rig, merged)
    served = since(probe_before, sandbox, TRAFFIC_USER_AGENT)
    assert released.code == 0, released.log
    assert load.failures == []
    load_served = since(load_before, sandbox, LOAD_AGENT)
    assert all(load_served[(app, c)] == Counter({200: load.count(app, c)}) for app in APPS for c in Color)
    assert sum(load.served.values()) > 100

    [comment] = rig.github.comments(12)
    figures = [LINE.search(line) for line in comment.splitlines() if line.startswith("Users during the switch")]
    assert len(figures) == 2, comment
    for app, found in zip(APPS, figures, strict=True):
        assert found is not None
        requests, failed, old, old_n, new, new_n = found.groups()
        assert (old, new) == ({"theoshift": ("Green", "Blue"), "ldc-tools": ("Blue", "Green")}[app])
        counted = {color.title: served[(app, color)][200] for color in Color}
        assert (int(failed), {old: int(old_n), new: int(new_n)}) == (len(load.failures), counted)
        assert int(requests) == sum(counted.values()) == sum(sum(served[(app, c)].values()) for c in Color)
        assert int(requests) >= 15
    assert "Users during the switch" in released.summary


def test_a_moment_of_5xx_from_the_new_live_is_what_users_saw_and_traffic_goes_back(
    make_sandbox: MakeSandbox, make_consumer: MakeConsumer, layout: dict[str, Any]
) -> None:
    """Blue's pages answer 503 for its next 20 page requests (its health check and version stay fine, so the
    pre-flight passes): the release's users see it right after the switch, and the release is rolled back."""
    layout["apps"]["theoshift"]["public"]["url"] = "http://127.0.0.1:8080/"  # a page, named by X-Served-By
    lab = make_sandbox(layout=layout)
    consumer = make_consumer(lab)
    configure(consumer, traffic_rate=50)
    before = answers(lab, TRAFFIC_USER_AGENT)
    lab.fail_pages("theoshift", BLUE, 20)
    consumer.live(theoshift="blue")
    ran = consumer.run("release", "--app", "theoshift", "--json")
    assert ran.code == 4, ran.err + ran.out
    done = ran.json()["apps"]["theoshift"]
    figure, served = done["traffic"], since(before, lab, TRAFFIC_USER_AGENT)
    assert figure["failed"] >= 1
    assert figure["failed"] == served[("theoshift", BLUE)][503]  # each failure, one the new LIVE answered
    assert figure["by_color"] == {"blue": served[("theoshift", BLUE)][200], "green": served[("theoshift", GREEN)][200]}
    said = (
        f"users during the switch: {figure['failed']} of {figure['requests']} requests failed "
        "(allowed 0; first: status 503, served by theoshift_blue/blue)"
    )
    assert done["result"] == "rolled_back"
    assert said in done["reason"]
    assert done["hosts"] == {"lb1": "restored"}
    back = httpx.get(lab.public_url("theoshift"), headers={"Host": "theoshift.example.test"}, timeout=5)
    assert back.headers["X-Served-By"] == "theoshift_green/green"
