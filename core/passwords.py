"""Password hashing (argon2id) and the rules a new password must meet."""

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# argon2-cffi's defaults are argon2id with the RFC 9106 low-memory parameters.
HASHER = PasswordHasher()
MAX_LENGTH = 256  # hashing cost grows with length; nobody types more
# Verified when the email is unknown, so a miss takes as long as a wrong password.
DUMMY_HASH = HASHER.hash("no such user; this only costs time")


def password_problem(password: str, min_length: int) -> str | None:
    """Why `password` is too weak, in words for the user; None when it is fine."""
    if len(password) < min_length:
        return f"password must be at least {min_length} characters long"
    if len(password) > MAX_LENGTH:
        return f"password must be at most {MAX_LENGTH} characters long"
    if len(set(password)) < 4:
        return "password must use at least 4 different characters"
    if password.isdigit() or password.isalpha():
        return "password must mix letters with digits or symbols"
    return None


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(HASHER.hash, password)


async def verify_password(stored_hash: str | None, password: str) -> bool:
    def check() -> bool:
        try:
            return HASHER.verify(stored_hash or DUMMY_HASH, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(check)
