"""The command line's ledger: status.json in the operator's working tree."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

from bluegreen import config
from bluegreen.adapters import files
from bluegreen.core import history
from bluegreen.engine.ports import HaproxyPort, Recalled, Saved
from bluegreen.errors import InputError
from bluegreen.model import Outcome


@dataclass
class FileLedger:
    """The command line's record: status.json in the working tree `repo`, believed as it is (the operator's own
    checkout), written back atomically and never through a link.

    It is read again when the release recalls it, under the hosts' locks, and the outcome is recorded onto what
    was read then: another release from the same checkout that held the locks first has written its record by
    then, and this one keeps it (the status.json read at start-up would write over it)."""

    state: config.State
    repo: Path

    async def recall(self, hosts: Mapping[str, HaproxyPort]) -> Recalled:
        status = await asyncio.to_thread(config.load_status, files.WorkingTree(self.repo), self.state.status_path)
        self.state = replace(self.state, status=status)
        return Recalled(status)

    async def record(self, hosts: Mapping[str, HaproxyPort], outcome: Outcome) -> Saved:
        return await asyncio.to_thread(self._write, outcome)

    def _write(self, outcome: Outcome) -> Saved:
        text = config.dump_status(history.recorded(self.state.status, outcome))
        try:
            files.write_text(self.repo, self.state.status_path, text)
        except InputError as error:
            return Saved(False, error.message)
        except OSError as exc:
            return Saved(False, f"cannot write {self.state.status_path}: {exc.strerror or type(exc).__name__}")
        return Saved(True, f"{self.state.status_path} records the observed LIVE")
