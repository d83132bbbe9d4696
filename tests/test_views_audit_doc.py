"""audit-doc in the browser's pages: the new-run form and its preview (with the cost estimate), a
posted run, its run page."""

import re
from datetime import date

import pytest

from runs import engine
from runs.models import Run

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def scan(docs_root, sync_tasks):
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="local", agents=2, as_of=date.fromisoformat(AS_OF)
    )
    return Run.objects.get(pk=run.pk)


def test_the_form_offers_audit_doc_and_previews_what_it_will_audit(client, scan, docs_root, simulator):
    page = client.get("/runs/new/").content.decode()
    assert '<option value="audit-doc">' in page
    for name in ("from_run", "top", "doc"):
        assert f'name="{name}"' in page
    form = {"operation": "audit-doc", "from_run": scan.run_id, "top": "2", "model": "sonnet", "preview": "1"}
    preview = client.get("/runs/new/", form).content.decode()
    assert '<p id="audit-doc-preview"><strong>2</strong> docs to audit, one agent each' in preview
    assert "$" in preview  # the estimate of what sonnet would cost
    bad = client.get("/runs/new/", {**form, "top": "0"}).content.decode()
    assert "Ensure this value is greater than or equal to 1." in bad


def test_a_posted_run_and_its_page(client, scan, docs_root):
    response = client.post(
        "/runs/new/", {"operation": "audit-doc", "from_run": scan.run_id, "top": "2", "model": "local"}
    )
    run = Run.objects.get(operation="audit-doc")
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.run_id}/"
    assert run.status == "succeeded", run.error
    page = client.get(f"/runs/{run.run_id}/").content.decode()
    assert f'<a href="/runs/{scan.run_id}/">{scan.run_id}</a> (top 2)' in page
    assert "local heuristic (no LLM)" in page
    for doc in run.params["doc"]:
        assert doc in page
    bad = client.post("/runs/new/", {"operation": "audit-doc", "from_run": "nope", "model": "local"})
    assert "no run &#x27;nope&#x27;" in bad.content.decode()
    assert Run.objects.filter(operation="audit-doc").count() == 1


HOSTILE = """---
title: Hostile
---
# Hostile <script>alert(1)</script>

The runner lives in src/acme/cli.py.

## Why <b>not</b>

We keep it because two diverged.

## Gone

See src/acme/gone.py <img src=x onerror=alert(1)>.
"""


@pytest.fixture
def audited(docs_root, sync_tasks):
    (docs_root / "arch/hostile.md").write_text(HOSTILE)
    run = engine.create_run(
        "audit-doc",
        {"docs_root": str(docs_root), "doc": ["arch/hostile.md", "cli/flags.md"]},
        model="local",
        as_of=date.fromisoformat(AS_OF),
    )
    return Run.objects.get(pk=run.pk)


def test_the_run_page_reviews_each_doc_with_its_diff_escaped(client, audited):
    page = client.get(f"/runs/{audited.run_id}/").content.decode()
    assert "<script>alert(1)</script>" not in page and "<img src=x" not in page and "<b>not" not in page
    assert "<td>Why &lt;b&gt;not&lt;/b&gt;</td>" in page  # a section name, in the Sections table
    # The proposed change: the broken path marked, one line changed, in both layouts.
    assert '<td class="dl">See src/acme/gone.py &lt;img src=x onerror=alert(1)&gt;.</td>' in page
    assert (
        '<td class="dr">See src/acme/gone.py (broken path) &lt;img src=x onerror=alert(1)&gt;.</td>' in page
    )
    assert '<span class="d-added">+ See src/acme/gone.py (broken path) &lt;img' in page
    assert page.count('class="primary apply"') == 2 and 'id="apply-all"' in page
    assert "no revision: applying stamps it clean" in page  # flags.md: CONSIDER DELETING


def test_apply_conflict_and_revert_from_the_page(client, audited, docs_root):
    url = f"/runs/{audited.run_id}/audit/"
    assert client.get(url + "apply/").status_code == 405
    (docs_root / "cli/flags.md").write_text("# Flags\n\nChanged by hand.\n")
    response = client.post(url + "apply/", follow=True)  # Apply all verified
    body = response.content.decode()
    assert "arch/hostile.md: rewritten and stamped audit_result: edited" in body
    assert "cli/flags.md changed since the audit: nothing written" in body
    assert (docs_root / "cli/flags.md").read_text() == "# Flags\n\nChanged by hand.\n"
    assert "audit_result: edited" in (docs_root / "arch/hostile.md").read_text()
    assert "changed since the audit: applying it would write nothing" in body
    assert body.count('class="revert"') == 1

    response = client.post(url + "revert/", {"doc": "arch/hostile.md"}, follow=True)
    assert "arch/hostile.md: put back as it was before the audit was applied" in response.content.decode()
    assert (docs_root / "arch/hostile.md").read_text() == HOSTILE


