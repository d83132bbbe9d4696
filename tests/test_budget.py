"""Budgets (runs/budget.py): a run refused before it exists when its estimate is over its budget (or the
month's), stopped before a turn that could cross it, retried with a larger one; through the simulator.
Parallel agents against one budget, through a real cluster: tests/test_budget_cluster.py.

The figures are worked out from what the rows record: the run's cost is the sum of the turns its
transcript holds, each priced by the price table the manifest recorded.
"""

from datetime import date
from decimal import Decimal

import pytest

from runs import engine
from runs.budget import BUDGET_REACHED, dollars, month_spend, parse_budget
from runs.claude.pricing import call_cost
from runs.errors import InputError
from runs.estimate import preview_estimate
from runs.models import BatchStatus, Run, RunStatus, TranscriptEntry

from .conftest import AS_OF

AS_OF_DATE = date.fromisoformat(AS_OF)


# Small answers, so that a turn's worst case (its whole prompt written to the cache, max_tokens of
# output) is a fraction of these small runs' cost and a budget stops a run midway.
# Through the ``settings`` fixture, like every other setting these tests change: an override_settings
# decorator mixed with that fixture in one test leaks its values into every later test.
@pytest.fixture
def small_turns(settings):
    settings.ERKWEB_AGENT_MAX_OUTPUT_TOKENS = 1024


def prepare(docs_root, *, agents=2, max_cost=None, model="haiku"):
    return engine.prepare_run(
        "audit-scan",
        {"docs_root": str(docs_root)},
        model=model,
        agents=agents,
        as_of=AS_OF_DATE,
        max_cost=max_cost,
    )


def estimate_of(docs_root, agents=2) -> Decimal:
    prepared = prepare(docs_root, agents=agents)
    return preview_estimate(prepared, prepared.op.system_prompt(None, None)).cost_usd


def turn_costs(run: Run) -> list[Decimal]:
    prices = run.manifest["stage_models"]["1"]["prices"]
    entries = TranscriptEntry.objects.filter(batch__run=run, role="assistant")
    return [call_cost(prices, entry.content["usage"]) for entry in entries]


def test_a_budget_is_dollars_more_than_zero():
    assert parse_budget("2.50") == Decimal("2.50") and parse_budget("$0.01") == Decimal("0.01")
    assert parse_budget("") is None and parse_budget(None) is None
    for bad in ("0", "-1", "two", "nan", "inf"):
        with pytest.raises(InputError, match="--max-cost must be"):
            parse_budget(bad)
    assert dollars(Decimal("0.06215")) == "$0.0622"


def test_a_budget_fits_what_the_database_stores(monkeypatch):
    # Run.max_cost is a DecimalField(max_digits=12, decimal_places=6): under $1,000,000, to the millionth.
    assert parse_budget("999999.999999") == Decimal("999999.999999")
    assert parse_budget("0.1234567") == Decimal("0.123456")  # to the millionth, never rounded up
    for too_big in ("1000000", "1e7", "$12345678.5"):
        with pytest.raises(InputError, match="--max-cost must be less than 1,000,000 dollars"):
            parse_budget(too_big)
    from django.core.exceptions import ImproperlyConfigured

    from erkweb.env import env_money

    monkeypatch.setenv("ERKWEB_DEFAULT_MAX_COST", "1000000")
    with pytest.raises(ImproperlyConfigured, match="ERKWEB_DEFAULT_MAX_COST must be less than 1,000,000"):
        env_money("ERKWEB_DEFAULT_MAX_COST")
    monkeypatch.setenv("ERKWEB_DEFAULT_MAX_COST", "$2.50")
    assert env_money("ERKWEB_DEFAULT_MAX_COST") == Decimal("2.50")


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_estimate_is_over_its_budget_is_refused_with_both_figures(docs_root, simulator):
    estimate = estimate_of(docs_root)
    budget = estimate / 2
    with pytest.raises(InputError) as refused:
        prepare(docs_root, max_cost=budget)
    assert refused.value.field == "max_cost"
    assert f"the estimate of this run ({dollars(estimate)}) is over its budget ({dollars(budget)})" in str(
        refused.value
    )
    assert Run.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_the_default_budget_applies_when_none_is_given(docs_root, simulator, settings):
    settings.ERKWEB_DEFAULT_MAX_COST = Decimal("0.000001")
    with pytest.raises(InputError, match=r"over its budget \(\$0\.0000\)"):
        prepare(docs_root)
    settings.ERKWEB_DEFAULT_MAX_COST = Decimal("5")
    assert prepare(docs_root).max_cost == Decimal("5")
    # local costs nothing: no budget can refuse it
    settings.ERKWEB_DEFAULT_MAX_COST = Decimal("0.000001")
    assert prepare(docs_root, model="local").max_cost == Decimal("0.000001")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("small_turns")
