"""bluegreen's record, kept on the HAProxy hosts: the history that decides what counts as a rollback.

The rollback rule skips the newer-version check on the strength of this history, so it must be one that no one
else could have written. Anyone who can write to the repository's branch could write status.json there: a
person, or any workflow's token (they all commit as github-actions[bot], signed by GitHub), and could put an old
version back or hide newer ones behind a merge. Only whoever holds the deploy key can write on the HAProxy hosts.
So each release keeps its record, beside its lock on every host, with a count; status.json on the branch is a
published copy. A plan or a release reads the record with the highest count; a host that missed one (it was
down) is named and caught up by the next release, and two hosts with different records under the same count
stop the release until an operator says which one is right.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from bluegreen import config
from bluegreen.config.status_file import status_to_json
from bluegreen.errors import InputError
from bluegreen.model import Status

LIMIT = 2 * 1024 * 1024  # a record is under core.history.SIZE_LIMIT; a bigger file is not one of bluegreen's


@dataclass(frozen=True)
class Memory:
    sequence: int  # 1 for bluegreen's first record, one more for each after it
    status: Status


@dataclass(frozen=True)
class Broken:
    """A memory file that cannot be read as one (a truncated write, a stranger's file)."""

    why: str


@dataclass(frozen=True)
class Recollection:
    """The newest record of all hosts, and what the report should say about the others."""

    memory: Memory | None
    note: str | None = None  # a host remembers nothing, an older record, or a broken one
    conflict: str | None = None  # the history cannot be told: nothing may switch, nothing may be recorded


RECORD_NAME = re.compile(r"record-[0-9a-f]{16}")  # what record_name makes; a transport takes no other name


def record_name(repository: str, status_path: str) -> str:
    """The name under which every host keeps the record of one repository's status.json (the SSH adapter keeps
    it beside the release lock: `<lock path>.record-<digest>`)."""
    digest = hashlib.sha256(f"{repository.lower()}\n{status_path}".encode()).hexdigest()[:16]
    return f"record-{digest}"


def dumped(memory: Memory) -> str:
    return json.dumps({"sequence": memory.sequence, "status": status_to_json(memory.status)}) + "\n"


def parsed(text: str | None, display: str) -> Memory | Broken | None:
    """A memory file's content, strictly; None when there is no file."""
    if text is None:
        return None
    if len(text) > LIMIT:
        return Broken("it is too large")
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return Broken("it is not JSON")
    if not isinstance(data, dict) or set(data) != {"sequence", "status"}:
        return Broken("it is not a record of bluegreen's")
    sequence = data["sequence"]
    if type(sequence) is not int or sequence < 1:
        return Broken("its count is not a whole number from 1")
    try:
        return Memory(sequence, config.parse_status(json.dumps(data["status"], allow_nan=False), display))
    except (InputError, ValueError) as error:
        return Broken(getattr(error, "message", "its status is not valid"))


def newest(memories: Mapping[str, Memory | Broken | None]) -> Recollection:
    """The record with the highest count. Hosts that hold less, or a broken file, are named (the next record goes
    to every host); different records under the highest count, or only broken files, are a conflict."""
    known = {name: memory for name, memory in memories.items() if isinstance(memory, Memory)}
    broken = {name: memory.why for name, memory in memories.items() if isinstance(memory, Broken)}
    if not known:
        return Recollection(None, conflict=_all_broken(broken)) if broken else Recollection(None)
    top = max(known.values(), key=lambda memory: memory.sequence)
    rivals = sorted(name for name, memory in known.items() if memory.sequence == top.sequence and memory != top)
    if rivals:
        return Recollection(None, conflict=_conflict(top.sequence, known))
    behind = sorted(name for name in memories if name not in broken and known.get(name) != top)
    notes = [f"{name}'s record of bluegreen's cannot be read ({why})" for name, why in sorted(broken.items())]
    if behind:
        notes.append(f"{', '.join(behind)} held an older record, or none (a host that was down or is new)")
    note = (
        "; ".join(notes)
        + ": the history is the newest record the other hosts hold, and the next one goes to every host"
    )
    return Recollection(top, note if notes else None)


def _conflict(sequence: int, known: Mapping[str, Memory]) -> str:
    holders = sorted(name for name, memory in known.items() if memory.sequence == sequence)
    return (
        f"the HAProxy hosts hold different records of bluegreen's under the same count {sequence} "
        f"({', '.join(holders)}): which history is right cannot be told, so nothing is switched or recorded. "
        "Remove the wrong host's record file (beside its release lock, `<lock path>.record-*`) after checking it"
    )


def _all_broken(broken: Mapping[str, str]) -> str:
    hosts = "; ".join(f"{name}: {why}" for name, why in sorted(broken.items()))
    return (
        f"no HAProxy host holds a readable record of bluegreen's ({hosts}): the history cannot be told, so nothing is "
        "switched or recorded. Remove the record files beside the release lock (`<lock path>.record-*`) to start a "
        "new history"
    )
