"""The spend levers in a real browser, against the whole app as `make run` starts it (tests/test_browser.py's
fixtures, and its watch for Content-Security-Policy violations): the preview's agent count and both
modes' figures, a budget refused at the form, and a batch-mode run moved on by the cluster's sweep to
its report, its message batches on the run page."""

import re

import pytest
from playwright.sync_api import expect

from .test_browser import RUN_ENDS, app, browser, csp, fill_new_run, page, shot  # noqa: F401

pytestmark = pytest.mark.browser


def test_a_budget_under_the_estimate_is_refused_at_the_form(page, app):  # noqa: F811
    fill_new_run(page, app, model="haiku")
    page.fill("input[name=max_cost]", "0.000001")
    page.click("button:has-text('Start run')")
    expect(page.locator("body")).to_contain_text(
        re.compile(r"the estimate of this run \(\$[0-9.]+\) is over its budget")
    )
    assert "/runs/new/" in page.url
    shot(page, "budget-refused")


def test_auto_and_batch_mode_from_the_form_to_the_report(page, app):  # noqa: F811
    fill_new_run(page, app, model="haiku", agents="auto")
    preview = page.locator("#preview")
    expect(preview).to_contain_text("auto chose", timeout=10_000)
    expect(page.locator("#mode-figures")).to_contain_text(
        re.compile(r"Live mode: about \$[0-9.]+; batch mode")
    )
    page.select_option("select[name=mode]", "batch")
    shot(page, "new-run-auto-batch")
    page.click("button:has-text('Start run')")
    page.wait_for_url(re.compile(r"/runs/audit-scan-[0-9-]+-[0-9a-f]{4}/$"))
    expect(page.locator("#run-mode")).to_contain_text("batch (Message Batches API, half price)")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=RUN_ENDS)
    expect(page.locator("section.message-batches tbody tr")).to_have_count(4)
    expect(page.locator("#message-batch-1")).to_contain_text("ended")
    shot(page, "run-batch-mode")
