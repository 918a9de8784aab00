"""`python -m tests.integration.killed REPO OPERATION`: `bluegreen release --repo REPO`, as the command line runs
it (connect, lock, pre-flight, switch, verify, record), that SIGKILLs itself right after the first operation on an
HAProxy host whose runtime command contains OPERATION (or whose change is of that kind: `WriteMapEntry`) has
succeeded. A crash at an exact point of the switch, with no cleanup at all: for the fault matrix."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bluegreen.adapters.file_ledger import FileLedger
from bluegreen.adapters.ssh import SshConnector
from bluegreen.engine.jobs import release_job
from bluegreen.engine.ports import Connector, Reached
from bluegreen.engine.release import Request
from bluegreen.model import HaproxyHost
from tests.integration.test_failures import Faulty, state_and_keys_of

KILLED = "killing myself with SIGKILL after "


class Killing:
    """A connector whose hosts SIGKILL this process right after the first `operation` succeeded."""

    def __init__(self, inner: Connector, operation: str) -> None:
        self.inner, self.operation = inner, operation

    @asynccontextmanager
    async def reach(self, hosts: Sequence[HaproxyHost]) -> AsyncIterator[Reached]:
        async with self.inner.reach(hosts) as found:
            ports = {name: Faulty(port, self.operation, after=self.die) for name, port in found.hosts.items()}
            yield Reached(ports, found.probes)

    def die(self) -> None:
        print(KILLED + self.operation, file=sys.stderr, flush=True)
        os.kill(os.getpid(), signal.SIGKILL)


def main(repo: Path, operation: str) -> None:
    state, credentials = state_and_keys_of(repo, os.environ["BLUEGREEN_SSH_KEY"])
    request = Request(state.desired, state.environments, state.status)
    connector = Killing(SshConnector(credentials), operation)
    progress = lambda message: print(message, file=sys.stderr, flush=True)  # noqa: E731
    asyncio.run(release_job(request, connector, progress, FileLedger(state, repo), "the run that is killed"))
    raise SystemExit(f"{operation!r} never ran: nothing killed this run")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2])
