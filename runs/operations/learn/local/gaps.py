"""learn's local gap-identifier: one row per bullet of "Recommended Documentation Items" and "Documentation
Opportunities" (merged when they name the same path, one a suffix of the other, or say the same thing) and
per "Tripwire Candidates" bullet. UPDATE_EXISTING when a doc of the docs check shares a word with the item
(that doc is the target), else NEW_DOC with a proposed ``docs/<name>.md``. HIGH for an item from 2+ files
or a tripwire seen 2+ times, MEDIUM for a diff item, LOW otherwise. Each Item cell ends with ``(target:
docs/...)``; tripwires target a matching doc or ``docs/tripwires.md``.
"""

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from runs.markdown import table_cell

from ..agents import CLASSIFICATIONS, GAP_COLUMNS, GAPS, PRIORITIES
from .items import PRIORITY_MARK, RANK, item_key, new_doc_path, strip_target
from .text import SEP, TRIPWIRES_DOC, basename, bullets, document, section_lines, word_set

_DOC_PATH = re.compile(r"docs/[\w./-]*\w")
_TIMES = re.compile(r"\b([0-9]+) times\b")


DOC_ITEM_HEADINGS = ("Recommended Documentation Items", "Documentation Opportunities")


@dataclass
class _Item:
    key: str
    text: str
    tripwire: bool
    sources: set[str] = field(default_factory=set)
    from_diff: bool = False
    times: int = 0


def _same(a: str, b: str) -> bool:
    return a == b or a.endswith("/" + b) or b.endswith("/" + a)


def _best_doc(text: str, docs: Sequence[str]) -> str | None:
    """The doc sharing the most words with ``text`` (the first in path order on a tie), if any."""
    words = word_set(text)
    scored = sorted((-len(words & word_set(doc)), doc) for doc in docs)
    return scored[0][1] if scored and scored[0][0] < 0 else None


def _found_docs(text: str) -> set[str]:
    """The docs a docs check lists: the first ``docs/...`` path of each line of its findings."""
    found = set()
    for line in section_lines(text, "Existing Documentation Found"):
        match = _DOC_PATH.search(line)
        if match:
            found.add(match[0].rstrip("."))
    return found


def analyse_gaps(title: str, inputs: Mapping[str, str]) -> str:
    items: list[_Item] = []
    docs: set[str] = set()
    sources = []
    headings = [*((h, False) for h in DOC_ITEM_HEADINGS), ("Tripwire Candidates", True)]
    for path in sorted(inputs):
        source = basename(path)
        sources.append(source)
        docs |= _found_docs(inputs[path])
        for heading, tripwire in headings:
            for bullet in bullets(section_lines(inputs[path], heading)):
                text, _ = strip_target(PRIORITY_MARK.sub("", bullet))
                key = item_key(text.split(SEP)[0] if tripwire else text)
                item = next((i for i in items if i.tripwire == tripwire and _same(i.key, key)), None)
                if item is None:
                    item = _Item(key, text, tripwire)
                    items.append(item)
                elif len(key) < len(item.key):  # prefer the repo-relative path of the diff
                    item.key, item.text = key, text
                item.sources.add(source)
                item.from_diff = item.from_diff or heading == "Recommended Documentation Items"
                times = _TIMES.search(text)
                item.times = max(item.times, int(times[1]) if times else 1)

    rows = []  # (tripwire, priority rank, item with its target, classification, priority, sources)
    for item in items:
        if item.tripwire:
            priority = "HIGH" if item.times >= 2 or len(item.sources) >= 2 else "LOW"
            target = _best_doc(item.text.split(SEP)[0], sorted(docs)) or TRIPWIRES_DOC
            classification = "TRIPWIRE"
        else:
            priority = "HIGH" if len(item.sources) >= 2 else "MEDIUM" if item.from_diff else "LOW"
            found = _best_doc(item.key, sorted(docs))
            classification = "UPDATE_EXISTING" if found else "NEW_DOC"
            target = found or new_doc_path(item.key)
        text = f"{item.text.rstrip('.')} (target: {target})"
        rows.append((item.tripwire, RANK[priority], text, classification, priority, sorted(item.sources)))
    rows.sort(key=lambda row: row[:3])

    table = ["| " + " | ".join(GAP_COLUMNS) + " |", "|" + "|".join("---" for _ in GAP_COLUMNS) + "|"]
    for number, (_, _, text, classification, priority, files) in enumerate(rows, start=1):
        cells = (str(number), table_cell(text), classification, priority, table_cell(", ".join(files)))
        table.append("| " + " | ".join(cells) + " |")
    if not rows:
        table += ["", "No items: the stage-1 files recommend nothing to document."]

    classes = Counter(row[3] for row in rows)
    priorities = Counter(row[4] for row in rows)
    stats = [
        f"Files read: {len(sources)} ({', '.join(sources) if sources else 'none'})",
        f"Items: {len(rows)} (" + ", ".join(f"{c} {classes[c]}" for c in CLASSIFICATIONS) + ")",
        "Priorities: " + ", ".join(f"{p} {priorities[p]}" for p in PRIORITIES),
        f"Existing docs found by the docs check: {len(docs)}",
    ]
    tripwires = [f"**{row[4]}**{SEP}{row[2]}" for row in rows if row[3] == "TRIPWIRE"]
    return document(
        f"Gap Analysis: {title}",
        {"Summary Statistics": stats, "Enumerated Items": "\n".join(table), "Tripwire Candidates": tripwires},
        GAPS,
    )
