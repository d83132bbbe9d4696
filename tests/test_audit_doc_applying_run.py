"""Applying a run's audits and reverting them (runs/operations/audit_doc/applying.py, what the page and
erk apply / erk revert share): the stamp and the revision written, a doc changed since its audit left
alone, a revert that puts the bytes back, and requests that are refused before anything is read."""

from datetime import UTC, date, datetime

import pytest

from runs import engine
from runs.errors import InputError
from runs.models import Run
from runs.operations.audit_doc import applying
from runs.operations.audit_doc.auditfile import revised_document
from runs.operations.audit_doc.models import AppliedEdit

from .conftest import AS_OF

pytestmark = pytest.mark.django_db(transaction=True)
# 18:30 UTC on 28 November is 10:30 in Los Angeles (PST, UTC-8).
NOW = datetime(2026, 11, 28, 18, 30, tzinfo=UTC)
STAMP = '"2026-11-28 10:30 PT"'
# (intro) 4 lines, CONTEXTUAL (its path exists); "Why one runner" 5, HIGH VALUE (why, because, instead);
# "Gone" 3, INACCURATE (its path is broken): bad 3/12 = 25%, under SIMPLIFY's 30%, so NEEDS UPDATE,
# and the heuristic's revision marks the broken path.
RUNNER = """---
title: Runner
read_when:
  - "changing the runner"
---
# Runner

The runner lives in src/acme/cli.py.

## Why one runner

We keep one runner because two diverged.
Each run is reproducible instead of guessed.

## Gone

See src/acme/gone.py for the old one.
"""


@pytest.fixture
def run(docs_root, sync_tasks) -> Run:
    (docs_root / "arch/runner.md").write_text(RUNNER)
    created = engine.create_run(
        "audit-doc",
        {"docs_root": str(docs_root), "doc": ["arch/runner.md", "cli/flags.md"]},
        model="local",
        as_of=date.fromisoformat(AS_OF),
    )
    return Run.objects.get(pk=created.pk)


def test_apply_writes_the_revision_and_the_stamp_and_revert_puts_the_bytes_back(run, docs_root):
    runner = docs_root / "arch/runner.md"
    item = run.items.get(key="arch/runner.md")
    assert (item.group, item.data["bad"], item.data["revised"]) == ("NEEDS UPDATE", 25, True)
    assert revised_document(run.batches.get(index=1).output) == RUNNER.replace(
        "src/acme/gone.py for", "src/acme/gone.py (broken path) for"
    )

    [outcome] = applying.apply_run(run, ["arch/runner.md"], now=NOW)
    assert (outcome.status, outcome.result) == ("applied", "edited")
    # The revision, its frontmatter stamped at the end of the block: the other keys keep their order.
    expected = RUNNER.replace("src/acme/gone.py for", "src/acme/gone.py (broken path) for").replace(
        '  - "changing the runner"\n---',
        f'  - "changing the runner"\nlast_audited: {STAMP}\naudit_result: edited\n---',
    )
    assert runner.read_text() == expected
    edit = AppliedEdit.objects.get(run=run, doc="arch/runner.md")
    assert bytes(edit.original) == RUNNER.encode() and bytes(edit.written) == expected.encode()
    assert edit.docs_root == str(docs_root) and edit.verdict == "NEEDS UPDATE"
    # flags.md was not asked for: untouched.
    assert "last_audited" not in (docs_root / "cli/flags.md").read_text()

    # Applying again is no second write: it is applied already.
    [again] = applying.apply_run(run, ["arch/runner.md"], now=NOW)
    assert again.status == "already applied" and again.done

    reverted = applying.revert(run, "arch/runner.md")
    assert reverted.status == "reverted" and runner.read_text() == RUNNER
    edit.refresh_from_db()
    assert edit.reverted_at is not None
    with pytest.raises(InputError, match="is not applied from"):
        applying.revert(run, "arch/runner.md")


def test_a_doc_without_revision_is_stamped_clean(run, docs_root):
    # flags.md: CONSIDER DELETING (its one section names a missing symbol): stamped clean, not deleted.
    flags = docs_root / "cli/flags.md"
    before = flags.read_text()
    [outcome] = applying.apply_run(run, ["cli/flags.md"], now=NOW)
    assert (outcome.status, outcome.result) == ("applied", "clean")
    assert flags.read_text() == f"---\nlast_audited: {STAMP}\naudit_result: clean\n---\n{before}"


def test_a_doc_changed_since_its_audit_is_a_conflict_and_nothing_is_written(run, docs_root):
    flags = docs_root / "cli/flags.md"
    flags.write_text(flags.read_text() + "\nA line the user added.\n")
    changed = flags.read_bytes()
    outcomes = {o.doc: o for o in applying.apply_run(run, now=NOW)}  # every verified doc
    assert outcomes["cli/flags.md"].status == "conflict" and not outcomes["cli/flags.md"].done
    assert "changed since the audit: nothing written" in outcomes["cli/flags.md"].message
    assert flags.read_bytes() == changed
    assert outcomes["arch/runner.md"].status == "applied"
    assert list(AppliedEdit.objects.values_list("doc", flat=True)) == ["arch/runner.md"]


def test_a_doc_edited_after_applying_is_not_reverted(run, docs_root):
    applying.apply_run(run, ["cli/flags.md"], now=NOW)
    flags = docs_root / "cli/flags.md"
    flags.write_text(flags.read_text() + "more\n")
    edited = flags.read_bytes()
    outcome = applying.revert(run, "cli/flags.md")
    assert outcome.status == "conflict" and flags.read_bytes() == edited
    assert AppliedEdit.objects.get(doc="cli/flags.md").reverted_at is None


