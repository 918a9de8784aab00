"""Several reads at once, failing as one of them would alone.

`asyncio.gather` leaves the others running when one fails (their own errors then go unseen), and a TaskGroup raises
an ExceptionGroup that no caller of the engine expects. `together` cancels the others at the first failure, waits
for them to stop, and raises that failure as it was.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any, TypeVar, overload

A = TypeVar("A")
B = TypeVar("B")
C = TypeVar("C")


@overload
async def together(first: Awaitable[A], second: Awaitable[B], /) -> tuple[A, B]: ...
@overload
async def together(first: Awaitable[A], second: Awaitable[B], third: Awaitable[C], /) -> tuple[A, B, C]: ...
async def together(*awaitables: Awaitable[Any]) -> tuple[Any, ...]:
    tasks = [asyncio.ensure_future(awaitable) for awaitable in awaitables]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:  # cancelled, or one failed: none is left running
        pending = [task for task in tasks if not task.done()]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    errors = [error for task in tasks if not task.cancelled() and (error := task.exception()) is not None]
    if errors:  # the first one's: the others, if any, are its consequences
        raise errors[0]
    return tuple(task.result() for task in tasks)
