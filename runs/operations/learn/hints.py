"""learn's search hints (specs/learn.md, "Stages and agents"): the title's words for the docs checker.

A word is a run of letters, digits, ``_`` and ``-``; anything else (spaces, punctuation, ``/``, ``.``,
``:``) splits words, so ``"learn.md: parse/split"`` gives ``learn``, ``parse``, ``split``. Hyphens at either
end of a word are dropped (``--dry-run`` is ``dry-run``). Words are lower-cased, then stop words and
words under 3 characters are left out, and each word is kept once, where it first appears.
"""

import re

from runs.errors import InputError

STOP_WORDS = frozenset(
    [
        "the",
        "a",
        "an",
        "to",
        "for",
        "with",
        "of",
        "in",
        "on",
        "and",
        "or",
        "add",
        "update",
        "fix",
        "use",
        "make",
    ]
)
MIN_LENGTH = 3

_WORD = re.compile(r"[\w-]+")


def search_hints(title: str) -> list[str]:
    """The title's search hints, in order; an input error for a blank title (the title is required)."""
    if not title or not title.strip():
        raise InputError("title is required", "title")
    hints: list[str] = []
    for match in _WORD.finditer(title.lower()):
        word = match.group().strip("-")
        if len(word) >= MIN_LENGTH and word not in STOP_WORDS and word not in hints:
            hints.append(word)
    return hints
