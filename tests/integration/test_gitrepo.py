"""The git adapter against real repositories: a bare origin and clones of it in tmp_path, no network.

Every test points GIT_CONFIG_GLOBAL at a file of its own, so the developer's ~/.gitconfig is never read or written.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from bluegreen import gitrepo
from bluegreen.errors import GitError, InputError

STATUS = "state/status.json"
FIRST = '{"run": 0}\n'


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(clone: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (clone / name).parent.mkdir(parents=True, exist_ok=True)
        (clone / name).write_text(text)
    git(clone, "add", "--", *files)
    git(clone, "commit", "--quiet", "-m", message)
    return git(clone, "rev-parse", "HEAD")


def set_run(value: int) -> Callable[[str | None], str]:
    """A render that sets `run` and keeps whatever else the file holds."""

    def render(current: str | None) -> str:
        return json.dumps({**json.loads(current or "{}"), "run": value}) + "\n"

    return render


@pytest.fixture(autouse=True)
def global_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Someone Else\n\temail = someone@example.com\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    for name in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", "GIT_DIR"):
        monkeypatch.delenv(name, raising=False)
    return config


@pytest.fixture
def origin(tmp_path: Path) -> Path:
    """A bare repository whose main holds state/status.json and a README."""
    bare, seed = tmp_path / "origin.git", tmp_path / "seed"
    git(tmp_path, "init", "--quiet", "--bare", "--initial-branch=main", str(bare))
    git(tmp_path, "clone", "--quiet", str(bare), str(seed))
    commit(seed, {STATUS: FIRST, "README.md": "hello\n"}, "initial")
    git(seed, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    return bare


def clone(origin: Path, where: Path) -> Path:
    git(origin.parent, "clone", "--quiet", str(origin), str(where))
    return where


@pytest.fixture
def workspace(origin: Path, tmp_path: Path) -> Path:
    return clone(origin, tmp_path / "workspace")


def origin_main(origin: Path) -> str:
    return git(origin, "rev-parse", "refs/heads/main")


def test_commit_and_push_records_the_status_as_the_bot_and_leaves_the_workspace_alone(
    origin: Path, workspace: Path
) -> None:
    (workspace / "scratch.txt").write_text("the user's own untracked file\n")
    result = gitrepo.commit_and_push(workspace, STATUS, set_run(1), "Record the release", "main")
    assert result == gitrepo.Pushed(True, origin_main(origin), 1, None)
    assert gitrepo.file_at(origin, "main", STATUS) == '{"run": 1}\n'
    assert git(origin, "log", "-1", "--format=%an <%ae>|%cn <%ce>|%s", "main") == "|".join(
        ["github-actions[bot] <41898282+github-actions[bot]@users.noreply.github.com>"] * 2
        + ["Record the release [skip ci]"]
    )
    assert (workspace / STATUS).read_text() == FIRST
    assert git(workspace, "status", "--porcelain") == "?? scratch.txt"
    assert len(git(workspace, "worktree", "list").splitlines()) == 1


def test_a_moved_branch_gets_our_change_on_top_of_both_of_theirs(origin: Path, workspace: Path, tmp_path: Path) -> None:
    other = clone(origin, tmp_path / "other")
    seen: list[str | None] = []

    def render(current: str | None) -> str:
        if not seen:  # someone else pushes while we work
            commit(other, {"docs.md": "theirs\n"}, "docs")
            commit(other, {STATUS: json.dumps({"run": 0, "theirs": True}) + "\n"}, "their status")
            git(other, "push", "--quiet", "origin", "HEAD:refs/heads/main")
        seen.append(current)
        return set_run(1)(current)

    result = gitrepo.commit_and_push(workspace, STATUS, render, "Record [skip ci]", "main")
    assert (result.pushed, result.attempts, result.commit) == (True, 2, origin_main(origin))
    assert seen == [FIRST, '{"run": 0, "theirs": true}\n']
    assert json.loads(gitrepo.file_at(origin, "main", STATUS) or "") == {"run": 1, "theirs": True}
    assert gitrepo.file_at(origin, "main", "docs.md") == "theirs\n"


def test_a_branch_that_never_stops_moving_gives_up_with_a_warning(
    origin: Path, workspace: Path, tmp_path: Path
) -> None:
    other = clone(origin, tmp_path / "other")

    def render(current: str | None) -> str:
        commit(other, {"docs.md": f"{len(git(other, 'log', '--format=%h').split())}\n"}, "docs")
        git(other, "push", "--quiet", "origin", "HEAD:refs/heads/main")
        return set_run(1)(current)

    result = gitrepo.commit_and_push(workspace, STATUS, render, "Record", "main", attempts=2)
    assert (result.pushed, result.commit, result.attempts) == (False, None, 2)
    assert "`main` moved during each of 2 attempts" in (result.warning or "")
    assert gitrepo.file_at(origin, "main", STATUS) == FIRST


def test_a_protected_branch_refuses_once_and_the_warning_says_how_to_fix_it(origin: Path, workspace: Path) -> None:
    hook = origin / "hooks" / "pre-receive"
    hook.write_text("#!/bin/sh\necho 'error: GH006: Protected branch update failed for refs/heads/main.' >&2\nexit 1\n")
    hook.chmod(0o755)
    before = origin_main(origin)
    result = gitrepo.commit_and_push(workspace, STATUS, set_run(1), "Record", "main")
    assert (result.pushed, result.commit, result.attempts) == (False, None, 1)
    warning = result.warning or ""
    assert "branch `main`" in warning
    assert "GH006: Protected branch update failed for refs/heads/main." in warning
    assert "bypass rule for github-actions" in warning
    assert "`status_branch`" in warning
    assert "separate branch" in warning
    assert origin_main(origin) == before


def test_unchanged_content_commits_nothing(origin: Path, workspace: Path) -> None:
    before = origin_main(origin)
    result = gitrepo.commit_and_push(workspace, STATUS, lambda text: text or "", "Record", "main")
    assert result == gitrepo.Pushed(True, None, 1, None)
    assert origin_main(origin) == before


def test_a_new_file_is_created_with_its_folders(origin: Path, workspace: Path) -> None:
    result = gitrepo.commit_and_push(workspace, "state/new/status.json", set_run(5), "Record", "main")
    assert result.pushed
    assert gitrepo.file_at(origin, "main", "state/new/status.json") == '{"run": 5}\n'


def test_a_symbolic_link_is_never_written_through(origin: Path, workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("keep\n")
    (workspace / STATUS).unlink()
    (workspace / STATUS).symlink_to(outside)
    git(workspace, "commit", "--quiet", "-am", "link")
    git(workspace, "push", "--quiet", "origin", "HEAD:refs/heads/main")
    with pytest.raises(GitError, match="symbolic link"):
        gitrepo.commit_and_push(workspace, STATUS, set_run(1), "Record", "main")
    assert outside.read_text() == "keep\n"
    assert len(git(workspace, "worktree", "list").splitlines()) == 1


def test_a_git_failure_names_the_command_and_cleans_up(workspace: Path) -> None:
    with pytest.raises(GitError) as caught:
        gitrepo.commit_and_push(workspace, STATUS, set_run(1), "Record", "main", remote="nowhere")
    assert "git fetch --no-tags --quiet -- nowhere" in str(caught.value)
    assert caught.value.exit_code == 6
    assert len(git(workspace, "worktree", "list").splitlines()) == 1


def test_credentials_in_a_remote_url_never_reach_the_message(workspace: Path) -> None:
    git(workspace, "remote", "set-url", "origin", "https://bot:s3cret@127.0.0.1:9/owner/repo.git")
    with pytest.raises(GitError) as caught:
        gitrepo.commit_and_push(workspace, STATUS, set_run(1), "Record", "main")
    assert "s3cret" not in str(caught.value)


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("fatal: unable to access 'https://bot:s3cret@github.com/o/r.git/'", "'https://***@github.com/o/r.git/'"),
        ("https://x-access-token:ghs_abc@github.com/o/r", "https://***@github.com/o/r"),
        ("ssh://git@github.com/o/r", "ssh://***@github.com/o/r"),
        ("no url here: a@b", "no url here: a@b"),
    ],
)
def test_redact_hides_userinfo_in_urls(text: str, shown: str) -> None:
    assert shown in gitrepo.redact(text)
    assert "s3cret" not in gitrepo.redact(text)
    assert "ghs_abc" not in gitrepo.redact(text)


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Record the release", "Record the release [skip ci]"),
        ("Record\n\nbody", "Record [skip ci]\n\nbody"),
        ("Record [skip ci]", "Record [skip ci]"),
        ("", "[skip ci]"),
    ],
)
def test_with_skip_ci(message: str, expected: str) -> None:
    assert gitrepo.with_skip_ci(message) == expected


def test_dubious_ownership_is_refused_until_the_workspace_is_trusted(
    origin: Path, workspace: Path, global_config: Path
) -> None:
    for entry in [workspace, *workspace.rglob("*")]:
        os.chown(entry, 12345, 12345, follow_symlinks=False)
    refused = subprocess.run(["git", "status"], cwd=workspace, capture_output=True, text=True, check=False)
    assert refused.returncode != 0
    assert "dubious ownership" in refused.stderr
    with pytest.raises(GitError) as caught:
        gitrepo.head(workspace)
    assert "safe.directory" in caught.value.hint
    gitrepo.trust(workspace)
    gitrepo.trust(workspace)  # only once in the config
    assert git(workspace, "status", "--porcelain") == ""
    assert git(workspace, "config", "--global", "--get-all", "safe.directory") == str(workspace.resolve())
    assert gitrepo.commit_and_push(workspace, STATUS, set_run(1), "Record", "main").pushed


@pytest.fixture
def history(workspace: Path) -> dict[str, str]:
    """A: the initial commit; B changes the README; C the status; D both. X: a commit beside them (force push)."""
    shas = {"A": gitrepo.head(workspace)}
    shas["B"] = commit(workspace, {"README.md": "b\n"}, "B")
    shas["C"] = commit(workspace, {STATUS: '{"run": 3}\n'}, "C")
    shas["D"] = commit(workspace, {STATUS: '{"run": 4}\n', "docs/new.md": "d\n"}, "D")
    git(workspace, "checkout", "--quiet", "--detach", shas["A"])
    shas["X"] = commit(workspace, {STATUS: '{"run": 9}\n'}, "X")
    git(workspace, "checkout", "--quiet", "main")
    return shas


@pytest.mark.parametrize(
    ("base", "path", "expected"),
    [
        ("A", STATUS, ["C", "D"]),
        ("A", "README.md", ["B"]),
        ("B", STATUS, ["C", "D"]),
        ("C", STATUS, ["D"]),
        ("D", STATUS, []),
        ("A", "nothing/here", []),
        (None, STATUS, ["D"]),  # no base: just head
        ("X", STATUS, ["D"]),  # not an ancestor: the branch was force-pushed
        ("0" * 40, STATUS, ["D"]),  # GitHub's `before` for a new branch
        ("feedface" * 5, STATUS, ["D"]),  # unknown here (a shallow clone)
    ],
)
def test_commits_touching(
    workspace: Path, history: dict[str, str], base: str | None, path: str, expected: list[str]
) -> None:
    base_sha = history.get(base, base) if base else None
    assert gitrepo.commits_touching(workspace, base_sha, history["D"], path) == [history[x] for x in expected]


def test_commits_touching_takes_names_and_gives_full_shas(workspace: Path, history: dict[str, str]) -> None:
    assert gitrepo.commits_touching(workspace, "main~2", "main", STATUS) == [history["C"], history["D"]]
    assert gitrepo.commits_touching(workspace, None, history["D"][:8], STATUS) == [history["D"]]


def test_changed_paths_and_file_at(workspace: Path, history: dict[str, str]) -> None:
    assert gitrepo.changed_paths(workspace, history["A"], history["D"]) == ["README.md", "docs/new.md", STATUS]
    assert gitrepo.changed_paths(workspace, history["C"], history["C"]) == []
    assert gitrepo.file_at(workspace, history["B"], STATUS) == FIRST
    assert gitrepo.file_at(workspace, history["D"], STATUS) == '{"run": 4}\n'
    assert gitrepo.file_at(workspace, history["A"], "docs/new.md") is None
    assert gitrepo.head(workspace) == history["D"]
    with pytest.raises(GitError, match="rev-parse"):
        gitrepo.file_at(workspace, "0" * 40, STATUS)


HOSTILE_PATHS = ["", "/etc/passwd", "../outside", "state/../../x", "./state/status.json", ".git/config", "a\nb", "a//b"]
HOSTILE_REFS = ["", "-f", "--upload-pack=touch /tmp/owned", "main..x", "a b", "x.lock", "@", "a//b", "/main", "main/"]
HOSTILE_REFS += ["HEAD@{1}", "x:y", ".hidden", "a\x00b", "a\nb"]
HOSTILE_REMOTES = ["", "-o", "--receive-pack=touch /tmp/owned", "https://evil.example/r.git", "a b", "../r", "a/b"]


@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_paths_are_refused_before_git_runs(workspace: Path, path: str) -> None:
    with pytest.raises(InputError):
        gitrepo.commit_and_push(workspace, path, set_run(1), "Record", "main")
    with pytest.raises(InputError):
        gitrepo.file_at(workspace, "HEAD", path)


@pytest.mark.parametrize("ref", HOSTILE_REFS)
def test_hostile_branches_and_revisions_are_refused_before_git_runs(workspace: Path, ref: str) -> None:
    with pytest.raises(InputError):
        gitrepo.commit_and_push(workspace, STATUS, set_run(1), "Record", ref)
    with pytest.raises(InputError):
        gitrepo.commits_touching(workspace, ref, "HEAD", STATUS)
    with pytest.raises(InputError):
        gitrepo.changed_paths(workspace, "HEAD", ref)


@pytest.mark.parametrize("remote", HOSTILE_REMOTES)
def test_hostile_remotes_are_refused_before_git_runs(workspace: Path, remote: str) -> None:
    with pytest.raises(InputError):
        gitrepo.commit_and_push(workspace, STATUS, set_run(1), "Record", "main", remote=remote)


def test_a_token_without_write_access_gets_the_permission_fix(origin: Path, workspace: Path) -> None:
    hook = origin / "hooks" / "pre-receive"
    message = "remote: Write access to repository not granted. error: 403"
    hook.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = gitrepo.commit_and_push(workspace, STATUS, set_run(1), "Record", "main")
    assert result.pushed is False
    assert "`permissions: contents: write`" in (result.warning or "")
