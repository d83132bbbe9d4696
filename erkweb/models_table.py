"""The price table: the aliases, and every model id a run can be costed with.

Built on erkweb/published_models.py (what Anthropic publishes for each id, with the page each figure
comes from): every published id is pickable at its own prices, and the aliases ``haiku``, ``sonnet`` and
``opus`` name the current ids. Overrides come from the environment:

- ``ERKWEB_MODEL_<ALIAS>=<id>`` points an alias at another id, which takes that id's prices; an id the
  table does not price is refused (no silent fallback to another model's prices);
- ``ERKWEB_MODEL_TABLE`` is JSON merged over the table, keyed by alias or by model id:
  ``{"sonnet": {"input": 3, "output": 15}}`` changes the alias's prices, and
  ``{"claude-new-1": {"input": 1, "output": 5, "context": 200000, "max_output": 64000}}`` prices an id
  the table does not know. A new id needs at least ``input`` and ``output``; its cache prices are the
  pricing page's standard multipliers of the input price (5-minute writes 1.25x, 1-hour writes 2x,
  reads 0.1x: https://platform.claude.com/docs/en/about-claude/pricing) unless given.

An entry is plain JSON (a run records the entries it was costed with in its manifest, so changing prices
later never rewrites the cost of old runs): ``id``, the five prices in $ per million tokens, ``context``
and ``max_output`` (tokens), ``min_cacheable_tokens``, and ``long_prompt_threshold`` /
``long_prompt_multiplier`` for a model with a long-prompt rule.
"""

import os
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from . import published_models
from .env import env_json

PRICE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
REQUIRED_FOR_NEW_ID = ("input", "output")
STANDARD_CACHE_MULTIPLIERS = {"cache_write_5m": 1.25, "cache_write_1h": 2.0, "cache_read": 0.1}
INT_FIELDS = ("context", "max_output", "min_cacheable_tokens", "long_prompt_threshold")
NUMBER_FIELDS = (*PRICE_FIELDS, "long_prompt_multiplier")
DEFAULT_ALIASES = {"haiku": "claude-haiku-5-5", "sonnet": "claude-sonnet-5-5", "opus": "claude-opus-5-5"}


def published_entry(model: published_models.PublishedModel) -> dict[str, Any]:
    prices = model.prices
    entry = {
        "id": model.id,
        "input": prices.input,
        "output": prices.output,
        "cache_write_5m": prices.cache_write_5m,
        "cache_write_1h": prices.cache_write_1h,
        "cache_read": prices.cache_read,
        "context": model.context_window,
        "max_output": model.max_output,
        "min_cacheable_tokens": model.min_cacheable_tokens,
        "source": model.source,
    }
    if model.long_prompt is not None:
        entry["long_prompt_threshold"] = model.long_prompt.threshold_tokens
        entry["long_prompt_multiplier"] = model.long_prompt.multiplier
    return entry


@dataclass(frozen=True)
class ModelTable:
    aliases: dict[str, dict[str, Any]]  # alias -> the entry of the id it names (with that id)
    ids: dict[str, dict[str, Any]]  # every priced model id -> its entry


def _checked(where: str, override: object) -> dict[str, Any]:
    if not isinstance(override, dict):
        raise ImproperlyConfigured(f"ERKWEB_MODEL_TABLE[{where!r}] must be an object")
    checked = dict(override)
    for name in NUMBER_FIELDS:
        if name in checked:
            try:
                checked[name] = float(checked[name])
            except (TypeError, ValueError):
                raise ImproperlyConfigured(f"price {where}.{name} must be a number") from None
            if checked[name] < 0:
                raise ImproperlyConfigured(f"price {where}.{name} must not be negative")
    for name in INT_FIELDS:
        if name in checked:
            value = checked[name]
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or value != int(value)
                or value < 1
            ):
                raise ImproperlyConfigured(f"{where}.{name} must be a whole number of tokens")
            checked[name] = int(value)
    if "id" in checked and (not isinstance(checked["id"], str) or not checked["id"].strip()):
        raise ImproperlyConfigured(f"ERKWEB_MODEL_TABLE[{where!r}].id must be a model id")
    return checked


def _new_id_entry(model_id: str, override: dict[str, Any], variable: str) -> dict[str, Any]:
    missing = [name for name in REQUIRED_FOR_NEW_ID if name not in override]
    if missing:
        raise ImproperlyConfigured(
            f"{variable}: erkweb has no prices for the model id {model_id!r}; give at least "
            f"{' and '.join(missing)} for it in ERKWEB_MODEL_TABLE, e.g. "
            f'{{"{model_id}": {{"input": 3, "output": 15}}}} ($ per million tokens)'
        )
    entry = {"id": model_id, **{k: v for k, v in override.items() if k != "id"}}
    for name, multiplier in STANDARD_CACHE_MULTIPLIERS.items():
        entry.setdefault(name, round(entry["input"] * multiplier, 6))
    entry["source"] = "ERKWEB_MODEL_TABLE"
    return entry


def load_model_table() -> ModelTable:
    overrides = {key: _checked(key, value) for key, value in env_json("ERKWEB_MODEL_TABLE").items()}
    ids = {model_id: published_entry(model) for model_id, model in published_models.MODELS.items()}
    alias_names = dict(DEFAULT_ALIASES)
    for key, override in overrides.items():
        if key in DEFAULT_ALIASES or not key.startswith("claude-"):  # an alias, maybe a new one
            if key not in DEFAULT_ALIASES and "id" not in override:
                raise ImproperlyConfigured(
                    f'ERKWEB_MODEL_TABLE[{key!r}] is a new alias: give the model id it names ("id")'
                )
            alias_names.setdefault(key, str(override.get("id")))
            continue
        if key in ids:
            ids[key] = {**ids[key], **override, "id": key}
        else:
            ids[key] = _new_id_entry(key, override, f"ERKWEB_MODEL_TABLE[{key!r}]")

    aliases = {}
    for alias, default_id in alias_names.items():
        variable = f"ERKWEB_MODEL_{alias.upper().replace('-', '_')}"
        override = overrides.get(alias, {})
        model_id = os.environ.get(variable, "").strip() or override.get("id") or default_id
        if not model_id:
            raise ImproperlyConfigured(f"model alias {alias!r} has no id")
        if model_id in ids:
            entry = {**ids[model_id], **override, "id": model_id}
        else:
            entry = _new_id_entry(
                model_id, override, f"{variable}={model_id}" if variable in os.environ else alias
            )
        aliases[alias] = entry
    return ModelTable(aliases=aliases, ids=ids)
