"""Several reads at once: all their answers, or the first failure as it was, with nothing left running."""

from __future__ import annotations

import asyncio

import pytest

from bluegreen.engine.together import together
from bluegreen.errors import UnreachableError


async def answer(value: int, after_s: float = 0) -> int:
    await asyncio.sleep(after_s)
    return value


async def test_the_answers_come_in_the_order_asked() -> None:
    assert await together(answer(1, 0.02), answer(2)) == (1, 2)
    assert await together(answer(1), answer(2, 0.01), answer(3)) == (1, 2, 3)


async def slow(stopped: asyncio.Event) -> int:
    try:
        await asyncio.sleep(10)
    finally:
        stopped.set()
    return 0


async def test_the_first_failure_is_raised_as_it_was_and_the_others_are_stopped() -> None:
    stopped = asyncio.Event()

    async def failing() -> int:
        raise UnreachableError("lb2: cannot connect")

    with pytest.raises(UnreachableError, match="lb2: cannot connect"):  # not an ExceptionGroup
        await together(slow(stopped), failing())
    assert stopped.is_set()


async def test_cancelled_it_leaves_nothing_running() -> None:
    stopped = asyncio.Event()
    task = asyncio.ensure_future(together(slow(stopped), answer(1)))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert stopped.is_set()
