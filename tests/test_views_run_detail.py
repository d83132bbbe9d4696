"""`/runs/<id>/` and its actions: live fragment, report, cancel, retry, export."""

import csv
import io
import json

import pytest

from runs import engine
from runs.models import Run, TranscriptEntry
from runs.summary import run_json

from .conftest import AS_OF
from .factories import make_run

pytestmark = pytest.mark.django_db(transaction=True)


def test_finished_run_shows_report_tiers_and_totals(client, tmp_path):
    run = make_run(
        tmp_path, report="# Doc Audit Scan Results\n\n| Doc | Score |\n| --- | ---: |\n| a.md | 3 |\n"
    )
    response = client.get(f"/runs/{run.run_id}/")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<strong id="run-status" class="status status-succeeded">succeeded</strong>' in body
    # The report, rendered from markdown; its doc names link to their history (test_report_links.py).
    assert "<table>" in body and ">a.md</a></td>" in body
    assert 'class="tier-card' in body and "hx-trigger" not in body  # finished: no polling
    assert "Export:" in body and f"/runs/{run.run_id}/export.csv" in body


def test_running_run_polls_every_second_and_htmx_gets_the_fragment(client, tmp_path):
    run = make_run(tmp_path, status="running")
    page = client.get(f"/runs/{run.run_id}/").content.decode()
    assert 'hx-trigger="every 1s"' in page and '<meta http-equiv="refresh"' in page
    assert "Cancel run" in page
    fragment = client.get(f"/runs/{run.run_id}/", headers={"HX-Request": "true"}).content.decode()
    assert fragment.lstrip().startswith('<div id="run-body"') and "<html" not in fragment
    assert 'id="run-status"' in fragment and "running" in fragment


def test_the_page_says_which_prices_the_run_was_costed_with(client, docs_root, sync_tasks, simulator):
    run = engine.create_run(
        "audit-scan",
        {"docs_root": str(docs_root)},
        model="haiku",
        agents=2,
        as_of=__import__("datetime").date(2026, 11, 28),
    )
    body = client.get(f"/runs/{run.run_id}/").content.decode()
    assert (
        "Costed with: claude-haiku-5-5: input $0.1, output $0.5, cache write $0.125, cache read $0.01" in body
    )
    assert "5 times that for a request over 100,000 tokens" in body


def test_a_running_run_with_no_worker_cluster_says_so(client, tmp_path, monkeypatch):
    from runs import views

    run = make_run(tmp_path, status="running")
    monkeypatch.setattr(views, "cluster_alive", lambda: False)
    assert "No worker cluster is running" in client.get(f"/runs/{run.run_id}/").content.decode()
    monkeypatch.setattr(views, "cluster_alive", lambda: True)
    assert "No worker cluster is running" not in client.get(f"/runs/{run.run_id}/").content.decode()
    finished = make_run(tmp_path)
    monkeypatch.setattr(views, "cluster_alive", lambda: False)
    assert "No worker cluster is running" not in client.get(f"/runs/{finished.run_id}/").content.decode()


def test_simulator_banner(client, tmp_path):
    run = make_run(tmp_path, model="haiku", used_simulator=True)
    assert "Simulated run." in client.get(f"/runs/{run.run_id}/").content.decode()
    plain = make_run(tmp_path, model="local")
    assert "Simulated run." not in client.get(f"/runs/{plain.run_id}/").content.decode()


def test_report_from_an_agent_is_shown_inert(client, tmp_path):
    evil = (
        "# Report\n\n<script>alert('x')</script>\n\n[click](javascript:alert(1))\n\n"
        '<img src=x onerror="alert(2)">\n\n<a href="JaVaScRiPt:alert(3)" onclick="alert(4)">y</a>\n'
    )
    run = make_run(tmp_path, report=evil)
    body = client.get(f"/runs/{run.run_id}/").content.decode()
    article = body[body.index('<article class="report markdown">') :]
    article = article[: article.index("</article>")]
    assert "<script" not in article and "onerror" not in article and "onclick" not in article
    assert "javascript:" not in article.lower()
    assert ">click<" in article  # the text survives, the link target does not


def test_unknown_run_is_404(client):
    assert client.get("/runs/audit-scan-nope/").status_code == 404
    assert client.post("/runs/audit-scan-nope/cancel/").status_code == 404
    assert client.get("/runs/audit-scan-nope/export.md").status_code == 404


def test_cancel(client, tmp_path):
    run = make_run(tmp_path, status="running")
    assert client.get(f"/runs/{run.run_id}/cancel/").status_code == 405
    response = client.post(f"/runs/{run.run_id}/cancel/")
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.run_id}/"
    assert Run.objects.get(pk=run.pk).status == "cancelled"
    follow = client.post(f"/runs/{run.run_id}/cancel/", follow=True).content.decode()
    assert "only a pending or running run can be cancelled" in follow


def test_retry_failed_batches_from_the_page(client, docs_root, sync_tasks, simulator):
    simulator.set_rules([{"behaviour": "malformed-file", "batch": 1, "times": 1}])
    run = engine.create_run(
        "audit-scan",
        {"docs_root": str(docs_root)},
        model="haiku",
        agents=2,
        as_of=__import__("datetime").date(2026, 11, 28),
    )
    page = client.get(f"/runs/{run.run_id}/").content.decode()
    assert "Retry failed batches" in page and "block 2: lines is not a whole number" in page
    assert client.get(f"/runs/{run.run_id}/retry/").status_code == 405
    response = client.post(f"/runs/{run.run_id}/retry/")
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == "succeeded"
    assert {b.index: b.attempts for b in run.batches.all()} == {1: 2, 2: 1}
    again = client.post(f"/runs/{run.run_id}/retry/", follow=True).content.decode()
    assert "no failed batches to retry" in again


