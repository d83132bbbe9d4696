"""audit-doc in the browser's pages: the new-run form and its preview (with the cost estimate), a
posted run, its run page."""

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
