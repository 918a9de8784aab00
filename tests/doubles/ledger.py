"""An in-memory Ledger: the history it is handed, and every outcome it is asked to record.

The engine's unit tests read what a release recorded (or failed to) here, without status.json or the hosts' record.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bluegreen.engine.ports import HaproxyPort, Recalled, Saved
from bluegreen.model import Outcome, Status


@dataclass
class FakeLedger:
    status: Status = field(default_factory=Status)
    refusal: str | None = None  # what the ledger says forbids any switch (a tampered record, say)
    error: Exception | None = None  # raised by `record` instead of recording
    recorded: list[Outcome] = field(default_factory=list)

    async def recall(self, hosts: Mapping[str, HaproxyPort]) -> Recalled:
        return Recalled(self.status, self.refusal)

    async def record(self, hosts: Mapping[str, HaproxyPort], outcome: Outcome) -> Saved:
        if self.error is not None:
            raise self.error
        self.recorded.append(outcome)
        return Saved(True, "recorded in memory")
