"""Search words, normalized the same way wherever queries meet titles."""

import re


def words(text: str) -> list[str]:
    """Lower-case words with a plural 's' dropped, so 'Monitors' matches 'monitor'."""
    tokens = re.findall(r"[a-z0-9]+", text.lower())
    return [t[:-1] if len(t) > 3 and t.endswith("s") else t for t in tokens]
