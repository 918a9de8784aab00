"""The Action's image: built from the Dockerfile and the locked requirements, then run.

There is no Docker engine here, so buildah builds the image (`--isolation chroot`: the build and the container
share the host's network, so RUN steps reach PyPI and Debian, and the container reaches the sandbox on loopback).
Base images cannot be pulled either: the test makes its own stand-in for python:3.11-slim with debootstrap,
Debian bookworm with python3 and a virtualenv at /usr/local, so that `python` and `pip` are on PATH there as in
the official image. The base is cached in /var/cache/bluegreen-test-base and in buildah's storage, keyed by a
hash of its recipe, and buildah caches the image's layers (--layers): only a first run pays for debootstrap and
the downloads. The container is run the way GitHub runs a container action: the image's own entrypoint, the
workspace and the runner's files mounted under /github, GITHUB_* and INPUT_* in the environment.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from bluegreen_lab import Sandbox
from tests import events
from tests.fakegithub import FakeGitHub

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
CACHE = Path("/var/cache/bluegreen-test-base")
IMAGE = "localhost/bluegreen-test:latest"
# Everything that shapes the stand-in base: change any of it and the cache key changes with it.
BASE_RECIPE: dict[str, Any] = {
    "debootstrap": ["--variant=minbase", "--include=python3,python3-venv,ca-certificates", "bookworm"],
    "mirror": "http://deb.debian.org/debian",
    "venv": ["/usr/bin/python3", "-m", "venv", "/usr/local"],
    "drop": ["dev/*", "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb", "var/lib/apt/lists/*"]
    + [f"usr/share/{docs}/*" for docs in ("doc", "man", "info", "locale")],
    "config": ["--env", "PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "--env", "LANG=C.UTF-8"],
}
ADDED_LAYERS_BUDGET = 80_000_000  # bytes the Dockerfile adds to its base: the locked packages, ~50 MB (no git)


def run(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)


def must(*argv: str, timeout: float = 120) -> str:
    done = run(*argv, timeout=timeout)
    # argv[:2] only: a `buildah run` passes the test's SSH key in its arguments
    said = f"{done.stdout[-2000:]}\n{done.stderr[-3000:]}".strip()
    assert done.returncode == 0, f"{argv[0]} {argv[1]} failed ({done.returncode}):\n{said}"
    return done.stdout.strip()


# --- the stand-in base image ------------------------------------------------------------------------------------


def base_image() -> str:
    """localhost/bluegreen-test-base:<key of the recipe>, made once and kept."""
    assert os.geteuid() == 0, "the image test runs as root (debootstrap, chroot, buildah): sudo scripts/test"
    key = hashlib.sha256(json.dumps(BASE_RECIPE, sort_keys=True).encode()).hexdigest()[:16]
    name = f"localhost/bluegreen-test-base:{key}"
    CACHE.mkdir(parents=True, exist_ok=True)
    with exclusive(CACHE / "lock"):
        if run("buildah", "inspect", "--type", "image", name).returncode != 0:
            archive = CACHE / f"{key}.tar"
            if not archive.exists():
                debootstrap(archive)
            import_base(archive, name)
    return name


@contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """Two test runs never make the same base at once."""
    with path.open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def debootstrap(archive: Path) -> None:
    """Debian with python3, a venv at /usr/local, no docs or package lists; written as a tar, atomically."""
    work = Path(tempfile.mkdtemp(prefix="base-", dir=CACHE))
    try:
        root = work / "root"
        must("debootstrap", *BASE_RECIPE["debootstrap"], str(root), BASE_RECIPE["mirror"], timeout=900)
        must("chroot", str(root), *BASE_RECIPE["venv"], timeout=300)
        for pattern in BASE_RECIPE["drop"]:
            for path in root.glob(pattern):
                must("rm", "-rf", "--one-file-system", str(path))
        must("tar", "-C", str(root), "--numeric-owner", "-cf", str(work / "base.tar"), ".", timeout=300)
        (work / "base.tar").rename(archive)
    finally:  # never rmtree: a failed debootstrap can leave /proc mounted in there
        must("rm", "-rf", "--one-file-system", str(work), timeout=300)


def import_base(archive: Path, name: str) -> None:
    container = must("buildah", "from", "scratch")
    try:
        must("buildah", "add", container, str(archive), "/", timeout=300)
        must("buildah", "config", *BASE_RECIPE["config"], "--cmd", "python3", container)
        must("buildah", "commit", "--quiet", container, name, timeout=300)
    finally:
        run("buildah", "rm", container)


# --- the image and its container --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def base() -> str:
    return base_image()


@pytest.fixture(scope="module")
def image(base: str) -> str:
    """The Action's image, built from the repository as GitHub builds it (but on the stand-in base)."""
    must(
        "buildah", "bud", "--isolation", "chroot", "--layers", "--pull=never", "--quiet",
        "--volume", "/etc/ssl/certs:/etc/ssl/certs:ro",  # the host's CAs, so RUN steps reach PyPI as the host does
        "--build-arg", f"BASE={base}", "--tag", IMAGE, "--file", str(REPO / "Dockerfile"), str(REPO),
        timeout=900,
    )  # fmt: skip
    return IMAGE


