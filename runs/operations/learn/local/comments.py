"""learn's local comments-analyzer: comments whose body holds ``doc``, ``docs``, ``document...``, ``readme``
or ``explain...`` are documentation opportunities; every comment is a key insight.
"""

import json
import re
from collections.abc import Mapping
from typing import Any

from ..agents import COMMENTS, COMMENTS_FILE
from .text import SEP, basename, code, cut, document

_DOC_WORD = re.compile(r"\b(?:docs?|document\w*|readme|explain\w*)\b", re.I)


def analyse_comments(title: str, inputs: Mapping[str, str]) -> str:
    comments: list[dict[str, Any]] = []
    problems = []
    for path in sorted(inputs):
        if basename(path) != COMMENTS_FILE:
            continue
        try:
            data = json.loads(inputs[path])
        except ValueError as exc:
            problems.append(f"{path} is not JSON ({exc}); nothing read from it.")
            continue
        comments += [c for c in (data if isinstance(data, list) else []) if isinstance(c, dict)]

    def field_of(comment: dict[str, Any], key: str) -> str:
        value = comment.get(key)
        return "" if value is None else " ".join(str(value).split())

    opportunities, insights = [], []
    for comment in comments:
        path, line = field_of(comment, "path") or "(no path)", field_of(comment, "line")
        author, body = field_of(comment, "author") or "unknown", field_of(comment, "body")
        where = f"{path}:{line}" if line else path
        insights.append(cut(f"{where} ({author}): {body}"))
        if _DOC_WORD.search(body):
            at = f"line {line}, " if line else ""
            opportunities.append(f"{code(path, 160)}{SEP}{at}{author} asks: “{cut(body, 160)}”")
    return document(
        f"PR Comments Analysis: {title}",
        {"Documentation Opportunities": opportunities, "Key Insights": problems + insights},
        COMMENTS,
    )
