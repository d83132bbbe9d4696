"""Following docs over time (runs/operations/audit_doc/history.py, the /docs/ pages, erk history): two
scans of one docs root with docs changed, added and removed between them, an audit and an applied edit;
what changed is worked out from the scans' own item rows, and the pages' queries do not grow with the
number of scans."""

import json
import re
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from runs import engine
from runs.models import Run
from runs.operations.audit_doc import applying, history

pytestmark = pytest.mark.django_db(transaction=True)
AS_OF = date(2026, 11, 28)
# Many broken paths and behavioural claims: enough to raise a doc's score by several tiers.
WORSE = "# Flags\n\n" + "".join(f"See src/gone_{n}.py. It always returns.\n" for n in range(12))


def scan(docs_root, as_of: date = AS_OF) -> Run:
    run = engine.create_run("audit-scan", {"docs_root": str(docs_root)}, model="local", agents=2, as_of=as_of)
    run = Run.objects.get(pk=run.pk)
    assert run.status == "succeeded", run.error
    return run


def tiers(run) -> dict[str, str]:
    return dict(run.items.values_list("key", "group"))


@pytest.fixture
def story(docs_root, sync_tasks):
    first = scan(docs_root)
    (docs_root / "cli/flags.md").write_text(WORSE)
    (docs_root / "arch/new.md").write_text("# New\n\nA new doc.\n")
    (docs_root / "testing/steps.md").unlink()
    second = scan(docs_root)
    audit = engine.create_run(
        "audit-doc", {"from_run": second.run_id, "doc": ["cli/flags.md"]}, model="local", as_of=AS_OF
    )
    audit = Run.objects.get(pk=audit.pk)
    [outcome] = applying.apply_run(audit, ["cli/flags.md"])
    assert outcome.done, outcome.message
    return first, second, audit


def test_since_the_previous_scan_from_the_scans_own_rows(story):
    first, second, _audit = story
    before, after = tiers(first), tiers(second)
    assert before["cli/flags.md"] != after["cli/flags.md"], "the worse doc moved tier"
    changes = history.since_previous(second)
    assert changes.previous == first.run_id
    assert changes.new == ["arch/new.md"] and changes.removed == ["testing/steps.md"]
    order = ["HIGH", "MODERATE", "LOW", "SKIP"]
    moved = {doc for doc in after if doc in before and before[doc] != after[doc]}
    assert {m.doc for m in changes.up} | {m.doc for m in changes.down} == moved
    for m in changes.up:
        assert order.index(after[m.doc]) < order.index(before[m.doc])
    assert "cli/flags.md" in {m.doc for m in changes.up}
    assert history.since_previous(first).previous is None


def test_a_doc_left_out_as_audited_is_neither_removed_nor_new_when_it_comes_back(client, story, docs_root):
    _first, second, _audit = story
    # cli/flags.md was applied (stamped last_audited today): the next scan leaves it out for 7 days.
    third = scan(docs_root)
    assert "cli/flags.md" in third.summary["excluded_paths"]
    changes = history.since_previous(third)
    assert changes.previous == second.run_id
    assert changes.audited == ["cli/flags.md"] and changes.removed == [] and changes.new == []
    # In January both audits are old (flags.md's of today, and recent.md's of 2026-11-25 from the
    # fixture): they are scanned again, back after an audit, not new.
    fourth = scan(docs_root, as_of=date(2027, 1, 15))
    assert fourth.summary["excluded_paths"] == []
    changes = history.since_previous(fourth)
    assert sorted(changes.back) == ["cli/flags.md", "cli/recent.md"]
    assert changes.new == [] and changes.audited == [] and changes.removed == []
    page = client.get(history.root_url(str(docs_root))).content.decode()
    assert "Back after an audit (2)" in page and "Removed (0)" in page and "New (0)" in page


def test_a_docs_story(story, docs_root):
    first, second, audit = story
    found = history.doc_history(str(docs_root), "cli/flags.md")
    assert [s.run_id for s in found.scans] == [first.run_id, second.run_id]
    a, b = (run.items.get(key="cli/flags.md") for run in (first, second))
    assert [(s.score, s.tier) for s in found.scans] == [(a.score, a.group), (b.score, b.group)]
    expected = {k for k in b.data if k != "path" and a.data.get(k) != b.data[k]}
    assert {name for name, _x, _y in found.scans[1].changed} == expected and "broken_paths" in expected
    [audited] = found.audits
    assert (audited.run_id, audited.heuristic) == (audit.run_id, True)
    assert audited.verdict == audit.items.get().group
    [edit] = found.edits
    assert edit.run_id == audit.run_id and edit.diff.added >= 2  # the stamp's two lines at least


