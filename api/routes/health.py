"""GET /healthz: is the database reachable, and at which migration revision."""

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import EngineDep
from core.db import current_revision

router = APIRouter()


@router.get("/healthz")
async def healthz(engine: EngineDep) -> JSONResponse:
    try:
        revision = await current_revision(engine)
    except (SQLAlchemyError, OSError) as error:
        body = {"status": "unavailable", "database": "unreachable", "error": str(error)}
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ok", "database": "reachable", "revision": revision})
