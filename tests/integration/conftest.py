"""A consumer repository wired to a running lab, and the command line run in-process against it."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bluegreen import cli
from bluegreen.errors import BluegreenError
from bluegreen_lab import Sandbox
from tests.fakegithub import FakeGitHub
from tests.integration.actionrig import Rig, make_rig
from tests.integration.faults import ROWS_ENV, Matrix

REPO = Path(__file__).resolve().parents[2]
ROWS = pytest.StashKey[Path | None]()
PASSED = pytest.StashKey[bool]()


# --- the fault matrix (tests/integration/faults.py, docs/faults.md) ---------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    """Where the matrix's rows go, read before any test cleans BLUEGREEN_* from the environment."""
    folder = os.environ.get(ROWS_ENV)
    config.stash[ROWS] = Path(folder) if folder else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that asks for the `fault` fixture is a row of the matrix: marked `faults` (`pytest -m faults`). (A
    parameter of that name elsewhere is not the fixture.)"""
    for item in items:
        params = getattr(getattr(item, "callspec", None), "params", {})
        if "fault" in getattr(item, "fixturenames", ()) and "fault" not in params:
            item.add_marker(pytest.mark.faults)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.when == "call":
        item.stash[PASSED] = report.passed
    return report


@pytest.fixture
def fault(request: pytest.FixtureRequest) -> Iterator[Matrix]:
    """This test's row(s) of the fault matrix: `fault.watch(...)` before the fault, `.record(...)` after it.
    Written to $BLUEGREEN_FAULT_ROWS when the test passed; a matrix test that records no row is an error."""
    matrix = Matrix(request.node.nodeid)
    yield matrix
    if not request.node.stash.get(PASSED, False):
        return
    assert matrix.rows, "a test of the fault matrix must record its row: fault.watch(...).record(...)"
    folder = request.config.stash[ROWS]
    if folder is not None:
        matrix.write(folder)


@dataclass
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Consumer:
    """A repository whose state/ points at a lab; `run("release")` is `bluegreen release --repo <it>`."""

    path: Path
    lab: Sandbox

    def run(self, *argv: str, key: str | None = None) -> Ran:
        out, err = io.StringIO(), io.StringIO()
        environ = {"BLUEGREEN_SSH_KEY": self.lab.private_key if key is None else key}
        console = cli.Console(out, err, time.perf_counter())
        try:
            with contextlib.redirect_stderr(err):  # argparse's own messages
                code = cli.run([argv[0], "--repo", str(self.path), *argv[1:]], environ, console)
        except BluegreenError as error:  # as __main__ does
            code = error.exit_code
            err.write(str(error))
        except SystemExit as exit:  # argparse refused an argument
            code = int(exit.code or 0)
        return Ran(code, out.getvalue(), err.getvalue())

    def live(self, **apps: str) -> None:
        """Write state/live.json as a pull request would: `live(theoshift="blue")`."""
        path = self.path / "state" / "live.json"
        document = json.loads(path.read_text())
        for app, color in apps.items():
            document["apps"][app.replace("_", "-")] = {"live": color}
        path.write_text(json.dumps(document, indent=2) + "\n")

    def pin(self, app: str, version: str) -> None:
        path = self.path / "state" / "live.json"
        document = json.loads(path.read_text())
        document["apps"][app]["version"] = version
        path.write_text(json.dumps(document, indent=2) + "\n")

    def status(self) -> Any:
        return json.loads((self.path / "state" / "status.json").read_text())


MakeConsumer = Callable[[Sandbox], Consumer]


@pytest.fixture
def make_consumer(tmp_path: Path) -> MakeConsumer:
    def make(lab: Sandbox) -> Consumer:
        path = tmp_path / f"consumer-{len(list(tmp_path.iterdir()))}"
        shutil.copytree(REPO / "state", path / "state")
        lab.write_state(path)
        return Consumer(path, lab)

    return make


@pytest.fixture
def consumer(sandbox: Sandbox, make_consumer: MakeConsumer) -> Consumer:
    return make_consumer(sandbox)


@pytest.fixture
def rig(tmp_path: Path, sandbox: Sandbox, fake_github: FakeGitHub) -> Rig:
    """A consumer repository on the fake GitHub, wired to the lab: see actionrig."""
    made = make_rig(tmp_path, sandbox, fake_github)
    fake_github.git_dir = made.origin  # GitHub serves the repository's files from what was pushed
    return made
