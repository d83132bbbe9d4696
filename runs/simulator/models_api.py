"""The Models API (https://platform.claude.com/docs/en/api/models): GET /v1/models and
GET /v1/models/{model_id}, answered from erkweb/published_models.py in the SDK's ModelInfo shape
(anthropic/types/model_info.py).

`created_at` is the epoch for every model: the SDK allows it ("may be set to an epoch value if the release
date is unknown") and the simulator does not keep release dates. `capabilities` is left out (null): the
API fills every capability key, and the simulator knows only thinking and effort.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs

from erkweb.published_models import MODELS, PublishedModel

from .validation import SimulatorError, invalid

EPOCH = "1970-01-01T00:00:00Z"
DATED_ID_RE = re.compile(r"-\d{8}$")


def display_name(model_id: str) -> str:
    """claude-haiku-4-5-20251001 -> Claude Haiku 4.5; claude-sonnet-5 -> Claude Sonnet 5."""
    parts = DATED_ID_RE.sub("", model_id).split("-")
    family = parts[1].capitalize() if len(parts) > 1 else model_id
    version = ".".join(parts[2:])
    return f"Claude {family} {version}".strip()


def model_info(model: PublishedModel) -> dict:
    return {
        "type": "model",
        "id": model.id,
        "display_name": display_name(model.id),
        "created_at": EPOCH,
        "lifecycle": "active",
        "deprecated_at": None,
        "retires_at": None,
        "max_input_tokens": model.context_window,
        "max_tokens": model.max_output,
        "capabilities": None,
    }


def one(model_id: str) -> dict:
    model = MODELS.get(model_id)
    if model is None:
        raise SimulatorError(404, "not_found_error", f"model: {model_id}")
    return model_info(model)


def page(query: str) -> dict:
    """One page of the list, newest-listed first (the order of the table), with limit/after_id/before_id."""
    params = {key: values[-1] for key, values in parse_qs(query).items()}
    try:
        limit = int(params.get("limit", 20))
    except ValueError:
        raise invalid("limit: Input should be a valid integer") from None
    if not 1 <= limit <= 1000:
        raise invalid("limit: Input should be between 1 and 1000")
    ids = list(MODELS)
    start, end = 0, len(ids)
    if "after_id" in params:
        if params["after_id"] not in MODELS:
            raise SimulatorError(404, "not_found_error", f"after_id: {params['after_id']}")
        start = ids.index(params["after_id"]) + 1
    if "before_id" in params:
        if params["before_id"] not in MODELS:
            raise SimulatorError(404, "not_found_error", f"before_id: {params['before_id']}")
        end = ids.index(params["before_id"])
        start = max(start, end - limit)
    chosen = ids[start:end][:limit]
    data = [model_info(MODELS[model_id]) for model_id in chosen]
    return {
        "data": data,
        "has_more": start + len(chosen) < end or ("before_id" in params and start > 0),
        "first_id": chosen[0] if chosen else None,
        "last_id": chosen[-1] if chosen else None,
    }
