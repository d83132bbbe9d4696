"""learn's local tripwire-extractor: the TRIPWIRE rows and the plan's Tripwire Insights, merged by action; an
item ``<action> — <warning> (target: docs/<path>)`` gives ``action``, ``warning`` and ``target_doc_path``
``<path>`` (relative to the docs root).
"""

from collections.abc import Mapping

from runs.paths import is_relative_path

from ..drift import canonical_json
from ..parsers import normalize_action
from .items import PRIORITY_MARK, gap_items, is_gaps, strip_target
from .text import DOCS_PREFIX, SEP, TRIPWIRES_DOC, bullets, section_lines


def _candidate(text: str) -> dict[str, str]:
    text, target = strip_target(PRIORITY_MARK.sub("", text.strip()))
    action, sep, warning = text.partition(SEP)
    if not sep:
        action, sep, warning = text.partition(": ")
    action, warning = action.strip(), warning.strip()
    if not action or not warning:
        action = action or warning
        warning = "This went wrong during the work the learn plan comes from; check it before doing this."
    target = (target or TRIPWIRES_DOC).strip().removeprefix(DOCS_PREFIX)
    if not target or not is_relative_path(target):
        target = TRIPWIRES_DOC.removeprefix(DOCS_PREFIX)
    return {"action": action, "warning": warning, "target_doc_path": target}


def analyse_tripwires(inputs: Mapping[str, str]) -> str:
    texts = [row.item for row in gap_items(inputs) if row.classification == "TRIPWIRE"]
    for path in sorted(inputs):
        if not is_gaps(path):
            texts += bullets(section_lines(inputs[path], "Tripwire Insights"))
    candidates: list[dict[str, str]] = []
    seen: set[str] = set()
    for text in texts:
        candidate = _candidate(text)
        key = normalize_action(candidate["action"])
        if key and key not in seen:
            seen.add(key)
            candidates.append(candidate)
    return canonical_json({"candidates": candidates})
