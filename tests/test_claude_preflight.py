"""Before a run against anything but the simulator exists: the key and each model are checked once, and
a refusal is one clear line at the command line and the form, with nothing created."""

import pytest

from runs.claude import preflight
from runs.models import Run

from .test_erk_command import erk_cmd

pytestmark = pytest.mark.django_db(transaction=True)

BAD_KEY = {
    "type": "error",
    # https://platform.claude.com/docs/en/api/errors: 401 authentication_error, "There's an issue with
    # your API key."
    "error": {"type": "authentication_error", "message": "invalid x-api-key"},
}


@pytest.fixture
def real_ish(proxy, monkeypatch):
    """The simulator behind a proxy that hides it: to erkweb, any other Anthropic-compatible server."""
    preflight.forget()
    proxy.state.hide_simulator = True
    monkeypatch.setenv("ANTHROPIC_BASE_URL", proxy.url)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-good")
    yield proxy
    preflight.forget()


def checks(proxy) -> list[str]:
    return [s.path for s in proxy.state.seen if s.path.startswith("/v1/models") or "count_tokens" in s.path]


def test_a_good_key_and_model_pass_once(real_ish, docs_root):
    code, _out, err = erk_cmd("run", "audit-scan", "--docs-root", str(docs_root), "--model", "haiku")
    assert code == 0, err
    first = checks(real_ish)
    assert first and first[0] == "/v1/models/claude-haiku-5-5"
    # A second run soon after does not ask again.
    erk_cmd("run", "audit-scan", "--docs-root", str(docs_root), "--model", "haiku")
    assert checks(real_ish) == first
    assert Run.objects.count() == 2


def test_a_refused_key_is_one_line_and_nothing_is_created(real_ish, docs_root, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-bad")
    real_ish.state.status_for_key["sk-bad"] = (401, BAD_KEY)
    code, _out, err = erk_cmd("run", "audit-scan", "--docs-root", str(docs_root), "--model", "haiku")
    assert code == 2 and err.count("\n") == 1
    assert err.strip().endswith(
        f"{real_ish.url} refused the key (401 authentication_error: invalid x-api-key): check "
        "ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN"
    )
    assert "sk-bad" not in err and Run.objects.count() == 0


def test_an_endpoint_that_cannot_be_reached(monkeypatch, docs_root):
    preflight.forget()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-good")
    code, _out, err = erk_cmd("run", "audit-scan", "--docs-root", str(docs_root), "--model", "haiku")
    assert code == 2 and "cannot reach http://127.0.0.1:9 (connection failed)" in err
    assert Run.objects.count() == 0


def test_the_form_shows_the_refusal_at_the_model_field(real_ish, docs_root, client, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-bad")
    real_ish.state.status_for_key["sk-bad"] = (401, BAD_KEY)
    response = client.post(
        "/runs/new/", {"operation": "audit-scan", "docs_root": str(docs_root), "agents": 2, "model": "haiku"}
    )
    assert response.status_code == 200 and Run.objects.count() == 0
    assert "refused the key" in response.context["form"].errors["model"][0]


def test_the_simulator_needs_no_preflight(simulator, proxy, docs_root, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", proxy.url)
    code, _, err = erk_cmd("run", "audit-scan", "--docs-root", str(docs_root), "--model", "haiku")
    assert code == 0, err
    assert checks(proxy) == []


def test_with_a_key_the_preview_counts_tokens_with_the_api(real_ish, docs_root, client):
    """count_tokens (https://platform.claude.com/docs/en/build-with-claude/token-counting) is free: the
    preview uses it whenever the run would go to a server that is not the simulator."""
    params = {
        "operation": "audit-scan",
        "docs_root": str(docs_root),
        "agents": 2,
        "model": "haiku",
        "preview": "1",
    }
    body = client.get("/runs/new/", params, headers={"HX-Request": "true"}).content.decode()
    assert "Counted by the API" in body and "An estimate" not in body
    counted = [s for s in real_ish.state.seen if s.path == "/v1/messages/count_tokens"]
    # The shared prefix once, then each batch's docs, as the agent will read them back.
    assert len(counted) >= 3 and counted[0].body.get("system") and counted[0].body.get("tools")
    assert Run.objects.count() == 0


def test_offline_the_preview_is_labelled_an_estimate(simulator, proxy, docs_root, client, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", proxy.url)
    params = {
        "operation": "audit-scan",
        "docs_root": str(docs_root),
        "agents": 2,
        "model": "haiku",
        "preview": "1",
    }
    body = client.get("/runs/new/", params, headers={"HX-Request": "true"}).content.decode()
    assert "An estimate: 3.5 characters a token" in body
    assert not [s for s in proxy.state.seen if "count_tokens" in s.path]


def test_a_count_that_fails_falls_back_to_the_estimate(real_ish, docs_root, client, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-busy")
    busy = {"type": "error", "error": {"type": "rate_limit_error", "message": "Number of requests exceeded"}}
    real_ish.state.status_for_key["sk-busy"] = (429, busy)
    params = {
        "operation": "audit-scan",
        "docs_root": str(docs_root),
        "agents": 2,
        "model": "haiku",
        "preview": "1",
    }
    response = client.get("/runs/new/", params, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "An estimate: 3.5 characters a token" in response.content.decode()
