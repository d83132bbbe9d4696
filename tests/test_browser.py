"""The pages in a real browser (Debian's Chromium driven by Playwright) against the whole app as
`make run` starts it: `manage.py up` with its web server, worker cluster and simulator as subprocesses.

Every page is watched for Content-Security-Policy violations (the policy is settings.SECURE_CSP): each
test fails if the browser reports one, as a `securitypolicyviolation` event or on the console, unless
the test provoked it on purpose and checks it. Screenshots of every page go to test-output/screenshots/.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from .browser import CHROMIUM, CHROMIUM_FLAGS, watch_csp
from .conftest import SMALL_TREE, write_docs
from .learn_fixtures import TITLE, make_learn_repo

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "screenshots"
RUN_ENDS = 60_000  # ms
SIMULATOR_RULE = "miscount:model=opus"  # given to `manage.py up`, kept by every test

pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, timeout: float = 60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"`manage.py up` exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout} s")


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The app as `make run` starts it, stopped by SIGINT (Ctrl-C) afterwards."""
    work = tmp_path_factory.mktemp("browser")
    web_port, sim_port = free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "DJANGO_SETTINGS"))}
    env.update(
        ERKWEB_DATA_DIR=str(work / "data"),
        ERKWEB_SIMULATOR_URL=f"http://127.0.0.1:{sim_port}",
        ERKWEB_PORT=str(web_port),
        ERKWEB_WORKERS="4",
        ERKWEB_LOG_LEVEL="WARNING",
    )
    log = (work / "up.log").open("w")
    proc = subprocess.Popen(
        # The simulator's opus miscounts (see the README): a comparison with something to show.
        [sys.executable, str(ROOT / "manage.py"), "up", "--simulator-rule", SIMULATOR_RULE],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{web_port}"
    try:
        wait_for_http(base + "/", proc)
        yield {
            "base": base,
            "sim": env["ERKWEB_SIMULATOR_URL"],
            "docs": write_docs(work / "repo", SMALL_TREE),
            "learn": make_learn_repo(work / "learn"),
            "env": env,
            "log": work / "up.log",
        }
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            assert proc.wait(timeout=40) == 0, "Ctrl-C stops everything cleanly"
        finally:
            if proc.poll() is None:
                proc.kill()
            log.close()
    assert "erkweb stopped." in (work / "up.log").read_text()


@pytest.fixture(scope="module")
def browser():
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def csp() -> list[dict]:
    """The CSP violations the test's pages reported: none, or the test fails (a test that provokes one
    checks it and clears the list)."""
    return []


@pytest.fixture
def page(browser, csp):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    watch_csp(context, csp)
    yield context.new_page()
    context.close()
    assert csp == [], f"Content-Security-Policy violations: {csp}"


def set_rules(app, rules):
    """Replace the simulator's rules with ``rules``, keeping the one `manage.py up` was started with."""
    request = urllib.request.Request(
        app["sim"] + "/_simulator/rules",
        data=json.dumps({"rules": [SIMULATOR_RULE, *rules]}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    urllib.request.urlopen(request, timeout=5).close()


def shot(page, name: str):
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def fill_new_run(page, app, *, model: str, agents: str = "2", compare_model: str = ""):
    page.goto(app["base"] + "/runs/new/")
    page.fill("input[name=docs_root]", str(app["docs"] / "docs" / "learned"))
    page.fill("input[name=agents]", agents)
    page.select_option("select[name=model]", model)
    if compare_model:
        page.select_option("select[name=compare_model]", compare_model)


def mark_page(page):
    """A marker that a full reload would wipe: proves the page updated itself in place."""
    page.evaluate("window.__noReload = true")


def still_same_page(page) -> bool:
    return page.evaluate("window.__noReload === true")


def test_launch_a_run_and_watch_it_to_the_report(page, app):
    # Every request takes 300 ms, so the run lasts long enough to be watched.
    set_rules(app, [{"behaviour": "slow", "latency_ms": 300}])
    fill_new_run(page, app, model="haiku")
    expect(page.locator("#preview")).to_contain_text("5 docs scanned", timeout=10_000)
    expect(page.locator("#preview")).to_contain_text("1 skipped")
    expect(page.locator("#preview")).to_contain_text("2 batches of 3, 2 docs")
    shot(page, "new-run-preview")
    page.click("button:has-text('Start run')")
    page.wait_for_url(re.compile(r"/runs/audit-scan-[0-9-]+-[0-9a-f]{4}/$"))
    mark_page(page)
    expect(page.locator("#run-status")).to_have_text(re.compile("pending|running"))
    shot(page, "run-in-progress")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=RUN_ENDS)
    expect(page.locator("article.report")).to_contain_text("Doc Audit Scan Results")
    expect(page.locator("#run-progress")).to_have_attribute("value", "2")
    assert still_same_page(page), "the report appeared without a reload"
    expect(page.locator(".banner.simulator")).to_be_visible()
    shot(page, "run-finished")
    set_rules(app, [])

    page.click("table.batches a >> text='1'")
    expect(page.locator("h1")).to_contain_text("Batch 1")
    expect(page.locator("ol.transcript")).to_contain_text("read_file")
    shot(page, "batch")


def test_form_errors_are_shown_next_to_the_field(page, app):
    fill_new_run(page, app, model="local")
    page.fill("input[name=docs_root]", "/nonexistent/docs")
    page.click("button:has-text('Start run')")
    expect(page.locator("#docs_root-error")).to_contain_text("does not exist")
    shot(page, "new-run-error")


def test_launch_haiku_and_sonnet_together_and_land_on_the_comparison(page, app):
    fill_new_run(page, app, model="haiku", compare_model="sonnet", agents="3")
    page.click("button:has-text('Start run')")
    page.wait_for_url(re.compile(r"/compare/\?a=audit-scan-.*&b=audit-scan-"))
    expect(page.locator("table.compare-head")).to_contain_text("claude-haiku-5-5")
    expect(page.locator("table.compare-head")).to_contain_text("claude-sonnet-5-5")
    expect(page.locator("#kappa")).to_have_text("1.000", timeout=RUN_ENDS)
    expect(page.locator("#tier-agreement")).to_have_text("100%")
    expect(page.locator("table.items-compare tbody tr")).to_have_count(5)
    shot(page, "compare")


def test_a_comparison_shows_where_a_weaker_model_disagrees(page, app):
    fill_new_run(page, app, model="local", compare_model="opus")
    page.click("button:has-text('Start run')")
    page.wait_for_url(re.compile(r"/compare/\?a=audit-scan-.*&b=audit-scan-"))
    expect(page.locator("table.compare-head")).to_contain_text("A (ground truth)")
    expect(page.locator("table.items-compare tr.disagree").first).to_be_visible(timeout=RUN_ENDS)
    expect(page.locator("table.signals")).to_contain_text("Accuracy of B against A")
    page.click("#only-disagreements")
    expect(page.locator("table.items-compare tr.agree")).to_have_count(0)
    expect(page.locator("table.items-compare .diff").first).to_be_visible()
    shot(page, "compare-disagreements")


def test_a_failed_batch_is_retried_from_the_page(page, app):
    set_rules(app, [{"behaviour": "empty-file", "batch": 1, "times": 1}])
    fill_new_run(page, app, model="haiku")
    page.click("button:has-text('Start run')")
    expect(page.locator("#run-status")).to_have_text("failed", timeout=RUN_ENDS)
    expect(page.locator("#batch-1")).to_contain_text("empty file")
    expect(page.locator(".error-box")).to_contain_text("1 batch failed (1): batch 1: empty file")
    shot(page, "run-failed")
    page.click("button:has-text('Retry failed batches')")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=RUN_ENDS)
    expect(page.locator("#batch-1")).to_contain_text("verified")
    shot(page, "run-retried")


def test_filter_the_history(page, app):
    fill_new_run(page, app, model="local")
    page.click("button:has-text('Start run')")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=RUN_ENDS)
    local_run = page.locator("h1.run-id").inner_text()

    page.goto(app["base"] + "/")
    mark_page(page)
    rows = page.locator("table.runs tbody tr")
    assert rows.count() >= 4
    page.select_option("select[name=model]", "local")
    expect(rows.filter(has_text=local_run)).to_have_count(1)
    expect(rows.filter(has_text="haiku")).to_have_count(0)
    page.select_option("select[name=model]", "")
    page.fill("input[name=q]", local_run[-4:])
    expect(rows).to_have_count(1)
    page.fill("input[name=q]", "no-such-run")
    expect(page.locator("table.runs")).to_contain_text("No run matches these filters")
    assert still_same_page(page), "the list updated without a reload"
    assert "q=no-such-run" in page.url, "the filters are in the address, so the view can be shared"
    page.fill("input[name=q]", "")
    expect(rows.first).to_contain_text(local_run)
    shot(page, "history")


