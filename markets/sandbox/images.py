"""The product images the sandbox's listings point to (/images/{pid}.jpg): a small SVG
drawn from the product, so pages show a picture with no network."""

from collections.abc import Awaitable, Callable
from html import escape

from starlette.requests import Request
from starlette.responses import Response

from markets.sandbox.state import SandboxState

PALETTE = ("#2563eb", "#16a34a", "#d97706", "#dc2626", "#7c3aed", "#0891b2", "#db2777")


def product_svg(noun: str, brand: str, pid: int) -> str:
    colour = PALETTE[pid % len(PALETTE)]
    label = escape(noun[:18])
    initial = escape((brand.strip() or "?")[0].upper())
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="160" viewBox="0 0 160 160">'
        f'<rect width="160" height="160" rx="16" fill="{colour}"/>'
        '<text x="80" y="82" font-family="sans-serif" font-size="56" fill="#fff" '
        f'text-anchor="middle">{initial}</text>'
        '<text x="80" y="128" font-family="sans-serif" font-size="13" fill="#fff" '
        f'text-anchor="middle">{label}</text></svg>'
    )


def image_route(state: SandboxState) -> Callable[[Request], Awaitable[Response]]:
    async def image(request: Request) -> Response:
        name = request.path_params["name"]
        pid = int(name) if name.isdigit() else -1
        if not 0 <= pid < len(state.catalog.products):
            return Response("no such image", status_code=404, media_type="text/plain")
        product = state.catalog.products[pid]
        return Response(
            product_svg(product.noun, product.brand, pid),
            media_type="image/svg+xml",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    return image