def test_apply_needs_the_csrf_token(audited, docs_root):
    from django.test import Client

    guarded = Client(enforce_csrf_checks=True)
    assert guarded.post(f"/runs/{audited.run_id}/audit/apply/").status_code == 403
    assert (docs_root / "arch/hostile.md").read_text() == HOSTILE


def test_a_scans_page_offers_audit_top_n_with_estimates_and_a_checkbox_per_doc(client, scan, simulator):
    page = client.get(f"/runs/{scan.run_id}/").content.decode()
    assert (
        'value="10" id="audit-top-n"' in page
        and '<option value="local">local heuristic (no LLM, free)' in page
    )
    ranked = sorted(scan.items.all(), key=lambda i: (-i.score, i.position))
    # One checkbox per scanned doc, in the ranking's order.
    order = [page.index(f'name="doc" value="{item.key}"') for item in ranked]
    assert order == sorted(order) and len(order) == scan.items.count()
    assert 'id="audit-estimate">Top 10, estimated: haiku $' in page
    costs = dict(
        re.findall(r"(haiku|sonnet|opus) \$([0-9.]+)", page.split('id="audit-estimate"')[1].split("</p>")[0])
    )
    # Priced per token, the larger models cost more for the same docs.
    assert 0 < float(costs["haiku"]) < float(costs["sonnet"]) < float(costs["opus"])

    response = client.post(f"/runs/{scan.run_id}/audit/start/", {"pick": "top", "top": "2", "model": "local"})
    audit = Run.objects.get(operation="audit-doc")
    assert response["Location"] == f"/runs/{audit.run_id}/"
    assert audit.params["doc"] == [i.key for i in ranked[:2]] and audit.params["from_run"] == scan.run_id

    picked = [ranked[-1].key, ranked[0].key]
    client.post(
        f"/runs/{scan.run_id}/audit/start/", {"pick": "ticked", "doc": picked, "model": "local", "top": "2"}
    )
    assert Run.objects.filter(operation="audit-doc").latest("id").params["doc"] == picked

    refused = client.post(
        f"/runs/{scan.run_id}/audit/start/", {"pick": "top", "top": "0", "model": "local"}, follow=True
    )
    assert "Not started: top must be a whole number &gt;= 1, not 0" in refused.content.decode()
    assert Run.objects.filter(operation="audit-doc").count() == 2


def test_an_audit_runs_page_has_no_audit_panel(client, audited):
    assert 'id="audit-top"' not in client.get(f"/runs/{audited.run_id}/").content.decode()


