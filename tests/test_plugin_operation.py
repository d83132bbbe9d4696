"""A third operation is one package plus one line of ``ERKWEB_OPERATIONS``: the test-only word-count
(tests/wordcount/) goes through the form, a run on ``local`` and one on the simulator, verification, the
report, a comparison of the two, the three exports, the history and the command line, and no module
of erkweb names it.

The expected counts are worked out by hand from the texts below (words are runs between white space).
"""

import csv
import io
import json
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from runs.models import Run, RunStatus

pytestmark = pytest.mark.django_db(transaction=True)

WORD_COUNT = "tests.wordcount.operation.WordCount"
TEXTS = {
    "a.txt": "one two three",  # 3 words: SHORT
    "notes/b.txt": "alpha beta\ngamma delta epsilon zeta eta theta iota kappa lambda",  # 11: LONG
    "c.txt": "",  # 0 words: SHORT
    "skip.md": "not a text file, so not counted",
}
WORDS = {"a.txt": 3, "c.txt": 0, "notes/b.txt": 11}


@pytest.fixture
def texts(tmp_path):
    root = tmp_path / "texts"
    for rel, content in TEXTS.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(content)
    return root


@pytest.fixture
def with_word_count():
    with override_settings(ERKWEB_OPERATIONS=[*settings.ERKWEB_OPERATIONS, WORD_COUNT]):
        yield


def form(texts, **fields) -> dict:
    return {"operation": "word-count", "texts_root": str(texts), "agents": "2", "model": "local", **fields}


def test_unregistered_it_is_unknown(client, texts):
    body = client.post("/runs/new/", form(texts)).content.decode()
    assert "Select a valid choice. word-count is not one of the available choices." in body
    assert 'value="word-count"' not in body and not Run.objects.exists()


@pytest.mark.usefixtures("with_word_count", "sync_tasks", "simulator")
def test_the_whole_stack(client, texts):
    # The form: its own field, in its own fieldset, shown only when it is chosen.
    page = client.get("/runs/new/").content.decode()
    assert '<option value="word-count">Word count (test-only)</option>' in page
    assert 'fieldset class="op-fields op-word-count"' in page and 'name="texts_root"' in page
    css = client.get("/runs/operations.css").content.decode()
    assert 'option[value="word-count"]:checked) fieldset.op-fields:not(.op-word-count)' in css
    preview = client.get("/runs/new/", {**form(texts), "preview": "1"}).content.decode()
    assert '<p id="word-count-preview"><strong>3</strong> text files in 2 batches.</p>' in preview
    bad = client.post("/runs/new/", form(texts, texts_root=str(texts / "nope"))).content.decode()
    assert "is not a folder" in bad and not Run.objects.exists()

    # Two runs, local and the simulator's haiku, compared side by side.
    response = client.post("/runs/new/", form(texts, compare_model="haiku"))
    assert response.status_code == 302 and response["Location"].startswith("/compare/?a=word-count-")
    local, haiku = Run.objects.order_by("id")
    for run in (local, haiku):
        assert run.status == RunStatus.SUCCEEDED, run.error
        assert {item.key: item.score for item in run.items.all()} == WORDS
        assert {item.key: item.group for item in run.items.all()} == {
            "a.txt": "SHORT",
            "c.txt": "SHORT",
            "notes/b.txt": "LONG",
        }
        assert sorted(b.status for b in run.batches.all()) == ["verified", "verified"]
    assert haiku.used_simulator and haiku.batches.filter(turns__gt=0).count() == 2

    compare = client.get(response["Location"]).content.decode()
    assert '<p id="word-count-compare">Counted alike: 3 files (100%).</p>' in compare

    # The run page: its facts and its report.
    run_page = client.get(f"/runs/{local.run_id}/").content.decode()
    assert f'<dd class="path" id="texts-root">{texts}</dd>' in run_page
    assert "<p>3 files, 14 words.</p>" in run_page
    assert '<div class="group-card"><span class="count">1</span><span>LONG</span></div>' in run_page

    # The exports: the report, the run as JSON, the operation's own CSV columns.
    assert client.get(f"/runs/{local.run_id}/export.md").content.decode() == local.report
    data = json.loads(client.get(f"/runs/{local.run_id}/export.json").content)
    assert data["operation"] == "word-count"
    assert {key: item["score"] for key, item in data["items"].items()} == WORDS
    rows = list(csv.reader(io.StringIO(client.get(f"/runs/{local.run_id}/export.csv").content.decode())))
    assert rows == [
        ["run_id", "file", "words", "length"],
        [local.run_id, "a.txt", "3", "short"],
        [local.run_id, "c.txt", "0", "short"],
        [local.run_id, "notes/b.txt", "11", "long"],
    ]

    # The history: what was scanned, and its groups; searchable by its folder.
    history = client.get("/", {"q": str(texts)}).content.decode()
    row = history[history.index(local.run_id) :]
    row = row[: row.index("</tr>")]
    assert f'<span class="path" title="{texts}">' in row
    assert '<span class="t-long" title="LONG">1</span>/<span class="t-short" title="SHORT">2</span>' in row
    assert haiku.run_id in history


def erk(*args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("erk", *args, stdout=out, stderr=err)
    return exit_info.value.code, out.getvalue(), err.getvalue()


def test_the_command_line(texts, with_word_count, sync_tasks, capsys):
    with pytest.raises(SystemExit):
        call_command("erk", "run", "--help")
    assert "--texts-root TEXTS_ROOT" in capsys.readouterr().out

    code, out, err = erk("run", "word-count", "--texts-root", str(texts), "--model", "local", "--json")
    assert code == 0, err
    data = json.loads(out)  # the JSON object alone
    run_id = data["run_id"]
    assert run_id.startswith("word-count-") and data["status"] == "succeeded"
    assert {key: item["score"] for key, item in data["items"].items()} == WORDS

    code, out, err = erk("show", run_id)
    assert code == 0 and f"texts: {texts} (3 files)" in out
    code, out, _ = erk("export", run_id, "--format", "csv")
    assert out.splitlines()[0] == "run_id,file,words,length"
    code, _, err = erk("run", "word-count", "--texts-root", str(texts), "--docs-root", str(texts))
    assert code == 2 and err.strip() == "erk: word-count does not take --docs-root"

    code, second, _ = erk(
        "run", "word-count", "--texts-root", str(texts), "--model", "local", "--agents", "1"
    )
    code, out, _ = erk("compare", run_id, second.strip(), "--json")
    assert code == 0 and json.loads(out)["agreement"] == 1.0 and json.loads(out)["different"] == []
