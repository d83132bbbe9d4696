"""What Anthropic publishes about each model id: limits, thinking and effort support, prices.

One frozen `PublishedModel` per id of the installed SDK (`anthropic/types/model.py`) that Anthropic's
documentation prices. The simulator knows models from this table (an id that is not here is a 404, as
on the real API); erkweb's price table is built on it. Figures are copied from the pages named in each
entry's `source` (read November 2026); where a page left a figure out, the comment beside it says where
it comes from instead.

Left out, because no Anthropic page prices them: `claude-fable-5-2` and `claude-mythos-5-2` (released
November 9, 2026; the docs had no page for them yet) and `claude-mythos-preview` (a gated research
preview without a public price).

Pages (P = https://platform.claude.com/docs/en):
- prices and the long-prompt rule: P/about-claude/pricing and each model's overview, P/models/<slug>/overview
- thinking: P/build-with-claude/thinking, and each model's "what's new" and migration guide
- effort: P/build-with-claude/effort
- minimum cacheable prompt length: P/build-with-claude/prompt-caching ("Cache limitations")

The Sonnet 5.5 cache read is $0.20 / MTok as its overview page prints it. Several third-party trackers
report a cut to $0.10 on 2026-10-07; no Anthropic page says so, so the docs' figure stands here.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

DOCS = "https://platform.claude.com/docs/en"
PRICING_URL = f"{DOCS}/about-claude/pricing"

THINKING_TYPES = ("adaptive", "enabled", "disabled", "between_tools")
EFFORT_LEVELS = ("low", "medium", "high", "xhigh", "max")  # SDK 2.15 OutputConfigParam.effort


@dataclass(frozen=True)
class Prices:
    """US dollars per million tokens."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float

    def times(self, factor: float) -> Prices:
        return Prices(
            input=self.input * factor,
            output=self.output * factor,
            cache_write_5m=self.cache_write_5m * factor,
            cache_write_1h=self.cache_write_1h * factor,
            cache_read=self.cache_read * factor,
        )


@dataclass(frozen=True)
class LongPrompt:
    """A request whose prompt (input + cache writes + cache reads) is over `threshold_tokens` is billed
    at `multiplier` times every rate, output included, for the whole request."""

    threshold_tokens: int
    multiplier: float


@dataclass(frozen=True)
class PublishedModel:
    id: str
    context_window: int
    max_output: int
    min_cacheable_tokens: int  # a cache breakpoint with a shorter prefix creates no cache entry
    thinking: frozenset[str]  # the `thinking.type` values the model accepts
    effort: tuple[str, ...]  # the `output_config.effort` values it accepts; () when it refuses effort
    prices: Prices
    long_prompt: LongPrompt | None
    source: str
    # `thinking: {"type": "disabled"}` is accepted only at this effort or lower (None: at any effort).
    disabled_max_effort: str | None = None

    def prices_for(self, prompt_tokens: int) -> Prices:
        """The rates one request with this many prompt tokens is billed at."""
        if self.long_prompt and prompt_tokens > self.long_prompt.threshold_tokens:
            return self.prices.times(self.long_prompt.multiplier)
        return self.prices


def _overview(slug: str) -> str:
    return f"{DOCS}/models/{slug}/overview"


K = 1_000
M = 1_000_000
ALL_EFFORT = EFFORT_LEVELS
NO_XHIGH = ("low", "medium", "high", "max")  # the effort page: xhigh arrived with Opus 4.7

# Opus 5.5, Fable 5.1 and Fable 5: "Adaptive (always on)"; "thinking.type.disabled" and
# "thinking.type.enabled" are "not supported for this model" (what's new in Opus 5.5).
ALWAYS_ON = frozenset({"adaptive"})

