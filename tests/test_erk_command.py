"""``manage.py erk``: exit codes, one-line errors that create nothing, and the JSON contract."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from runs.management.commands import erk
from runs.models import Run

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


def erk_cmd(*args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("erk", *args, stdout=out, stderr=err)
    return exit_info.value.code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--docs-root", "/nonexistent/docs"], "does not exist"),
        (["--agents", "0"], "--agents must be a whole number >= 1"),
        (["--agents", "many"], "--agents must be a whole number >= 1"),
        (["--model", "gpt-9"], "unknown model 'gpt-9'"),
        (["--as-of", "2026-13-01"], "--as-of must be a date YYYY-MM-DD"),
        (["--category", "nope"], "nope"),
    ],
)
def test_bad_arguments_exit_2_with_one_line_and_create_nothing(docs_root, args, message):
    base = {"--docs-root": str(docs_root), "--model": "local", "--as-of": AS_OF}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    code, out, err = erk_cmd("run", "audit-scan", *[x for kv in base.items() for x in kv])
    assert code == 2
    assert message in err and err.count("\n") == 1 and err.startswith("erk: ")
    assert out == ""
    assert Run.objects.count() == 0


def test_unknown_operation(docs_root):
    code, _, err = erk_cmd("run", "audit-everything", "--docs-root", str(docs_root), "--model", "local")
    assert code == 2 and "unknown operation 'audit-everything'" in err
    assert Run.objects.count() == 0


def test_missing_docs_root():
    code, _, err = erk_cmd("run", "audit-scan", "--model", "local")
    assert code == 2 and "--docs-root" in err


def test_claude_model_with_nothing_to_answer_names_the_command(docs_root):
    code, _, err = erk_cmd("run", "audit-scan", "--docs-root", str(docs_root), "--model", "haiku")
    assert code == 2 and "python manage.py simulator" in err and "ANTHROPIC_API_KEY" in err
    assert Run.objects.count() == 0


def test_wait_without_a_cluster_exits_2_and_creates_nothing(docs_root, monkeypatch):
    monkeypatch.setattr(erk, "wait_for_cluster", lambda timeout: False)
    code, _, err = erk_cmd("run", "audit-scan", "--docs-root", str(docs_root), "--model", "local", "--wait")
    assert code == 2 and "python manage.py qcluster" in err
    assert Run.objects.count() == 0


def test_run_prints_the_id_and_show_json_has_the_contract(docs_root, sync_tasks):
    code, out, _ = erk_cmd(
        "run", "audit-scan", "--docs-root", str(docs_root), "--model", "local", "--as-of", AS_OF
    )
    assert code == 0
    run_id = out.strip()
    run = Run.objects.get(run_id=run_id)
    assert run.status == "succeeded"

    code, out, _ = erk_cmd("show", run_id, "--json")
    assert code == 0
    data = json.loads(out)
    assert {
        "run_id",
        "status",
        "model",
        "scanned",
        "skipped",
        "excluded",
        "tiers",
        "batches",
        "report_path",
    } <= set(data)
    assert data["run_id"] == run_id and data["status"] == "succeeded" and data["model"] == "local"
    assert (data["scanned"], data["skipped"], data["excluded"]) == (5, 1, 1)
    assert set(data["tiers"]) == {"HIGH", "MODERATE", "LOW", "SKIP"} and sum(data["tiers"].values()) == 5
    assert len(data["batches"]) == 5
    for b in data["batches"]:
        assert {"index", "role", "status", "inputs", "output_path", "reason"} <= set(b)
        assert b["status"] == "verified" and b["reason"] is None and b["role"] == ""
    assert len(data["items"]) == 5
    item = data["items"]["arch/overview.md"]
    assert {"score", "tier", "signals"} == set(item) and item["signals"]["broken_paths"] == 1

    code, out, _ = erk_cmd("show", run_id)
    assert code == 0 and run_id in out and "succeeded" in out


def test_run_wait_json_prints_the_object_last(docs_root, sync_tasks, monkeypatch):
    monkeypatch.setattr(erk, "wait_for_cluster", lambda timeout: True)
    monkeypatch.setattr(erk, "cluster_alive", lambda: True)
    code, out, _ = erk_cmd(
        "run",
        "audit-scan",
        "--docs-root",
        str(docs_root),
        "--model",
        "local",
        "--agents",
        "2",
        "--wait",
        "--json",
    )
    assert code == 0
    data = json.loads(out)  # the JSON object alone: `erk run ... --json | jq` works
    assert Run.objects.get().run_id == data["run_id"]
    assert data["status"] == "succeeded" and len(data["batches"]) == 2


def test_wait_exits_1_when_the_run_fails(docs_root, sync_tasks, simulator, monkeypatch):
    monkeypatch.setattr(erk, "wait_for_cluster", lambda timeout: True)
    monkeypatch.setattr(erk, "cluster_alive", lambda: True)
    simulator.set_rules([{"behaviour": "empty-file", "batch": 1, "times": 1}])
    code, out, _ = erk_cmd(
        "run",
        "audit-scan",
        "--docs-root",
        str(docs_root),
        "--model",
        "haiku",
        "--agents",
        "2",
        "--wait",
        "--json",
    )
    assert code == 1
    data = json.loads(out)
    assert data["status"] == "failed" and data["batches"][0]["reason"] == "empty file"
    assert "batch 1: empty file" in data["error"]

    code, out, err = erk_cmd("retry", data["run_id"], "--wait", "--json")
    assert code == 0 and "retrying batch 1" in err
    assert json.loads(out)["status"] == "succeeded"


def test_show_and_cancel_unknown_run():
    assert erk_cmd("show", "audit-scan-nope")[0] == 2
    code, _, err = erk_cmd("cancel", "audit-scan-nope")
    assert code == 2 and "no run 'audit-scan-nope'" in err


def test_cancel_a_finished_run_is_refused(docs_root, sync_tasks):
    _, out, _ = erk_cmd("run", "audit-scan", "--docs-root", str(docs_root), "--model", "local")
    code, _, err = erk_cmd("cancel", out.strip())
    assert code == 2 and "only a pending or running run" in err


def test_export_prints_each_format(docs_root, sync_tasks):
    _, out, _ = erk_cmd(
        "run", "audit-scan", "--docs-root", str(docs_root), "--model", "local", "--as-of", AS_OF
    )
    run_id = out.strip()
    code, md, _ = erk_cmd("export", run_id, "--format", "md")
    assert code == 0 and md == Run.objects.get(run_id=run_id).report
    code, as_json, _ = erk_cmd("export", run_id, "--format", "json")
    assert code == 0 and json.loads(as_json)["run_id"] == run_id
    code, as_csv, _ = erk_cmd("export", run_id, "--format", "csv")
    assert code == 0 and as_csv.splitlines()[0].startswith("run_id,path,score,tier,lines,")
    assert len(as_csv.splitlines()) == 1 + 5
    code, _, err = erk_cmd("export", run_id, "--format", "xml")
    assert code == 2 and "--format must be one of md, json, csv" in err


def test_compare_two_runs(docs_root, sync_tasks, simulator):
    runs = []
    for model in ("local", "haiku"):
        _, out, _ = erk_cmd(
            "run", "audit-scan", "--docs-root", str(docs_root), "--model", model, "--as-of", AS_OF
        )
        runs.append(out.strip())
    code, out, _ = erk_cmd("compare", *runs, "--json")
    assert code == 0
    data = json.loads(out)
    assert data["a"]["run_id"] == runs[0] and data["ground_truth"] == "a"
    assert data["agreement"]["tier_agreement"] == 1.0 and data["agreement"]["kappa"] == 1.0
    assert all(value == 1.0 for value in data["accuracy"].values())
    code, text, _ = erk_cmd("compare", *runs)
    assert code == 0 and runs[0] in text and runs[1] in text
    code, _, err = erk_cmd("compare", runs[0], "audit-scan-nope")
    assert code == 2 and "no run 'audit-scan-nope'" in err


def test_learn_from_the_command_line(tmp_path, sync_tasks, monkeypatch):
    from .learn_fixtures import TITLE, make_learn_repo

    monkeypatch.setattr(erk, "wait_for_cluster", lambda timeout: True)
    monkeypatch.setattr(erk, "cluster_alive", lambda: True)
    made = make_learn_repo(tmp_path)
    args = [
        "run",
        "learn",
        "--title",
        TITLE,
        "--repo-root",
        str(made["repo"]),
        "--sessions",
        str(made["sessions"]),
    ]
    code, out, _ = erk_cmd(*args, "--model", "local", "--stage-model", "4=local", "--wait", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["status"] == "succeeded" and [s["status"] for s in data["stages"]] == ["verified"] * 4
    assert [s["stage"] for s in data["stages"]] == [1, 2, 3, 4] and data["stages"][3]["model"] == "local"
    assert data["tripwire_candidates"] and {"action", "warning", "target_doc_path"} <= set(
        data["tripwire_candidates"][0]
    )
    # Flags of the other operation, --agents, a malformed --stage-model are refused before anything exists.
    # --tier-model is the old name of --stage-model: its values reach the same checks.
    for extra, message in (
        (["--category", "x"], "learn does not take --category"),
        (["--agents", "3"], "learn decides its own agents"),
        (["--stage-model", "three=opus"], "--stage-model must look like STAGE=MODEL"),
        (["--stage-model", "7=opus"], "learn has stages 1 to 4"),
        (["--tier-model", "7=opus"], "learn has stages 1 to 4"),
        (["--tier-model", "5=opus", "--stage-model", "1=haiku"], "learn has stages 1 to 4"),
        (["--range", "main"], "BASE..HEAD"),
    ):
        code, _, err = erk_cmd(*args, "--model", "local", *extra)
        assert code == 2 and message in err, err
    assert Run.objects.count() == 1
    code, _, err = erk_cmd(
        "run", "audit-scan", "--docs-root", str(made["docs"]), "--title", "x", "--model", "local"
    )
    assert code == 2 and "audit-scan does not take --title" in err


def test_stage_model_is_in_the_help_and_its_old_name_is_not(capsys):
    with pytest.raises(SystemExit) as exit_info:
        call_command("erk", "run", "--help")
    help_text = capsys.readouterr().out
    assert exit_info.value.code == 0
    assert "--stage-model STAGE=M" in help_text and "--tier-model" not in help_text


def test_a_stage_model_for_a_one_stage_operation_is_refused(docs_root):
    for flag in ("--stage-model", "--tier-model"):
        code, _, err = erk_cmd(
            "run", "audit-scan", "--docs-root", str(docs_root), "--model", "local", flag, "1=opus"
        )
        assert code == 2 and "audit-scan has one stage: use --model, not --stage-model" in err, err
    assert Run.objects.count() == 0
