"""Schemathesis hooks (SCHEMATHESIS_HOOKS): every request carries a signed-in user's
access token, logged in through the API itself. POST /auth/logout revokes the login of
the token it is sent, so it gets a login of its own each time; the others share one."""

import os

import httpx
import schemathesis

LOGOUT = "/api/v1/auth/logout"


def log_in() -> str:
    response = httpx.post(
        os.environ["CONTRACT_BASE_URL"] + "/api/v1/auth/login",
        json={"email": os.environ["CONTRACT_EMAIL"], "password": os.environ["CONTRACT_PASSWORD"]},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["access_token"]


class Bearer:
    def get(self, case: schemathesis.Case, context: schemathesis.AuthContext) -> str:
        return log_in()

    def set(self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}


@schemathesis.auth().skip_for(path=LOGOUT)
class SharedLogin(Bearer):
    pass


@schemathesis.auth(refresh_interval=None).apply_to(path=LOGOUT)
class OwnLogin(Bearer):
    pass
