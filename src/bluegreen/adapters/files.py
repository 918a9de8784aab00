"""Files in a repository, opened like a security tool opens them.

A state file, a pinned known_hosts or a key file is read only when it is a regular file inside the repository:
no symbolic link anywhere on its path (every folder is opened with O_NOFOLLOW relative to the one before, so a
link swapped in between cannot redirect it), at most MAX_BYTES, and strict UTF-8. A FIFO, a device or
/proc/self/environ behind a link is refused before a byte is read, and no error ever quotes the file's content:
it may be a secret. Writing back (status.json from the command line) goes to a new file with a random name in
the same folder (O_EXCL, never followed), then renamed over the target, so a reader never sees half a file and a
link planted at a fixed name is never written through.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from contextlib import suppress
from pathlib import Path

from bluegreen.config.paths import MAX_BYTES, decode, repo_path
from bluegreen.errors import InputError, Location

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def read_text(root: Path, path: str, display: str | None = None, *, limit: int = MAX_BYTES) -> str | None:
    """The text of `root/path`, or None when it (or a folder on its way) does not exist. InputError when it is a
    link, not a regular file, larger than `limit` or not UTF-8; the message names the file, never its content."""
    display = display or path
    data = read_bytes(root, path, display, limit=limit)
    return None if data is None else decode(data, display)


def read_bytes(root: Path, path: str, display: str, *, limit: int = MAX_BYTES) -> bytes | None:
    parts = repo_path(path, "the file", Location(display)).split("/")
    try:
        folder = _open_folders(root, parts[:-1], display)
    except FileNotFoundError:
        return None
    try:
        fd = _open_file(folder, parts[-1], path, display)
    finally:
        os.close(folder)
    if fd is None:
        return None
    with os.fdopen(fd, "rb") as handle:
        return _bounded(handle.fileno(), display, limit)


def write_text(root: Path, path: str, text: str, display: str | None = None) -> None:
    """Replace `root/path` atomically: a new file with a random name beside it, then a rename. Folders on the
    way must exist and must not be links; the target itself is replaced, never written through."""
    display = display or path
    parts = repo_path(path, "the file", Location(display)).split("/")
    folder = _open_folders(root, parts[:-1], display)
    temporary = f".{parts[-1]}.{secrets.token_hex(8)}.tmp"
    try:
        fd = os.open(
            temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644, dir_fd=folder
        )
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, parts[-1], src_dir_fd=folder, dst_dir_fd=folder)
        except BaseException:
            with suppress(OSError):
                os.unlink(temporary, dir_fd=folder)
            raise
    finally:
        os.close(folder)


def _open_folders(root: Path, folders: list[str], display: str) -> int:
    """A descriptor of the last folder, each opened relative to the one before without following a link."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for index, name in enumerate(folders):
            try:
                inner = os.open(name, _DIRECTORY_FLAGS, dir_fd=fd)
            except OSError as exc:
                if exc.errno == errno.ENOENT:
                    raise FileNotFoundError(name) from None
                raise _refused(fd, name, "/".join(folders[: index + 1]), display, exc) from None
            os.close(fd)
            fd = inner
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_file(folder: int, name: str, path: str, display: str) -> int | None:
    try:
        fd = os.open(name, _FILE_FLAGS, dir_fd=folder)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _refused(folder, name, path, display, exc) from None
    kind = os.fstat(fd).st_mode
    if not stat.S_ISREG(kind):
        os.close(fd)
        raise _not_regular(display, path, _kind(kind))
    return fd


def _bounded(fd: int, display: str, limit: int) -> bytes:
    if os.fstat(fd).st_size > limit:
        raise _too_large(display, limit)
    chunks, size = [], 0
    while chunk := os.read(fd, 65536):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:  # it grew while being read
            raise _too_large(display, limit)
    return b"".join(chunks)


def _refused(folder: int, name: str, path: str, display: str, exc: OSError) -> InputError:
    try:
        mode = os.lstat(name, dir_fd=folder).st_mode
    except OSError:
        mode = 0
    if stat.S_ISLNK(mode) or exc.errno == errno.ELOOP:
        return InputError(
            f"{display}: `{path}` is a symbolic link; bluegreen reads only regular files inside the repository",
            hint="commit the file itself instead of a link (a link could point at a secret outside the repository)",
            location=Location(display),
        )
    if exc.errno == errno.ENOTDIR:
        return _not_regular(display, path, "not a folder")
    reason = exc.strerror or type(exc).__name__
    return InputError(
        f"cannot read {display}: {reason}", hint="check the file's permissions", location=Location(display)
    )


def _not_regular(display: str, path: str, kind: str) -> InputError:
    return InputError(
        f"{display}: `{path}` is {kind}, not a regular file",
        hint="bluegreen reads only regular files inside the repository",
        location=Location(display),
    )


def _too_large(display: str, limit: int) -> InputError:
    return InputError(
        f"{display} is larger than {limit // 1024} KiB",
        hint="a state file, known_hosts or key file is small; check that the path names the right file",
        location=Location(display),
    )


def _kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
    )
    return next((word for test, word in kinds if test(mode)), "not a regular file")


class WorkingTree:
    """The command line's Source: the files as they are on disk under `root` (its `--repo`)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def read(self, path: str) -> str | None:
        return read_text(self.root, path, self.display(path))

    def display(self, path: str) -> str:
        return path