def test_applied_edits_are_in_the_admin_read_only(client, audited, django_user_model):
    from runs.operations.audit_doc import applying
    from runs.operations.audit_doc.models import AppliedEdit

    applying.apply_run(audited, ["cli/flags.md"])
    admin = django_user_model.objects.create_superuser("admin", "a@example.com", "pw")
    client.force_login(admin)
    listing = client.get("/admin/audit_doc/appliededit/").content.decode()
    assert "cli/flags.md" in listing and audited.run_id in listing
    edit = AppliedEdit.objects.get()
    page = client.get(f"/admin/audit_doc/appliededit/{edit.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert client.get("/admin/audit_doc/appliededit/add/").status_code == 403


def test_a_huge_repetitive_edit_is_drawn_within_the_matching_budget_on_both_pages(client, audited):
    """The reviewer's worst case (5,000 repetitive lines took 109 s to diff) as what an applied edit
    wrote: the run page and the doc's history page both answer with the region shown whole, cut at
    2,000 rows, rather than matching it line by line."""
    from runs.operations.audit_doc.applying import apply_run
    from runs.operations.audit_doc.models import AppliedEdit

    apply_run(audited, ["arch/hostile.md"])
    old = "\n".join(f"line {i % 7}" for i in range(5000)).encode()
    new = "\n".join(f"line {(i * 3) % 11}" for i in range(5000)).encode()
    AppliedEdit.objects.filter(run=audited, doc="arch/hostile.md").update(original=old, written=new)
    note = "too large to match line by line: the changed region is shown whole"
    run_page = client.get(f"/runs/{audited.run_id}/").content.decode()
    assert note in run_page and "(cut at 2,000 rows)" in run_page
    assert run_page.count('<td class="dl">line 1</td>') >= 1
    history = client.get(
        "/docs/history/", {"root": audited.params["docs_root"], "doc": "arch/hostile.md"}
    ).content.decode()
    assert note in history and "(cut at 2,000 rows)" in history
    assert history.count('<tr class="d-changed">') == 1999  # the first line is the same; 1,999 rows follow


def test_preview_cost_is_its_own_get_form_and_its_url_carries_no_csrf_token(client, scan):
    """The scan page's Preview cost: a GET form of its own (HTML's form= attribute names it from inside
    the POST form), so its URL holds what a preview needs and never the CSRF token or the ticked docs."""
    from html.parser import HTMLParser

    class Forms(HTMLParser):
        def __init__(self):
            super().__init__()
            self.forms: dict[str, dict[str, str]] = {}
            self.fields: dict[str, list[tuple[str, str]]] = {}
            self.open: list[str] = []

        def handle_starttag(self, tag, attrs):
            a = dict(attrs)
            if tag == "form":
                name = a.get("id") or a.get("action", "")
                self.forms[name] = a
                self.fields.setdefault(name, [])  # fields naming it with form= may come first
                self.open.append(name)
            elif tag in ("input", "select", "button") and a.get("name"):
                owner = a.get("form") or (self.open[-1] if self.open else "")
                self.fields.setdefault(owner, []).append((a["name"], a.get("value", "")))

        def handle_endtag(self, tag):
            if tag == "form" and self.open:
                self.open.pop()

    page = client.get(f"/runs/{scan.run_id}/").content.decode()
    parsed = Forms()
    parsed.feed(page)
    preview = parsed.forms["audit-preview"]
    assert (preview["method"], preview["action"]) == ("get", "/runs/new/")
    names = [name for name, _ in parsed.fields["audit-preview"]]
    assert sorted(names) == ["from_run", "model", "operation", "preview", "top"]
    # The POST form keeps the token and the checkboxes; none of them is the preview's.
    start = parsed.fields[f"/runs/{scan.run_id}/audit/start/"]
    assert "csrfmiddlewaretoken" in [n for n, _ in start] and "doc" in [n for n, _ in start]
    # What a browser submits: the preview form's fields (N and the model as a user sets them).
    query = dict(parsed.fields["audit-preview"]) | {"top": "3", "model": "local"}
    assert query == {
        "operation": "audit-doc",
        "from_run": scan.run_id,
        "preview": "1",
        "top": "3",
        "model": "local",
    }
    response = client.get("/runs/new/", query)
    assert response.status_code == 200 and "csrfmiddlewaretoken" not in response.request["QUERY_STRING"]
    assert "3 docs to audit, one agent each" in " ".join(
        re.sub(r"<[^>]+>", " ", response.content.decode()).split()
    )


def test_a_cut_ranking_says_so_and_the_report_above_links_the_docs_it_leaves_out(client, scan, monkeypatch):
    from runs.operations.audit_doc import from_scan

    monkeypatch.setattr(from_scan, "MAX_DOCS", 2)  # the scan has more docs than that
    ranked = sorted(scan.items.all(), key=lambda i: (-i.score, i.position))
    assert len(ranked) > 2
    page = client.get(f"/runs/{scan.run_id}/").content.decode()
    report, panel = page.split('id="audit-docs"')
    assert (
        "The ranking shows the first 2 (an audit takes at most 2); every doc of the report above links"
        in panel
    )
    assert panel.count('name="doc" value=') == 2
    # A doc left out of the ranking is a link in the report, by hand: root and doc URL-encoded.
    left_out = ranked[-1].key
    href = "/docs/history/?root={}&amp;doc={}".format(
        *(s.replace("/", "%2F") for s in (scan.params["docs_root"], left_out))
    )
    assert f'<a class="path" href="{href}">{left_out}</a>' in report and href not in panel


def test_an_uncut_ranking_says_nothing_of_a_cut(client, scan):
    assert 'id="ranking-cut"' not in client.get(f"/runs/{scan.run_id}/").content.decode()
