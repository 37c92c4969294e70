"""Chat sockets still waiting for their `auth` frame, counted per client address: each
holds a connection for up to CHAT_AUTH_TIMEOUT_S, so one address may keep only so many
(MAX_UNAUTHENTICATED_PER_CLIENT) waiting at once. Per server process."""

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager


class PendingAuth:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._waiting: Counter[str] = Counter()

    @contextmanager
    def waiting(self, client: str) -> Iterator[bool]:
        """True while this socket counts as one of `client`'s; False if it is one too many."""
        if self._waiting[client] >= self.limit:
            yield False
            return
        self._waiting[client] += 1
        try:
            yield True
        finally:
            self._waiting[client] -= 1
            if not self._waiting[client]:
                del self._waiting[client]
