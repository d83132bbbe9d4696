"""Where a run's models are reached: recorded when the run is created, used by every batch whatever its
worker's environment, credentials sent only where they belong, and never a secret in a stored URL."""

import json
import logging
from datetime import date

import pytest
from django.conf import settings

from runs import engine, queue
from runs.claude.endpoint import (
    REAL_API_URL,
    SIMULATOR_PLACEHOLDER_KEY,
    Endpoint,
    EndpointUnavailable,
    endpoint_for_run,
    make_client,
    redact_url,
    resolve_endpoint,
)
from runs.models import BatchStatus, Run, RunStatus
from runs.scratch import run_scratch

from .conftest import AS_OF


def test_credentials_in_a_url_are_redacted():
    assert redact_url("https://user:s3cret@proxy.example:8443/anthropic/?key=abc&team=x") == (
        "https://[redacted]@proxy.example:8443/anthropic?key=[redacted]&team=[redacted]"
    )
    assert redact_url("https://token@proxy.example") == "https://[redacted]@proxy.example"
    assert redact_url("https://api.anthropic.com") == "https://api.anthropic.com"
    assert redact_url("http://127.0.0.1:8765/") == "http://127.0.0.1:8765"


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_where_a_new_run_goes(clean_env, simulator, proxy):
    clean_env.delenv("ANTHROPIC_BASE_URL")
    assert resolve_endpoint() == Endpoint(settings.ERKWEB_SIMULATOR_URL, simulator=True)
    # The SDK's bearer token is a credential too: the real API, not the simulator.
    clean_env.setenv("ANTHROPIC_AUTH_TOKEN", "tok-1")
    assert resolve_endpoint() == Endpoint(REAL_API_URL, simulator=False)
    clean_env.setenv("ANTHROPIC_BASE_URL", simulator.url)
    assert resolve_endpoint() == Endpoint(simulator.url, simulator=True)
    proxy.state.hide_simulator = True
    clean_env.setenv("ANTHROPIC_BASE_URL", proxy.url)
    assert resolve_endpoint() == Endpoint(proxy.url, simulator=False)


def test_a_worker_uses_the_recorded_endpoint_or_says_why_it_cannot(clean_env):
    with pytest.raises(
        EndpointUnavailable, match=r"uses the real API \(https://api.anthropic.com\) and this worker has no"
    ):
        endpoint_for_run(REAL_API_URL, simulator=False)
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-1")
    clean_env.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # this worker's own setting: ignored
    assert endpoint_for_run(REAL_API_URL, simulator=False) == Endpoint(REAL_API_URL, simulator=False)
    assert endpoint_for_run("http://127.0.0.1:8765", simulator=True) == Endpoint(
        "http://127.0.0.1:8765", True
    )
    # A recorded URL that carried credentials: only the worker's own matching URL gives them back.
    recorded = "https://[redacted]@proxy.example"
    with pytest.raises(EndpointUnavailable, match="carries credentials"):
        endpoint_for_run(recorded, simulator=False)
    clean_env.setenv("ANTHROPIC_BASE_URL", "https://u:pw@proxy.example")
    assert endpoint_for_run(recorded, simulator=False).url == "https://u:pw@proxy.example"


def auth_seen(proxy) -> set[str]:
    return {
        seen.headers.get("authorization", "") for seen in proxy.state.seen if seen.path.startswith("/v1/")
    }


def test_the_placeholder_key_goes_only_to_the_simulator(clean_env, proxy):
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-real-key")
    client = make_client(Endpoint(proxy.url, simulator=True))
    client.messages.count_tokens(model="claude-haiku-5-5", messages=[{"role": "user", "content": "hi"}])
    assert auth_seen(proxy) == {f"Bearer {SIMULATOR_PLACEHOLDER_KEY}"}, (
        "the real key never reaches a simulator"
    )

    proxy.state.seen.clear()
    clean_env.delenv("ANTHROPIC_API_KEY")
    clean_env.setenv("ANTHROPIC_AUTH_TOKEN", "tok-1")
    client = make_client(Endpoint(proxy.url, simulator=False))
    client.messages.count_tokens(model="claude-haiku-5-5", messages=[{"role": "user", "content": "hi"}])
    assert auth_seen(proxy) == {"Bearer tok-1"}
    clean_env.delenv("ANTHROPIC_AUTH_TOKEN")
    with pytest.raises(EndpointUnavailable, match="no ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN"):
        make_client(Endpoint(proxy.url, simulator=False))


# --- through the engine -------------------------------------------------------------------------
def created_not_started(docs_root, monkeypatch, model="haiku") -> Run:
    """A run created (and its endpoint recorded) whose batches no worker has taken yet: their tasks
    are held back (the engine's enqueueing, runs/queue.py)."""
    monkeypatch.setattr(queue, "send", lambda batch: None)
    run = engine.create_run(
        "audit-scan",
        {"docs_root": str(docs_root)},
        model=model,
        agents=2,
        as_of=date.fromisoformat(AS_OF),
    )
    run = Run.objects.get(pk=run.pk)
    assert (run.status, run.current_stage) == (RunStatus.RUNNING, 1)
    assert set(run.batches.values_list("status", flat=True)) == {"pending"}
    return run


