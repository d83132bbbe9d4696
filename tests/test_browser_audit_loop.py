"""The audit loop in a real browser (Debian's Chromium) against the app as `make run` starts it, with
every page watched for Content-Security-Policy violations (tests/test_browser.py's fixtures): a scan's
report, Audit top N, the proposed change as a diff (side by side, and unified at phone width), Apply, a
second scan, and the docs root's chart. The README's screenshots of the loop are taken here."""

import re
import shutil

import pytest
from playwright.sync_api import expect

from .browser import watch_csp
from .test_browser import ROOT, RUN_ENDS, app, browser, csp, page, shot  # noqa: F401  (fixtures)

pytestmark = pytest.mark.browser


SHOTS = ROOT / "test-output" / "screenshots"


def view_shot(tab, name: str, selector: str) -> None:
    """What a user sees with ``selector`` at the top of the window (a full page would be too tall)."""
    tab.evaluate("(s) => document.querySelector(s).scrollIntoView()", selector)
    tab.screenshot(path=str(SHOTS / f"{name}.png"))


def start_scan(tab, base: str, docs) -> None:
    tab.goto(base + "/runs/new/")
    tab.select_option("select[name=operation]", "audit-scan")
    tab.fill("input[name=docs_root]", str(docs))
    tab.select_option("select[name=model]", "local")
    tab.click("button:has-text('Start run')")
    tab.wait_for_url(re.compile(r"/runs/audit-scan-[0-9-]+-[0-9a-f]{4}/$"))
    expect(tab.locator("#run-status")).to_have_text("succeeded", timeout=RUN_ENDS)
    tab.reload()  # the panels are drawn for a finished run's page


def test_from_a_scan_to_applied_audits_to_the_next_scan(page, app, browser, tmp_path):  # noqa: F811
    shutil.copytree(ROOT / "examples", tmp_path / "repo")
    docs = tmp_path / "repo" / "docs" / "learned"
    start_scan(page, app["base"], docs)

    # The scan's page: since the last scan (there is none yet), Audit top N with its estimate, the ranking.
    expect(page.locator("#since-last-scan")).to_be_visible()
    expect(page.locator("#audit-estimate")).to_contain_text("Top 10, estimated: haiku $")
    first_doc = page.locator("table.ranking tbody tr").first.locator("a.path").inner_text()
    # Preview cost is its own GET form: its URL holds the preview's fields, never the CSRF token.
    scan_url = page.url
    page.locator("table.ranking input[type=checkbox]").first.check()
    page.fill("#audit-preview-n", "4")
    page.click("#audit-preview-button")
    page.wait_for_url(re.compile(r"/runs/new/\?"))
    assert "csrfmiddlewaretoken" not in page.url and "doc=" not in page.url and "top=4" in page.url
    expect(page.locator("#preview")).to_contain_text("4 docs to audit")
    page.goto(scan_url)
    page.fill("#audit-top-n", "3")
    page.select_option("#audit-model", "haiku")
    view_shot(page, "audit-from-scan", "#since-last-scan")
    page.click("#audit-top")
    page.wait_for_url(re.compile(r"/runs/audit-doc-[0-9-]+-[0-9a-f]{4}/$"))
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=RUN_ENDS)
    page.reload()
    expect(page.locator("section.doc-audit")).to_have_count(3)
    expect(page.locator("section.doc-audit h2").first).to_have_text(first_doc)

    # The proposed change, side by side at laptop width (the unified listing hidden).
    proposed = page.locator("section.doc-audit.state-ready:has(.doc-diff)").first
    expect(proposed.locator(".diff-split")).to_be_visible()
    expect(proposed.locator(".diff-unified")).to_be_hidden()
    doc = proposed.locator("h2").inner_text()
    section = "#" + (proposed.get_attribute("id") or "")
    view_shot(page, "audit-review", section)

    # At phone width the same diff is one column, and the page does not scroll sideways.
    phone = browser.new_context(viewport={"width": 390, "height": 844})
    violations: list[dict] = []
    watch_csp(phone, violations)
    small = phone.new_page()
    small.goto(page.url)
    diff = small.locator(section)
    expect(diff.locator(".diff-unified")).to_be_visible()
    expect(diff.locator(".diff-split")).to_be_hidden()
    assert small.evaluate("document.documentElement.scrollWidth") <= 390
    view_shot(small, "audit-diff-phone", section + " .doc-diff")
    phone.close()
    assert violations == []

    # Apply that doc: the page says so, the doc is stamped, and it can be reverted.
    before = (docs / doc).read_text()
    proposed.locator("button.apply").click()
    expect(page.locator(".messages li.success")).to_contain_text(f"{doc}: rewritten and stamped")
    applied = page.locator(section)
    expect(applied.locator(".doc-state")).to_contain_text("applied at")
    expect(applied.locator("button.revert")).to_be_visible()
    text = (docs / doc).read_text()
    assert text != before and "audit_result: edited" in text and 'last_audited: "' in text

    # The next scan leaves the applied doc out (audited within 7 days) and says what changed.
    start_scan(page, app["base"], docs)
    expect(page.locator("#since-last-scan")).to_contain_text("Removed (0)")
    expect(page.locator("#since-last-scan")).to_contain_text("Left out as audited (1)")
    expect(page.locator("#since-last-scan")).to_contain_text(doc)

    # The docs root's chart: one bar per scan, drawn by the server.
    page.click("text=These docs over time")
    expect(page.locator("svg.tier-chart g.bar")).to_have_count(2)
    shot(page, "docs-root")
    page.get_by_role("link", name=doc, exact=True).first.click()
    expect(page.locator("#doc-name")).to_have_text(doc)
    expect(page.locator("svg.score-chart circle.dot")).to_have_count(1)
    expect(page.locator("table.doc-audits")).to_contain_text("haiku")
    expect(page.locator("h2:has-text('Applied edits (1)')")).to_be_visible()
    shot(page, "doc-history")
