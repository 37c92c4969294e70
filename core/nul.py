"""NUL (U+0000): PostgreSQL's text and jsonb cannot hold it. Text that holds it is refused
where it comes in, naming the place (find_nul); text from elsewhere loses it (without_nul)."""

from collections import deque
from typing import Any

NUL = "\x00"
Path = tuple[str | int, ...]


def find_nul(value: Any) -> Path | None:
    """Where a string or mapping key holding NUL sits in `value` (nested dicts, lists and
    tuples), or None. Walked without recursion: the input's depth is the sender's choice."""
    pending: deque[tuple[Path, Any]] = deque([((), value)])
    while pending:
        path, item = pending.popleft()
        if isinstance(item, str):
            if NUL in item:
                return path
        elif isinstance(item, dict):
            for key, inner in item.items():
                if isinstance(key, str) and NUL in key:
                    return (*path, shown(key))
                pending.append(((*path, key), inner))
        elif isinstance(item, list | tuple):
            pending.extend(((*path, index), inner) for index, inner in enumerate(item))
    return None


def shown(key: str) -> str:
    """A key as it can be named back: NUL written as its JSON escape."""
    return key.replace(NUL, "\\u0000")


REFUSAL = "text may not contain NUL (\\u0000)"


def nul_message(path: Path) -> str:
    """The refusal, naming where: "preferences.theme: text may not contain NUL (\\u0000)"."""
    where = ".".join(str(part) for part in path)
    return f"{where}: {REFUSAL}" if where else REFUSAL


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