def test_learn_from_the_page_with_its_stages_and_a_comparison(page, app):
    learn = app["learn"]
    page.goto(app["base"] + "/runs/new/")
    page.select_option("select[name=operation]", "learn")
    expect(page.locator("fieldset.op-audit-scan")).to_be_hidden()
    page.fill("input[name=docs_root]", "")
    page.fill("input[name=title]", TITLE)
    page.fill("input[name=repo_root]", str(learn["repo"]))
    page.fill("textarea[name=sessions]", str(learn["sessions"]))
    page.fill("input[name=comments]", str(learn["comments"]))
    page.select_option("select[name=model]", "haiku")
    page.select_option("select[name=compare_model]", "sonnet")
    page.select_option("select[name=stage_model_3]", "opus")
    expect(page.locator("#preview")).to_contain_text("7 agents over 4 stages", timeout=10_000)
    shot(page, "learn-new-run")
    page.click("button:has-text('Start run')")
    page.wait_for_url(re.compile(r"/compare/\?a=learn-.*&b=learn-"))
    expect(page.locator("#jaccard")).to_have_text(re.compile(r"^\d+%$"), timeout=RUN_ENDS)
    expect(page.locator(".plans article").first).to_contain_text(
        f"Documentation Plan: {TITLE}", timeout=RUN_ENDS
    )
    shot(page, "learn-compare")

    page.locator("table.compare-head a").first.click()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    graph = page.locator(".stage-graph")
    expect(graph.locator(".stage-col")).to_have_count(4)
    expect(graph.locator(".agent-box.st-verified")).to_have_count(7)
    expect(graph).to_contain_text("tripwire-extractor")
    expect(page.locator("article.report")).to_contain_text("Tripwire Candidates")
    shot(page, "learn-run")


