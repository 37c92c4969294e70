"""/api/v1/chat/ws: the chat agent over a WebSocket (protocol: docs/websocket-protocol.md)."""

import asyncio
import contextlib
import logging
import uuid
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.datastructures import State

from agent.provider_retry import LLMUnavailable
from agent.turn import TurnRequest, run_turn
from api import ws_protocol as wire
from api.chat_session import ChatSession, SessionEnded
from api.limit_log import LimitLog
from core import billing, chat, notifications
from core.auth import AuthError, Principal, authenticate, can_spend
from core.chat_gate import FactsWanted, TurnFacts
from core.ledger import InsufficientBalance
from core.plain import tokens_text

log = logging.getLogger(__name__)
limits_hit = LimitLog(log)
router = APIRouter()
TOO_MANY_WAITING = "too many sockets from your address are waiting to authenticate"
NO_SUCH_GOAL = (
    "You have no goal with that goal_id; send the message without it or with one of yours."
)
TURN_FAILED = (
    "Something went wrong on our side and this message got no answer; you were not charged "
    "for a reply. Please send it again."
)


def balance_too_low(exc: InsufficientBalance) -> str:
    return (
        f"Your balance is {tokens_text(exc.balance)}; this turn needs at least "
        f"{tokens_text(exc.needed)}, so nothing was sent to the agent or charged. Ask the "
        "service's operator for more tokens, or invite someone with your referral code: "
        "you earn tokens when they finish their first chat."
    )


def not_yours() -> wire.FrameError:
    """For `ack` and `read` of a notification that is not the user's (or none at all)."""
    return wire.FrameError("notification_not_found", "no such notification of yours")


@router.websocket("/api/v1/chat/ws")
async def chat_socket(websocket: WebSocket) -> None:
    await websocket.accept()
    login = await _authenticate(websocket)
    if login is not None:
        await ChatConnection(websocket, *login).serve()


def _bearer(header: str | None) -> str | None:
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


