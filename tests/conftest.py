"""Shared fixtures: the repository's example layout, the lab (real HAProxy, sshd, app servers on loopback), and an
environment cleaned of anything a developer's shell or a CI runner could use to change a result."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

from bluegreen.model import Color
from bluegreen_lab import AppInitial, Sandbox

REPO = Path(__file__).resolve().parent.parent
LEAKY_PREFIXES = ("BLUEGREEN_", "GITHUB_", "RUNNER_", "INPUT_")
LEAKY_NAMES = ("SSH_AUTH_SOCK", "CI")

MakeSandbox = Callable[..., Sandbox]

# Hypothesis: `ci` (the default) is deterministic, so a run passes or fails the same way everywhere and a failure
# prints the blob that reproduces it; `HYPOTHESIS_PROFILE=explore` draws fresh random examples, many more of them.
settings.register_profile("ci", derandomize=True, database=None, max_examples=200, deadline=None, print_blob=True)
settings.register_profile("explore", derandomize=False, max_examples=2000, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No BLUEGREEN_*, no ssh-agent, no GitHub Actions variables: tests set what they need themselves."""
    for name in os.environ:
        if name.startswith(LEAKY_PREFIXES) or name in LEAKY_NAMES:
            monkeypatch.delenv(name)


@pytest.fixture
def layout() -> dict[str, Any]:
    """The repository's own state/environments.json, parsed."""
    layout: dict[str, Any] = json.loads((REPO / "state" / "environments.json").read_text())
    return layout


@pytest.fixture
def initial() -> dict[str, AppInitial]:
    """What state/status.json records: theoshift LIVE green, ldc-tools LIVE blue."""
    return {
        "theoshift": AppInitial(Color.GREEN, {Color.BLUE: "2.4.1", Color.GREEN: "2.4.0"}),
        "ldc-tools": AppInitial(Color.BLUE, {Color.BLUE: "1.7.2", Color.GREEN: "1.8.0"}),
    }


@pytest.fixture
def sandbox(layout: dict[str, Any], initial: dict[str, AppInitial]) -> Iterator[Sandbox]:
    """A running lab with one HAProxy host, stopped and removed after the test."""
    with Sandbox(layout, initial) as lab:
        yield lab


@pytest.fixture
def make_sandbox(layout: dict[str, Any], initial: dict[str, AppInitial]) -> Iterator[MakeSandbox]:
    """`make_sandbox(hosts=2, initial=..., layout=...)` starts a lab; every lab stops after the test."""
    base_layout, base_initial = layout, initial
    with ExitStack() as labs:

        def make(
            *, hosts: int = 1, initial: Mapping[str, AppInitial] | None = None, layout: Mapping[str, Any] | None = None
        ) -> Sandbox:
            return labs.enter_context(Sandbox(layout or base_layout, initial or base_initial, hosts=hosts))

        yield make


# --- GitHub: the fake REST API (tests/fakegithub.py) -------------------------------------------------------------

from tests.fakegithub import FakeGitHub  # noqa: E402


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A fake GitHub REST API for `acme/ops` (default branch `main`) at `fake_github.url`, token `fake_github.token`.

    After the test, every request it got and every answer it gave must agree with GitHub's OpenAPI description
    (tests/githubspec.py, tests/data/github-openapi/)."""
    with FakeGitHub("acme/ops", "main") as fake:
        yield fake
    found = list(dict.fromkeys(fake.spec_problems))
    assert not found, "GitHub's OpenAPI description disagrees with this exchange:\n" + "\n".join(found)
