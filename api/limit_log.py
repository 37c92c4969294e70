"""Warnings for limits being hit, at most one per limit per interval: a flood of refused
connections must not become a flood of log lines too."""

import logging
import time
from dataclasses import dataclass

INTERVAL_S = 10.0


@dataclass
class _Count:
    hits: int = 0
    logged_at: float = float("-inf")


class LimitLog:
    def __init__(self, logger: logging.Logger, interval_s: float = INTERVAL_S) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._counts: dict[str, _Count] = {}

    def hit(self, limit: str, message: str, *args: object) -> None:
        """Count a hit of `limit`; log `message` if none was logged within the interval."""
        count = self._counts.setdefault(limit, _Count())
        count.hits += 1
        now = time.monotonic()
        if now - count.logged_at < self._interval_s:
            return
        self._logger.warning(
            f"{message} [%s: %d time(s) since the last such line]", *args, limit, count.hits
        )
        count.hits, count.logged_at = 0, now
