"""erkweb/published_models.py: a handful of figures, each checked against the page it was copied from."""

import typing
from dataclasses import replace

import pytest
from anthropic.types import model as sdk_model

from erkweb import published_models
from erkweb.published_models import MODELS, Prices

# Ids the SDK lists that no Anthropic page prices (see the module docstring).
UNPRICED = {"claude-fable-5-2", "claude-mythos-5-2", "claude-mythos-preview"}


def sdk_ids() -> set[str]:
    literal = typing.get_args(sdk_model.Model)[0]
    return set(typing.get_args(literal))


def test_every_sdk_id_is_known_or_named_as_unpriced():
    assert sdk_ids() - UNPRICED == set(MODELS)
    assert not UNPRICED & set(MODELS)


def test_haiku_5_5_is_priced_by_prompt_length():
    """https://platform.claude.com/docs/en/models/haiku-5-5/overview: $0.10 input, $0.50 output,
    $0.125 / $0.20 cache writes, $0.01 cache hits for prompts up to 100,000 tokens; five times that over."""
    haiku = published_models.get("claude-haiku-5-5")
    assert haiku.prices == Prices(0.10, 0.50, 0.125, 0.20, 0.01)
    assert haiku.prices_for(100_000) == haiku.prices
    over = haiku.prices_for(100_001)
    assert over.input == pytest.approx(0.50)
    assert over.output == pytest.approx(2.50)
    assert over.cache_write_5m == pytest.approx(0.625)
    assert over.cache_write_1h == pytest.approx(1.00)
    assert over.cache_read == pytest.approx(0.05)
    assert (haiku.context_window, haiku.max_output, haiku.min_cacheable_tokens) == (1_000_000, 128_000, 512)


def test_the_5_5_cache_reads_are_the_docs_figures():
    """https://platform.claude.com/docs/en/models/sonnet-5-5/overview prints a $0.20 cache read (third-party
    trackers say $0.10; the docs win) and .../opus-5-5/overview prints $0.20 (0.05x of $4)."""
    assert published_models.get("claude-sonnet-5-5").prices == Prices(2, 10, 2.50, 4, 0.20)
    assert published_models.get("claude-opus-5-5").prices == Prices(4, 20, 5, 8, 0.20)
    assert published_models.get("claude-sonnet-5-5").long_prompt is None


def test_older_models_keep_their_own_limits_and_prices():
    """https://platform.claude.com/docs/en/models/opus-4-5/overview: 200K context, 64K output, $5 / $25;
    .../haiku-4-5/overview: 200K, 64K, $1 / $5; .../fable-5-1/overview: $10 / $50, cache hits $0.25."""
    opus = published_models.get("claude-opus-4-5")
    assert (opus.context_window, opus.max_output, opus.prices.input, opus.prices.output) == (
        200_000,
        64_000,
        5,
        25,
    )
    dated = published_models.get("claude-haiku-4-5-20251001")
    assert published_models.get("claude-haiku-4-5") == replace(dated, id="claude-haiku-4-5")
    assert published_models.get("claude-haiku-4-5").prices == Prices(1, 5, 1.25, 2, 0.10)
    assert published_models.get("claude-fable-5-1").prices.cache_read == 0.25
    assert published_models.get("claude-mythos-5-1").prices == published_models.get("claude-fable-5-1").prices


def test_thinking_and_effort_support():
    """https://platform.claude.com/docs/en/models/opus-5-5/whats-new-opus-5-5: thinking can't be disabled
    and budget_tokens is refused; https://platform.claude.com/docs/en/build-with-claude/effort: Haiku 4.5
    has no effort levels, xhigh arrived with Opus 4.7."""
    assert published_models.get("claude-opus-5-5").thinking == {"adaptive"}
    assert "enabled" in published_models.get("claude-opus-4-6").thinking
    assert "enabled" not in published_models.get("claude-opus-4-7").thinking
    assert published_models.get("claude-haiku-4-5").effort == ()
    assert "xhigh" not in published_models.get("claude-opus-4-6").effort
    assert "xhigh" in published_models.get("claude-opus-4-7").effort


def test_unknown_ids_are_unknown():
    assert published_models.get("claude-haiku-9-9") is None
    assert published_models.get("claude-fable-5-2") is None
