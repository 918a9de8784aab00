"""status.json sealed with a key that only the release holds, so no one else can write a history that counts.

The rollback rule skips the newer-version check on the strength of status.json's history. Anyone who can write
to the branch (a person, or any workflow's token: every one of them commits as github-actions[bot], signed by
GitHub) could otherwise write a fake earlier release there. So bluegreen seals what it records: an HMAC-SHA256
over the file's content, keyed by a key derived from the deploy key, which whoever can switch traffic holds
anyway. The seal also names the version of the file it replaced (its git blob id) and counts up, so an old
sealed record put back on top (a replay) is told from the newest one. Pure: no I/O.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ALGORITHM = "hmac-sha256"
FIELD = "seal"


@dataclass(frozen=True)
class Seal:
    sequence: int  # 1 for bluegreen's first record, one more for each after it
    previous: str | None  # the git blob id of the status.json this record replaced; None: there was none


def blob_id(text: str) -> str:
    """git's id of a blob holding `text` (what GitHub's contents API calls the file's sha)."""
    data = text.encode("utf-8")
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324 - git's object id


def sealed(data: Mapping[str, Any], key: bytes, seal: Seal) -> dict[str, Any]:
    """status.json's data with its seal."""
    body = {**data, FIELD: {"sequence": seal.sequence, "previous": seal.previous}}
    return {**body, FIELD: {**body[FIELD], "mac": f"{ALGORITHM}:{_mac(body, key)}"}}


def opened(data: Mapping[str, Any], key: bytes) -> Seal | None:
    """The seal of status.json's data when `key` made it; None when it has none, or another key's, or when
    anything in the file changed after it was sealed."""
    found = data.get(FIELD)
    if not isinstance(found, Mapping):
        return None
    mac = found.get("mac")
    body = {**data, FIELD: {name: value for name, value in found.items() if name != "mac"}}
    if not isinstance(mac, str) or not hmac.compare_digest(mac, f"{ALGORITHM}:{_mac(body, key)}"):
        return None
    sequence, previous = found.get("sequence"), found.get("previous")
    if type(sequence) is not int or not (previous is None or isinstance(previous, str)):
        return None
    return Seal(sequence, previous)


def _mac(body: Mapping[str, Any], key: bytes) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    return hmac.new(key, canonical.encode("ascii"), hashlib.sha256).hexdigest()