def test_the_pages(client, story, docs_root):
    first, second, audit = story
    root = str(docs_root)
    page = client.get("/docs/history/", {"root": root, "doc": "cli/flags.md"}).content.decode()
    assert page.count('<circle class="dot"') == 2 and "<polyline" in page
    for run in (first, second, audit):
        assert f'href="/runs/{run.run_id}/"' in page
    assert "audit_result" in page and "local heuristic" in page
    root_page = client.get("/docs/", {"root": root}).content.decode()
    assert root_page.count('<g class="bar">') == 2
    # Each bar's segments say their scan's tier counts (the stored counts, worked out here from the rows).
    for tier in ("HIGH", "MODERATE", "LOW", "SKIP"):
        n = sum(1 for t in tiers(second).values() if t == tier)
        if n:
            assert f"{second.created_at:%Y-%m-%d %H:%M}: {n} {tier}</title>" in root_page
    # The links' literal form, worked out by hand: the tmp root holds only [A-Za-z0-9_./-], so URL-encoding
    # it turns each "/" into %2F and nothing else; the & is escaped in the attribute.
    assert re.fullmatch(r"[A-Za-z0-9_./-]+", root)
    enc_root = root.replace("/", "%2F")
    flags_href = f'href="/docs/history/?root={enc_root}&amp;doc=cli%2Fflags.md"'
    assert "Up a tier" in root_page and flags_href in root_page
    # The scan's page says what changed since the scan before it, each doc linking to its history.
    scan_page = client.get(f"/runs/{second.run_id}/").content.decode()
    new_href = f'href="/docs/history/?root={enc_root}&amp;doc=arch%2Fnew.md"'
    assert 'id="since-last-scan"' in scan_page and new_href in scan_page
    # The history list links each scan's docs root to its page.
    listing = client.get("/").content.decode()
    assert f'href="/docs/?root={enc_root}"' in listing
    assert client.get("/docs/", {"root": "/nowhere"}).status_code == 404
    assert client.get("/docs/history/", {"root": root}).status_code == 400
    assert root in client.get("/docs/").content.decode()


def test_the_queries_do_not_grow_with_the_scans(client, story, docs_root):
    root = str(docs_root)

    def queries(url, params):
        with CaptureQueriesContext(connection) as seen:
            assert client.get(url, params).status_code == 200
        return len(seen)

    doc_before = queries("/docs/history/", {"root": root, "doc": "cli/flags.md"})
    root_before = queries("/docs/", {"root": root})
    for _ in range(3):
        scan(docs_root)
    assert queries("/docs/history/", {"root": root, "doc": "cli/flags.md"}) == doc_before
    assert queries("/docs/", {"root": root}) == root_before


def test_erk_history_prints_what_the_pages_show(story, docs_root):
    first, second, audit = story

    def erk(*args):
        out = StringIO()
        with pytest.raises(SystemExit) as exit_info:
            call_command("erk", "history", *args, stdout=out, stderr=StringIO())
        return exit_info.value.code, out.getvalue()

    code, out = erk("--docs-root", str(docs_root), "--json")
    data = json.loads(out)
    assert code == 0 and [s["run_id"] for s in data["scans"]] == [first.run_id, second.run_id]
    assert data["since_previous"]["new"] == ["arch/new.md"]
    code, out = erk("--docs-root", str(docs_root), "--doc", "cli/flags.md", "--json")
    data = json.loads(out)
    assert code == 0 and len(data["scans"]) == 2 and data["audits"][0]["run_id"] == audit.run_id
    assert data["edits"][0]["result"] in ("edited", "clean")
    code, out = erk("--docs-root", str(docs_root), "--doc", "cli/flags.md")
    assert code == 0 and out.startswith(f"cli/flags.md in {docs_root}")
    code, _ = erk("--docs-root", "/nowhere")
    assert code == 2


def test_the_history_urls_are_the_root_and_the_doc_url_encoded():
    # By hand: "/" is %2F, a space +, "&" %26, as a form's GET would send them.
    assert (
        history.doc_url("/srv/my docs", "a b/c&d.md")
        == "/docs/history/?root=%2Fsrv%2Fmy+docs&doc=a+b%2Fc%26d.md"
    )
    assert history.root_url("/srv/docs") == "/docs/?root=%2Fsrv%2Fdocs"