def inspected(image: str) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(must("buildah", "inspect", "--type", "image", image))
    return found


@pytest.fixture(scope="module")
def container(image: str) -> Iterator[str]:
    name = must("buildah", "from", "--pull-never", image)
    yield name
    run("buildah", "rm", name)


def inside(container: str, *argv: str, options: tuple[str, ...] = (), timeout: float = 60) -> str:
    """Run `argv` in the container; its output, after checking that it succeeded."""
    return must("buildah", "run", "--isolation", "chroot", *options, container, "--", *argv, timeout=timeout)


def locked_pins(path: Path) -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\]+)", path.read_text(), flags=re.MULTILINE)
    return {normalized(name): version for name, version in pins}


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


# --- the tests --------------------------------------------------------------------------------------------------


def test_the_entrypoint_is_the_action_as_root_with_unbuffered_python(image: str) -> None:
    config = inspected(image)["OCIv1"]["config"]
    assert config["Entrypoint"] == ["python", "-m", "bluegreen", "action"]
    assert {"PYTHONDONTWRITEBYTECODE=1", "PYTHONUNBUFFERED=1"} <= set(config["Env"])
    assert not config.get("User")  # GitHub runs container actions as root, with the workspace mounted


def test_the_dockerfile_adds_little_to_its_base(image: str, base: str) -> None:
    layers = [layer["size"] for layer in json.loads(inspected(image)["Manifest"])["layers"]]
    added = sum(layers[len(json.loads(inspected(base)["Manifest"])["layers"]) :])
    assert 0 < added < ADDED_LAYERS_BUDGET, f"the Dockerfile adds {added / 1e6:.0f} MB (apt or pip caches left?)"


def test_help_runs_in_the_image(container: str) -> None:
    out = inside(container, "python", "-m", "bluegreen", "--help")
    assert out.startswith("usage: bluegreen")
    assert all(command in out for command in ("plan", "release", "status", "action"))


def test_the_image_holds_exactly_the_locked_packages_and_no_build_tools(container: str) -> None:
    listed = inside(
        container, "python", "-m", "pip", "--isolated", "--disable-pip-version-check", "list", "--format=json"
    )
    installed = {normalized(package["name"]): package["version"] for package in json.loads(listed)}
    locked = locked_pins(REPO / "requirements" / "runtime.txt")
    assert {name: installed.get(name) for name in locked} == locked
    assert installed["bluegreen"] == tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert "hatchling" not in installed  # the wheel stage's build backend stays in that stage
    no_git = run("buildah", "run", "--isolation", "chroot", container, "--", "sh", "-c", "command -v git")
    assert no_git.returncode != 0, no_git.stdout  # nothing in the image runs git, and no git is there to run


def test_the_image_holds_the_product_and_not_the_lab(container: str) -> None:
    """The lab (sandbox, demo) is for development: neither its package nor the old in-product copy is installed."""
    found = inside(
        container,
        "python",
        "-c",
        "import importlib.util as u; print([bool(u.find_spec(n)) for n in ('bluegreen', 'bluegreen.engine', "
        "'bluegreen_lab')], bool(u.find_spec('bluegreen.sandbox')))",
    )
    assert found.strip() == "[True, True, False] False"


