"""NUL (U+0000): PostgreSQL's text and jsonb cannot hold it. Text that holds it is refused
where it comes in, naming the place (find_nul); text from elsewhere loses it (without_nul).
The chat socket refuses unpaired surrogates the same way (find_text, holds_surrogate)."""

import re
from collections import deque
from collections.abc import Callable
from typing import Any

NUL = "\x00"
Path = tuple[str | int, ...]


# A str from JSON holds a surrogate only unpaired ("\ud83d\ude00" is read as one
# character): UTF-8, and so PostgreSQL, cannot encode it either.
SURROGATE = re.compile("[\ud800-\udfff]")


def holds_nul(text: str) -> bool:
    return NUL in text


def holds_surrogate(text: str) -> bool:
    return SURROGATE.search(text) is not None


def find_text(value: Any, holds: Callable[[str], bool]) -> Path | None:
    """Where a string or mapping key that `holds` sits in `value` (nested dicts, lists and
    tuples), or None. Walked without recursion: the input's depth is the sender's choice."""
    pending: deque[tuple[Path, Any]] = deque([((), value)])
    while pending:
        path, item = pending.popleft()
        if isinstance(item, str):
            if holds(item):
                return path
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and holds(key):
                    return (*path, shown(key))
                pending.append(((*path, key), inner))
        elif isinstance(item, list | tuple):
            pending.extend(((*path, index), inner) for index, inner in enumerate(item))
    return None


def find_nul(value: Any) -> Path | None:
    return find_text(value, holds_nul)


def shown(key: str) -> str:
    """A key as it can be named back: NUL and surrogates written as their JSON escapes."""
    return SURROGATE.sub(lambda m: f"\\u{ord(m[0]):04x}", key.replace(NUL, "\\u0000"))


REFUSAL = "text may not contain NUL (\\u0000)"
SURROGATE_REFUSAL = "text may not contain an unpaired surrogate (\\ud800-\\udfff)"


def nul_message(path: Path, refusal: str = REFUSAL) -> str:
    """The refusal, naming where: "preferences.theme: text may not contain NUL (\\u0000)"."""
    where = ".".join(str(part) for part in path)
    return f"{where}: {refusal}" if where else refusal


def without_nul(value: Any) -> Any:
    """`value` with NUL dropped from every string and key: for text from elsewhere (the
    model's words, its arguments as recorded) that is stored, not refused."""
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, dict):
        return {without_nul(k): without_nul(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [without_nul(v) for v in value]
    return value
