"""The price table on the published facts: every id at its own prices, no silent fallback, and a call
priced by its cache TTL and, only where a model has one, its long-prompt rule.

Expected prices are Anthropic's published ones (https://platform.claude.com/docs/en/about-claude/pricing
and each model's overview page), typed here from the pages, not read from the table under test."""

from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from erkweb import published_models
from erkweb.models_table import load_model_table
from runs.claude.pricing import call_cost
from runs.errors import InputError
from runs.model_choice import model_choices, resolve_model

from .test_erk_command import erk_cmd


def test_the_aliases_name_the_current_models():
    assert resolve_model("haiku").model_id == "claude-haiku-5-5"
    assert resolve_model("sonnet").model_id == "claude-sonnet-5-5"
    assert resolve_model("opus").model_id == "claude-opus-5-5"


@pytest.mark.parametrize(
    ("model_id", "input_price", "output_price"),
    [
        ("claude-haiku-5-5", 0.10, 0.50),
        ("claude-sonnet-5-5", 2.0, 10.0),
        ("claude-opus-5-5", 4.0, 20.0),
        ("claude-haiku-4-5", 1.0, 5.0),
        ("claude-sonnet-4-6", 3.0, 15.0),
        ("claude-opus-4-6", 5.0, 25.0),
    ],
)
def test_an_older_id_is_priced_at_its_own_prices(model_id, input_price, output_price):
    executor = resolve_model(model_id)
    assert executor.model_id == model_id
    assert (executor.prices["input"], executor.prices["output"]) == (input_price, output_price)


def test_every_published_id_is_pickable_at_its_published_prices():
    names = {name for name, _ in model_choices()}
    for model_id, model in published_models.MODELS.items():
        assert model_id in names or any(
            resolve_model(a).model_id == model_id for a in ("haiku", "sonnet", "opus")
        )
        prices = resolve_model(model_id).prices
        assert prices["input"] == model.prices.input and prices["cache_read"] == model.prices.cache_read
        assert prices["context"] == model.context_window and prices["max_output"] == model.max_output
        assert ("long_prompt_threshold" in prices) == (model.long_prompt is not None)


def test_an_id_the_table_does_not_know_is_refused():
    with pytest.raises(InputError, match=r"model id 'claude-imaginary-9' is not in erkweb's price table"):
        resolve_model("claude-imaginary-9")


@pytest.mark.django_db(transaction=True)
def test_the_command_line_refuses_an_unpriced_id_in_one_line(docs_root):
    code, _, err = erk_cmd(
        "run", "audit-scan", "--docs-root", str(docs_root), "--model", "claude-imaginary-9"
    )
    assert code == 2 and err.count("\n") == 1
    assert "'claude-imaginary-9' is not in erkweb's price table" in err


@pytest.mark.django_db
def test_the_form_refuses_an_unpriced_id(client, docs_root):
    # The select lists only priced models; a hand-made POST with another id is refused at the field.
    response = client.post(
        "/runs/new/",
        {"operation": "audit-scan", "docs_root": str(docs_root), "agents": 2, "model": "claude-imaginary-9"},
    )
    assert response.status_code == 200
    assert "claude-imaginary-9" in response.context["form"].errors["model"][0]


def test_erkweb_model_table_prices_a_new_id(monkeypatch):
    monkeypatch.setenv(
        "ERKWEB_MODEL_TABLE", '{"claude-imaginary-9": {"input": 2, "output": 8, "context": 200000}}'
    )
    entry = load_model_table().ids["claude-imaginary-9"]
    # Cache prices follow the pricing page's standard multipliers: 1.25x, 2x and 0.1x of input.
    assert (entry["cache_write_5m"], entry["cache_write_1h"], entry["cache_read"]) == (2.5, 4.0, 0.2)
    assert entry["context"] == 200_000 and "long_prompt_threshold" not in entry


