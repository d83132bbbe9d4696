"""``erk run audit-doc``: from a scan's top N or explicit docs, its JSON (each doc's verdict,
percentages, findings, whether a revision was proposed), and bad arguments refused with exit 2."""

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command

from runs import engine
from runs.models import Run

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)


def erk_cmd(*args) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("erk", *args, stdout=out, stderr=err)
    return exit_info.value.code, out.getvalue(), err.getvalue()


@pytest.fixture
def scan(docs_root, sync_tasks):
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="local", agents=2, as_of=date.fromisoformat(AS_OF)
    )
    return Run.objects.get(pk=run.pk)


def test_top_n_from_a_scan_as_json(scan):
    code, out, err = erk_cmd(
        "run", "audit-doc", "--from-run", scan.run_id, "--top", "2", "--model", "local", "--json"
    )
    assert code == 0, err
    data = json.loads(out)  # the JSON object alone, so that it pipes into jq
    assert data["run_id"].startswith("audit-doc-") and data["status"] == "succeeded"
    assert data["heuristic"] is True
    top = [item.key for item in sorted(scan.items.all(), key=lambda i: (-i.score, i.position))[:2]]
    assert list(data["docs"]) == top
    for doc in top:
        entry = data["docs"][doc]
        assert set(entry) >= {"verdict", "bad", "good", "verified", "broken", "findings", "revision_proposed"}
        assert 0 <= entry["bad"] + entry["good"] <= 100


def test_explicit_docs(docs_root, sync_tasks):
    code, out, err = erk_cmd(
        "run",
        "audit-doc",
        "--docs-root",
        str(docs_root),
        "--doc",
        "cli/flags.md",
        "arch/overview.md",
        "--model",
        "local",
        "--json",
    )
    assert code == 0, err
    data = json.loads(out)
    assert list(data["docs"]) == ["cli/flags.md", "arch/overview.md"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from-run", "nope"], "no run 'nope'"),
        (["--from-run", "{scan}", "--top", "0"], "top must be a whole number >= 1, not 0"),
        (["--docs-root", "{root}", "--doc", "../outside.md"], "is not a doc path inside the docs root"),
        (
            ["--docs-root", "{root}", "--doc", "cli/flags.md", "--category", "cli"],
            "audit-doc does not take --category",
        ),
        (["--docs-root", "{root}", "--doc", "cli/flags.md", "--agents", "2"], "decides its own agents"),
    ],
)
def test_bad_arguments_exit_2_and_create_nothing(scan, docs_root, args, message):
    filled = [{"{scan}": scan.run_id, "{root}": str(docs_root)}.get(a, a) for a in args]
    before = Run.objects.count()
    code, out, err = erk_cmd("run", "audit-doc", *filled, "--model", "local")
    assert code == 2 and err.startswith("erk: ") and message in err, err
    assert out == "" and Run.objects.count() == before


@pytest.fixture
def audit(docs_root, sync_tasks):
    run = engine.create_run(
        "audit-doc",
        {"docs_root": str(docs_root), "doc": ["cli/flags.md", "arch/overview.md"]},
        model="local",
        as_of=date.fromisoformat(AS_OF),
    )
    return Run.objects.get(pk=run.pk)


