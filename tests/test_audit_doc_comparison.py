"""Two audit-doc runs compared (the heuristic against the simulator's weaker model, which misreads its
doc's largest section and misses a finding): verdict agreement, kappa, agreement per section category,
the findings only one side found; on the page, in JSON and as text."""

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from runs import engine
from runs.compare import compare_runs, comparison_json
from runs.models import Run

pytestmark = pytest.mark.django_db(transaction=True)

# As tests/test_simulator_audit_doc.py works it out: (intro) 2 lines, Story 6, Paths 2 (its path is
# broken). Local: CONTEXTUAL, CONTEXTUAL, INACCURATE, bad 20%: NEEDS UPDATE. The weaker model reads
# Story as DUPLICATIVE and misses the broken path: bad 80% with a good section: REPLACE WITH CODE REFS.
NOTES = "# Notes\n\n## Story\na\nb\nc\nd\n\n## Paths\nSee src/gone.py for it.\n"


@pytest.fixture
def pair(tmp_path, sync_tasks, simulator):
    repo = tmp_path / "repo"
    (repo / "docs").mkdir(parents=True)
    (repo / "docs" / "notes.md").write_text(NOTES)
    params = {"docs_root": str(repo / "docs"), "repo_root": str(repo), "doc": ["notes.md"]}
    local = engine.create_run("audit-doc", params, model="local", as_of=date(2026, 11, 28))
    simulator.set_rules([{"behaviour": "miscount", "model": "haiku"}])
    haiku = engine.create_run("audit-doc", params, model="haiku", as_of=date(2026, 11, 28))
    local, haiku = Run.objects.get(pk=local.pk), Run.objects.get(pk=haiku.pk)
    assert local.status == haiku.status == "succeeded", (local.error, haiku.error)
    return local, haiku


def test_the_weaker_model_disagrees_where_it_was_made_to(pair):
    local, haiku = pair
    data = comparison_json(compare_runs(local.run_id, haiku.run_id))
    assert data["verdict_agreement"] == 0.0
    # One doc, two different verdicts: p_o = 0 and p_e = 0, so kappa = 0.
    assert data["kappa"] == 0.0
    # Section pairs: (CONTEXTUAL, CONTEXTUAL), (CONTEXTUAL, DUPLICATIVE), (INACCURATE, INACCURATE).
    assert data["categories"] == {
        "DUPLICATIVE": {"either": 1, "both": 0, "agreement": 0.0},
        "INACCURATE": {"either": 1, "both": 1, "agreement": 1.0},
        "CONTEXTUAL": {"either": 2, "both": 1, "agreement": 0.5},
    }
    [doc] = data["docs"]
    assert (doc["verdict_a"], doc["verdict_b"]) == ("NEEDS UPDATE", "REPLACE WITH CODE REFS")
    assert doc["findings_only_a"] == ["BROKEN path src/gone.py"] and doc["findings_only_b"] == []


def test_the_comparison_page_and_erk_compare(client, pair):
    local, haiku = pair
    page = client.get("/compare/", {"a": local.run_id, "b": haiku.run_id}).content.decode()
    assert '<dd id="verdict-agreement">0%</dd>' in page and '<dd id="kappa">0.000</dd>' in page
    assert "A: <code>BROKEN path src/gone.py</code>" in page
    assert '<td>CONTEXTUAL</td><td class="num">2</td><td class="num">1</td><td class="num">50%</td>' in page
    out = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("erk", "compare", local.run_id, haiku.run_id, "--json", stdout=out)
    assert exit_info.value.code == 0 and json.loads(out.getvalue())["kappa"] == 0.0


def test_the_comparison_page_links_each_doc_to_its_history(client, pair, tmp_path):
    local, _haiku = pair
    docs = tmp_path / "repo" / "docs"
    (docs / "more.md").write_text("# More\n\nSee src/gone.py too.\n")
    params = {"docs_root": str(docs), "repo_root": str(tmp_path / "repo"), "doc": ["notes.md", "more.md"]}
    wider = engine.create_run("audit-doc", params, model="local", as_of=date(2026, 11, 28))
    page = client.get("/compare/", {"a": local.run_id, "b": wider.run_id}).content.decode()
    # Worked out by hand: the root and the doc URL-encoded ("/" is %2F), & escaped in the attribute.
    root = str(docs).replace("/", "%2F")
    assert f'<td class="path"><a href="/docs/history/?root={root}&amp;doc=notes.md">notes.md</a></td>' in page
    assert f'<li class="path"><a href="/docs/history/?root={root}&amp;doc=more.md">more.md</a></li>' in page
    assert "(B's root)" not in page  # both runs audited the same docs root
