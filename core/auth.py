# TEMPORARY STUB (untracked) until accounts merges
import uuid
from dataclasses import dataclass

from core.models.enums import TokenScope


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    scope: TokenScope


class AuthError(Exception):
    pass


async def authenticate(session, raw):
    try:
        uid, scope = raw.split(":")
        return Principal(uuid.UUID(uid), TokenScope(scope))
    except ValueError:
        raise AuthError("invalid token") from None
def can_spend(scope):
    return scope != TokenScope.READ