async def _receive(websocket: WebSocket, max_bytes: int) -> str | bytes | None:
    """The next frame's data; None once the client is gone or the frame was too big."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        return None
    data = message.get("text")
    if data is None:
        data = message.get("bytes") or b""
        size = len(data)
    else:  # a character is at most 4 bytes: encode only when it might matter
        size = len(data) if len(data) * 4 <= max_bytes else len(data.encode())
    if size > max_bytes:
        await websocket.close(wire.CLOSE_TOO_BIG, "frame too big")
        return None
    return data


async def _authenticate(websocket: WebSocket) -> tuple[Principal, str] | None:
    """The Bearer header's token, else a first `auth` frame's within the time allowed."""
    state: State = websocket.app.state
    settings = state.settings
    token = _bearer(websocket.headers.get("authorization"))
    if token is None:
        client = websocket.client.host if websocket.client else "?"
        with state.pending_auth.waiting(client) as admitted:
            if not admitted:
                limits_hit.hit(
                    "MAX_UNAUTHENTICATED_PER_CLIENT",
                    "closed a chat socket from %s (1013): %d of its sockets already wait "
                    "for their auth frame",
                    client,
                    state.pending_auth.limit,
                )
                await websocket.close(wire.CLOSE_TRY_AGAIN_LATER, TOO_MANY_WAITING)
                return None
            try:
                async with asyncio.timeout(settings.chat_auth_timeout_s):
                    data = await _receive(websocket, settings.chat_max_frame_bytes)
            except TimeoutError:
                await websocket.close(wire.CLOSE_AUTH_TIMEOUT, "authentication timed out")
                return None
        if data is None:
            return None
        try:
            frame = wire.parse(data, settings.chat_max_content_chars)
        except wire.FrameError as exc:
            frame = exc
        if not isinstance(frame, wire.AuthFrame):
            await websocket.close(wire.CLOSE_AUTH_TIMEOUT, "authenticate first")
            return None
        token = frame.token
    try:
        async with state.sessions() as session:
            return await authenticate(session, token), token
    except AuthError as exc:
        await websocket.close(wire.CLOSE_UNAUTHORIZED, str(exc)[:100] or "unauthorized")
        return None


class ChatConnection:
    """One authenticated socket: reads frames, answers them, forwards notifications, and
    ends with its session (api.chat_session). Turns run on the process's ChatRuntime and
    only talk to this socket while it is open."""

    def __init__(self, websocket: WebSocket, principal: Principal, token: str) -> None:
        state: State = websocket.app.state
        self.websocket = websocket
        self.session = ChatSession(principal, token, state.sessions)
        self.user_id = principal.user_id
        self.sessions = state.sessions
        self.settings = state.settings
        self.state = state
        self.runtime: chat.ChatRuntime = state.chat
        self.open = True
        self._send_lock = asyncio.Lock()
        self._pushed: set[uuid.UUID] = set()

    async def send(self, frame: dict[str, Any]) -> None:
        """Send if the client is still there; a turn outlives its socket."""
        if not self.open:
            return
        try:
            async with self._send_lock:
                await self.websocket.send_text(wire.dumps(frame))
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.open = False

    async def serve(self) -> None:
        listener = self.runtime.listener
        # Subscribed before the undelivered ones are read, so none falls in between.
        with (
            listener.subscribe(self.user_id) as inbox,
            listener.watch_sessions(self.user_id, self.session.changed),
        ):
            inbox.put_nowait(None)  # first, whatever is still undelivered
            async with self.sessions() as session:
                balance = await billing.balance_of(session, self.user_id)
            await self.send(
                {
                    "type": "ready",
                    "user_id": self.user_id,
                    "token_balance": balance,
                    "expires_at": self.session.principal.expires_at,
                }
            )
            pusher = asyncio.create_task(self._push_notifications(inbox))
            reader = asyncio.create_task(self._receive_frames())
            guard = asyncio.create_task(self.session.until_ended())
            try:
                done, _ = await asyncio.wait({reader, guard}, return_when=asyncio.FIRST_COMPLETED)
                ended = (guard if guard in done else reader).result()
                if ended is not None:
                    await self._end(ended)
            finally:
                self.open = False
                for task in (pusher, reader, guard):
                    task.cancel()

    async def _receive_frames(self) -> SessionEnded | None:
        """Until the client leaves (None) or an `auth` frame ends the session."""
        max_bytes = self.settings.chat_max_frame_bytes
        while (data := await _receive(self.websocket, max_bytes)) is not None:
            try:
                await self._handle(wire.parse(data, self.settings.chat_max_content_chars))
            except wire.FrameError as exc:
                await self.send(exc.frame())
            except SessionEnded as ended:
                return ended
        return None

    async def _end(self, ended: SessionEnded) -> None:
        """The error frame saying why, then the close: nothing is sent or accepted after."""
        await self.send(ended.frame())
        self.open = False
        with contextlib.suppress(WebSocketDisconnect, RuntimeError, OSError):
            async with self._send_lock:
                reason = f"session ended: {ended.reason}"
                await self.websocket.close(wire.CLOSE_UNAUTHORIZED, reason)

    async def _handle(self, frame: wire.ClientFrame) -> None:
        match frame:
            case wire.PingFrame():
                await self.send({"type": "pong"})
            case wire.UserMessageFrame():
                await self._accept_message(frame)
            case wire.HistoryFrame():
                await self._history(frame)
            case wire.AckFrame():
                await self._acknowledge(frame)
            case wire.ReadFrame():
                await self._read(frame)
            case wire.AuthFrame():
                renewed = await self.session.renew(frame.token)
                await self.send({"type": "authenticated", "expires_at": renewed.expires_at})

    async def _accept_message(self, frame: wire.UserMessageFrame) -> None:
        if not can_spend(self.session.principal.scope):
            raise wire.FrameError(
                "forbidden_scope",
                "You signed in with read-only access, which cannot chat; sign in with full "
                "access to send messages.",
                frame.id,
            )
        if self.runtime.limiter.admit(self.user_id):
            self.runtime.spawn(self._turn(frame, counted=True))
            return
        async with self.sessions() as session:
            again = await chat.sent_before(session, self.user_id, frame.id)
        if not again:
            raise self._rate_limited(frame.id)
        self.runtime.spawn(self._turn(frame, counted=False))  # a replay costs nothing

    async def _turn(self, frame: wire.UserMessageFrame, *, counted: bool) -> None:
        """Runs to the end even if the socket closes: stored and billed once either way.
        `counted`: the in-process rate limiter counted it (uncounted if it is a replay)."""
        try:
            wanted = FactsWanted(frame.id, frame.goal_id, self.settings.chat_rate_window_s)
            async with self.runtime.gate.hold(self.user_id, wanted) as turn:
                facts = await turn.facts(frame.id, frame.goal_id, wanted.window_s)
                if facts.asked is not None:
                    if counted:
                        self.runtime.limiter.release(self.user_id)
                    await self._replay(frame.id, facts)
                    return
                if not facts.goal_ok:
                    raise wire.FrameError("goal_not_found", NO_SUCH_GOAL, frame.id)
                if facts.recent_messages >= self.settings.chat_rate_limit:
                    raise self._rate_limited(frame.id)
                outcome = await run_turn(self._turn_request(frame, facts.quote), self.send)
                await self.send({**outcome.frame(), "id": frame.id})
        except wire.FrameError as exc:
            await self.send(exc.frame())
        except InsufficientBalance as exc:
            await self.send(wire.error("insufficient_balance", balance_too_low(exc), frame.id))
        except LLMUnavailable as exc:
            error = wire.error("llm_unavailable", str(exc), frame.id)
            if exc.retry_after_s is not None:
                error["retry_after_s"] = exc.retry_after_s
            await self.send(error)
        except Exception:
            log.exception("chat turn failed")
            await self.send(wire.error("internal_error", TURN_FAILED, frame.id))

    def _rate_limited(self, client_id: str) -> wire.FrameError:
        return wire.FrameError(
            "rate_limited",
            f"You sent more than {self.settings.chat_rate_limit} messages in "
            f"{self.settings.chat_rate_window_s:g} seconds; please wait a moment, then send "
            "this one again.",
            client_id,
        )

    def _turn_request(self, frame: wire.UserMessageFrame, quote: billing.Quote) -> TurnRequest:
        return TurnRequest(
            user_id=self.user_id,
            sessions=self.sessions,
            http=self.state.http,
            settings=self.settings,
            client_message_id=frame.id,
            content=frame.content,
            goal_id=frame.goal_id,
            monitor=self.state.monitor,
            quote=quote,
        )

    async def _replay(self, client_id: str, facts: TurnFacts) -> None:
        """The same client message id again: the first run's result, never a second run."""
        if facts.asked is None or facts.reply is None:
            raise wire.FrameError(
                "duplicate_id",
                "This message id belongs to an earlier message whose turn did not finish; "
                "send the message again with a new id.",
                client_id,
            )
        await self.send({"type": "ack", "id": client_id, "message_id": facts.asked.id})
        reply = facts.reply
        await self.send(
            {
                "type": "assistant_message",
                "id": client_id,
                "turn_id": reply.meta_data.get("turn_id"),
                "message_id": reply.id,
                "content": reply.content,
                "tokens_used": reply.tokens_used,
                "charged": reply.meta_data.get("charged"),
                "token_balance": facts.balance,
                "replayed": True,
            }
        )

    async def _history(self, frame: wire.HistoryFrame) -> None:
        async with self.sessions() as session:
            if frame.goal_id and not await chat.owns_goal(session, self.user_id, frame.goal_id):
                raise wire.FrameError("goal_not_found", "no such goal of yours")
            try:
                messages = await chat.history(
                    session,
                    self.user_id,
                    limit=frame.limit,
                    before=frame.before,
                    goal_id=frame.goal_id,
                )
            except chat.MessageNotFound:
                raise wire.FrameError("message_not_found", "no such message of yours") from None
        await self.send({"type": "history", "messages": [wire.message_fields(m) for m in messages]})

    async def _acknowledge(self, frame: wire.AckFrame) -> None:
        async with self.sessions() as session, session.begin():
            done = await notifications.acknowledge(session, self.user_id, frame.notification_id)
        if done is None:
            raise not_yours()

    async def _read(self, frame: wire.ReadFrame) -> None:
        async with self.sessions() as session, session.begin():
            marked = await notifications.mark_read(session, self.user_id, [frame.notification_id])
        if not marked:
            raise not_yours()

    async def _push_notifications(self, inbox: notifications.Inbox) -> None:
        while True:
            try:
                await self._push(await inbox.get())
            except Exception:  # the next notice (or reconnect) tries again
                log.exception("pushing notifications failed")

    async def _push(self, notification_id: uuid.UUID | None) -> None:
        """One notification by id, or (None) every one still undelivered."""
        pending = notifications.UNDELIVERED
        async with self.sessions() as session, session.begin():
            if notification_id is None:
                rows = await notifications.undelivered(session, self.user_id)
            else:
                row = await notifications.get(session, self.user_id, notification_id)
                rows = [row] if row is not None else []
            rows = [r for r in rows if r.id not in self._pushed and r.status in pending]
            await notifications.mark_sent(session, [r.id for r in rows])
        for row in rows:
            self._pushed.add(row.id)
            await self.send(wire.notification_fields(row))
