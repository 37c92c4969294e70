"""Many idle authenticated chat sockets, held by a child process (so their clients cost
the driver nothing), a few of which ping the server (the `ping` frame, answered `pong`)
on command and report the round trips.

Parent -> child on stdin: one JSON line (url, tokens, count), then `start`, `stop`
(answered with a JSON list of round trips in ms), `quit`. Child -> parent: `ready`.
"""

import asyncio
import json
import subprocess
import sys
import time
from types import TracebackType
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from bench.scratch import BenchUser
from bench.servers import ROOT, Server

PINGERS = 20  # sockets that ping; the rest stay idle
PING_EVERY_S = 0.05


class IdleSockets:
    def __init__(self, server: Server, users: list[BenchUser], count: int) -> None:
        self.config = {
            "url": server.url.replace("http", "ws", 1) + "/api/v1/chat/ws",
            "tokens": [u.token for u in users],
            "count": count,
        }
        self.proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> "IdleSockets":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.idle_sockets"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.command(json.dumps(self.config))
        if self.answer() != "ready":
            raise RuntimeError("the idle sockets did not open")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self.proc is not None
        self.command("quit")
        self.proc.wait(60)

    def command(self, line: str) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def answer(self) -> str:
        assert self.proc is not None and self.proc.stdout is not None
        return self.proc.stdout.readline().strip()

    def start_pinging(self) -> None:
        self.command("start")

    def stop_pinging(self) -> list[float]:
        self.command("stop")
        return json.loads(self.answer())


async def open_idle(url: str, token: str) -> ClientConnection:
    ws = await connect(url, additional_headers={"Authorization": f"Bearer {token}"})
    ready = json.loads(await ws.recv())
    assert ready["type"] == "ready", ready
    return ws


async def pinger(ws: ClientConnection, rtts: list[float], stop: asyncio.Event) -> None:
    while not stop.is_set():
        started = time.perf_counter()
        await ws.send('{"type":"ping"}')
        while json.loads(await ws.recv()).get("type") != "pong":
            pass
        rtts.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(PING_EVERY_S)


async def child(config: dict[str, Any]) -> None:
    tokens = config["tokens"]
    sockets: list[ClientConnection] = []
    for first in range(0, config["count"], 50):  # 50 handshakes at a time
        batch = range(first, min(first + 50, config["count"]))
        url = config["url"]
        sockets += await asyncio.gather(*(open_idle(url, tokens[i % len(tokens)]) for i in batch))
    print("ready", flush=True)
    lines = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(lines), sys.stdin)
    rtts: list[float] = []
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []
    while (line := (await lines.readline()).decode().strip()) not in ("quit", ""):
        if line == "start":
            stop.clear()
            tasks = [asyncio.create_task(pinger(ws, rtts, stop)) for ws in sockets[:PINGERS]]
        elif line == "stop":
            stop.set()
            await asyncio.gather(*tasks)
            print(json.dumps(rtts), flush=True)
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


if __name__ == "__main__":
    asyncio.run(child(json.loads(sys.stdin.readline())))
