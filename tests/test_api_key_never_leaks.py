"""The API key is read from the environment when a client is built, and goes nowhere else: not the
database, not the run's files, not a page, not a log line."""

import json
import logging
from datetime import date

import pytest
from django.core import serializers

from runs import engine
from runs.models import Batch, ItemResult, Run, TranscriptEntry
from runs.scratch import run_scratch

pytestmark = pytest.mark.django_db(transaction=True)
KEY = "sk-ant-test-0123456789-never-store-me"


def test_the_key_is_used_but_never_kept(docs_root, sync_tasks, simulator, monkeypatch, client, caplog):
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    caplog.set_level(logging.DEBUG)
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="haiku", agents=2, as_of=date(2026, 11, 28)
    )
    run.refresh_from_db()
    assert run.status == "succeeded", run.error

    everything = serializers.serialize(
        "json",
        [*Run.objects.all(), *Batch.objects.all(), *ItemResult.objects.all(), *TranscriptEntry.objects.all()],
    )
    assert KEY not in everything
    for path in run_scratch(run).rglob("*"):
        if path.is_file():
            assert KEY not in path.read_text(errors="replace"), path
    for url in ("/", f"/runs/{run.run_id}/", f"/runs/{run.run_id}/batches/1/", "/runs/new/"):
        assert KEY not in client.get(url).content.decode(), url
    assert KEY not in json.dumps(client.get(f"/runs/{run.run_id}/export.json").json())
    assert KEY not in caplog.text
