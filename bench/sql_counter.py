"""A TCP proxy in front of PostgreSQL that counts what its clients send, by the wire
protocol's message types: statements (Query, Execute) and round trips (Query, Sync: each
waits for ReadyForQuery). Any client, any driver; it runs in a thread of its own and is
used for a short counting run only, so its own cost never shows in a timed figure."""

import asyncio
import struct
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from bench.servers import free_port

NEGOTIATIONS = {80877103, 80877104}  # SSLRequest, GSSENCRequest: another untyped message follows


class SqlCounter:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.counts: Counter[bytes] = Counter()

    def reset(self) -> None:
        self.counts.clear()

    @property
    def statements(self) -> int:
        return self.counts[b"Q"] + self.counts[b"E"]

    @property
    def round_trips(self) -> int:
        return self.counts[b"Q"] + self.counts[b"S"]

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.host.startswith("/"):  # a Unix-domain socket's directory (libpq's host=)
            path = f"{self.host}/.s.PGSQL.{self.port}"
            up_reader, up_writer = await asyncio.open_unix_connection(path)
        else:
            up_reader, up_writer = await asyncio.open_connection(self.host, self.port)
        down = asyncio.create_task(self.pipe(up_reader, writer))
        try:
            await self.client_messages(reader, up_writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            up_writer.close()
            await down
            writer.close()

    async def client_messages(self, reader: asyncio.StreamReader, up: asyncio.StreamWriter) -> None:
        while True:  # untyped start-up messages
            head = await reader.readexactly(8)
            length, code = struct.unpack("!ii", head)
            up.write(head + await reader.readexactly(length - 8))
            if code not in NEGOTIATIONS:
                break
        while True:
            head = await reader.readexactly(5)
            self.counts[head[:1]] += 1
            (length,) = struct.unpack("!i", head[1:])
            up.write(head + await reader.readexactly(length - 4))
            await up.drain()

    @staticmethod
    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


@contextmanager
def counting(database_url: str) -> Iterator[tuple[SqlCounter, str]]:
    """The counter and the database URL to give a server so it connects through it."""
    url = make_url(database_url)
    query = dict(url.query)
    host = query.pop("host", None) or url.host or "127.0.0.1"
    counter = SqlCounter(str(host), url.port or 5432)
    port = free_port()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    async def serve() -> None:
        async with await asyncio.start_server(counter.handle, "127.0.0.1", port):
            started.set()
            await stop.wait()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    started.wait(10)
    proxied = url.set(host="127.0.0.1", port=port, query={**query, "sslmode": "disable"})
    try:
        yield counter, proxied.render_as_string(hide_password=False)
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(5)
