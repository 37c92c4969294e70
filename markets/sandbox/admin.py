"""The sandbox's admin API, for tests and demos: the faults it acts out, its clock, and
its state."""

from datetime import date
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from core.models.enums import MarketType as M
from markets.sandbox.state import Fault, SandboxState


class Admin:
    def __init__(self, state: SandboxState) -> None:
        self.state = state

    async def set_fault(self, request: Request) -> Response:
        body = await request.json()
        market = M(body["market"])
        mode = body.get("mode", "ok")
        delay = float(body.get("delay_s", 0))
        if mode not in ("ok", "slow", "error", "rate_limit", "malformed"):
            return JSONResponse({"error": f"unknown mode {mode!r}"}, status_code=400)
        self.state.faults[market] = Fault(mode, delay)
        return JSONResponse(self.snapshot())

    async def clear_faults(self, request: Request) -> Response:
        self.state.faults.clear()
        return JSONResponse(self.snapshot())

    async def set_clock(self, request: Request) -> Response:
        body = await request.json()
        self.state.today = date.fromisoformat(body["date"]) if body.get("date") else None
        return JSONResponse(self.snapshot())

    async def show_state(self, request: Request) -> Response:
        return JSONResponse(self.snapshot())

    def snapshot(self) -> dict[str, Any]:
        return {
            "today": self.state.day().isoformat(),
            "faults": {m.value: vars(f) for m, f in self.state.faults.items()},
            "requests": dict(self.state.requests),
            "tokens_issued": self.state.tokens_issued,
        }


def admin_routes(state: SandboxState) -> list[Route]:
    admin = Admin(state)
    return [
        Route("/_sandbox/faults", admin.set_fault, methods=["POST"]),
        Route("/_sandbox/faults", admin.clear_faults, methods=["DELETE"]),
        Route("/_sandbox/clock", admin.set_clock, methods=["POST"]),
        Route("/_sandbox/state", admin.show_state),
    ]
