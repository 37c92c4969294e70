"""GET /asyncapi.yaml: the chat WebSocket protocol as an AsyncAPI 3 document."""

from importlib import resources

from fastapi import APIRouter
from fastapi.responses import Response

from api.problems import WITHOUT_PARAMETERS, responses

router = APIRouter(tags=["docs"])
MEDIA_TYPE = "application/yaml"
DOCUMENT = resources.files("api").joinpath("asyncapi.yaml")
DOCUMENT_SCHEMA = {
    "type": "object",
    "properties": {"asyncapi": {"const": "3.0.0"}},
    "required": ["asyncapi", "channels", "operations"],
}


@router.get(
    "/asyncapi.yaml",
    response_class=Response,
    responses={
        **responses(always=WITHOUT_PARAMETERS),
        200: {
            "description": "The AsyncAPI 3.0 document of /api/v1/chat/ws",
            "content": {MEDIA_TYPE: {"schema": DOCUMENT_SCHEMA}},
        },
    },
    openapi_extra={"security": []},
)
async def asyncapi() -> Response:
    return Response(DOCUMENT.read_bytes(), media_type=MEDIA_TYPE)
