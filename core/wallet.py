"""Solana addresses: base58 text of a 32-byte public key."""

BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
# What an address looks like; sol_address_problem also checks it decodes to 32 bytes.
ADDRESS_PATTERN = f"^[{BASE58_ALPHABET}]{{32,44}}$"


def base58_decode(text: str) -> bytes:
    """Bitcoin-alphabet base58 to bytes; ValueError on any other character."""
    number = 0
    for char in text:
        digit = BASE58_ALPHABET.find(char)
        if digit < 0:
            raise ValueError(f"{char!r} is not a base58 character")
        number = number * 58 + digit
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\0" * leading_zeros + body


def sol_address_problem(address: str) -> str | None:
    """Why `address` is not a Solana address; None when it is one."""
    if not 32 <= len(address) <= 44:
        return "a Solana address is 32 to 44 base58 characters"
    try:
        key = base58_decode(address)
    except ValueError as error:
        return f"not a Solana address: {error}"
    if len(key) != 32:
        return "not a Solana address: it does not decode to a 32-byte key"
    return None
