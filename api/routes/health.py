"""GET /healthz: is the database reachable, and at which migration revision."""

import asyncio
import logging
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import SQLAlchemyError

from api.deps import EngineDep
from api.problems import WITHOUT_PARAMETERS, responses
from core.db import current_revision

log = logging.getLogger(__name__)
router = APIRouter()

# A probe must answer fast: a database that has not answered within this is down to us.
CHECK_TIMEOUT_S = 1.0
UNREACHABLE = {"status": "degraded", "database": "unreachable"}
# Checks given up on, kept until the driver has cleaned up after them (cancelling a query
# on a hung server can itself take seconds: the probe does not wait for that).
_abandoned: set[asyncio.Task[str | None]] = set()


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    database: Literal["reachable", "unreachable"]
    revision: str | None = None


# A process at MAX_CONNECTIONS still serves /healthz: its 503 is "degraded", not server_busy.
HEALTH_RESPONSES = {
    **responses(always=WITHOUT_PARAMETERS),
    200: {"model": Health, "description": "The database answered"},
    503: {"model": Health, "description": "The database is down or did not answer in time"},
}


@router.get(
    "/healthz",
    response_model=Health,
    responses=HEALTH_RESPONSES,
    tags=["health"],
    openapi_extra={"security": []},
)
async def healthz(engine: EngineDep) -> JSONResponse:
    check = asyncio.ensure_future(current_revision(engine))
    done, _ = await asyncio.wait({check}, timeout=CHECK_TIMEOUT_S)
    if not done:
        _abandon(check)
        log.warning("database unreachable: no answer within %g s", CHECK_TIMEOUT_S)
        return JSONResponse(UNREACHABLE, status_code=503)
    try:
        revision = check.result()
    except (SQLAlchemyError, OSError) as error:
        log.warning("database unreachable: %s", error)
        return JSONResponse(UNREACHABLE, status_code=503)
    return JSONResponse({"status": "ok", "database": "reachable", "revision": revision})


def _abandon(check: asyncio.Task[str | None]) -> None:
    check.cancel()
    _abandoned.add(check)
    check.add_done_callback(_finished)


def _finished(check: asyncio.Task[str | None]) -> None:
    _abandoned.discard(check)
    if not check.cancelled():
        check.exception()  # retrieved: it was logged as unreachable already
