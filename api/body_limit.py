"""A bound on HTTP request bodies for the whole app: 413 before an oversized body is read.

Declared lengths are refused at once; a chunked body is counted as it arrives and refused
the moment it passes the bound, so no route ever holds more than `max_bytes` of it. The
rest of the body is read and dropped (up to DRAIN_BYTES) before the answer, so a client
still writing its body reads the 413 instead of a reset connection."""

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.problems import MEDIA_TYPE, encoded

DRAIN_BYTES = 64 * 1024 * 1024


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await drain(receive)
            await self.refuse(send)
            return
        received = 0
        refused = body_done = started = False

        async def counted() -> Message:
            nonlocal received, refused, body_done
            message = await receive()
            received += len(message.get("body", b""))
            body_done = not message.get("more_body", False)
            if received > self.max_bytes:
                refused = True
                return {"type": "http.disconnect"}  # to the app, the client has gone
            return message

        async def unless_refused(message: Message) -> None:
            nonlocal started
            if refused and not started:
                return  # the app's answer to a body it never got
            started = True
            await send(message)

        await self.app(scope, counted, unless_refused)
        if refused and not started:
            if not body_done:
                await drain(receive)
            await self.refuse(send)

    async def refuse(self, send: Send) -> None:
        detail = f"the request body is larger than {self.max_bytes} bytes"
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", MEDIA_TYPE.encode())],
            }
        )
        await send(
            {"type": "http.response.body", "body": encoded(413, "payload_too_large", detail)}
        )


async def drain(receive: Receive) -> None:
    """Read what is left of the request body, keeping none of it."""
    dropped = 0
    while dropped <= DRAIN_BYTES:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body", False):
            return
        dropped += len(message.get("body", b""))
