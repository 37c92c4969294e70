"""Search words, normalized the same way wherever queries meet titles."""

import re

# 27-inch, 27 inch, 27in and 27" all name the same size: titles write 27".
INCHES = re.compile(r"(\d)\s*-?\s*(?:inch(?:es)?|in)\b")


def words(text: str) -> list[str]:
    """Lower-case words with a plural 's' dropped, so 'Monitors' matches 'monitor', and sizes
    in inches reduced to their number."""
    tokens = re.findall(r"[a-z0-9]+", INCHES.sub(r"\1", text.lower()))
    return [t[:-1] if len(t) > 3 and t.endswith("s") else t for t in tokens]
