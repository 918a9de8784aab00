"""The demo (`scripts/demo`, `python -m bluegreen_lab`): a real release on this machine, from the repository's
own state/.

Starts the sandbox (HAProxy, sshd and a blue and a green app server per app, on loopback), copies state/ to a
temporary folder (the repository is left as it was), then runs what a team's pull requests would:
status, plan, release (the PR merged), status, and a rollback (the PR reverted).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bluegreen.errors import InputError, Location
from bluegreen.model import Color
from bluegreen_lab import AppInitial, Sandbox

if TYPE_CHECKING:
    from bluegreen.cli import Console

STATE_FILES = ("live.json", "environments.json", "status.json")


def demo(repo: Path, hosts: int, environ: dict[str, str], console: Console) -> int:
    with tempfile.TemporaryDirectory(prefix="bluegreen-demo-") as folder:
        work = Path(folder)
        layout, status, desired = _copy_state(repo, work / "state")
        console.progress(f"starting the sandbox: {hosts} HAProxy host(s), sshd, {2 * len(desired)} app servers")
        console.out.write(f"bluegreen demo: a copy of {repo.resolve() / 'state'} in $DEMO_REPO={work}\n")
        with Sandbox(layout, initial=_initial(status), hosts=hosts) as lab:
            lab.write_state(work)
            key_env = str(lab.environments["ssh"].get("key_env", "BLUEGREEN_SSH_KEY"))
            env = {**environ, key_env: lab.private_key}
            base = ["--repo", str(work)]
            steps = [
                ("the actual state, before", ["status", *base]),
                ("plan: what merging the PR will do", ["plan", *base]),
                ("release: the PR is merged", ["release", *base, "--actor", "demo", "--pr", "1"]),
                ("the actual state, after", ["status", *base]),
            ]
            codes = [_step(title, argv, env, console) for title, argv in steps]
            _revert(work / "state" / "live.json", status)
            codes.append(_step("rollback: the PR is reverted", ["release", *base, "--pr", "2"], env, console))
            codes.append(_step("the actual state, at the end", ["status", *base], env, console))
        return 0 if all(code == 0 for code in codes) else max(codes)


def _step(title: str, argv: list[str], environ: dict[str, str], console: Console) -> int:
    from bluegreen.cli import run

    shown = " ".join("$DEMO_REPO" if argument.startswith("/") else argument for argument in argv)
    console.out.write(f"\n=== {title}: bluegreen {shown}\n\n")
    console.out.flush()
    code = run(argv, environ, console)
    console.out.write(f"\n(exit code {code})\n")
    return code


def _copy_state(repo: Path, into: Path) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    into.mkdir(parents=True)
    for name in STATE_FILES:
        source = repo / "state" / name
        if not source.exists():
            raise InputError(f"the demo needs {source}", location=Location(f"state/{name}"))
        shutil.copy(source, into / name)
    loaded = [
        json.loads((into / name).read_text(encoding="utf-8"))
        for name in ("environments.json", "status.json", "live.json")
    ]
    return loaded[0], loaded[1], loaded[2]["apps"]


def _initial(status: Mapping[str, Any]) -> dict[str, AppInitial]:
    """What the app servers run at the start: what state/status.json says was observed last."""
    initial = {}
    for name, app in status["apps"].items():
        live, standby = app["live"], app["standby"]
        versions = {Color(live["color"]): live["version"], Color(standby["color"]): standby["version"]}
        initial[name] = AppInitial(live=Color(live["color"]), versions=versions)
    return initial


def _revert(live_file: Path, status: Mapping[str, Any]) -> None:
    """What GitHub's Revert button does to state/live.json: every app back to its LIVE of before."""
    apps = {name: {"live": app["live"]["color"]} for name, app in status["apps"].items()}
    live_file.write_text(json.dumps({"apps": apps}, indent=2) + "\n", encoding="utf-8")
