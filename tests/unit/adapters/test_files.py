"""Opening the repository's files like a security tool: links, FIFOs, devices, sizes and encodings, on a real
filesystem in tmp_path. Nothing here may hang, run out of memory, follow a link or quote a byte of the file."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bluegreen.adapters import files
from bluegreen.config import paths
from bluegreen.errors import InputError, Location

SECRET = "GITHUB_TOKEN=ghs_0123456789abcdef"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    (tmp_path / "repo" / "state").mkdir(parents=True)
    (tmp_path / "repo" / "state" / "live.json").write_text('{"apps": {}}\n')
    (tmp_path / "outside").write_text(SECRET + "\n")
    return tmp_path / "repo"


def refused(repo: Path, path: str, pattern: str) -> InputError:
    with pytest.raises(InputError, match=pattern) as caught:
        files.read_text(repo, path)
    assert SECRET not in str(caught.value)
    assert "ghs_" not in caught.value.hint
    return caught.value


def test_a_regular_file_is_read(repo: Path) -> None:
    assert files.read_text(repo, "state/live.json") == '{"apps": {}}\n'
    assert files.read_text(repo, "state/none.json") is None
    assert files.read_text(repo, "nowhere/none.json") is None


@pytest.mark.parametrize("target", ["/proc/self/environ", "../../outside", "/dev/zero", "live.json"])
def test_a_link_is_never_followed_even_inside_the_repository(repo: Path, target: str) -> None:
    (repo / "state" / "known_hosts").symlink_to(target)
    error = refused(repo, "state/known_hosts", r"`state/known_hosts` is a symbolic link")
    assert error.location == Location("state/known_hosts")


def test_a_linked_folder_on_the_way_is_refused(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "live.json").write_text(SECRET)
    (repo / "deploy").symlink_to(tmp_path / "elsewhere")
    refused(repo, "deploy/live.json", r"`deploy` is a symbolic link")


def test_a_fifo_is_refused_without_waiting_for_a_writer(repo: Path) -> None:
    os.mkfifo(repo / "state" / "status.json")
    refused(repo, "state/status.json", r"`state/status\.json` is a FIFO, not a regular file")


def test_a_folder_or_a_file_in_the_way(repo: Path) -> None:
    refused(repo, "state", r"`state` is a folder, not a regular file")
    refused(repo, "state/live.json/x", r"`state/live\.json` is not a folder")


def test_a_file_too_large_is_refused_before_it_is_read(repo: Path) -> None:
    (repo / "state" / "status.json").write_bytes(b" " * (paths.MAX_BYTES + 1))
    refused(repo, "state/status.json", "larger than 1024 KiB")


def test_the_limit_is_exact(repo: Path) -> None:
    (repo / "state" / "exact.json").write_bytes(b"x" * 100)
    assert files.read_text(repo, "state/exact.json", limit=100) == "x" * 100
    with pytest.raises(InputError, match="larger than"):
        files.read_text(repo, "state/exact.json", limit=99)


def test_text_that_is_not_utf8_is_located_and_never_quoted(repo: Path) -> None:
    (repo / "state" / "known_hosts").write_bytes(b"lb1 ssh-ed25519 AAAA\n" + SECRET.encode() + b"\xff\n")
    error = refused(repo, "state/known_hosts", r"state/known_hosts is not UTF-8 text \(line 2, byte 55\)")
    assert error.location == Location("state/known_hosts", 2)


def test_a_byte_order_mark_is_dropped(repo: Path) -> None:
    (repo / "state" / "live.json").write_bytes(b"\xef\xbb\xbf{}")
    assert files.read_text(repo, "state/live.json") == "{}"


@pytest.mark.parametrize("path", ["", "/etc/passwd", "../outside", "state/../../outside", "./x", "a\nb", ".git/config"])
def test_paths_outside_the_repository_are_refused(repo: Path, path: str) -> None:
    refused(repo, path, "is not a path inside the repository")


def test_repo_path_normalises_slashes_and_names_the_field() -> None:
    where = Location("action inputs", field="state_dir")
    assert paths.repo_path("deploy/prod/", "the state folder", where) == "deploy/prod"
    with pytest.raises(InputError, match="the state folder '/etc' is not a path inside the repository") as caught:
        paths.repo_path("/etc", "the state folder", where)
    assert caught.value.location == where


def test_writing_replaces_the_file_and_never_writes_through_a_link(repo: Path, tmp_path: Path) -> None:
    (repo / "state" / "status.json").symlink_to(tmp_path / "outside")
    (repo / "state" / ".status.json.tmp").symlink_to(tmp_path / "outside")  # the old fixed name, planted
    files.write_text(repo, "state/status.json", '{"apps": {}}\n')
    assert (tmp_path / "outside").read_text() == SECRET + "\n"
    assert not (repo / "state" / "status.json").is_symlink()
    assert (repo / "state" / "status.json").read_text() == '{"apps": {}}\n'
    leftovers = sorted(p.name for p in (repo / "state").iterdir())
    assert leftovers == [".status.json.tmp", "live.json", "status.json"]  # no temporary file left behind


def test_writing_refuses_a_linked_folder(repo: Path, tmp_path: Path) -> None:
    (tmp_path / "elsewhere").mkdir()
    (repo / "linked").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(InputError, match="is a symbolic link"):
        files.write_text(repo, "linked/status.json", "{}")
    assert list((tmp_path / "elsewhere").iterdir()) == []