def test_exports(client, tmp_path):
    run = make_run(tmp_path, items={"a.md": {}, "=cmd.md": {"lines": 300}})
    md = client.get(f"/runs/{run.run_id}/export.md")
    assert md["Content-Type"].startswith("text/markdown") and md.content.decode() == run.report
    as_json = client.get(f"/runs/{run.run_id}/export.json")
    assert as_json["Content-Type"] == "application/json" and json.loads(as_json.content) == run_json(run)
    as_csv = client.get(f"/runs/{run.run_id}/export.csv")
    assert as_csv["Content-Type"].startswith("text/csv") and "attachment" in as_csv["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(as_csv.content.decode())))
    assert [r["path"] for r in rows] == ["a.md", "'=cmd.md"]
    assert rows[1]["lines"] == "300" and rows[0]["tier"]
    assert client.get(f"/runs/{run.run_id}/export.xml").status_code == 404
    assert client.post(f"/runs/{run.run_id}/export.md").status_code == 405


def test_batch_page_shows_items_output_escaped_and_transcript(client, tmp_path):
    run = make_run(tmp_path, status="failed")
    batch = run.batches.get()
    # What verification kept of the file it rejected (the page never reads a failed batch's scratch file).
    batch.rejected_output = "path: <script>alert(1)</script>\nlines: x\n"
    entries = [
        {"role": "system", "text": "# erkweb agent: audit-scan"},
        {"role": "user", "content": [{"type": "text", "text": "erkweb run x, batch 1 of 1."}]},
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Reading the docs.", "signature": "s"},
                {"type": "tool_use", "id": "t1", "name": "read_file", "input": {"path": "a.md"}},
                {
                    "type": "tool_use",
                    "id": "t2",
                    "name": "write_file",
                    "input": {"path": "/o.md", "content": "path: a.md\nlines: 3\n"},
                },
            ],
            "stop_reason": "tool_use",
            "usage": {"input_tokens": 1, "output_tokens": 2, "cache_write_tokens": 3, "cache_read_tokens": 4},
            "seconds": 0.5,
        },
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "line\n" * 40}]},
    ]
    batch.save()
    TranscriptEntry.objects.bulk_create(
        TranscriptEntry(batch=batch, attempt=1, sequence=n, role=e["role"], content=e)
        for n, e in enumerate(entries, start=1)
    )
    response = client.get(f"/runs/{run.run_id}/batches/1/")
    body = response.content.decode()
    assert response.status_code == 200
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "<script>alert(1)" not in body
    assert "Failed: empty file" in body
    assert "read_file" in body and "Reading the docs." in body
    assert "path: /o.md\ncontent:\npath: a.md\nlines: 3" in body  # written content shown as text, not JSON
    assert "<details><summary>40 lines" in body  # the long tool result is folded
    assert "a.md" in body
    assert client.get(f"/runs/{run.run_id}/batches/9/").status_code == 404
    assert client.post(f"/runs/{run.run_id}/batches/1/").status_code == 405


def test_run_page_of_a_real_local_run(client, docs_root, sync_tasks):
    run = engine.create_run(
        "audit-scan",
        {"docs_root": str(docs_root)},
        model="local",
        agents=2,
        as_of=__import__("datetime").date.fromisoformat(AS_OF),
    )
    body = client.get(f"/runs/{run.run_id}/").content.decode()
    assert "Doc Audit Scan Results" in body and "2/2 batches verified" in body and "5/5 items" in body


def test_the_run_page_and_its_poll_read_only_what_they_show(
    client, docs_root, sync_tasks, simulator, django_assert_max_num_queries
):
    """The poll (every second while a run goes on) loads no transcript, no output, no manifest: a fixed
    handful of queries whatever the number of batches, none of them touching those columns."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run = engine.create_run(
        "audit-scan",
        {"docs_root": str(docs_root)},
        model="haiku",
        agents=3,
        as_of=__import__("datetime").date.fromisoformat(AS_OF),
    )
    assert TranscriptEntry.objects.filter(batch__run=run).count() > 0
    run.batches.update(status="running")
    Run.objects.filter(pk=run.pk).update(status="running", finished_at=None)
    # The run, its batches, the runs to compare with, whether a cluster is running.
    with CaptureQueriesContext(connection) as polled:
        response = client.get(f"/runs/{run.run_id}/", headers={"HX-Request": "true"})
    assert len(polled.captured_queries) <= 4, [q["sql"] for q in polled.captured_queries]
    assert "0/3 batches verified" in response.content.decode()
    assert not any("transcriptentry" in q["sql"] for q in polled.captured_queries)
    assert {"manifest", "report", "summary"} <= response.context["run"].get_deferred_fields()
    for batch in response.context["batches"]:
        assert {"inputs", "rejected_output"} <= batch.get_deferred_fields()
    # However many batches: the same queries for a run of five.
    bigger = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="local", agents=5, as_of=run.created_at.date()
    )
    bigger.batches.update(status="running")
    Run.objects.filter(pk=bigger.pk).update(status="running", finished_at=None)
    with django_assert_max_num_queries(len(polled.captured_queries)):
        body = client.get(f"/runs/{bigger.run_id}/", headers={"HX-Request": "true"}).content.decode()
    assert "0/5 batches verified" in body
