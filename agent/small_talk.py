"""Messages that need no tool: greetings and thanks, nothing readable, another language,
someone else's data; and the one clarifying question for a request that cannot be placed."""

import re

GREETING_RE = re.compile(
    r"^(hi|hello|hey|hiya|howdy|yo|good (morning|afternoon|evening)|greetings)( there)?\b", re.I
)
THANKS_RE = re.compile(r"^(thanks?|thank you|thx|ty|cheers|much appreciated)\b", re.I)
BYE_RE = re.compile(r"^(bye|goodbye|see you|see ya|good night|later|that'?s all)\b", re.I)
OK_RE = re.compile(r"^(ok(ay)?|cool|great|nice|perfect|awesome|got it|sounds good)\W*$", re.I)
# Another user's data, by address or by description, or an attempt to lift the rules.
OTHERS_RE = re.compile(
    r"\b(?:another|other|all|every|any other|someone else'?s?|somebody else'?s?)\s+"
    r"(?:users?|customers?|people|accounts?|person)\b"
    r"|\b[\w.+-]+@[\w-]+\.[\w.]+\b|\buser\s+(?:id\s+)?#?\d+\b|\busers?'?s? (?:goals|deals|data)\b"
    r"|\bignore (?:all |your |the )?(?:previous |prior |above )?(?:instructions|rules)\b"
    r"|\b(?:system prompt|admin mode|developer mode|as an admin|as admin)\b",
    re.I,
)
# Common words of the languages people most often try instead (Spanish, French, German,
# Italian, Portuguese); texts in other scripts are told by their letters.
FOREIGN_WORDS = re.compile(
    r"\b(hola|quiero|busco|buscar?|necesito|barato|precio|ofertas?|gracias|dónde|bonjour|"
    r"cherche|merci|je veux|pas cher|prix|moins cher|ich (?:suche|möchte|will)|danke|bitte|"
    r"suche|billig|günstig|preis|ciao|grazie|voglio|cerco|prezzo|olá|obrigad[oa]|quero|"
    r"procuro)\b",
    re.I,
)
# Examples for the clarifying question, each with the words that make it close.
EXAMPLES = (
    ("find me a 27-inch 4K monitor under $300", {"find", "search", "buy", "look", "cheap"}),
    ("watch for Sony headphones under $300 by Friday", {"watch", "want", "need", "alert"}),
    ("show my deals, cheapest first", {"deal", "deals", "show", "cheapest", "price"}),
    ("list my goals", {"goal", "goals", "list", "watching", "tracking"}),
    ("pause the monitor goal", {"pause", "stop", "cancel", "resume", "hold"}),
    ("what's my balance?", {"balance", "tokens", "money", "credit", "cost", "pay"}),
    ("how much did I spend this week?", {"spend", "spent", "spending", "week", "bill"}),
    ("price history of #2", {"history", "trend", "cheaper", "drop", "dropped"}),
    ("any alerts?", {"alert", "alerts", "notification", "news", "new"}),
)


def small_talk(text: str) -> str | None:
    """A brief answer to a greeting, thanks, goodbye or "ok"; None for anything else."""
    words = text.strip()
    if len(words) > 60:  # "thanks, now find me…" is a request, read as one
        return None
    if GREETING_RE.match(words):
        return (
            "Hi! I watch the markets for deals. Tell me what you're after, e.g. "
            "“find me a 27-inch 4K monitor under $300”."
        )
    if THANKS_RE.match(words):
        return "You're welcome! Anything else?"
    if BYE_RE.match(words):
        return "Bye! Goals you leave active keep being watched; new deals come as alerts."
    if OK_RE.match(words):
        return "Good. Anything else I can look for?"
    return None


def unreadable(text: str) -> bool:
    """Nothing to read: empty, only emoji, symbols or punctuation."""
    return not re.search(r"[^\W_]", text)


def foreign(text: str) -> bool:
    letters = re.findall(r"[^\W\d_]", text)
    non_latin = [c for c in letters if not c.isascii() and c.lower() not in "éèêàçñüöäíóúá"]
    return bool(FOREIGN_WORDS.search(text)) or (
        len(letters) >= 2 and len(non_latin) > len(letters) / 2
    )


def clarify(text: str) -> str:
    """One short question with the two examples closest to what was said."""
    said = {w.rstrip("s") for w in re.findall(r"[a-z]+", text.lower())}
    ranked = sorted(
        EXAMPLES, key=lambda e: -len(said & {k.rstrip("s") for k in e[1]})
    )  # stable: ties keep the list's order
    first, second = ranked[0][0], ranked[1][0]
    return f"I'm not sure what you'd like me to do. Did you mean “{first}” or “{second}”?"


NOT_ENGLISH = (
    "Sorry, I only understand English for now. Could you say it in English? For example "
    "“find me a 27-inch 4K monitor under $300”."
)
NOTHING_TO_READ = (
    "I didn't find any words in that. Tell me what you're looking for, e.g. "
    "“find me a 27-inch 4K monitor under $300”, or say “help”."
)
ONLY_YOURS = (
    "I can only see and change your own goals, deals and tokens, never anyone else's. "
    "Say “list my goals” or “show my deals” to see yours."
)
