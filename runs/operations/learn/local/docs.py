"""learn's local docs-checker: it searches every hint; a doc matched by every hint (with 2+ hints) is a
duplicate warning; it never claims a contradiction (a heuristic cannot tell).
"""

import re
from collections import Counter
from collections.abc import Callable, Sequence

from ..agents import DOCS
from .text import NONE_FOUND, SEP, code, cut, document

_MATCH = re.compile(r"^(docs/.+?):([0-9]+): ?(.*)$")


def analyse_docs(title: str, hints: Sequence[str], search: Callable[[str], str]) -> str:
    hints = list(dict.fromkeys(h.strip() for h in hints if h.strip()))
    counts: dict[str, Counter[str]] = {}  # doc -> hint -> matches
    first_line: dict[str, str] = {}
    for hint in hints:
        for line in search(hint).split("\n"):
            match = _MATCH.match(line.strip())
            if match:
                counts.setdefault(match[1], Counter())[hint] += 1
                first_line.setdefault(match[1], f"line {match[2]}: {cut(match[3], 120)}")
    found = []
    for doc in sorted(counts, key=lambda d: (-sum(counts[d].values()), d)):
        total = sum(counts[doc].values())
        per_hint = ", ".join(f"{h}: {counts[doc][h]}" for h in hints if counts[doc][h])
        found.append(
            f"{code(doc, 160)}{SEP}{total} match{'es' if total != 1 else ''} ({per_hint}); "
            f"first at {first_line[doc]}"
        )
    duplicates = []
    if len(hints) >= 2:
        duplicates = [
            f"{code(doc, 160)} matches every hint ({', '.join(hints)}): a new doc may repeat it; "
            "consider updating it instead."
            for doc in sorted(counts)
            if all(counts[doc][h] for h in hints)
        ]
    if hints:
        summary = (
            f"Searched the existing docs for {len(hints)} hint{'s' if len(hints) != 1 else ''} "
            f"({', '.join(hints)}): {len(counts)} doc{'s' if len(counts) != 1 else ''} matched, "
            f"{len(duplicates)} may duplicate the work."
        )
    else:
        summary = "No search hints, so nothing was searched."
    return document(
        f"Existing Docs Check: {title}",
        {
            "Summary": summary,
            "Existing Documentation Found": found,
            "Duplicate Warnings": duplicates,
            "Contradiction Warnings": f"{NONE_FOUND} (A heuristic cannot tell whether docs contradict "
            "the work.)",
        },
        DOCS,
    )
