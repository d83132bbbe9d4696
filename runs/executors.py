"""Which executor fills a run's batches, where Claude models are reached, and what a call costs.

A run's model is ``local`` (deterministic Python, no LLM) or a Claude model: an alias from the model
table in settings or a full ``claude-...`` id. Claude models are reached at ``ANTHROPIC_BASE_URL`` when it
is set, at the real API when only ``ANTHROPIC_API_KEY`` is set, and otherwise at the offline simulator.
The API key is read from the environment when a client is built and is never stored anywhere else.
"""

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from .errors import InputError

LOCAL = "local"
SIMULATOR_HEALTH_PATH = "/_simulator/health"
# Sent instead of a key to the simulator, which accepts any key; not a secret.
SIMULATOR_DUMMY_KEY = "erkweb-simulator-no-key"


@dataclass(frozen=True)
class Executor:
    alias: str  # as the user gave it
    model_id: str  # resolved id, or "local"
    prices: dict  # the price table entry it is costed with ({} for local)

    @property
    def is_local(self) -> bool:
        return self.model_id == LOCAL


def resolve_model(name: str) -> Executor:
    """Map a model name to an executor; unknown names are an InputError listing the choices."""
    name = (name or "").strip()
    table = settings.ERKWEB_MODELS
    if name == LOCAL:
        return Executor(LOCAL, LOCAL, {})
    if name in table:
        return Executor(name, table[name]["id"], dict(table[name]))
    for alias, entry in table.items():
        if entry["id"] == name:
            return Executor(alias, name, dict(entry))
    if name.startswith("claude-"):
        # An id the table does not know (an older model, say) still runs, costed like the alias whose
        # family it names, or like sonnet.
        family = next((a for a in table if a in name), "sonnet")
        return Executor(name, name, dict(table.get(family, {})))
    choices = ", ".join([LOCAL, *table])
    raise InputError(
        f"unknown model {name!r}: choose one of {choices}, or a claude-... model id", field="model"
    )


@dataclass(frozen=True)
class Endpoint:
    base_url: str | None  # None: the SDK's default (the real API)
    simulator: bool


def api_base_url() -> str | None:
    """ANTHROPIC_BASE_URL when set; else None (the SDK's default, the real API) with a key; else the
    simulator."""
    base_url = os.environ.get("ANTHROPIC_BASE_URL", "").strip()
    if base_url:
        return base_url.rstrip("/")
    if os.environ.get("ANTHROPIC_API_KEY", "").strip():
        return None
    return settings.ERKWEB_SIMULATOR_URL.rstrip("/")


def resolve_endpoint() -> Endpoint:
    """Where Claude models are reached and whether that is the simulator: a base URL that was set is
    asked, once, when a run is created (batches only need the URL: ``api_base_url``)."""
    base_url = api_base_url()
    if base_url is None:
        return Endpoint(None, simulator=False)
    explicit = bool(os.environ.get("ANTHROPIC_BASE_URL", "").strip())
    return Endpoint(base_url, simulator=simulator_health(base_url) is not None if explicit else True)


def simulator_health(base_url: str, timeout: float = 1.0) -> dict | None:
    """The simulator's health answer, or None when nothing (or something else) answers there."""
    url = base_url.rstrip("/") + SIMULATOR_HEALTH_PATH
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = json.loads(response.read().decode())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    return body if isinstance(body, dict) and body.get("simulator") == "erkweb" else None


def check_endpoint(executor: Executor) -> Endpoint | None:
    """Before a run is created: make sure a Claude model can be reached, with one clear line if not."""
    if executor.is_local:
        return None
    endpoint = resolve_endpoint()
    default_simulator = endpoint.simulator and endpoint.base_url == settings.ERKWEB_SIMULATOR_URL.rstrip("/")
    if default_simulator and simulator_health(endpoint.base_url) is None:
        raise InputError(
            f"no API key is set and no simulator answers at {endpoint.base_url}: start it with "
            "`python manage.py simulator` (or `make run`), or set ANTHROPIC_API_KEY",
            field="model",
        )
    return endpoint


def make_client(base_url: str | None):
    import anthropic

    key = os.environ.get("ANTHROPIC_API_KEY", "").strip() or SIMULATOR_DUMMY_KEY
    return anthropic.Anthropic(
        api_key=key,
        base_url=base_url,
        max_retries=settings.ERKWEB_API_MAX_RETRIES,
        timeout=min(300.0, float(settings.ERKWEB_BATCH_TIME_LIMIT)),
    )


MILLION = Decimal(1_000_000)


def call_cost(prices: dict, usage: dict) -> Decimal:
    """Dollar cost of one API call from its usage, with the long-prompt rate where the table has one."""
    if not prices:
        return Decimal(0)
    prompt_tokens = usage["input_tokens"] + usage["cache_write_tokens"] + usage["cache_read_tokens"]
    multiplier = Decimal(1)
    threshold = prices.get("long_prompt_threshold")
    if threshold and prompt_tokens > threshold:
        multiplier = Decimal(str(prices.get("long_prompt_multiplier", 1)))

    def rate(field):
        return Decimal(str(prices.get(field, 0))) * multiplier

    dollars = (
        usage["input_tokens"] * rate("input")
        + usage["output_tokens"] * rate("output")
        + usage["cache_write_tokens"] * rate("cache_write_5m")
        + usage["cache_read_tokens"] * rate("cache_read")
    ) / MILLION
    return dollars.quantize(Decimal("0.000001"))
