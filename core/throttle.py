"""Attempts (failed logins, password-reset requests, sign-ups) counted per email and per
client address over a sliding window.

Kept in this process's memory: with N server processes an attacker gets at most N times
the allowance, which still turns a password-guessing run into a crawl.
"""

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

# Past this many tracked keys, forget those whose failures have all aged out.
SWEEP_AT = 10_000


class Throttled(Exception):
    def __init__(self, what: str, retry_after_s: int) -> None:
        super().__init__(f"too many {what}; try again in {retry_after_s} seconds")
        self.retry_after_s = retry_after_s


@dataclass
class Throttle:
    what: str  # the attempts counted, as the refusal names them
    max_per_email: int | None  # None: counted per client address only
    max_per_client: int
    window_s: float
    clock: Callable[[], float] = time.monotonic
    failures: dict[str, deque[float]] = field(default_factory=dict)

    def check(self, email: str, client: str) -> None:
        """Raise Throttled while either key has used up its failures."""
        if wait := max(self.wait(key, allowed) for key, allowed in self.limits(email, client)):
            raise Throttled(self.what, wait)

    def attempt(self, email: str, client: str) -> None:
        """Count one attempt; Throttled, uncounted, once either key has used its allowance."""
        self.check(email, client)
        self.record(email, client)

    def record(self, email: str, client: str) -> None:
        if len(self.failures) > SWEEP_AT:
            self.sweep()
        for key, _ in self.limits(email, client):
            self.failures.setdefault(key, deque()).append(self.clock())

    def limits(self, email: str, client: str) -> list[tuple[str, int]]:
        counted = [(f"client:{client}", self.max_per_client)]
        if self.max_per_email is not None:
            counted.append((f"email:{email}", self.max_per_email))
        return counted

    def forget(self, email: str) -> None:
        self.failures.pop(f"email:{email}", None)

    def wait(self, key: str, allowed: int) -> int:
        times = self.failures.get(key)
        if not times:
            return 0
        horizon = self.clock() - self.window_s
        while times and times[0] <= horizon:
            times.popleft()
        if len(times) < allowed:
            return 0
        return max(1, int(times[-allowed] - horizon + 0.999))

    def sweep(self) -> None:
        horizon = self.clock() - self.window_s
        for key in [k for k, t in self.failures.items() if not t or t[-1] <= horizon]:
            del self.failures[key]
