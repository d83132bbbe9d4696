"""learn in the pages: the form's learn fields, the stage graph, and the comparison of two learn runs."""

import pytest

from runs.models import Run

from .learn_fixtures import TITLE, make_learn_repo

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def learn_form(tmp_path):
    made = make_learn_repo(tmp_path)
    return {
        "operation": "learn",
        "title": TITLE,
        "repo_root": str(made["repo"]),
        "sessions": f"{made['sessions']}\n",
        "comments": str(made["comments"]),
        "model": "local",
    }


def test_the_form_offers_learn_and_its_fields(client):
    body = client.get("/runs/new/").content.decode()
    assert '<option value="learn">' in body
    for name in ("title", "range", "sessions", "comments", "stage_model_1", "stage_model_4"):
        assert f'name="{name}"' in body


def test_preview_of_a_learn_run(client, learn_form):
    body = client.get(
        "/runs/new/", {**learn_form, "preview": "1"}, headers={"HX-Request": "true"}
    ).content.decode()
    assert "7 agents over 4 stages" in body and "1 session-analyzer" in body and "retry, budget" in body
    assert Run.objects.count() == 0


def test_post_a_learn_run_and_see_its_stages(client, learn_form, sync_tasks):
    response = client.post("/runs/new/", {**learn_form, "stage_model_4": "local"})
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.run_id}/"
    assert run.status == "succeeded"
    # The folder given was resolved to its session files, without the sub-agent's log.
    assert [p.rsplit("/", 1)[1] for p in run.params["sessions"]] == [
        "5f0c2a9e-1111-4c4c-9d9d-0123456789ab.jsonl",
        "9a9a9a9a-2222-4d4d-8e8e-ba9876543210.jsonl",
    ]
    body = client.get(f"/runs/{run.run_id}/").content.decode()
    assert body.count('class="stage-col"') == 4 and body.count("agent-box st-verified") == 7
    assert "<h3>Stage 1: analysers</h3>" in body and "<h3>Stage 4: tripwire extractor</h3>" in body
    assert f"Documentation Plan: {TITLE}" in body and "Tripwire Candidates" in body
    # In the history, a learn run counts its tripwire candidates and documentation items.
    history = client.get("/").content.decode()
    row = history[history.index(run.run_id) :]
    row = row[: row.index("</tr>")]
    assert f'<td class="num">{run.items.count()}</td>' in row and run.items.count() > 0


def test_learn_input_errors_go_next_to_their_field(client, learn_form, tmp_path):
    (tmp_path / "plain").mkdir()
    for change, field in (
        ({"title": ""}, "title"),
        ({"repo_root": str(tmp_path / "plain")}, "repo_root"),
        ({"range": "nope..HEAD"}, "range"),
        ({"sessions": str(tmp_path / "none")}, "sessions"),
    ):
        body = client.post("/runs/new/", {**learn_form, **change}).content.decode()
        assert f'id="{field}-error"' in body, field
    assert Run.objects.count() == 0


def test_compare_two_learn_runs(client, learn_form, sync_tasks):
    client.post("/runs/new/", {**learn_form, "compare_model": "local"})  # refused: the same model
    assert Run.objects.count() == 0
    response = client.post("/runs/new/", learn_form)
    first = Run.objects.get()
    response = client.post("/runs/new/", learn_form)
    second = Run.objects.exclude(pk=first.pk).get()
    response = client.get("/compare/", {"a": first.run_id, "b": second.run_id})
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="jaccard">100%' in body and "Documentation items by priority" in body
    assert body.count(f"Documentation Plan: {TITLE}") >= 2
    audit = client.get("/compare/", {"a": first.run_id, "b": "audit-scan-nope"})
    assert audit.status_code == 404
