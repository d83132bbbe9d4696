"""`/`: every run, newest first, 50 a page, filtered and searched, with an htmx fragment."""

import pytest

from .factories import make_run

pytestmark = pytest.mark.django_db


def test_lists_runs_newest_first_with_their_figures(client, tmp_path):
    old = make_run(tmp_path, model="local")
    new = make_run(tmp_path, model="haiku", used_simulator=True)
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index(new.run_id) < body.index(old.run_id)
    assert "<html" in body and 'name="a"' in body and 'name="b"' in body
    assert "$0.0123" in body and "sim" in body


def test_filters_and_search(client, tmp_path):
    local = make_run(tmp_path, model="local")
    haiku = make_run(tmp_path, model="haiku", status="failed")
    body = client.get("/", {"model": "haiku"}).content.decode()
    assert haiku.run_id in body and local.run_id not in body
    body = client.get("/", {"status": "succeeded"}).content.decode()
    assert local.run_id in body and haiku.run_id not in body
    body = client.get("/", {"q": haiku.run_id[-4:]}).content.decode()
    assert haiku.run_id in body and local.run_id not in body
    body = client.get("/", {"q": str(tmp_path / "docs")}).content.decode()
    assert haiku.run_id in body and local.run_id in body
    body = client.get("/", {"operation": "learn"}).content.decode()
    assert "No run matches these filters" in body


def test_htmx_request_gets_only_the_list(client, tmp_path):
    run = make_run(tmp_path)
    response = client.get("/", {"q": run.run_id}, headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="run-list">') and "<html" not in body and run.run_id in body


def test_fifty_a_page(client, tmp_path):
    runs = [make_run(tmp_path, items={}) for _ in range(51)]
    first = client.get("/").content.decode()
    assert runs[-1].run_id in first and runs[0].run_id not in first
    assert "page 1 of 2 (51 runs)" in first
    second = client.get("/", {"page": 2}).content.decode()
    assert runs[0].run_id in second and runs[-1].run_id not in second


def test_wrong_method(client):
    assert client.post("/").status_code == 405
