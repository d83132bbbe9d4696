"""Which executor fills a run's batches: ``local`` (deterministic Python, no LLM) or a Claude model.

A Claude model is an alias of the price table (``haiku``, ``sonnet``, ``opus``) or a model id the table
prices (erkweb/models_table.py). Any other name is refused here, with the choices, before a run exists:
a run is never costed with another model's prices.
"""

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from .errors import InputError

LOCAL = "local"


@dataclass(frozen=True)
class Executor:
    alias: str  # as the user gave it
    model_id: str  # resolved id, or "local"
    prices: dict[str, Any]  # the price table entry it is costed with ({} for local)

    @property
    def is_local(self) -> bool:
        return self.model_id == LOCAL


def model_choices() -> list[tuple[str, str]]:
    """(name, label) of every model a run can use: local, the aliases, then every other priced id."""
    choices = [(LOCAL, "local: exact, from Python, no LLM")]
    aliases = settings.ERKWEB_MODELS
    choices += [(alias, f"{alias}: {entry['id']}") for alias, entry in aliases.items()]
    named = {entry["id"] for entry in aliases.values()}
    choices += [
        (model_id, model_id) for model_id in sorted(settings.ERKWEB_MODEL_IDS) if model_id not in named
    ]
    return choices


def resolve_model(name: str) -> Executor:
    """Map a model name to an executor; anything the price table does not know is an InputError."""
    name = (name or "").strip()
    aliases, ids = settings.ERKWEB_MODELS, settings.ERKWEB_MODEL_IDS
    if name == LOCAL:
        return Executor(LOCAL, LOCAL, {})
    if name in aliases:
        return Executor(name, aliases[name]["id"], dict(aliases[name]))
    for alias, entry in aliases.items():
        if entry["id"] == name:
            return Executor(alias, name, dict(entry))
    if name in ids:
        return Executor(name, name, dict(ids[name]))
    choices = ", ".join([LOCAL, *aliases])
    if name.startswith("claude-"):
        raise InputError(
            f"model id {name!r} is not in erkweb's price table: choose one of {choices} or a priced id "
            "(the form lists them), or give its prices in ERKWEB_MODEL_TABLE",
            field="model",
        )
    raise InputError(
        f"unknown model {name!r}: choose one of {choices}, or a claude-... model id", field="model"
    )