def test_a_symlink_swapped_in_after_the_audit_writes_nothing_outside_the_docs_root(run, docs_root, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "flags.md").write_bytes((docs_root / "cli/flags.md").read_bytes())
    (docs_root / "cli/flags.md").unlink()
    (docs_root / "cli").rename(tmp_path / "cli-moved")
    (docs_root / "cli").symlink_to(outside)
    [outcome] = applying.apply_run(run, ["cli/flags.md"], now=NOW)
    assert not outcome.done and "leaves the docs root" in outcome.message
    assert "last_audited" not in (outside / "flags.md").read_text()


def test_requests_that_are_refused_before_anything_is_read(run, docs_root, sync_tasks):
    scan = engine.create_run("audit-scan", {"docs_root": str(docs_root)}, model="local", agents=1)
    with pytest.raises(InputError, match="only an audit-doc run's audits apply"):
        applying.audit_run(scan.run_id)
    with pytest.raises(InputError, match="no run 'nope'"):
        applying.audit_run("nope")
    with pytest.raises(InputError, match=r"is not a doc .* audited"):
        applying.apply_run(run, ["testing/fixtures.md"])
    assert not AppliedEdit.objects.exists()


def test_a_second_apply_racing_the_first_is_told_it_was_applied(run, docs_root, monkeypatch):
    # The second request read no live edit before the first one wrote: it meets the stamped doc.
    stale = applying.live_edits(run)
    applying.apply_run(run, ["cli/flags.md"], now=NOW)
    monkeypatch.setattr(applying, "live_edits", lambda _run: stale)  # as the racing request saw it
    [outcome] = applying.apply_run(run, ["cli/flags.md"], now=NOW)
    assert outcome.status == "already applied" and outcome.done
    assert AppliedEdit.objects.filter(doc="cli/flags.md").count() == 1


def test_a_request_that_records_first_wins_and_the_other_is_told_it_was_applied(run, docs_root, monkeypatch):
    # Both read the doc as audited; the other request makes its row and writes between this one's
    # reading and recording: this one finds the live row when it records, and writes nothing.
    flags = docs_root / "cli/flags.md"
    claim = applying._Claim.__call__
    raced = []

    def other_request_first(self, done):
        if not raced:  # only this request's claim waits for the other; the other's records as usual
            raced.append(None)
            raced[0] = applying.apply_run(run, ["cli/flags.md"], now=NOW)
        return claim(self, done)

    monkeypatch.setattr(applying._Claim, "__call__", other_request_first)
    [outcome] = applying.apply_run(run, ["cli/flags.md"], now=NOW)
    assert raced[0][0].status == "applied"
    assert (outcome.status, outcome.message) == (
        "already applied",
        f"cli/flags.md was applied at {STAMP[1:-1]}",
    )
    assert AppliedEdit.objects.filter(doc="cli/flags.md").count() == 1
    assert flags.read_bytes() == bytes(AppliedEdit.objects.get(doc="cli/flags.md").written)


def test_the_database_keeps_one_live_edit_per_doc(run):
    from django.db import IntegrityError, transaction

    fields = {"run": run, "doc": "cli/flags.md", "docs_root": "/d", "result": "clean", "written_sha256": "0"}
    AppliedEdit.objects.create(**fields, reverted_at=NOW)  # a reverted one does not count
    AppliedEdit.objects.create(**fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        AppliedEdit.objects.create(**fields)
    AppliedEdit.objects.create(**{**fields, "doc": "arch/runner.md"})  # another doc of the run


def test_a_crash_after_writing_leaves_a_pending_row_that_is_finalised_from_the_disk(
    run, docs_root, monkeypatch
):
    flags = docs_root / "cli/flags.md"

    def killed(self):
        raise RuntimeError("the worker was killed")

    monkeypatch.setattr(applying._Claim, "finalise", killed)
    with pytest.raises(RuntimeError):
        applying.apply_run(run, ["cli/flags.md"], now=NOW)
    monkeypatch.undo()
    edit = AppliedEdit.objects.get(doc="cli/flags.md")
    assert edit.pending and f"last_audited: {STAMP}" in flags.read_text()  # written, not finalised
    [outcome] = applying.apply_run(run, ["cli/flags.md"], now=NOW)
    assert outcome.status == "already applied"
    edit.refresh_from_db()
    assert not edit.pending
    assert applying.revert(run, "cli/flags.md").status == "reverted"  # the record gives the bytes back
    assert "last_audited" not in flags.read_text()


def test_a_crash_before_writing_leaves_a_pending_row_that_is_dropped_once_stale(run, docs_root, monkeypatch):
    from runs.operations.audit_doc import apply

    flags = docs_root / "cli/flags.md"
    before = flags.read_bytes()

    def killed(*_args):
        raise RuntimeError("the worker was killed")

    monkeypatch.setattr(apply._Doc, "replace", killed)
    with pytest.raises(RuntimeError):
        applying.apply_run(run, ["cli/flags.md"], now=NOW)
    monkeypatch.undo()
    assert AppliedEdit.objects.get(doc="cli/flags.md").pending and flags.read_bytes() == before
    # Younger than the grace: it may be an apply still writing, so it stands and nothing is written.
    [outcome] = applying.apply_run(run, ["cli/flags.md"], now=NOW)
    assert outcome.status == "already applied" and "is being applied by another request" in outcome.message
    assert flags.read_bytes() == before
    # Older: a crash's. It is dropped and the doc applies.
    AppliedEdit.objects.update(applied_at=datetime.now(UTC) - applying.PENDING_GRACE * 2)
    [outcome] = applying.apply_run(run, ["cli/flags.md"], now=NOW)
    assert outcome.status == "applied"
    edit = AppliedEdit.objects.get(doc="cli/flags.md")
    assert not edit.pending and flags.read_bytes() == bytes(edit.written)
