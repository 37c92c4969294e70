"""The chat app for people: `/` (and `/chat`, the page the widget frames), `/widget.js`,
their static files, and `/docs` + `/redoc` with Swagger UI's and ReDoc's files served
from installed packages, so all of it works with no network."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.staticfiles import StaticFiles

from core.config import Settings

WEB = Path(__file__).resolve().parent.parent / "web"
DOCS_ASSETS = Path(fastapi_offline.__file__).resolve().parent / "static"
router = APIRouter(include_in_schema=False)


def content_policy(request: Request) -> str:
    """No inline script or style anywhere; images from any http(s) shop; sockets and fetches
    to this origin only; framed only by this origin and the configured embedding origins."""
    settings: Settings = request.app.state.settings
    ancestors = " ".join(["'self'", *settings.embedding_origins])
    socket = ("wss://" if request.url.scheme == "https" else "ws://") + request.url.netloc
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; "
        "img-src 'self' data: http: https:; "
        f"connect-src 'self' {socket}; frame-ancestors {ancestors}; "
        "base-uri 'none'; form-action 'none'; object-src 'none'"
    )


def page_headers(request: Request) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_policy(request),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


@router.get("/")
@router.get("/chat")
async def chat_app(request: Request) -> FileResponse:
    return FileResponse(WEB / "index.html", headers=page_headers(request))


@router.get("/widget.js")
async def widget_script() -> FileResponse:
    # Loaded by <script src> from any site; it only draws the bubble and frames /chat.
    return FileResponse(
        WEB / "widget.js",
        media_type="text/javascript",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )


DOCS_URL = "/static/docs"
DOCS_PAGES: dict[str, tuple[Callable[..., HTMLResponse], dict[str, Any]]] = {
    "/docs": (
        get_swagger_ui_html,
        {
            "swagger_js_url": f"{DOCS_URL}/swagger-ui-bundle.js",
            "swagger_css_url": f"{DOCS_URL}/swagger-ui.css",
            "swagger_favicon_url": f"{DOCS_URL}/favicon.png",
        },
    ),
    "/redoc": (
        get_redoc_html,
        {
            "redoc_js_url": f"{DOCS_URL}/redoc.standalone.js",
            "redoc_favicon_url": f"{DOCS_URL}/favicon.png",
            "with_google_fonts": False,
        },
    ),
}


@router.get("/docs")
@router.get("/redoc")
async def docs_page(request: Request) -> HTMLResponse:
    """Swagger UI's or ReDoc's page on this server's copies of their files. Their inline
    scripts stay; what they fetch stays here: ReDoc would load its footer logo from its CDN
    (blocked, it then drops the image)."""
    render, assets = DOCS_PAGES[request.url.path]
    page = render(
        openapi_url=str(request.app.openapi_url), title=f"{request.app.title} API", **assets
    )
    page.headers["Content-Security-Policy"] = "img-src 'self' data:; connect-src 'self'"
    return page


def install(app: FastAPI, settings: Settings) -> None:
    """The pages, their files, and CORS for the embedding origins (no credentials: the
    refresh cookie never goes cross-site)."""
    app.include_router(router)
    app.mount(DOCS_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    app.mount("/static", StaticFiles(directory=WEB), name="web")
    if settings.embedding_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.embedding_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type"],
        )
