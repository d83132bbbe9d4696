"""`/runs/new/`: the form, its preview, its errors, and what a valid post creates."""

import pytest

from runs.models import Run

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


def form_data(root, **overrides):
    data = {
        "operation": "audit-scan",
        "docs_root": str(root),
        "agents": "2",
        "model": "local",
        "as_of": AS_OF,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_defaults_need_no_typing(client, settings, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    body = client.get("/runs/new/").content.decode()
    assert str(settings.BASE_DIR / "examples" / "docs" / "learned") in body
    assert '<option value="local" selected>' in body
    for name in ("operation", "docs_root", "repo_root", "category", "agents", "model", "compare_model"):
        assert f'name="{name}"' in body


def test_default_model_is_haiku_with_a_key(client, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-not-used")
    body = client.get("/runs/new/").content.decode()
    assert '<option value="haiku" selected>' in body
    assert "sk-test-not-used" not in body


def test_valid_post_creates_the_run_and_redirects_to_it(client, docs_root, sync_tasks):
    response = client.post("/runs/new/", form_data(docs_root))
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.run_id}/"
    assert run.status == "succeeded" and run.agents == 2 and run.params["as_of"] == AS_OF


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"docs_root": "/nonexistent/docs"}, "docs_root", "does not exist"),
        ({"agents": "0"}, "agents", "greater than or equal to 1"),
        ({"category": "nope"}, "category", "nope"),
        ({"compare_model": "local"}, "compare_model", "pick a different model"),
        ({"model": "haiku"}, "model", "no simulator answers"),
        ({"as_of": "2026-02-31"}, "as_of", "valid date"),
    ],
)
def test_invalid_input_shows_the_error_next_to_the_field_and_creates_nothing(
    client, docs_root, overrides, field, message
):
    response = client.post("/runs/new/", form_data(docs_root, **overrides))
    assert response.status_code == 200
    body = response.content.decode()
    error_start = body.index(f'id="{field}-error"')
    assert message in body[error_start : error_start + 300]
    assert Run.objects.count() == 0


def test_compare_model_launches_two_runs_on_the_same_items_and_opens_the_comparison(
    client, docs_root, sync_tasks, simulator
):
    response = client.post(
        "/runs/new/", form_data(docs_root, model="haiku", compare_model="local", agents="3")
    )
    haiku, local = Run.objects.get(model="haiku"), Run.objects.get(model="local")
    assert response.status_code == 302
    assert response["Location"] == f"/compare/?a={haiku.run_id}&b={local.run_id}"
    assert haiku.manifest["partition"] == local.manifest["partition"]
    assert haiku.status == local.status == "succeeded"


def test_preview_counts_and_estimates(client, docs_root, simulator):
    response = client.get(
        "/runs/new/", {**form_data(docs_root, model="haiku", compare_model="local"), "preview": "1"},
        headers={"HX-Request": "true"},
    )  # fmt: skip
    body = response.content.decode()
    assert (
        response.status_code == 200
        and "<html" not in body
        and body.lstrip().startswith('<section id="preview"')
    )
    assert "<strong>5</strong> docs scanned" in body and "<strong>1</strong> skipped" in body
    assert "2 batches of 3, 2 docs" in body
    assert "input tokens" in body and "An estimate" in body and "local</strong>: no LLM" in body
    assert Run.objects.count() == 0


def test_preview_without_javascript_renders_the_whole_page(client, docs_root):
    body = client.get("/runs/new/", {**form_data(docs_root), "preview": "1"}).content.decode()
    assert "<html" in body and "docs scanned" in body


def test_preview_of_bad_input_says_what_to_fix(client, docs_root):
    body = client.get(
        "/runs/new/",
        {**form_data(docs_root, docs_root="/nope"), "preview": "1"},
        headers={"HX-Request": "true"},
    ).content.decode()
    assert "does not exist" in body


def test_wrong_method(client):
    assert client.put("/runs/new/").status_code == 405
