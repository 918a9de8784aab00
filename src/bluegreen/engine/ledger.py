"""bluegreen's record on the HAProxy hosts, read and written through the port (the rules are core/record.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from bluegreen.core.record import Broken, Memory, Recollection, dumped, newest, parsed, record_name
from bluegreen.engine.ports import HaproxyPort
from bluegreen.errors import said


async def recall(hosts: Mapping[str, HaproxyPort], repository: str, status_path: str) -> Recollection:
    record = record_name(repository, status_path)
    texts = await asyncio.gather(*(port.recall(record) for port in hosts.values()))
    read: dict[str | None, Memory | Broken | None] = {}  # the hosts keep one text: it is read once, not N times
    memories: dict[str, Memory | Broken | None] = {}
    for name, text in zip(hosts, texts, strict=True):
        if text not in read or isinstance(read[text], Broken):  # a broken one is told by the host that holds it
            read[text] = parsed(text, f"{name}'s {record}")
        memories[name] = read[text]
    return newest(memories)


async def remember(
    hosts: Mapping[str, HaproxyPort], repository: str, status_path: str, memory: Memory
) -> dict[str, str]:
    """Keep `memory` on every host (replaced whole); the hosts where that failed, and why."""
    record, text, names = record_name(repository, status_path), dumped(memory), list(hosts)
    results = await asyncio.gather(*(hosts[name].keep(record, text) for name in names), return_exceptions=True)
    return {name: said(result) for name, result in zip(names, results, strict=True) if isinstance(result, Exception)}
