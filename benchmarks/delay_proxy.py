"""A TCP proxy that delays every byte by half a round trip each way: a WAN between a CI runner and its load
balancers, on loopback.

    python benchmarks/delay_proxy.py --rtt-ms 50 LISTEN_PORT:TARGET_HOST:TARGET_PORT [...]

A LISTEN_PORT of 0 takes a free port. It prints `ready` and the ports it listens on, in order, on stdout once
every one listens, and runs until it is killed (SIGTERM, SIGINT). Each chunk read
from one side is written to the other side `rtt/2` after it arrived, in order, so the proxy adds latency, never a
bandwidth limit nor reordering. The TCP handshake costs a round trip too: a client's first bytes reach the target no
sooner than `1.5 x rtt` after it connected (its SYN, the SYN-ACK, then its data), and the target's first bytes
reach the client no sooner than `2 x rtt` after (the target only accepts the connection once the handshake is
done). Everything else is what the kernel does on loopback: no loss, no slow start.

Only the standard library: the benchmark runs it as a separate process, so that its work is not the measured
client's.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

CHUNK = 65536

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass(frozen=True)
class Route:
    listen: int
    host: str
    port: int

    @classmethod
    def parse(cls, text: str) -> Route:
        listen, host, port = text.rsplit(":", 2)
        return cls(int(listen), host, int(port))


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, one_way: float, not_before: float) -> None:
    """Copy reader to writer, each chunk `one_way` seconds after it arrived (and none before `not_before`)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(CHUNK)
            queue.put_nowait((max(loop.time(), not_before) + one_way, data))
            if not data:
                break
        await delivering
    except (ConnectionError, OSError):
        delivering.cancel()
    finally:
        if not delivering.done():
            await asyncio.gather(delivering, return_exceptions=True)


def _handler(route: Route, rtt: float) -> Handler:
    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        start = asyncio.get_running_loop().time()
        try:
            target_reader, target_writer = await asyncio.open_connection(route.host, route.port)
        except OSError:
            client_writer.close()
            return
        for writer in (client_writer, target_writer):
            sock = writer.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            await asyncio.gather(
                _pump(client_reader, target_writer, rtt / 2, start + rtt),
                _pump(target_reader, client_writer, rtt / 2, start + 1.5 * rtt),
            )
        except asyncio.CancelledError:  # the proxy stops
            pass
        finally:
            for writer in (client_writer, target_writer):
                writer.close()

    return handle


async def serve(routes: Sequence[Route], rtt_s: float) -> None:
    servers = [await asyncio.start_server(_handler(route, rtt_s), "127.0.0.1", route.listen) for route in routes]
    print("ready", *(server.sockets[0].getsockname()[1] for server in servers), flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for number in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(number, stopped.set)
    await stopped.wait()
    for server in servers:
        server.close()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rtt-ms", type=float, required=True, help="the round trip to add, in milliseconds")
    parser.add_argument("routes", nargs="+", type=Route.parse, help="LISTEN_PORT:TARGET_HOST:TARGET_PORT")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.routes, args.rtt_ms / 1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
