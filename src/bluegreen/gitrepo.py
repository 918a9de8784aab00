"""The git adapter: read the history the Action needs, and commit state/status.json back to the branch.

Every git command is an argv list, never a shell. Every value that comes from input (a branch, a revision, a
path) is validated here first and then passed after `--end-of-options` or `--` where git allows it. git runs with
LC_ALL=C (its messages are matched below), without a terminal (a push that needs a password fails instead of
hanging), without the workspace's hooks, and without variables that would point it at another repository.

The status is written in a temporary worktree at the remote branch's tip, so the workspace's own files are never
touched. A retry after the branch moved renders the file again from the new tip: someone else's change to it is
kept, and there is no merge that could conflict.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .errors import GitError, InputError

BOT = ("github-actions[bot]", "41898282+github-actions[bot]@users.noreply.github.com")
BOT_ENV = dict(GIT_AUTHOR_NAME=BOT[0], GIT_AUTHOR_EMAIL=BOT[1], GIT_COMMITTER_NAME=BOT[0], GIT_COMMITTER_EMAIL=BOT[1])
SKIP_CI = "[skip ci]"
TIMEOUT_S = 120.0
QUIET_GIT = ("-c", "core.hooksPath=/dev/null", "-c", "commit.gpgSign=false")
REDIRECTING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_OBJECT_DIRECTORY", "GIT_COMMON_DIR", "GIT_NAMESPACE")
# a push refused for good (branch protection, rulesets, no permission) against one refused because the branch moved
PROTECTED = ("gh006", "gh013", "protected branch", "hook declined", "refusing to allow", "permission", "error: 403")
MOVED = ("non-fast-forward", "fetch first", "[rejected]", "stale info", "cannot lock ref")
CREDENTIALS = re.compile(r"(?<=://)[^/@\s]+@")
BAD_REF = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]|\.\.|@\{|//|^[-/.]|/$|\.$|/\.|\.lock(/|$)")
REVISION = re.compile(r"(?P<name>[^~^]+)(?:[~^][0-9]{0,6}){0,20}")
REMOTE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*")


@dataclass(frozen=True)
class Pushed:
    pushed: bool
    commit: str | None  # the commit that holds the new status (None when nothing changed or the push failed)
    attempts: int
    warning: str | None  # for the Action's ::warning:: and the report, with the fix


# --- the history ------------------------------------------------------------------------------------------------


def trust(workspace: Path) -> None:
    """Let git work in a workspace owned by another uid (a container action's checkout): `safe.directory`."""
    path = str(workspace.resolve())
    known = _run(Path("/"), "config", "--global", "--get-all", "safe.directory")
    if known.returncode not in (0, 1):  # 1: none set yet
        raise _failure(("config", "--global", "--get-all", "safe.directory"), known)
    if path not in known.stdout.splitlines() and "*" not in known.stdout.splitlines():
        _git(Path("/"), "config", "--global", "--add", "safe.directory", path)


def head(repo: Path) -> str:
    return _git(repo, "rev-parse", "--verify", "HEAD^{commit}").strip()


def changed_paths(repo: Path, base: str, head: str) -> list[str]:
    """The paths that differ between two commits; a rename counts as both names."""
    args = ("diff-tree", "-r", "-z", "--name-only", "--no-renames", "--end-of-options")
    out = _git(repo, *args, _revision(base), _revision(head))
    return [name for name in out.split("\0") if name]


def commits_touching(repo: Path, base: str | None, head: str, path: str) -> list[str]:
    """The commits in base..head that changed `path`, oldest first.

    Without a usable base (None, unknown, or not an ancestor of head because the branch was force-pushed) the
    range cannot be known, and the answer is just head, whatever it changed.
    """
    tip = _commit(repo, head)
    start = None if base is None else _known_commit(repo, base)
    if start is None or not _is_ancestor(repo, start, tip):
        return [tip]
    args = ("rev-list", "--reverse", "--full-history", "--end-of-options", f"{start}..{tip}")
    return _git(repo, *args, "--", _path(path)).split()


def file_at(repo: Path, rev: str, path: str) -> str | None:
    """The text of `path` in commit `rev`, or None when the commit has no such file."""
    found = _run(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{_commit(repo, rev)}:{_path(path)}")
    if found.returncode != 0:
        return None
    return _git(repo, "cat-file", "blob", found.stdout.strip())


def file_on_branch(repo: Path, branch: str, path: str, *, remote: str = "origin") -> str | None:
    """`path` as it is now at the tip of `remote`'s `branch` (fetched first); None when the branch or file is not
    there. The release reads status.json this way: the history a rollback is judged by lives at the tip of the
    branch the status is committed to, not in the commit that was checked out."""
    branch, remote = _branch(branch), _remote(remote)
    if not _remote_has(repo, remote, branch):
        return None
    return file_at(repo, _fetch(repo, remote, branch), path)


def _commit(repo: Path, rev: str) -> str:
    return _git(repo, "rev-parse", "--verify", "--end-of-options", f"{_revision(rev)}^{{commit}}").strip()


def _known_commit(repo: Path, rev: str) -> str | None:
    found = _run(repo, "rev-parse", "--verify", "--quiet", "--end-of-options", f"{_revision(rev)}^{{commit}}")
    return found.stdout.strip() if found.returncode == 0 else None


def _is_ancestor(repo: Path, base: str, tip: str) -> bool:
    args = ("merge-base", "--is-ancestor", "--end-of-options", base, tip)
    answer = _run(repo, *args)
    if answer.returncode not in (0, 1):
        raise _failure(args, answer)
    return answer.returncode == 0


# --- committing the status --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Refused:
    protected: bool
    reason: str


def commit_and_push(
    repo: Path,
    path: str,
    render: Callable[[str | None], str],
    message: str,
    branch: str,
    *,
    remote: str = "origin",
    attempts: int = 3,
    start: str | None = None,
) -> Pushed:
    """Commit render(text at the branch tip) to `branch` as github-actions[bot], retrying while the branch moves.
    A `branch` that does not exist yet is started at `start` (a commit), when one is given."""
    path, branch, remote = _path(path), _branch(branch), _remote(remote)
    if attempts < 1:
        raise InputError(f"attempts must be at least 1, not {attempts}")
    with _scratch_worktree(repo) as tree:
        for attempt in range(1, attempts + 1):
            exists = start is None or _remote_has(repo, remote, branch)
            _checkout(repo, tree, _fetch(repo, remote, branch) if exists else _commit_of(repo, str(start)))
            commit = _commit_status(tree, path, render, message)
            if commit is None:
                return Pushed(True, None, attempt, None)
            refused = _push(tree, remote, branch)
            if refused is None:
                return Pushed(True, commit, attempt, None)
            if refused.protected:
                return Pushed(False, None, attempt, _protected_warning(path, branch, refused.reason))
    return Pushed(False, None, attempts, _moving_warning(path, branch, attempts))


@contextmanager
def _scratch_worktree(repo: Path) -> Iterator[Path]:
    scratch = Path(tempfile.mkdtemp(prefix="bluegreen-status-"))
    tree = scratch / "tree"
    try:
        yield tree
    finally:
        _run(repo, "worktree", "remove", "--force", str(tree))  # fails harmlessly if it was never added
        shutil.rmtree(scratch, ignore_errors=True)
        _run(repo, "worktree", "prune")


def _remote_has(repo: Path, remote: str, branch: str) -> bool:
    return bool(_git(repo, "ls-remote", "--heads", "--", remote, f"refs/heads/{branch}").strip())


def _commit_of(repo: Path, revision: str) -> str:
    return _git(repo, "rev-parse", "--verify", "--end-of-options", f"{revision}^{{commit}}").strip()


def _fetch(repo: Path, remote: str, branch: str) -> str:
    tracking = f"refs/remotes/{remote}/{branch}"
    _git(repo, "fetch", "--no-tags", "--quiet", "--", remote, f"+refs/heads/{branch}:{tracking}")
    return _git(repo, "rev-parse", "--verify", "--end-of-options", f"{tracking}^{{commit}}").strip()


def _checkout(repo: Path, tree: Path, tip: str) -> None:
    if tree.exists():
        _git(tree, "checkout", "--quiet", "--force", "--detach", tip)
    else:
        _git(repo, "worktree", "add", "--quiet", "--detach", str(tree), tip)


def _commit_status(tree: Path, path: str, render: Callable[[str | None], str], message: str) -> str | None:
    target = _unlinked(tree, path)
    current = file_at(tree, "HEAD", path)
    text = render(current)
    if text == current:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text, encoding="utf-8", newline="")
    _git(tree, "add", "--", path)
    _git(tree, "commit", "--quiet", "--no-verify", "--file=-", stdin=with_skip_ci(message), extra=BOT_ENV)
    return head(tree)


def _unlinked(tree: Path, path: str) -> Path:
    """The file in the worktree, refused when it (or a folder on the way) is a link that could lead outside."""
    target = tree / path
    if target.is_symlink() or not target.parent.resolve().is_relative_to(tree.resolve()):
        raise GitError(f"{path} is a symbolic link in the repository; bluegreen does not write through links")
    return target


def _push(tree: Path, remote: str, branch: str) -> _Refused | None:
    args = ("push", "--", remote, f"HEAD:refs/heads/{branch}")
    done = _run(tree, *args)
    if done.returncode == 0:
        return None
    said = done.stderr.lower()
    if any(marker in said for marker in PROTECTED):
        return _Refused(True, _reason(done.stderr))
    if any(marker in said for marker in MOVED):
        return _Refused(False, _reason(done.stderr))
    raise _failure(args, done)


def with_skip_ci(message: str) -> str:
    """The message with `[skip ci]` on its subject line, so the status commit starts no workflow."""
    if SKIP_CI in message:
        return message
    subject, newline, body = message.partition("\n")
    return f"{subject.rstrip()} {SKIP_CI}".lstrip() + newline + body


def _reason(stderr: str) -> str:
    lines = [line.removeprefix("remote:").strip().removeprefix("error:").strip() for line in stderr.splitlines()]
    marked = [line for line in lines if any(marker in line.lower() for marker in PROTECTED)]
    return redact((marked or [line for line in lines if line] or ["no reason given"])[0])[:300]


def _protected_warning(path: str, branch: str, reason: str) -> str:
    lead = f"{path} was not committed: the push to branch `{branch}` was refused ({reason}). Nothing is lost: the "
    if any(word in reason.lower() for word in ("403", "permission", "not granted")):
        return lead + (
            "report carries the result. To record it, let the job push: `permissions: contents: write`, and "
            "`persist-credentials: true` on its checkout."
        )
    return lead + (
        "report carries the result. To record it, allow the workflow to push: a bypass rule for github-actions in "
        "the branch protection or ruleset; or commit the status to a separate branch (the input `status_branch`)."
    )


def _moving_warning(path: str, branch: str, attempts: int) -> str:
    return (
        f"{path} was not committed: branch `{branch}` moved during each of {attempts} attempts to push. Nothing is "
        "lost: the report carries the result. Re-run the job to record it."
    )


# --- running git ------------------------------------------------------------------------------------------------


def _git(repo: Path, *args: str, stdin: str | None = None, extra: dict[str, str] | None = None) -> str:
    done = _run(repo, *args, stdin=stdin, extra=extra)
    if done.returncode != 0:
        raise _failure(args, done)
    return done.stdout


def _run(
    repo: Path, *args: str, stdin: str | None = None, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *QUIET_GIT, *args],
            cwd=repo,
            input=stdin,
            capture_output=True,
            encoding="utf-8",
            errors="replace",
            env=_environment(extra or {}),
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise GitError(f"`{_shown(args)}` did not finish within {TIMEOUT_S:.0f} s") from exc
    except OSError as exc:
        raise GitError(f"cannot run `{_shown(args)}` in {repo}: {exc.strerror}", hint="is git installed?") from exc


def _environment(extra: dict[str, str]) -> dict[str, str]:
    kept = {name: value for name, value in os.environ.items() if name not in REDIRECTING}
    return {**kept, "LC_ALL": "C", "GIT_TERMINAL_PROMPT": "0", **extra}


def _failure(args: tuple[str, ...], done: subprocess.CompletedProcess[str]) -> GitError:
    said = redact(done.stderr.strip()) or "(git said nothing)"
    hint = "run the same command in the repository to see what git says"
    if "dubious ownership" in said:
        hint = "the repository belongs to another user: trust it first (safe.directory), as the Action does"
    return GitError(f"`{_shown(args)}` exited with status {done.returncode}:\n{said}", hint=hint)


def _shown(args: tuple[str, ...]) -> str:
    return redact(shlex.join(("git", *args)))


def redact(text: str) -> str:
    """Hide credentials written into URLs (`https://user:token@host`)."""
    return CREDENTIALS.sub("***@", text)


# --- validating input -------------------------------------------------------------------------------------------


def _branch(value: str) -> str:
    if not value or value == "@" or BAD_REF.search(value):
        raise InputError(f"{value!r} is not a branch name git accepts", hint="name the branch, e.g. `main`")
    return value


def _revision(value: str) -> str:
    match = REVISION.fullmatch(value)
    if match is None or value == "@" or BAD_REF.search(match["name"]):
        raise InputError(f"{value!r} is not a commit or ref name", hint="give a commit sha or a branch name")
    return value


def _remote(value: str) -> str:
    if REMOTE.fullmatch(value) is None or value.endswith(".lock"):
        raise InputError(f"{value!r} is not a git remote name", hint="name a configured remote, e.g. `origin`")
    return value


def _path(value: str) -> str:
    parts = value.split("/")
    unsafe = any(part in ("", ".", "..") or part.lower() == ".git" for part in parts)
    if unsafe or any(ord(char) < 0x20 or char == "\x7f" for char in value):
        raise InputError(f"{value!r} is not a path inside the repository", hint="e.g. `state/status.json`")
    return value
