"""Cursor pages over an ordered list of ids, as the API's list endpoints give them (the Models API and the
Message Batches API): `limit` (1 to 1000, default 20), `after_id` (the page right after that object),
`before_id` (the page right before it), and `has_more`, `first_id`, `last_id` in the answer.

https://platform.claude.com/docs/en/api/models/list and .../api/messages/batches/list: "Defaults to 20.
Ranges from 1 to 1000"; first_id "can be used as the before_id for the previous page", last_id "as the
after_id for the next page"; has_more "indicates if there are more results in the requested page
direction". A cursor that names no object is a 404 not_found_error (the simulator's choice: the docs say
nothing of it).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from .validation import SimulatorError, invalid

DEFAULT_LIMIT = 20
MAX_LIMIT = 1000


def query_params(query: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(query).items()}


def page_ids(ids: list[str], query: str) -> tuple[list[str], bool]:
    """The ids of the page `query` asks for, and has_more."""
    params = query_params(query)
    try:
        limit = int(params.get("limit", DEFAULT_LIMIT))
    except ValueError:
        raise invalid("limit: Input should be a valid integer") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise invalid(f"limit: Input should be between 1 and {MAX_LIMIT}")
    start, end = 0, len(ids)
    if "after_id" in params:
        if params["after_id"] not in ids:
            raise SimulatorError(404, "not_found_error", f"after_id: {params['after_id']}")
        start = ids.index(params["after_id"]) + 1
    if "before_id" in params:
        if params["before_id"] not in ids:
            raise SimulatorError(404, "not_found_error", f"before_id: {params['before_id']}")
        end = ids.index(params["before_id"])
        start = max(start, end - limit)
    chosen = ids[start:end][:limit]
    has_more = start + len(chosen) < end or ("before_id" in params and start > 0)
    return chosen, has_more


def page(ids: list[str], query: str, render) -> dict:
    """The list answer: `render(id)` for each id of the page, with has_more, first_id and last_id."""
    chosen, has_more = page_ids(ids, query)
    return {
        "data": [render(item) for item in chosen],
        "has_more": has_more,
        "first_id": chosen[0] if chosen else None,
        "last_id": chosen[-1] if chosen else None,
    }