def test_pages_at_phone_width(browser, app):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    violations: list[dict] = []
    watch_csp(context, violations)
    page = context.new_page()
    page.goto(app["base"] + "/")
    shot(page, "history-phone")
    # The history at phone width: each run a card, what it was about readable without scrolling sideways.
    assert page.evaluate("document.querySelector('table.runs').scrollWidth") <= 390
    what = page.locator("table.runs tbody .what").first
    expect(what).to_be_visible()
    box = what.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    page.locator("table.runs tbody a").first.click()
    expect(page.locator("#run-status")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, "no sideways scrolling of the whole page on a phone"
    shot(page, "run-phone")
    context.close()
    assert violations == []


def wait_for_log(app, text: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        log = app["log"].read_text()
        if text in log:
            return log
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not in the app's log")


def test_the_policy_blocks_inline_script_and_eval_and_logs_the_report_without_its_payload(page, app, csp):
    """The second wall on its own: markup that got past sanitising would still not run.

    What the policy refuses and how a browser reports it: https://www.w3.org/TR/CSP3/ ("script-src",
    "Violation reports"); Django's support: https://docs.djangoproject.com/en/6.1/ref/csp/
    """
    page.goto(app["base"] + "/runs/new/")
    expect(page.locator("h1")).to_have_text("New run")
    page.evaluate(
        """() => {
        document.body.insertAdjacentHTML("beforeend", '<img src="data:," onerror="window.__ran = 1">');
        const script = document.createElement("script");
        script.textContent = "window.__ran = 2";
        document.body.appendChild(script);
        setTimeout("window.__ran = 3", 0);
    }"""
    )
    page.wait_for_timeout(300)
    assert page.evaluate("window.__ran") is None, "nothing ran"
    blocked = {(v["directive"], v["blocked"]) for v in csp if "directive" in v}
    assert blocked == {("script-src-attr", "inline"), ("script-src-elem", "inline"), ("script-src", "eval")}
    log = wait_for_log(app, 'CSP violation: directive="script-src" blocked="eval"')
    page_url = app["base"] + "/runs/new/"
    assert f'CSP violation: directive="script-src-attr" blocked="inline" page="{page_url}"' in log
    assert f'CSP violation: directive="script-src-elem" blocked="inline" page="{page_url}"' in log
    assert "__ran" not in log, "the report's payload is not logged"
    csp.clear()  # provoked and checked


def test_the_admin_works_under_the_policy(page, app):
    env = {**app["env"], "DJANGO_SUPERUSER_PASSWORD": "a-long-test-password"}
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "createsuperuser", "--noinput", "--username", "admin",
         "--email", "admin@example.invalid"],
        env=env, check=True, capture_output=True,
    )  # fmt: skip
    fill_new_run(page, app, model="local")
    page.click("button:has-text('Start run')")
    expect(page.locator("#run-status")).to_have_text("succeeded", timeout=RUN_ENDS)
    run_id = page.locator("h1.run-id").inner_text()

    page.goto(app["base"] + "/admin/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "a-long-test-password")
    page.click("input[type=submit]")
    expect(page.locator("#site-name")).to_be_visible()
    page.goto(app["base"] + "/admin/runs/run/")
    page.click(f"text={run_id}")
    expect(page.locator("#content h2, #content h1").first).to_be_visible()
    shot(page, "admin-run")
    page.goto(app["base"] + "/admin/runs/batch/")
    page.locator("#result_list tbody a").first.click()
    expect(page.locator("form")).not_to_have_count(0)
    page.goto(app["base"] + "/admin/django_q/success/")
    expect(page.locator("#changelist")).to_be_visible()
    # The date and time widgets and the calendar are the admin's most script-heavy parts.
    page.goto(app["base"] + "/admin/django_q/schedule/add/")
    page.locator(".datetimeshortcuts a").first.click()
    page.locator("[id^=calendarlink]").first.click()
    expect(page.locator(".calendarbox").first).to_be_visible()
    shot(page, "admin-schedule")
    page.goto(app["base"] + "/admin/auth/user/add/")
    expect(page.locator("input[name=username]")).to_be_visible()


HOSTILE_BODY = """---
title: <script>window.__pwned = "title"</script>
---

# Hostile <script>window.__pwned = "heading"</script>

<img src="data:," onerror="window.__pwned = 'img onerror'">
<svg onload="window.__pwned = 'svg onload'"><circle r="1"/></svg>
<iframe srcdoc="<script>parent.__pwned = 'iframe'</script>"></iframe>
<object data="data:text/html,<script>parent.__pwned='object'</script>"></object>
<base href="http://127.0.0.1:9/">
<style>body { display: none }</style>
<p style="color: red" onclick="window.__pwned = 'onclick'">styled</p>
<form action="http://127.0.0.1:9/"><button>send</button></form>
<a href="javascript:window.__pwned = 'raw link'">raw link</a>
[a markdown link](javascript:window.__pwned='markdown link')
"""
HOSTILE_NAMES = [
    "<img src=x onerror=window.__pwned=1>.md",
    "[click](javascript:window.__pwned=2).md",
    "<svg onload=window.__pwned=3>.md",
]
# What a page must not hold, whatever it shows: markup that runs or restyles.
ACTIVE_MARKUP = """() => {
  const found = [];
  for (const el of document.querySelectorAll("*")) {
    for (const attr of el.attributes) {
      if (/^on/i.test(attr.name)) found.push(`${el.tagName} ${attr.name}`);
      if (/^\\s*javascript:/i.test(attr.value)) found.push(`${el.tagName} ${attr.name}=javascript:`);
    }
    if (el.hasAttribute("style")) found.push(`${el.tagName} style`);
  }
  const embedded = "iframe, object, embed, base, style, svg, img, form[action^=http]";
  for (const el of document.querySelectorAll(embedded)) found.push(el.tagName);
  for (const el of document.querySelectorAll("script"))
    if (!el.src.startsWith(location.origin + "/static/")) found.push("inline script");
  return found;
}"""


def test_hostile_agent_output_runs_nowhere_and_breaks_no_rule(page, app, tmp_path):
    """Docs that hold inline scripts, event handlers and javascript: links, in their names and their
    text, through a whole run: the agent reads them (transcript), writes their names (batch file,
    report) and a comparison lists them. Sanitising and escaping take all of it out, so nothing runs
    and the policy has nothing to block: the `page` fixture asserts that no violation was reported."""
    docs = tmp_path / "repo" / "docs" / "learned"
    write_docs(
        docs, {"hostile/body.md": HOSTILE_BODY, **{f"hostile/{n}": HOSTILE_BODY for n in HOSTILE_NAMES}}
    )
    page.goto(app["base"] + "/runs/new/")
    page.fill("input[name=docs_root]", str(docs))
    page.fill("input[name=agents]", "2")
    page.select_option("select[name=model]", "haiku")
    page.select_option("select[name=compare_model]", "local")
    expect(page.locator("#preview")).to_contain_text("4 docs scanned", timeout=10_000)
    page.click("button:has-text('Start run')")
    page.wait_for_url(re.compile(r"/compare/\?a=audit-scan-.*&b=audit-scan-"))
    expect(page.locator("#kappa")).to_have_text("1.000", timeout=RUN_ENDS)
    expect(page.locator("table.items-compare")).to_contain_text(HOSTILE_NAMES[0])
    assert page.evaluate(ACTIVE_MARKUP) == []

    page.locator("table.compare-head a").first.click()
    expect(page.locator("#run-status")).to_have_text("succeeded")
    expect(page.locator("article.report")).to_contain_text("Doc Audit Scan Results")
    assert page.evaluate(ACTIVE_MARKUP) == []
    for link in page.locator("article.report a").all():
        assert not (link.get_attribute("href") or "").lower().startswith("javascript")
    shot(page, "hostile-run")

    page.click("table.batches a >> text='1'")
    expect(page.locator("ol.transcript")).to_contain_text('<script>window.__pwned = "heading"</script>')
    expect(page.locator("ol.inputs")).to_contain_text("hostile/")
    expect(page.locator("pre.output")).to_contain_text("path: hostile/")
    assert page.evaluate(ACTIVE_MARKUP) == []
    page.locator("ol.transcript .kind-tool_result details summary").first.click()
    expect(page.locator("ol.transcript .kind-tool_result details pre").first).to_contain_text(
        "<a href=\"javascript:window.__pwned = 'raw link'\">raw link</a>"
    )
    shot(page, "hostile-batch")
    run_url = page.url.split("batches/")[0]
    page.goto(run_url + "export.json")  # shown inline, under the policy too
    expect(page.locator("body")).to_contain_text(HOSTILE_NAMES[0])
    assert page.evaluate(ACTIVE_MARKUP) == []
    assert page.evaluate("window.__pwned") is None, "nothing ran"


def test_a_preview_of_a_huge_folder_answers_at_once_with_what_to_do(page, app, tmp_path):
    huge = tmp_path / "huge"
    for f in range(25):
        (huge / f"pkg{f}").mkdir(parents=True)
        for n in range(1000):
            (huge / f"pkg{f}" / f"file{n}.so").touch()
    page.goto(app["base"] + "/runs/new/")
    mark_page(page)
    started = time.monotonic()
    page.fill("input[name=docs_root]", str(huge))
    expect(page.locator("#preview")).to_contain_text(
        f"More than 20,000 files under {huge}: pick the docs folder itself", timeout=3_400
    )
    assert time.monotonic() - started < 3.4, "within 3 s of the preview's request (sent 0.4 s after typing)"
    assert still_same_page(page)
    shot(page, "new-run-huge-folder")
