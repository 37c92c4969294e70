"""The browser's refresh token: an HttpOnly cookie page scripts cannot read, sent only to
/api/v1/auth (refresh and logout) and only by same-site requests (SameSite=Strict), Secure
whenever the page came over https."""

from fastapi import Request, Response

from core.auth import AuthError
from core.config import Settings
from core.login import TokenPair

COOKIE = "dealagent_refresh"
COOKIE_PATH = "/api/v1/auth"


def keep_refresh(request: Request, response: Response, pair: TokenPair, settings: Settings) -> None:
    response.set_cookie(
        COOKIE,
        pair.refresh_token,
        max_age=settings.refresh_token_ttl_s,
        path=COOKIE_PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="strict",
    )


def refresh_from(request: Request) -> str:
    token = request.cookies.get(COOKIE)
    if not token:
        raise AuthError(
            'send a refresh token: a JSON body {"refresh_token": …} or the refresh cookie '
            "set by logging in with refresh_cookie",
            "missing_token",
        )
    return token


def forget_refresh(response: Response) -> None:
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
