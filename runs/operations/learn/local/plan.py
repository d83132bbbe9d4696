"""learn's local plan-synthesizer: one bullet per NEW_DOC/UPDATE_EXISTING row of the gap analysis, one
tripwire insight per TRIPWIRE row.
"""

from collections import Counter
from collections.abc import Mapping

from ..agents import DIFF, OUTPUT_FILE, PLAN, PRIORITIES
from ..parsers import GapItem
from .items import RANK, gap_items, is_gaps, item_key, new_doc_path, strip_target
from .text import SEP, TRIPWIRES_DOC, basename, document, section_lines


def _order(item: GapItem) -> tuple[int, int]:
    return (RANK.get(item.priority, len(RANK)), int(item.number) if item.number.isdigit() else 0)


def analyse_plan(title: str, inputs: Mapping[str, str]) -> str:
    rows = sorted(gap_items(inputs), key=_order)
    doc_rows = [r for r in rows if r.classification in ("NEW_DOC", "UPDATE_EXISTING")]
    trip_rows = [r for r in rows if r.classification == "TRIPWIRE"]

    items = []
    for row in doc_rows:
        text, target = strip_target(row.item)
        target = target or new_doc_path(item_key(text))
        verb = "update" if row.classification == "UPDATE_EXISTING" else "new doc"
        items.append(f"**{row.priority}**{SEP}{verb}: {text} (target: {target})")
    insights = []
    for row in trip_rows:
        text, target = strip_target(row.item)
        insights.append(f"**{row.priority}**{SEP}{text} (target: {target or TRIPWIRES_DOC})")

    context = [f"The work: “{title}”."]
    for path in sorted(inputs):
        if basename(path) == OUTPUT_FILE[DIFF]:
            diff_summary = [
                line for line in section_lines(inputs[path], "Documentation Summary") if line.strip()
            ]
            if diff_summary:
                context.append(f"The diff: {diff_summary[0].strip()}")
    analyses = sorted(basename(p) for p in inputs if not is_gaps(p))
    context.append("Built from the gap analysis" + (f" and {', '.join(analyses)}." if analyses else "."))
    priorities = Counter(r.priority for r in doc_rows)
    new = sum(1 for r in doc_rows if r.classification == "NEW_DOC")
    updates = len(doc_rows) - new
    summary = (
        f"{len(doc_rows)} documentation item{'s' if len(doc_rows) != 1 else ''} "
        f"({', '.join(f'{p} {priorities[p]}' for p in PRIORITIES)}): {new} new doc{'s' if new != 1 else ''}, "
        f"{updates} update{'s' if updates != 1 else ''} to existing docs; "
        f"{len(trip_rows)} tripwire insight{'s' if len(trip_rows) != 1 else ''}."
    )
    return document(
        f"Documentation Plan: {title}",
        {
            "Context": "\n\n".join(context),
            "Summary": summary,
            "Documentation Items": items,
            "Tripwire Insights": insights,
        },
        PLAN,
    )
