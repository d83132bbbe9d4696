"""What one API call costs, from its usage and a price table entry (erkweb/models_table.py).

The same function prices a call as it happens and every call of the preflight estimate, so the two can
only differ by the usage they are given. Rules (https://platform.claude.com/docs/en/about-claude/pricing):
- cache writes are priced by their TTL: the 5-minute rate or the 1-hour one, as `usage.cache_creation`
  splits them (without the split, every write is a 5-minute one: erkweb asks for no other TTL);
- a model with a long-prompt rule bills a request whose prompt (input + cache writes + cache reads) is
  over its threshold at its multiplier times every rate, output included; other models have no such rule;
- a request of a Message Batch (``usage.service_tier`` ``"batch"``) is billed half of every one of those
  prices, cache writes and reads included, and the long-prompt rule still applies ("Batch processing
  ... 50% discount"; the pricing page's modifiers stack: batch, long context and prompt caching).
"""

from decimal import Decimal
from typing import Any

MILLION = Decimal(1_000_000)
BATCH_TIER = "batch"  # usage.service_tier of a Message Batch request: billed at half price
CENT_PRECISION = Decimal("0.000001")
USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_write_1h_tokens",
    "cache_read_tokens",
)


def usage_dict(usage: Any) -> dict[str, Any]:
    """The SDK's Usage (or its JSON) as erkweb's usage: every field an int, the 1-hour writes apart."""
    get = usage.get if isinstance(usage, dict) else (lambda name, default=None: getattr(usage, name, default))
    creation = get("cache_creation")
    if creation is not None and not isinstance(creation, dict):
        creation = creation.model_dump()
    write_1h = int((creation or {}).get("ephemeral_1h_input_tokens") or 0)
    return {
        "input_tokens": int(get("input_tokens") or 0),
        "output_tokens": int(get("output_tokens") or 0),
        "cache_write_tokens": int(get("cache_creation_input_tokens") or 0),
        "cache_write_1h_tokens": write_1h,
        "cache_read_tokens": int(get("cache_read_input_tokens") or 0),
        **({"service_tier": BATCH_TIER} if get("service_tier") == BATCH_TIER else {}),
    }


def prompt_tokens(usage: dict[str, Any]) -> int:
    return int(
        usage.get("input_tokens", 0) + usage.get("cache_write_tokens", 0) + usage.get("cache_read_tokens", 0)
    )


def long_prompt_multiplier(prices: dict[str, Any], prompt: int) -> Decimal:
    threshold = prices.get("long_prompt_threshold")
    if threshold and prompt > threshold:
        return Decimal(str(prices.get("long_prompt_multiplier") or 1))
    return Decimal(1)


def call_cost(prices: dict[str, Any], usage: dict[str, Any]) -> Decimal:
    """Dollar cost of one API call; {} prices (local) cost nothing."""
    if not prices:
        return Decimal(0)
    multiplier = long_prompt_multiplier(prices, prompt_tokens(usage))

    def rate(field: str) -> Decimal:
        return Decimal(str(prices.get(field) or 0)) * multiplier

    writes = usage.get("cache_write_tokens", 0)
    writes_1h = min(writes, usage.get("cache_write_1h_tokens", 0))
    dollars = (
        usage.get("input_tokens", 0) * rate("input")
        + usage.get("output_tokens", 0) * rate("output")
        + (writes - writes_1h) * rate("cache_write_5m")
        + writes_1h * rate("cache_write_1h")
        + usage.get("cache_read_tokens", 0) * rate("cache_read")
    ) / MILLION
    if usage.get("service_tier") == BATCH_TIER:
        dollars /= 2
    return Decimal(dollars.quantize(CENT_PRECISION))


def worst_case_cost(prices: dict[str, Any], prompt: int, max_tokens: int, *, batch: bool = False) -> Decimal:
    """The most a turn can cost: its whole prompt billed at the dearer of the input and cache write
    rates (none of it read from the cache, all of it maybe written: 1-hour writes in a Message Batch, at
    its half price) and max_tokens of output, with the long-prompt rule. The budget is checked against it
    before every turn."""
    write_rate = "cache_write_1h" if batch else "cache_write_5m"
    written = float(prices.get(write_rate) or 0) > float(prices.get("input") or 0)
    usage: dict[str, Any] = {"output_tokens": max_tokens}
    if written:
        usage.update(cache_write_tokens=prompt, cache_write_1h_tokens=prompt if batch else 0)
    else:
        usage["input_tokens"] = prompt
    if batch:
        usage["service_tier"] = BATCH_TIER
    return call_cost(prices, usage)