def test_apply_exits_0_when_all_applied_and_1_on_a_conflict_then_revert(audit, docs_root):
    flags, overview = docs_root / "cli/flags.md", docs_root / "arch/overview.md"
    before = flags.read_bytes()
    code, out, err = erk_cmd("apply", audit.run_id, "--doc", "cli/flags.md", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["exit"] == 0 and [(d["doc"], d["status"], d["result"]) for d in data["docs"]] == [
        ("cli/flags.md", "applied", "clean")
    ]
    assert "audit_result: clean" in flags.read_text()

    overview.write_text(overview.read_text() + "edited meanwhile\n")
    edited = overview.read_bytes()
    code, out, _ = erk_cmd("apply", audit.run_id)  # every verified doc
    assert code == 1
    assert "already applied: cli/flags.md was applied at" in out
    assert "conflict: arch/overview.md changed since the audit: nothing written" in out
    assert overview.read_bytes() == edited

    code, out, _ = erk_cmd("revert", audit.run_id, "--doc", "cli/flags.md")
    assert code == 0 and out.startswith("reverted: ") and flags.read_bytes() == before
    code, _, err = erk_cmd("revert", audit.run_id, "--doc", "cli/flags.md")
    assert code == 2 and "is not applied from" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["apply", "nope"], "no run 'nope'"),
        (["apply", "{audit}", "--doc", "testing/fixtures.md"], "is not a doc"),
        (["apply", "{scan}"], "only an audit-doc run's audits apply"),
        (["revert", "{audit}", "--doc", "arch/overview.md"], "is not applied from"),
    ],
)
def test_apply_and_revert_bad_arguments_exit_2(audit, scan, args, message):
    filled = [{"{audit}": audit.run_id, "{scan}": scan.run_id}.get(a, a) for a in args]
    code, out, err = erk_cmd(*filled)
    assert code == 2 and out == "" and message in err


def test_export_csv_has_audit_docs_columns(audit):
    code, out, _ = erk_cmd("export", audit.run_id, "--format", "csv")
    rows = [line.split(",") for line in out.strip().splitlines()]
    assert code == 0
    assert rows[0] == ["run_id", "doc", "verdict", "bad", "good", "verified", "broken", "revision_proposed"]
    items = {i.key: i for i in audit.items.all()}
    assert [row[1] for row in rows[1:]] == ["cli/flags.md", "arch/overview.md"]
    for row in rows[1:]:
        item = items[row[1]]
        numbers = [str(item.data[key]) for key in ("bad", "good", "verified", "broken")]
        assert row[2:] == [item.group, *numbers, str(item.data["revised"]).lower()]


def test_a_repeated_doc_option_keeps_every_doc(docs_root, sync_tasks):
    code, out, err = erk_cmd(
        "run",
        "audit-doc",
        "--docs-root",
        str(docs_root),
        "--doc",
        "cli/flags.md",
        "--doc",
        "arch/overview.md",
        "--model",
        "local",
        "--json",
    )
    assert code == 0, err
    assert list(json.loads(out)["docs"]) == ["cli/flags.md", "arch/overview.md"]
    run = Run.objects.get(run_id=json.loads(out)["run_id"])
    # erk apply's --doc too: both docs are applied, not only the last one named.
    code, out, err = erk_cmd("apply", run.run_id, "--doc", "cli/flags.md", "--doc", "arch/overview.md")
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines()] == ["applied", "applied"]
    assert "cli/flags.md" in out and "arch/overview.md" in out


def test_apply_with_no_verified_audit_exits_1_and_says_nothing_was_applied(audit, docs_root):
    # Only a verified audit leaves an item row (a doc whose every attempt failed leaves none): with none,
    # there is nothing to apply, which a script must not mistake for success.
    audit.items.all().delete()
    before = (docs_root / "cli/flags.md").read_bytes()
    code, out, _ = erk_cmd("apply", audit.run_id)
    assert code == 1
    assert out == f"nothing applied: {audit.run_id} has no verified audit (retry its failed batches first)\n"
    code, out, _ = erk_cmd("apply", audit.run_id, "--json")
    assert code == 1 and json.loads(out)["docs"] == [] and json.loads(out)["exit"] == 1
    assert (docs_root / "cli/flags.md").read_bytes() == before
    # The page's Apply all verified says the same.
    from django.test import Client

    page = Client().post(f"/runs/{audit.run_id}/audit/apply/", follow=True).content.decode()
    assert f"nothing applied: {audit.run_id} has no verified audit" in page
    assert (docs_root / "cli/flags.md").read_bytes() == before
