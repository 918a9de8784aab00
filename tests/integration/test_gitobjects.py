"""Reading a checkout's git objects (dulwich) against real repositories made by git: a bare origin, full and
shallow clones, links and submodules in the tree, and a repository configured to run programs.

Every test points GIT_CONFIG_GLOBAL at a file of its own, so the developer's ~/.gitconfig is never read or written.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from bluegreen.adapters.git import Checkout, GitTree, MissingCommit, full_sha
from bluegreen.errors import InputError

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


@pytest.fixture(autouse=True)
def global_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "gitconfig"
    config.write_text("[user]\n\tname = Someone Else\n\temail = someone@example.com\n[init]\n\tdefaultBranch = main\n")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", str(config))
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return config


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    seed = tmp_path / "workspace"
    git(tmp_path, "init", "--quiet", str(seed))
    commit(seed, {STATUS: FIRST, "README.md": "hello\n"}, "initial")
    return seed


@pytest.fixture
def history(workspace: Path) -> dict[str, str]:
    """A: the initial commit; B changes the README; C the status; D both. X: a commit beside them (force push)."""
    shas = {"A": git(workspace, "rev-parse", "HEAD")}
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
    with Checkout.open(workspace) as checkout:
        assert checkout.commits_touching(base_sha, history["D"], path) == [history[x] for x in expected]


def test_files_parents_and_merge_bases(workspace: Path, history: dict[str, str]) -> None:
    with Checkout.open(workspace) as checkout:
        assert checkout.head() == history["D"]
        assert checkout.read(history["B"], STATUS, STATUS) == FIRST
        assert checkout.read(history["D"], STATUS, STATUS) == '{"run": 4}\n'
        assert checkout.read(history["A"], "docs/new.md", "docs/new.md") is None
        assert checkout.read(history["D"], "README.md/inside", "x") is None  # a file is not a folder
        assert checkout.parents(history["C"]) == (history["B"],)
        assert checkout.merge_base(history["D"], history["X"]) == history["A"]
        assert checkout.same_file(history["A"], history["B"], STATUS)
        assert not checkout.same_file(history["B"], history["C"], STATUS)
        assert GitTree(checkout, history["C"], "base branch").display(STATUS) == f"{STATUS} (base branch)"
        assert not checkout.has("0" * 40)
        with pytest.raises(MissingCommit):
            checkout.read("0" * 40, STATUS, STATUS)
        with pytest.raises(MissingCommit):
            checkout.parents("main")  # names are not resolved: only full shas, as the event gives them


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../outside", "state/../../x", ".git/config/x", "a\nb", "a b"])
def test_hostile_paths_are_refused(workspace: Path, path: str) -> None:
    with Checkout.open(workspace) as checkout, pytest.raises(InputError):
        checkout.read(checkout.head(), path, "x")


def test_a_link_or_a_submodule_in_the_tree_is_refused_not_followed(workspace: Path) -> None:
    (workspace / "state" / "known_hosts").symlink_to("/proc/self/environ")
    git(workspace, "add", "state/known_hosts")
    sub = git(workspace, "rev-parse", "HEAD")
    git(workspace, "update-index", "--add", "--cacheinfo", f"160000,{sub},state/live.json")
    git(workspace, "commit", "--quiet", "-m", "hostile")
    with Checkout.open(workspace) as checkout:
        head = checkout.head()
        with pytest.raises(InputError, match="is a symbolic link in commit") as link:
            checkout.read(head, "state/known_hosts", "state/known_hosts")
        with pytest.raises(InputError, match="is a submodule"):
            checkout.read(head, "state/live.json", "state/live.json")
        with pytest.raises(InputError, match="is a folder"):
            checkout.read(head, "state", "state")
    assert "GITHUB" not in str(link.value)
    assert "PATH=" not in str(link.value)


def test_a_file_too_large_or_not_utf8_is_refused_without_quoting_it(workspace: Path) -> None:
    (workspace / "big.json").write_bytes(b" " * (1024 * 1024 + 1))
    (workspace / "latin1.json").write_bytes(b'{"token": "ghs_\xe9secret"}')
    git(workspace, "add", "big.json", "latin1.json")
    git(workspace, "commit", "--quiet", "-m", "odd files")
    with Checkout.open(workspace) as checkout:
        with pytest.raises(InputError, match="larger than 1024 KiB"):
            checkout.read(checkout.head(), "big.json", "big.json")
        with pytest.raises(InputError, match=r"latin1\.json is not UTF-8 text \(line 1, byte 16\)") as caught:
            checkout.read(checkout.head(), "latin1.json", "latin1.json")
    assert "ghs_" not in str(caught.value)


def test_a_shallow_clone_knows_only_what_it_fetched(workspace: Path, history: dict[str, str], tmp_path: Path) -> None:
    shallow = tmp_path / "shallow"
    git(tmp_path, "clone", "--quiet", "--depth", "1", f"file://{workspace}", str(shallow))
    with Checkout.open(shallow) as checkout:
        assert checkout.has(history["D"])
        assert checkout.parents(history["D"]) == (history["C"],)  # named by the commit, not fetched
        assert not checkout.has(history["C"])
        assert checkout.commits_touching(history["A"], history["D"], STATUS) == [history["D"]]
        assert checkout.merge_base(history["D"], history["C"]) is None


def test_reading_runs_nothing_the_repository_configures(workspace: Path, tmp_path: Path) -> None:
    """Filter drivers, fsmonitor and hooks named by the checkout's config or attributes never run: no git runs."""
    marker = tmp_path / "owned"
    for key, value in [
        ("filter.evil.smudge", f"touch {marker}"),
        ("filter.evil.clean", f"touch {marker}"),
        ("core.fsmonitor", f"touch {marker}"),
        ("core.hooksPath", str(tmp_path)),
    ]:
        git(workspace, "config", key, value)
    (workspace / ".gitattributes").write_text("* filter=evil\n")
    with Checkout.open(workspace) as checkout:
        assert checkout.read(checkout.head(), STATUS, STATUS) == FIRST
        checkout.commits_touching(None, checkout.head(), STATUS)
    assert not marker.exists()


def test_a_folder_that_is_not_a_checkout(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is not a git checkout"), Checkout.open(tmp_path):
        pass


def test_another_owner_needs_no_safe_directory(workspace: Path) -> None:
    """actions/checkout's files belong to the runner's uid, not the container's root: git would call that
    dubious ownership; reading objects does not care."""
    for path in [workspace, *workspace.rglob("*")]:
        os.lchown(path, 1001, 1001)
    with Checkout.open(workspace) as checkout:
        assert checkout.read(checkout.head(), STATUS, STATUS) == FIRST


@pytest.mark.parametrize(
    ("value", "expected"),
    [("a" * 40, "a" * 40), ("b" * 64, "b" * 64), ("A" * 40, None), ("a" * 39, None), (None, None), (40, None)],
)
def test_full_sha(value: object, expected: str | None) -> None:
    assert full_sha(value) == expected