_MODELS = [
    PublishedModel(
        id="claude-haiku-5-5",
        context_window=1 * M,
        max_output=128 * K,
        min_cacheable_tokens=512,  # Haiku 5.5 migration guide: 512 (4,096 on Haiku 4.5)
        # Adaptive by default; budget_tokens refused; disabled only at effort high or lower (thinking page).
        thinking=frozenset({"adaptive", "disabled"}),
        effort=ALL_EFFORT,
        prices=Prices(input=0.10, output=0.50, cache_write_5m=0.125, cache_write_1h=0.20, cache_read=0.01),
        long_prompt=LongPrompt(threshold_tokens=100_000, multiplier=5),  # $0.50/$2.50 over 100,000
        source=_overview("haiku-5-5"),
        disabled_max_effort="high",
    ),
    PublishedModel(
        id="claude-sonnet-5-5",
        context_window=1 * M,
        max_output=128 * K,
        # Not on the caching page we could read; Sonnet 5's figure (its predecessor, same tokenizer).
        min_cacheable_tokens=1024,
        # "Turn off up-front thinking with between_tools" (what's new in Sonnet 5.5): between_tools
        # replaces disabled; budget_tokens refused since Sonnet 5.
        thinking=frozenset({"adaptive", "between_tools"}),
        effort=ALL_EFFORT,
        prices=Prices(input=2.0, output=10.0, cache_write_5m=2.50, cache_write_1h=4.0, cache_read=0.20),
        long_prompt=None,  # "no long-context premium": a 900K request pays the same rates
        source=_overview("sonnet-5-5"),
    ),
    PublishedModel(
        id="claude-opus-5-5",
        context_window=1 * M,
        max_output=128 * K,
        min_cacheable_tokens=512,  # not on the caching page we could read; Opus 5's figure
        thinking=ALWAYS_ON,
        effort=ALL_EFFORT,
        # Cache hits at 0.05x input ($0.20), not the usual 0.1x.
        prices=Prices(input=4.0, output=20.0, cache_write_5m=5.0, cache_write_1h=8.0, cache_read=0.20),
        long_prompt=None,
        source=_overview("opus-5-5"),
    ),
    PublishedModel(
        id="claude-fable-5-1",
        context_window=1 * M,
        max_output=128 * K,
        min_cacheable_tokens=512,  # "the 512-token cache minimum carries over" from Fable 5
        thinking=ALWAYS_ON,
        effort=ALL_EFFORT,
        # Cache hits at 0.025x input (pricing page, footnote 1).
        prices=Prices(input=10.0, output=50.0, cache_write_5m=12.50, cache_write_1h=20.0, cache_read=0.25),
        long_prompt=None,
        source=_overview("fable-5-1"),
    ),
    PublishedModel(
        id="claude-fable-5",
        context_window=1 * M,
        max_output=128 * K,
        min_cacheable_tokens=512,
        thinking=ALWAYS_ON,
        effort=ALL_EFFORT,
        prices=Prices(input=10.0, output=50.0, cache_write_5m=12.50, cache_write_1h=20.0, cache_read=1.0),
        long_prompt=None,
        source=_overview("fable-5"),
    ),
    PublishedModel(
        id="claude-opus-5",
        context_window=1 * M,
        max_output=128 * K,
        min_cacheable_tokens=512,
        # Opus 5 migration guide: thinking on by default, and disabled "only when effort is high or lower";
        # manual budget_tokens refused (as on Opus 4.7 and later).
        thinking=frozenset({"adaptive", "disabled"}),
        effort=ALL_EFFORT,
        prices=Prices(input=5.0, output=25.0, cache_write_5m=6.25, cache_write_1h=10.0, cache_read=0.50),
        long_prompt=None,
        source=_overview("opus-5"),
        disabled_max_effort="high",
    ),
    PublishedModel(
        id="claude-sonnet-5",
        context_window=1 * M,
        max_output=128 * K,
        min_cacheable_tokens=1024,
        # Sonnet 5 overview: adaptive on by default, "manual extended thinking now returns a 400 error".
        thinking=frozenset({"adaptive", "disabled"}),
        effort=ALL_EFFORT,
        prices=Prices(input=2.0, output=10.0, cache_write_5m=2.50, cache_write_1h=4.0, cache_read=0.20),
        long_prompt=None,
        source=_overview("sonnet-5"),
    ),
    PublishedModel(
        id="claude-opus-4-8",
        context_window=1 * M,
        max_output=128 * K,
        min_cacheable_tokens=1024,
        thinking=frozenset({"adaptive", "disabled"}),  # budget_tokens refused since Opus 4.7
        effort=ALL_EFFORT,
        prices=Prices(input=5.0, output=25.0, cache_write_5m=6.25, cache_write_1h=10.0, cache_read=0.50),
        long_prompt=None,
        source=_overview("opus-4-8"),
    ),
    PublishedModel(
        id="claude-opus-4-7",
        context_window=1 * M,
        max_output=128 * K,
        min_cacheable_tokens=2048,
        # "only supports thinking.type adaptive ... enabled with budget_tokens ... will return a 400".
        thinking=frozenset({"adaptive", "disabled"}),
        effort=ALL_EFFORT,
        prices=Prices(input=5.0, output=25.0, cache_write_5m=6.25, cache_write_1h=10.0, cache_read=0.50),
        long_prompt=None,
        source=_overview("opus-4-7"),
    ),
    PublishedModel(
        id="claude-opus-4-6",
        context_window=1 * M,
        max_output=128 * K,
        min_cacheable_tokens=4096,
        thinking=frozenset({"adaptive", "enabled", "disabled"}),  # budget_tokens deprecated, still accepted
        effort=NO_XHIGH,
        prices=Prices(input=5.0, output=25.0, cache_write_5m=6.25, cache_write_1h=10.0, cache_read=0.50),
        long_prompt=None,
        source=_overview("opus-4-6"),
    ),
    PublishedModel(
        id="claude-sonnet-4-6",
        context_window=1 * M,
        max_output=128 * K,
        min_cacheable_tokens=1024,
        thinking=frozenset({"adaptive", "enabled", "disabled"}),
        effort=NO_XHIGH,
        # The pricing page's standard multipliers on $3: 1.25x, 2x, 0.1x.
        prices=Prices(input=3.0, output=15.0, cache_write_5m=3.75, cache_write_1h=6.0, cache_read=0.30),
        long_prompt=None,
        source=_overview("sonnet-4-6"),
    ),
    PublishedModel(
        id="claude-opus-4-5-20251101",
        context_window=200 * K,
        max_output=64 * K,
        min_cacheable_tokens=4096,
        thinking=frozenset({"enabled", "disabled"}),  # extended thinking only: adaptive came with 4.6
        effort=("low", "medium", "high"),  # the effort parameter's first model, three levels
        prices=Prices(input=5.0, output=25.0, cache_write_5m=6.25, cache_write_1h=10.0, cache_read=0.50),
        long_prompt=None,
        source=_overview("opus-4-5"),
    ),
    PublishedModel(
        id="claude-haiku-4-5-20251001",
        context_window=200 * K,
        max_output=64 * K,
        min_cacheable_tokens=4096,
        thinking=frozenset({"enabled", "disabled"}),  # "Extended" in the lineup table; no effort levels
        effort=(),
        prices=Prices(input=1.0, output=5.0, cache_write_5m=1.25, cache_write_1h=2.0, cache_read=0.10),
        long_prompt=None,
        source=_overview("haiku-4-5"),
    ),
]


def _with_aliases(models: list[PublishedModel]) -> dict[str, PublishedModel]:
    table = {model.id: model for model in models}
    # The SDK lists both the dated ids and their aliases; they are the same model at the same price.
    for alias, dated in (
        ("claude-opus-4-5", "claude-opus-4-5-20251101"),
        ("claude-haiku-4-5", "claude-haiku-4-5-20251001"),
    ):
        table[alias] = replace(table[dated], id=alias)
    # Mythos 5 and 5.1 share the specifications and prices of Fable 5 and 5.1 (the Fable overviews).
    for mythos, fable in (("claude-mythos-5", "claude-fable-5"), ("claude-mythos-5-1", "claude-fable-5-1")):
        table[mythos] = replace(table[fable], id=mythos, source=_overview(mythos.removeprefix("claude-")))
    return table


MODELS: dict[str, PublishedModel] = _with_aliases(_MODELS)


def get(model_id: str) -> PublishedModel | None:
    return MODELS.get(model_id)
