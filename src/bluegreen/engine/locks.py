"""The release lock of every host, taken at once.

Each round tries every host's lock concurrently and without waiting, and lets go of them concurrently, so N
hosts cost one round of round trips, not N. A miss on any host lets go of all the others before the next round:
two runs can never each hold a part and wait for the rest (no deadlock, whatever the order of the hosts). Rounds
are spaced by a growing pause with jitter, so two runs that missed each other do not meet again in step, until
`wait_s` is spent; then the error names the holder.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass

from bluegreen.engine.ports import HaproxyPort
from bluegreen.errors import LockBusyError

FIRST_PAUSE_S = 0.05
LONGEST_PAUSE_S = 1.0


@dataclass(frozen=True)
class Held:
    """The locks this run holds, and what it took to get them: the pre-flight report shows it."""

    hosts: tuple[str, ...]
    rounds: int
    waited_s: float

    @property
    def detail(self) -> str:
        waited = f" after {self.rounds} tries ({self.waited_s:.1f} s: another run held one)" if self.rounds > 1 else ""
        return f"held by this run on {', '.join(self.hosts)}{waited}"


@asynccontextmanager
async def locked(hosts: Mapping[str, HaproxyPort], holder: str, wait_s: float) -> AsyncIterator[Held]:
    """Every host's release lock for the body; LockBusyError once `wait_s` is spent and one is still held."""
    start = time.monotonic()
    deadline, pause, rounds = start + wait_s, FIRST_PAUSE_S, 0
    while True:
        rounds += 1
        taken, busy = await _one_round(hosts, holder)
        try:
            if busy is None:
                yield Held(tuple(hosts), rounds, time.monotonic() - start)
                return
        finally:
            await _let_go(taken)
        left = deadline - time.monotonic()
        if left <= 0:
            raise LockBusyError(f"{busy.message}; waited {wait_s:g} s", hint=busy.hint)
        await asyncio.sleep(min(left, pause * random.uniform(0.5, 1.5)))
        pause = min(pause * 2, LONGEST_PAUSE_S)


Lock = AbstractAsyncContextManager[None]


async def _one_round(hosts: Mapping[str, HaproxyPort], holder: str) -> tuple[list[Lock], LockBusyError | None]:
    """Try every lock at once: the ones taken, and the first busy one, if any. Any other error is raised, after
    the ones taken are let go."""
    locks = [port.lock(holder, 0) for port in hosts.values()]
    results = await asyncio.gather(*(lock.__aenter__() for lock in locks), return_exceptions=True)
    taken = [lock for lock, result in zip(locks, results, strict=True) if not isinstance(result, BaseException)]
    failures = [result for result in results if isinstance(result, BaseException)]
    other = next((failure for failure in failures if not isinstance(failure, LockBusyError)), None)
    if other is not None:
        await _let_go(taken)
        raise other
    return taken, next((failure for failure in failures if isinstance(failure, LockBusyError)), None)


async def _let_go(taken: list[Lock]) -> None:
    """Every lock taken, let go at once (one after the other would cost a round trip per host); the first error
    of letting go, if any, once all were tried."""
    results = await asyncio.gather(*(lock.__aexit__(None, None, None) for lock in taken), return_exceptions=True)
    failure = next((result for result in results if isinstance(result, BaseException)), None)
    if failure is not None:
        raise failure