def test_the_entrypoint_reports_status_against_the_sandbox(
    image: str, container: str, sandbox: Sandbox, fake_github: FakeGitHub, tmp_path: Path
) -> None:
    """workflow_dispatch with mode `status`: the container logs in to the lab's sshd and asks HAProxy."""
    runner = RunnerFolders.make(tmp_path, sandbox, events.workflow_dispatch("status"))
    environ = {
        **runner.environ("workflow_dispatch", "refs/heads/main", runner.commit()),
        "GITHUB_API_URL": fake_github.url,
        "GITHUB_SERVER_URL": fake_github.web_url,
        "INPUT_GITHUB_TOKEN": fake_github.token,
        "INPUT_SSH_PRIVATE_KEY": sandbox.private_key,
    }
    log = runner.run(container, inspected(image)["OCIv1"]["config"]["Entrypoint"], environ)
    outputs = runner.outputs()
    assert outputs["result"] == "noop", log
    observed = json.loads(outputs["live"])
    assert {app: observed[app]["color"] for app in observed} == {"theoshift": "green", "ldc-tools": "blue"}
    assert outputs["report"] in (runner.root / "file_commands" / "summary").read_text()


@dataclass(frozen=True)
class RunnerFolders:
    """What a GitHub runner mounts into a container action: /github/{workspace,home,workflow,file_commands}."""

    root: Path
    MOUNTED = ("workspace", "home", "workflow", "file_commands")

    @classmethod
    def make(cls, root: Path, lab: Sandbox, event: dict[str, Any]) -> RunnerFolders:
        for name in cls.MOUNTED:
            (root / name).mkdir()
        shutil.copytree(REPO / "state", root / "workspace" / "state")
        lab.write_state(root / "workspace")
        (root / "workflow" / "event.json").write_text(json.dumps(event))
        for name in ("output", "summary"):
            (root / "file_commands" / name).touch()
        return cls(root)

    def commit(self) -> str:
        """The workspace as actions/checkout leaves it: a git checkout (the Action reads its objects)."""
        workspace = self.root / "workspace"
        identity = ["-c", "user.name=Alice", "-c", "user.email=alice@example.test"]
        must("git", "-C", str(workspace), "init", "-q")
        must("git", "-C", str(workspace), "add", "-A")
        must("git", "-C", str(workspace), *identity, "commit", "-qm", "state")
        return must("git", "-C", str(workspace), "rev-parse", "HEAD")

    def environ(self, event_name: str, ref: str, sha: str) -> dict[str, str]:
        return {
            "HOME": "/github/home",
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": "/github/workflow/event.json",
            "GITHUB_REPOSITORY": "acme/ops",
            "GITHUB_SHA": sha,
            "GITHUB_REF": ref,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_WORKSPACE": "/github/workspace",
            "GITHUB_OUTPUT": "/github/file_commands/output",
            "GITHUB_STEP_SUMMARY": "/github/file_commands/summary",
        }

    def run(self, container: str, entrypoint: list[str], environ: dict[str, str]) -> str:
        """`docker run` as the runner does it: the image's entrypoint, the folders mounted, in the workspace."""
        mounts = [part for name in self.MOUNTED for part in ("--volume", f"{self.root / name}:/github/{name}")]
        variables = [part for name, value in environ.items() for part in ("--env", f"{name}={value}")]
        options = ("--workingdir", "/github/workspace", *mounts, *variables)
        return inside(container, *entrypoint, options=options, timeout=120)

    def outputs(self) -> dict[str, str]:
        """GITHUB_OUTPUT's `name<<DELIMITER` blocks."""
        text = (self.root / "file_commands" / "output").read_text()
        blocks = re.findall(r"^([A-Za-z_][\w-]*)<<(\S+)\n(.*?)\n\2$", text, flags=re.MULTILINE | re.DOTALL)
        return {name: value for name, _, value in blocks}
