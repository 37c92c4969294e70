"""How long a chat socket may live: while its access token is good. It ends when the token
expires (unless the client sent a fresh one in an `auth` frame first), when it is revoked
(logout, a reused refresh token, a password reset) or when the user is no longer active.
Revocations are heard from the process's listener (migration 0006's NOTIFY names the
user); each of the user's sockets then checks its own token."""

import asyncio
import logging
import uuid
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api import ws_protocol as wire
from core.auth import AuthError, Principal, authenticate, now

log = logging.getLogger(__name__)
RECHECK_RETRY_S = 1.0  # after a failed check (the database away): try again

MESSAGES = {
    "token_revoked": "You were logged out (a logout, a password reset or a revoked login); "
    "log in again to keep chatting.",
    "token_expired": "Your access token expired. Connect again with a fresh one; to keep a "
    "socket open, send a fresh token in an auth frame before the old one expires.",
    "another_user": "That token is another user's; a socket serves one user. Connect again "
    "with your own token.",
    "invalid_token": "That token is not valid. Connect again with a valid access token.",
}


class SessionEnded(Exception):
    """Why the socket's session is over; the socket gets this as an error frame, then 4401."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message or MESSAGES.get(reason, MESSAGES["invalid_token"])

    @classmethod
    def of(cls, error: AuthError) -> "SessionEnded":
        if error.code == "account_disabled":
            return cls(error.code, f"The chat has ended: {error}.")
        return cls(error.code)

    def frame(self) -> dict[str, Any]:
        return {**wire.error("session_ended", self.message), "reason": self.reason}


class ChatSession:
    """A socket's login: its user, its current token and what that token allows."""

    def __init__(
        self, principal: Principal, token: str, sessions: async_sessionmaker[AsyncSession]
    ) -> None:
        self.principal = principal
        self.token = token
        self._sessions = sessions
        # Set by the listener (the user's sessions changed) and by a renewal. Set at first:
        # a revocation just before the listener knew of this socket is checked too.
        self.changed = asyncio.Event()
        self.changed.set()

    @property
    def user_id(self) -> uuid.UUID:
        return self.principal.user_id

    async def renew(self, token: str) -> Principal:
        """An `auth` frame on the open socket: the user's fresh token replaces the old one."""
        try:
            principal = await self._check(token)
        except AuthError as error:
            raise SessionEnded.of(error) from None
        if principal.user_id != self.user_id:
            raise SessionEnded("another_user")
        self.principal, self.token = principal, token
        self.changed.set()  # the expiry timer starts again
        return principal

    async def until_ended(self) -> SessionEnded:
        """Waits for the token's expiry or a change to check, and returns why it ended."""
        while True:
            remaining = (self.principal.expires_at - now()).total_seconds()
            try:
                async with asyncio.timeout(max(remaining, 0)):
                    await self.changed.wait()
            except TimeoutError:
                if self.principal.expires_at <= now():
                    return SessionEnded("token_expired")
                continue
            self.changed.clear()
            try:
                await self._check(self.token)
            except AuthError as error:
                return SessionEnded.of(error)
            except (SQLAlchemyError, OSError) as error:
                log.warning("could not check a chat session, retrying: %r", error)
                await asyncio.sleep(RECHECK_RETRY_S)
                self.changed.set()

    async def _check(self, token: str) -> Principal:
        async with self._sessions() as session:
            return await authenticate(session, token)
