"""The drift of tripwire-candidates.json that is repaired before it is checked (specs/learn.md).

Each repair is noted as one warning, in this order: a whole document wrapped in one code fence (````
```json ````) is unwrapped; ``tripwire_candidates`` becomes ``candidates`` (only when ``candidates`` is
absent); in each candidate without ``action``, the first present of ``title``, ``name``,
``trigger_pattern`` becomes ``action`` and the others of the three are dropped; ``description`` becomes
``warning`` when ``warning`` is absent. When a drifted key sits beside its canonical one nothing is
renamed, and the candidate fails as having an unexpected field. Renamed keys keep their place. After any
repair ``Checked.text`` is the canonical JSON to write back.
"""

import json
import re
from typing import Any

from ..base import OutputRejected
from .markdown import FENCE_CLOSE, fenced_lines, split_lines

ACTION_DRIFT = ("title", "name", "trigger_pattern")  # taken in this order when `action` is absent


def _unfence(text: str) -> str | None:
    """The inside of a document that is one fenced code block, else None."""
    lines = split_lines(text.strip())
    if len(lines) < 2:
        return None
    opening = re.fullmatch(r"(`{3,}|~{3,})[ \t]*(?:json)?[ \t]*", lines[0].strip(), re.IGNORECASE)
    closing = FENCE_CLOSE.match(lines[-1])
    if not opening or not closing or opening[1][0] != closing[1][0] or len(closing[1]) < len(opening[1]):
        return None
    if any(fenced_lines(lines[1:-1])):  # a fence inside: not one simple block
        return None
    return "\n".join(lines[1:-1])


def _repair_candidate(number: int, candidate: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
    renames: dict[str, str] = {}
    dropped: list[str] = []
    if "action" not in candidate:
        present = [key for key in ACTION_DRIFT if key in candidate]
        if present:
            renames[present[0]] = "action"
            dropped = present[1:]
    if "warning" not in candidate and "description" in candidate:
        renames["description"] = "warning"
    for old, new in renames.items():
        warnings.append(f"repaired drift: candidate {number} {old} → {new}")
        if new == "action":
            warnings.extend(f"repaired drift: candidate {number} {key} dropped" for key in dropped)
    if not renames:
        return candidate
    return {renames.get(key, key): value for key, value in candidate.items() if key not in dropped}


def repair(text: str) -> tuple[object, list[str]]:
    """The parsed JSON with the spec's drift repaired, and one warning per repair."""
    warnings: list[str] = []
    inner = _unfence(text)
    if inner is not None:
        warnings.append("repaired drift: code fence around the JSON")
        text = inner
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise OutputRejected(f"not JSON: {exc}") from None
    except RecursionError:
        raise OutputRejected("tripwire JSON nested too deeply") from None
    if not isinstance(data, dict):
        return data, warnings
    if "candidates" not in data and "tripwire_candidates" in data:
        warnings.append("repaired drift: tripwire_candidates → candidates")
        data = {("candidates" if key == "tripwire_candidates" else key): v for key, v in data.items()}
    if isinstance(data.get("candidates"), list):
        data["candidates"] = [
            _repair_candidate(number, candidate, warnings) if isinstance(candidate, dict) else candidate
            for number, candidate in enumerate(data["candidates"], start=1)
        ]
    return data, warnings


def canonical_json(data: object) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
