"""Typing slips in the words requests turn on ("wacth", "serch", "balnce", "dealz"),
corrected before the request is read. Only words of five letters or more that are close
to one of these (difflib's ratio at least 0.8) are touched; links and ids are left alone."""

import difflib
import re

VOCABULARY = (
    "watch", "search", "find", "deals", "balance", "goals", "pause", "resume", "cancel",
    "spend", "spent", "spending", "track", "alerts", "notifications", "history", "price",
    "cheapest", "discount", "budget", "target", "tokens", "credits", "create", "monitor",
    "headphones", "laptop", "keyboard", "television", "looking", "remove", "change",
)  # fmt: skip
# Real words a slip of one letter away from the vocabulary: never "corrected".
WORDS = {
    "batch", "match", "catch", "latch", "speed", "spell", "trace", "truck", "trick", "prize",
    "pride", "looks", "hooking", "booking", "resumed", "created", "changed", "removed",
}  # fmt: skip
WORD_RE = re.compile(r"[A-Za-z]{5,}")


def corrected(text: str) -> str:
    return " ".join(fixed(token) for token in text.split(" "))


def fixed(token: str) -> str:
    if "://" in token or "@" in token or "/" in token:
        return token

    def fix(match: re.Match[str]) -> str:
        word = match[0]
        lowered = word.lower()
        if lowered in WORDS or any(
            lowered.startswith(v) or v.startswith(lowered) for v in VOCABULARY
        ):
            return word  # the word itself, or a form of it ("paused", "alert")
        close = difflib.get_close_matches(word.lower(), VOCABULARY, n=1, cutoff=0.8)
        return close[0] if close else word

    return WORD_RE.sub(fix, token)