def work(run: Run) -> Run:
    """What a worker does with each of the run's tasks."""
    for batch in run.batches.order_by("index"):
        engine.execute_batch(batch.pk)
    return Run.objects.get(pk=run.pk)


@pytest.mark.django_db(transaction=True)
def test_a_run_on_the_simulator_stays_on_it_whatever_the_worker_says(docs_root, clean_env, simulator, proxy):
    clean_env.setenv("ANTHROPIC_BASE_URL", proxy.url)  # the proxy passes the simulator's health through
    run = created_not_started(docs_root, clean_env)
    assert run.used_simulator and run.api_base_url == proxy.url
    # The worker's environment now says: the real API, with a key.
    clean_env.delenv("ANTHROPIC_BASE_URL")
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-real-key")
    run = work(run)
    assert run.status == RunStatus.SUCCEEDED, run.error
    assert proxy.state.messages() and auth_seen(proxy) == {f"Bearer {SIMULATOR_PLACEHOLDER_KEY}"}


@pytest.mark.django_db(transaction=True)
def test_a_worker_without_the_runs_credential_fails_the_batch_with_that_reason(docs_root, clean_env, proxy):
    proxy.state.hide_simulator = True  # "any other base URL": it needs a credential
    clean_env.setenv("ANTHROPIC_BASE_URL", proxy.url)
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-1")
    run = created_not_started(docs_root, clean_env)
    assert not run.used_simulator and run.api_base_url == proxy.url
    clean_env.delenv("ANTHROPIC_API_KEY")
    run = work(run)
    assert run.status == RunStatus.FAILED
    reasons = {b.failure_reason for b in run.batches.all()}
    assert reasons == {
        f"this run uses a base URL that is not the simulator ({proxy.url}) and this worker has no "
        "ANTHROPIC_API_KEY or ANTHROPIC_AUTH_TOKEN"
    }
    assert {b.status for b in run.batches.all()} == {BatchStatus.FAILED}


@pytest.mark.django_db(transaction=True)
def test_a_base_url_with_credentials_is_never_stored_or_shown(docs_root, clean_env, proxy, client, caplog):
    proxy.state.hide_simulator = True
    proxy.state.basic_auth = "erk:s3cret-pass"  # a gateway that only answers with these credentials
    secret_url = proxy.url.replace("http://", "http://erk:s3cret-pass@")
    clean_env.setenv("ANTHROPIC_BASE_URL", secret_url)
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-1")
    caplog.set_level(logging.DEBUG)
    run = work(created_not_started(docs_root, clean_env))
    assert run.status == RunStatus.SUCCEEDED, run.error
    shown = proxy.url.replace("http://", "http://[redacted]@")
    assert run.api_base_url == shown and run.manifest["api_base_url"] == shown
    manifest_file = (run_scratch(run) / "manifest.json").read_text()
    assert json.loads(manifest_file)["api_base_url"] == shown
    page = (
        client.get(f"/runs/{run.run_id}/").content.decode()
        + client.get(f"/runs/{run.run_id}/batches/1/").content.decode()
    )
    everything = [
        manifest_file,
        page,
        caplog.text,
        json.dumps(run.manifest),
        repr(list(run.batches.values())),
    ]
    assert not any("s3cret-pass" in text for text in everything)
    # The worker used the full URL from its environment: the gateway saw its credentials on every call.
    assert proxy.state.messages() and all(
        s.headers["authorization"].startswith("Basic ") for s in proxy.state.messages()
    )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("variable", ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"])
def test_a_credential_is_sent_and_kept_nowhere(
    docs_root, clean_env, proxy, client, caplog, variable, sync_tasks
):
    from django.core import serializers

    from runs.claude import preflight
    from runs.models import Batch, ItemResult, TranscriptEntry

    secret = "sk-ant-test-0123456789-never-store-me"
    preflight.forget()
    proxy.state.hide_simulator = True
    clean_env.setenv("ANTHROPIC_BASE_URL", proxy.url)
    clean_env.setenv(variable, secret)
    caplog.set_level(logging.DEBUG)
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="haiku", agents=2, as_of=date.fromisoformat(AS_OF)
    )
    run = Run.objects.get(pk=run.pk)
    assert run.status == RunStatus.SUCCEEDED and not run.used_simulator, run.error
    assert auth_seen(proxy) == {f"Bearer {secret}"}, "sent, and only it"
    kept = serializers.serialize(
        "json",
        [*Run.objects.all(), *Batch.objects.all(), *ItemResult.objects.all(), *TranscriptEntry.objects.all()],
    )
    files = [p.read_text(errors="replace") for p in run_scratch(run).rglob("*") if p.is_file()]
    pages = [
        client.get(url).content.decode()
        for url in ("/", f"/runs/{run.run_id}/", f"/runs/{run.run_id}/batches/1/", "/runs/new/")
    ]
    assert not any(secret in text for text in [kept, *files, *pages, caplog.text])
    preflight.forget()
