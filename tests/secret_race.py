"""Processes racing to read a fresh DEALAGENT_HOME's signing secret. Apart from the test
module so the spawned children import only what the race needs."""

import math
import multiprocessing
import time
from multiprocessing.synchronize import Barrier
from pathlib import Path

from core.auth import signing_secret
from core.config import Settings

# Two, like `serve --workers 2`; more racers than this machine's cores start less together.
RACERS, TRIALS = 2, 100


def race_for_the_secret(root: Path, barrier: Barrier, results: multiprocessing.Queue) -> None:
    """One of several processes: each trial, all of them read a fresh home's secret at the
    same instant (a barrier, then a spin to the next 20 ms tick: sub-millisecond apart)."""
    for trial in range(TRIALS):
        settings = Settings(dealagent_home=root / str(trial), auth_secret=None, _env_file=None)
        barrier.wait()
        start = (math.floor(time.time() / 0.02) + 2) * 0.02
        while time.time() < start:
            pass
        results.put((trial, signing_secret(settings)))
