"""What the HAProxy hosts remember of bluegreen's record: the id of the last status.json a release committed.

The history in status.json decides what counts as a rollback (the rollback rule skips the newer-version check),
so it must be one that no one else could have written. Anyone who can write to the repository's branch could
write status.json: a person, or any workflow's token (they all commit as github-actions[bot], signed by GitHub),
and could put an old version back or hide newer ones behind a merge. Only whoever holds the deploy key can write
on the HAProxy hosts. So each release leaves, beside its lock on every host, the git blob id of the status.json
it committed, and the next plan or release reads the history from exactly that blob (fetched by its id), whatever
the branch holds now. A count tells which memory is the newest when the hosts disagree (a host that was down).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass

from .model import HaproxyHost
from .ssh import HostSession

LIMIT = 4096  # a memory is one short JSON object
_SHA = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Memory:
    sequence: int  # 1 for bluegreen's first record, one more for each after it
    blob: str  # the git blob id of status.json as that release committed it
    commit: str | None  # the commit that holds it, for messages (None: the file already held it)


@dataclass(frozen=True)
class Recollection:
    """The newest memory of all hosts, and what the report should say about the others."""

    memory: Memory | None
    note: str | None = None  # a host remembers nothing, or an older record
    conflict: str | None = None  # two hosts remember different records under the same count: nothing is believed


def memory_path(host: HaproxyHost, repository: str, status_path: str) -> str:
    """Where `host` keeps the memory for one repository's status.json: beside the release lock, whose folder the
    deploy user may write to already."""
    digest = hashlib.sha256(f"{repository.lower()}\n{status_path}".encode()).hexdigest()[:16]
    return f"{host.lock_path}.record-{digest}"


async def recall(sessions: Mapping[str, HostSession], repository: str, status_path: str) -> Recollection:
    paths = {name: memory_path(session.host, repository, status_path) for name, session in sessions.items()}
    texts = await asyncio.gather(*(sessions[name].read_file(path) for name, path in paths.items()))
    return newest({name: parsed(text) for name, text in zip(paths, texts, strict=True)})


async def remember(
    sessions: Mapping[str, HostSession], repository: str, status_path: str, memory: Memory
) -> dict[str, str]:
    """Write `memory` on every host (a temporary file, then a rename); the hosts where that failed, and why."""
    text = json.dumps({"sequence": memory.sequence, "blob": memory.blob, "commit": memory.commit}) + "\n"
    names = list(sessions)
    results = await asyncio.gather(
        *(sessions[name].write_file(memory_path(sessions[name].host, repository, status_path), text) for name in names),
        return_exceptions=True,
    )
    return {name: _said(result) for name, result in zip(names, results, strict=True) if isinstance(result, Exception)}


def parsed(text: str | None) -> Memory | None:
    """A memory file's content, strictly: anything else (a truncated write, a stranger's file) is no memory."""
    if text is None or len(text) > LIMIT:
        return None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(data, dict) or set(data) != {"sequence", "blob", "commit"}:
        return None
    sequence, blob, commit = data["sequence"], data["blob"], data["commit"]
    if type(sequence) is not int or sequence < 1 or not _is_sha(blob) or not (commit is None or _is_sha(commit)):
        return None
    return Memory(sequence, blob, commit)


def newest(memories: Mapping[str, Memory | None]) -> Recollection:
    """The memory with the highest count. Hosts that remember less are named (the next record is written to all
    of them); two different records under the highest count are a conflict."""
    known = [memory for memory in memories.values() if memory is not None]
    if not known:
        return Recollection(None)
    top = max(known, key=lambda memory: memory.sequence)
    rivals = {memory.blob for memory in known if memory.sequence == top.sequence}
    if len(rivals) > 1:
        return Recollection(None, conflict=_conflict(memories, top.sequence))
    behind = sorted(name for name, memory in memories.items() if memory != top)
    note = None if not behind else (
        f"{', '.join(behind)} remembered an older record of bluegreen's, or none (a host that was down during a "
        "release): the history is the newest one the other hosts remember, and the next record goes to every host"
    )  # fmt: skip
    return Recollection(top, note)


def _conflict(memories: Mapping[str, Memory | None], sequence: int) -> str:
    rivals = sorted((name, memory.blob) for name, memory in memories.items() if memory and memory.sequence == sequence)
    hosts = ", ".join(f"{name} {blob[:12]}" for name, blob in rivals)
    return (
        f"the HAProxy hosts remember different records of bluegreen's as number {sequence} ({hosts}): the history "
        "cannot be told, so nothing is switched. Remove the wrong host's memory file (beside its release lock) "
        "after checking which record is the real one"
    )


def _is_sha(value: object) -> bool:
    return isinstance(value, str) and len(value) in (40, 64) and set(value) <= _SHA


def _said(error: BaseException) -> str:
    message = getattr(error, "message", None)
    return str(message) if message else f"{type(error).__name__}: {error}"