@pytest.mark.parametrize("table", ["", '{"claude-imaginary-9": {"input": 2}}'])
def test_an_alias_pointed_at_an_unpriced_id_is_refused(monkeypatch, table):
    monkeypatch.setenv("ERKWEB_MODEL_HAIKU", "claude-imaginary-9")
    monkeypatch.setenv("ERKWEB_MODEL_TABLE", table)
    with pytest.raises(ImproperlyConfigured, match=r"ERKWEB_.*claude-imaginary-9.*ERKWEB_MODEL_TABLE"):
        load_model_table()


def test_an_alias_pointed_at_another_id_takes_that_ids_prices(monkeypatch):
    monkeypatch.setenv("ERKWEB_MODEL_HAIKU", "claude-haiku-4-5")
    haiku = load_model_table().aliases["haiku"]
    assert haiku["id"] == "claude-haiku-4-5" and (haiku["input"], haiku["output"]) == (1.0, 5.0)
    assert "long_prompt_threshold" not in haiku  # Haiku 4.5 has no long-prompt rule


def test_an_alias_can_be_repriced(monkeypatch):
    monkeypatch.setenv("ERKWEB_MODEL_TABLE", '{"sonnet": {"input": 3, "output": 15}}')
    table = load_model_table()
    assert (table.aliases["sonnet"]["input"], table.aliases["sonnet"]["output"]) == (3.0, 15.0)
    assert table.aliases["sonnet"]["cache_read"] == 0.20


def test_bad_table_values_are_refused(monkeypatch):
    monkeypatch.setenv("ERKWEB_MODEL_TABLE", '{"sonnet": {"input": "cheap"}}')
    with pytest.raises(ImproperlyConfigured, match=r"sonnet\.input must be a number"):
        load_model_table()


HAIKU = {
    "input": 0.10,
    "output": 0.50,
    "cache_write_5m": 0.125,
    "cache_write_1h": 0.20,
    "cache_read": 0.01,
    "long_prompt_threshold": 100_000,
    "long_prompt_multiplier": 5,
}


def test_cache_writes_are_priced_by_their_ttl():
    usage = {
        "input_tokens": 2_000,
        "output_tokens": 1_000,
        "cache_write_tokens": 10_000,
        "cache_write_1h_tokens": 4_000,
        "cache_read_tokens": 50_000,
    }
    # 2,000 x 0.10 + 1,000 x 0.50 + 6,000 x 0.125 + 4,000 x 0.20 + 50,000 x 0.01 = 2,750 per million
    assert call_cost(HAIKU, usage) == Decimal("0.002750")
    assert call_cost(resolve_model("haiku").prices, usage) == Decimal("0.002750")


def test_the_long_prompt_rate_only_for_models_that_have_one():
    over = {
        "input_tokens": 60_000,
        "output_tokens": 1_000,
        "cache_write_tokens": 30_000,
        "cache_write_1h_tokens": 0,
        "cache_read_tokens": 20_000,
    }
    # 110,000 prompt tokens > 100,000: every rate times 5:
    # 60,000 x 0.50 + 1,000 x 2.50 + 30,000 x 0.625 + 20,000 x 0.05 = 52,250 per million
    assert call_cost(resolve_model("haiku").prices, over) == Decimal("0.052250")
    # Sonnet 5.5 has no long-context premium: 500,000 input tokens at $2.
    big = {"input_tokens": 500_000, "output_tokens": 0, "cache_write_tokens": 0, "cache_read_tokens": 0}
    assert call_cost(resolve_model("sonnet").prices, big) == Decimal("1.000000")


def test_a_bad_price_setting_stops_start_up_with_one_line():
    import os
    import subprocess
    import sys

    from django.conf import settings

    env = {**os.environ, "ERKWEB_MODEL_HAIKU": "claude-imaginary-9"}
    done = subprocess.run(
        [sys.executable, str(settings.BASE_DIR / "manage.py"), "erk", "show", "x"],
        env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "erkweb: ERKWEB_MODEL_HAIKU=claude-imaginary-9: erkweb has no prices for the model id "
        "'claude-imaginary-9'; give at least input and output for it in ERKWEB_MODEL_TABLE, e.g. "
        '{"claude-imaginary-9": {"input": 3, "output": 15}} ($ per million tokens)'
    ]
