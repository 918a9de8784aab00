"""A consumer repository on GitHub, as the Action sees it: a bare origin, a developer's clone that opens and
merges pull requests, the workspace actions/checkout makes, and the fake GitHub API. `rig.run(...)` runs the
Action's entry point the way GitHub runs a container action: a new process, GITHUB_* and INPUT_* variables,
the event file, the workspace, and the output and summary files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bluegreen_lab import Sandbox
from tests.fakegithub import FakeGitHub

REPO = Path(__file__).resolve().parents[2]
BOT_EMAIL = "41898282+github-actions[bot]@users.noreply.github.com"


def git(cwd: Path, *args: str) -> str:
    """git as the developer: identity and global config from the rig's own file, never the machine's."""
    env = {**os.environ, "GIT_CONFIG_GLOBAL": str(_global_config(cwd)), "GIT_CONFIG_NOSYSTEM": "1"}
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


@dataclass
class ActionRun:
    code: int
    log: str
    outputs: dict[str, str]
    summary: str
    workspace: Path


@dataclass
class Rig:
    root: Path
    lab: Sandbox
    github: FakeGitHub
    environ: dict[str, str]

    @property
    def origin(self) -> Path:
        return self.root / "origin.git"

    @property
    def dev(self) -> Path:
        return self.root / "dev"

    def commit(self, message: str, files: dict[str, Any], branch: str = "main") -> str:
        """The developer commits JSON documents (path -> object) on `branch` and pushes it."""
        git(self.dev, "checkout", "-q", "-B", branch, f"origin/{branch}" if branch == "main" else "HEAD")
        for path, document in files.items():
            (self.dev / path).write_text(json.dumps(document, indent=2) + "\n")
        git(self.dev, "add", "-A")
        git(self.dev, "commit", "-qm", message)
        git(self.dev, "push", "-q", "origin", f"HEAD:refs/heads/{branch}")
        return git(self.dev, "rev-parse", "HEAD")

    def live(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads((self.dev / "state" / "live.json").read_text())
        return document

    def merge(self, branch: str, number: int, title: str) -> str:
        """Merging the PR on GitHub: a merge commit on main, pushed; GitHub learns the association."""
        git(self.dev, "fetch", "-q", "origin")
        git(self.dev, "checkout", "-q", "-B", "main", "origin/main")
        git(
            self.dev,
            "merge",
            "-q",
            "--no-ff",
            "-m",
            f"Merge pull request #{number} from acme/{branch}",
            f"origin/{branch}",
        )
        git(self.dev, "push", "-q", "origin", "main")
        return git(self.dev, "rev-parse", "HEAD")

    def origin_status(self) -> tuple[dict[str, Any], str, str]:
        """status.json on origin's main, with the last commit's author email and subject."""
        text = git(self.origin, "show", "main:state/status.json")
        email, subject = git(self.origin, "log", "-1", "--format=%ae%n%s", "main").split("\n", 1)
        return json.loads(text), email, subject

    def test_merge(self, number: int, head: str) -> str:
        """What GitHub makes for a pull_request event: `refs/pull/N/merge`, the base branch's tip merged with the
        pull request's head (parents: base first, head second). The event's GITHUB_SHA is this commit."""
        git(self.dev, "fetch", "-q", "origin")
        git(self.dev, "checkout", "-q", "--detach", "origin/main")
        git(self.dev, "merge", "-q", "--no-ff", "-m", f"Merge {head} into main", head)
        merge = git(self.dev, "rev-parse", "HEAD")
        git(self.dev, "push", "-q", "-f", "origin", f"{merge}:refs/pull/{number}/merge")
        git(self.dev, "checkout", "-q", "main")
        return merge

    def checkout(self, sha: str, depth: int | None = None, prepare: Callable[[Path], None] | None = None) -> Path:
        """What actions/checkout leaves in GITHUB_WORKSPACE: `sha` checked out, with `fetch-depth: depth` (then
        only that commit's history, as actions/checkout fetches it) or the whole history and branches; no
        credentials kept; owned by another uid. `prepare` may change it first (as an earlier step could)."""
        workspace = self.root / f"workspace-{sha[:8]}-{len(list(self.root.iterdir()))}"
        git(self.root, "init", "-q", str(workspace))
        git(workspace, "remote", "add", "origin", f"file://{self.origin}")
        wanted = (
            [f"--depth={depth}", "origin", sha] if depth else ["origin", sha, "+refs/heads/*:refs/remotes/origin/*"]
        )
        git(workspace, "fetch", "-q", *wanted)
        git(workspace, "checkout", "-q", "--detach", sha)
        if prepare is not None:
            prepare(workspace)
        for path in [workspace, *workspace.rglob("*")]:
            os.lchown(path, 1001, 1001)  # the runner's uid: git calls this "dubious ownership"
        return workspace

    def run(
        self,
        event_name: str,
        event: dict[str, Any],
        sha: str,
        ref: str,
        given: Mapping[str, str] | None = None,
        *,
        depth: int | None = None,
        prepare: Callable[[Path], None] | None = None,
        **more: str,
    ) -> ActionRun:
        """The Action as GitHub runs it for this event; for a pull_request, `sha` is the pull request's head, and
        the run gets GitHub's test merge of it, as actions/checkout does. `prepare` may change the workspace
        first (as an earlier step of the job could)."""
        if event_name == "pull_request":
            sha = self.test_merge(int(event["pull_request"]["number"]), sha)
        workspace = self.checkout(sha, depth, prepare)
        inputs = {**(given or {}), **more}
        files = {name: self.root / f"{name}-{workspace.name}" for name in ("event.json", "output", "summary")}
        files["event.json"].write_text(json.dumps(event))
        for name in ("output", "summary"):
            files[name].touch()
        environ = {
            **self.environ,
            "GITHUB_ACTIONS": "true",
            "GITHUB_EVENT_NAME": event_name,
            "GITHUB_EVENT_PATH": str(files["event.json"]),
            "GITHUB_REPOSITORY": "acme/ops",
            "GITHUB_SHA": sha,
            "GITHUB_REF": ref,
            "GITHUB_ACTOR": "alice",
            "GITHUB_API_URL": self.github.url,
            "GITHUB_SERVER_URL": self.github.web_url,
            "GITHUB_RUN_ID": "4242",
            "GITHUB_WORKSPACE": str(workspace),
            "GITHUB_OUTPUT": str(files["output"]),
            "GITHUB_STEP_SUMMARY": str(files["summary"]),
            "INPUT_GITHUB_TOKEN": self.github.token,
            "BLUEGREEN_GITHUB_WRITE_INTERVAL_S": "0",  # the fake has no secondary rate limit to respect
            "INPUT_SSH_PRIVATE_KEY": self.lab.private_key,
            **{f"INPUT_{name.upper()}": value for name, value in inputs.items()},
        }
        done = subprocess.run(
            [sys.executable, "-m", "bluegreen", "action"],
            cwd=workspace,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return ActionRun(
            done.returncode,
            done.stdout + done.stderr,
            _outputs(files["output"].read_text()),
            files["summary"].read_text(),
            workspace,
        )


def _outputs(text: str) -> dict[str, str]:
    outputs, lines = {}, iter(text.splitlines())
    for line in lines:
        name, _, delimiter = line.partition("<<")
        value = []
        for body in lines:
            if body == delimiter:
                break
            value.append(body)
        outputs[name] = "\n".join(value)
    return outputs


def _global_config(cwd: Path) -> Path:
    """The rig's gitconfig: at the rig's root, found from any folder under it."""
    for folder in (cwd, *cwd.parents):
        if (folder / "gitconfig").exists():
            return folder / "gitconfig"
    raise AssertionError(f"no rig around {cwd}")


def make_rig(root: Path, lab: Sandbox, github: FakeGitHub) -> Rig:
    """origin.git with the example state pointed at the lab, and the developer's clone of it."""
    global_config = root / "gitconfig"
    global_config.write_text("[user]\n\tname = Alice\n\temail = alice@example.test\n")
    seed = root / "seed"
    shutil.copytree(REPO / "state", seed / "state")
    lab.write_state(seed)
    # Before any PR, live.json asks for what runs: the LIVE colors state/status.json records.
    before = {"apps": {"theoshift": {"live": "green"}, "ldc-tools": {"live": "blue"}}}
    (seed / "state" / "live.json").write_text(json.dumps(before, indent=2) + "\n")
    git(root, "init", "-q", "--bare", "-b", "main", str(root / "origin.git"))
    git(root / "origin.git", "config", "uploadpack.allowAnySHA1InWant", "true")  # GitHub serves any sha
    git(seed, "init", "-q", "-b", "main")
    git(seed, "add", "-A")
    git(seed, "commit", "-qm", "State of the ops repository")
    git(seed, "push", "-q", str(root / "origin.git"), "main")
    git(root, "clone", "-q", str(root / "origin.git"), str(root / "dev"))
    environ = {
        "PATH": os.environ["PATH"],
        "HOME": str(root),
        "GIT_CONFIG_GLOBAL": str(global_config),
        "GIT_CONFIG_NOSYSTEM": "1",
        "LANG": "C.UTF-8",
    }
    return Rig(root, lab, github, environ)
