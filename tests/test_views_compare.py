"""`/compare/?a=&b=`: two runs side by side."""

import pytest

from .factories import make_run

pytestmark = pytest.mark.django_db


def test_side_by_side_with_agreement_and_ground_truth(client, tmp_path):
    local = make_run(tmp_path, model="local", items={"a.md": {}, "b.md": {"lines": 250}, "c.md": {}})
    haiku = make_run(
        tmp_path, model="haiku", used_simulator=True, items={"a.md": {}, "b.md": {"lines": 90}, "d.md": {}}
    )
    response = client.get("/compare/", {"a": local.run_id, "b": haiku.run_id})
    body = response.content.decode()
    assert response.status_code == 200
    assert "A (ground truth)" in body and "Accuracy of B against A" in body
    assert 'id="kappa"' in body and 'id="spearman"' in body and 'id="tier-agreement"' in body
    # The disagreeing item comes first and names the signal that differs.
    assert body.index("b.md") < body.index("a.md")
    assert "<code>lines</code> 250 → 90" in body
    assert "Only in A (1)" in body and "c.md" in body and "Only in B (1)" in body and "d.md" in body
    assert "Simulated." in body


def test_only_disagreements_filter(client, tmp_path):
    a = make_run(tmp_path, items={"same.md": {}, "diff.md": {"lines": 300}})
    b = make_run(tmp_path, items={"same.md": {}, "diff.md": {"lines": 20}})
    body = client.get("/compare/", {"a": a.run_id, "b": b.run_id, "only": "disagreements"}).content.decode()
    table = body[body.index('<table class="items-compare">') :]
    assert "diff.md" in table and "same.md" not in table


def test_htmx_fragment(client, tmp_path):
    a, b = make_run(tmp_path), make_run(tmp_path)
    body = client.get(
        "/compare/", {"a": a.run_id, "b": b.run_id}, headers={"HX-Request": "true"}
    ).content.decode()
    assert body.lstrip().startswith('<div id="compare-body"') and "<html" not in body


def test_errors_are_clear(client, tmp_path):
    a = make_run(tmp_path)
    other = make_run(tmp_path, operation="learn", items={})
    response = client.get("/compare/", {"a": a.run_id, "b": "audit-scan-nope"})
    assert response.status_code == 404 and "no run &#x27;audit-scan-nope&#x27;" in response.content.decode()
    response = client.get("/compare/", {"a": a.run_id, "b": other.run_id})
    assert response.status_code == 400 and "different operations" in response.content.decode()
    response = client.get("/compare/")
    assert response.status_code == 400 and "Pick two runs" in response.content.decode()
    assert client.post("/compare/").status_code == 405
