"""The Models API (https://platform.claude.com/docs/en/api/models): GET /v1/models and
GET /v1/models/{model_id}, answered from erkweb/published_models.py in the SDK's ModelInfo shape
(anthropic/types/model_info.py).

`created_at` is the epoch for every model: the SDK allows it ("may be set to an epoch value if the release
date is unknown") and the simulator does not keep release dates. `capabilities` is left out (null): the
API fills every capability key, and the simulator knows only thinking and effort.
"""

from __future__ import annotations

import re

from erkweb.published_models import MODELS, PublishedModel

from . import paging
from .validation import SimulatorError

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
    return paging.page(list(MODELS), query, lambda model_id: model_info(MODELS[model_id]))
