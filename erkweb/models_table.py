"""The model table: aliases, model ids and per-million-token prices (specs/models.md, November 2026).

Every figure can be overridden by environment, either per alias
(``ERKWEB_MODEL_HAIKU=claude-haiku-4-5``) or wholesale with ``ERKWEB_MODEL_TABLE`` holding JSON that is
merged over the defaults, e.g. ``{"sonnet": {"input": 3, "output": 15}}``. A run records the table it was
costed with in its manifest, so changing prices later never rewrites the cost of old runs.
"""

import os

from django.core.exceptions import ImproperlyConfigured

from .env import env_json

PRICE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")

DEFAULT_MODEL_TABLE: dict[str, dict] = {
    "haiku": {
        "id": "claude-haiku-5-5",
        "input": 0.10,
        "output": 0.50,
        "cache_write_5m": 0.125,
        "cache_write_1h": 0.20,
        "cache_read": 0.01,
        # A request whose prompt is over this many tokens is billed at `long_prompt_multiplier` times
        # every rate above, for the whole request.
        "long_prompt_threshold": 100_000,
        "long_prompt_multiplier": 5,
        "max_output": 128_000,
        "context": 1_000_000,
    },
    "sonnet": {
        "id": "claude-sonnet-5-5",
        "input": 2.0,
        "output": 10.0,
        "cache_write_5m": 2.50,
        "cache_write_1h": 4.0,
        "cache_read": 0.20,
        "max_output": 128_000,
        "context": 1_000_000,
    },
    "opus": {
        "id": "claude-opus-5-5",
        "input": 4.0,
        "output": 20.0,
        "cache_write_5m": 5.0,
        "cache_write_1h": 8.0,
        "cache_read": 0.40,
        "max_output": 128_000,
        "context": 1_000_000,
    },
}


def load_model_table() -> dict[str, dict]:
    table = {alias: dict(entry) for alias, entry in DEFAULT_MODEL_TABLE.items()}
    for alias, override in env_json("ERKWEB_MODEL_TABLE").items():
        if not isinstance(override, dict):
            raise ImproperlyConfigured(f"ERKWEB_MODEL_TABLE[{alias!r}] must be an object")
        entry = table.setdefault(alias, {})
        entry.update(override)
    for alias, entry in table.items():
        model_id = os.environ.get(f"ERKWEB_MODEL_{alias.upper()}", "").strip()
        if model_id:
            entry["id"] = model_id
        if not entry.get("id"):
            raise ImproperlyConfigured(f"model alias {alias!r} has no id")
        for field in PRICE_FIELDS:
            try:
                entry[field] = float(entry.get(field, 0))
            except (TypeError, ValueError):
                raise ImproperlyConfigured(f"price {alias}.{field} must be a number") from None
    return table