def test_a_run_stops_at_its_budget_says_why_and_is_retried_with_a_larger_one(
    docs_root, sync_tasks, simulator
):
    unbounded = engine.launch(prepare(docs_root))
    full_cost = Run.objects.get(pk=unbounded.pk).cost_usd
    # Enough for the estimate (the run is accepted), not for every turn's worst case on top of the spend.
    budget = estimate_of(docs_root)
    assert budget > full_cost  # the estimate is above this bill (3.5 characters a token; the simulator 4)

    run = Run.objects.get(pk=engine.launch(prepare(docs_root, max_cost=budget)).pk)
    assert run.status == RunStatus.FAILED and run.max_cost == budget
    assert run.error.startswith(f"{BUDGET_REACHED}: ")
    stopped = run.batches.filter(status=BatchStatus.FAILED)
    assert stopped.exists()
    for batch in stopped:
        assert batch.failure_reason.startswith(f"{BUDGET_REACHED}: ")
        assert f"of the run's {dollars(budget)}" in batch.failure_reason
    # One agent at a time here: every turn saw all the spend before it, so none crossed the budget.
    assert run.cost_usd == sum(turn_costs(run)) and 0 < run.cost_usd <= budget
    assert run.manifest["max_cost"] == str(budget)

    with pytest.raises(InputError, match=r"stopped at its budget .*retry it with a larger one"):
        engine.retry_failed(run)
    with pytest.raises(InputError, match=r"must be more than the \$[0-9.]+ run .* has spent already"):
        engine.retry_failed(run, run.cost_usd)
    engine.retry_failed(run, Decimal("1"))
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert run.max_cost == Decimal("1") and run.cost_usd == sum(turn_costs(run))


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("small_turns")
def test_the_monthly_budget_counts_every_run_of_the_month(docs_root, sync_tasks, simulator, settings):
    first = Run.objects.get(pk=engine.launch(prepare(docs_root)).pk)
    assert first.status == RunStatus.SUCCEEDED
    assert month_spend() == first.cost_usd
    # A run created last month does not count in this one.
    Run.objects.filter(pk=first.pk).update(created_at=first.created_at.replace(year=2020))
    assert month_spend() == 0
    Run.objects.filter(pk=first.pk).update(created_at=first.created_at)

    estimate = estimate_of(docs_root)
    settings.ERKWEB_MONTHLY_BUDGET = first.cost_usd + estimate / 2
    with pytest.raises(InputError, match=r"this month's spend \(\$[0-9.]+\) are over ERKWEB_MONTHLY_BUDGET"):
        prepare(docs_root)
    # Accepted by its estimate, then stopped by the month's spend before a turn could cross the cap.
    settings.ERKWEB_MONTHLY_BUDGET = first.cost_usd + estimate
    second = Run.objects.get(pk=engine.launch(prepare(docs_root)).pk)
    assert second.status == RunStatus.FAILED
    assert second.error.startswith("monthly budget reached: ")
    assert month_spend() == first.cost_usd + second.cost_usd <= settings.ERKWEB_MONTHLY_BUDGET


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("small_turns")
def test_the_form_refuses_a_budget_under_the_estimate_and_the_page_retries_with_a_new_one(
    client, docs_root, sync_tasks, simulator
):
    data = {
        "operation": "audit-scan",
        "docs_root": str(docs_root),
        "agents": "2",
        "model": "haiku",
        "as_of": AS_OF,
    }
    estimate = estimate_of(docs_root)
    page = client.post("/runs/new/", {**data, "max_cost": str(estimate / 2)}).content.decode()
    assert (
        f"the estimate of this run ({dollars(estimate)}) is over its budget ({dollars(estimate / 2)})" in page
    )
    assert Run.objects.count() == 0

    response = client.post("/runs/new/", {**data, "max_cost": str(estimate)})
    run = Run.objects.get()
    assert response.status_code == 302 and run.status == RunStatus.FAILED and run.max_cost == estimate
    page = client.get(f"/runs/{run.run_id}/").content.decode()
    assert f'<dd id="run-budget">{dollars(estimate)}</dd>' in page
    assert "budget reached: " in page and 'name="max_cost"' in page

    refused = client.post(f"/runs/{run.run_id}/retry/", follow=True).content.decode()
    assert "stopped at its budget" in refused
    assert Run.objects.get().status == RunStatus.FAILED
    client.post(f"/runs/{run.run_id}/retry/", {"max_cost": "0.5"})
    run = Run.objects.get()
    assert run.status == RunStatus.SUCCEEDED and run.max_cost == Decimal("0.5")


@pytest.mark.django_db(transaction=True)
def test_the_history_shows_the_months_spend_against_the_monthly_budget(client, settings):
    Run.objects.create(
        run_id="r-1", operation="audit-scan", model="haiku", model_id="x", agents=1, cost_usd=Decimal("0.25")
    )
    Run.objects.create(
        run_id="r-2", operation="audit-scan", model="haiku", model_id="x", agents=1, cost_usd=Decimal("0.5")
    )
    page = client.get("/").content.decode()
    assert "This month (UTC): $0.7500 spent." in page
    settings.ERKWEB_MONTHLY_BUDGET = Decimal("10")
    assert "This month (UTC): $0.7500 spent of the $10.00 monthly budget." in client.get("/").content.decode()
    settings.ERKWEB_MONTHLY_BUDGET = Decimal("0.75")
    assert "(reached: new runs are refused)" in client.get("/").content.decode()


@pytest.mark.django_db(transaction=True)
def test_erk_run_refuses_a_bad_or_too_small_budget_with_exit_2(docs_root, simulator, capsys):
    from django.core.management import call_command

    for budget, message in (
        ("-1", "--max-cost must be more than 0 dollars"),
        ("1000000", "--max-cost must be less than 1,000,000 dollars"),
        ("0.000001", "is over its budget"),
    ):
        with pytest.raises(SystemExit) as exit_code:
            call_command(
                "erk",
                "run",
                "audit-scan",
                "--docs-root",
                str(docs_root),
                "--model",
                "haiku",
                "--max-cost",
                budget,
            )
        assert exit_code.value.code == 2
        assert message in capsys.readouterr().err
    assert Run.objects.count() == 0
