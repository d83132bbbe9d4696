"""Applying an audit and reverting it (specs/audit-doc.md, "Applying"): the frontmatter stamp, the
conflict rule, confinement to the docs root, and atomic writes.

US Pacific time in 2026: PST (UTC-8) until 2026-03-08 02:00 local (10:00 UTC), when clocks go to 03:00
PDT (UTC-7); PDT until 2026-11-01 02:00 local (09:00 UTC), when clocks go back to 01:00 PST.
"""

import hashlib
import os
from datetime import UTC, datetime, timedelta, timezone

import pytest

from runs.operations.audit_doc import apply as apply_module
from runs.operations.audit_doc.apply import ApplyError, Conflict, apply_audit, revert_doc, sha256, snapshot
from runs.operations.audit_doc.stamp import StampError, stamp, stamp_time
from runs.operations.audit_scan.docs import parse_doc

NOW = datetime(2026, 7, 1, 19, 5, 42, tzinfo=UTC)  # 12:05 PDT
STAMP = "2026-07-01 12:05 PT"


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (datetime(2026, 3, 8, 9, 59, tzinfo=UTC), "2026-03-08 01:59 PT"),  # PST, the last minute
        (datetime(2026, 3, 8, 10, 0, tzinfo=UTC), "2026-03-08 03:00 PT"),  # PDT: 02:00-02:59 never is
        (datetime(2026, 11, 1, 8, 30, tzinfo=UTC), "2026-11-01 01:30 PT"),  # PDT
        (datetime(2026, 11, 1, 9, 30, tzinfo=UTC), "2026-11-01 01:30 PT"),  # PST: the hour again
        (datetime(2026, 1, 15, 7, 59, tzinfo=UTC), "2026-01-14 23:59 PT"),  # the Pacific date is a day behind
        (datetime(2026, 7, 1, 12, 34, 59, 999999, tzinfo=UTC), "2026-07-01 05:34 PT"),  # cut, not rounded
        (datetime(2026, 1, 1, 12, 0, tzinfo=timezone(timedelta(hours=9))), "2025-12-31 19:00 PT"),
    ],
)
def test_the_stamp_time_is_us_pacific_to_the_minute(moment, expected):
    assert stamp_time(moment) == expected


def test_a_naive_time_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        stamp_time(datetime(2026, 7, 1, 12, 0))


def test_existing_values_are_replaced_and_every_other_line_kept_in_place():
    text = (
        "---\n"
        "title: Plans  # the title\n"
        "last_audited: 2026-01-05\n"
        "read_when:\n"
        '  - "x"\n'
        "# a comment\n"
        "audit_result: edited\n"
        "tripwires: []\n"
        "---\n"
        "body\n"
    )
    assert stamp(text, last_audited=STAMP, audit_result="clean") == (
        "---\n"
        "title: Plans  # the title\n"
        'last_audited: "2026-07-01 12:05 PT"\n'
        "read_when:\n"
        '  - "x"\n'
        "# a comment\n"
        "audit_result: clean\n"
        "tripwires: []\n"
        "---\n"
        "body\n"
    )


def test_missing_keys_are_added_at_the_end_of_the_frontmatter():
    text = "---\ntitle: Plans\nread_when: []\n---\n# Plans\n"
    assert stamp(text, last_audited=STAMP, audit_result="edited") == (
        "---\ntitle: Plans\nread_when: []\n"
        'last_audited: "2026-07-01 12:05 PT"\naudit_result: edited\n'
        "---\n# Plans\n"
    )


def test_values_over_several_lines_and_quoted_keys_are_replaced_whole():
    text = (
        '---\nlast_audited: >\n  2026-01-05\n  14:20\n\n"audit_result": edited\nowners:\n- ana\n- bo\n---\n'
    )
    assert stamp(text, last_audited=STAMP, audit_result="clean") == (
        '---\nlast_audited: "2026-07-01 12:05 PT"\n\naudit_result: clean\nowners:\n- ana\n- bo\n---\n'
    )


def test_a_doc_without_frontmatter_gets_one():
    assert stamp("# Title\n\nText.\n", last_audited=STAMP, audit_result="clean") == (
        '---\nlast_audited: "2026-07-01 12:05 PT"\naudit_result: clean\n---\n# Title\n\nText.\n'
    )
    # A block that does not parse is not frontmatter (audit-scan's reading): the new one goes first and
    # the old lines stay as body.
    broken = "---\ntitle: a: b\n---\nText.\n"
    stamped = stamp(broken, last_audited=STAMP, audit_result="clean")
    assert stamped.endswith(broken)
    assert parse_doc(stamped).frontmatter == {"last_audited": STAMP, "audit_result": "clean"}


def test_crlf_frontmatter_gets_crlf_lines():
    text = "---\r\ntitle: x\r\n---\r\nbody\r\n"
    assert stamp(text, last_audited=STAMP, audit_result="clean") == (
        '---\r\ntitle: x\r\nlast_audited: "2026-07-01 12:05 PT"\r\naudit_result: clean\r\n---\r\nbody\r\n'
    )


def test_a_layout_that_cannot_be_edited_as_text_is_refused():
    with pytest.raises(StampError):
        stamp("---\n{title: x}\n---\nbody\n", last_audited=STAMP, audit_result="clean")
    with pytest.raises(StampError):
        stamp("---\n  title: x\n  tags: [a]\n---\nbody\n", last_audited=STAMP, audit_result="clean")
    with pytest.raises(ValueError):
        stamp("body\n", last_audited=STAMP, audit_result="dirty")


ORIGINAL = b"---\ntitle: Plans\naudit_result: edited\n---\n# Plans\n\nOld text with caf\xe9.\n"
REVISED = "---\ntitle: Plans\n---\n# Plans\n\nNew text.\n"


@pytest.fixture
def docs(tmp_path):
    root = tmp_path / "docs"
    (root / "planning").mkdir(parents=True)
    doc = root / "planning" / "plan.md"
    doc.write_bytes(ORIGINAL)
    doc.chmod(0o640)
    return root


def read(docs):
    return (docs / "planning" / "plan.md").read_bytes()


def leftovers(docs):
    return sorted(name for name in os.listdir(docs / "planning") if name != "plan.md")


def test_applying_a_revision_writes_it_stamped_and_returns_what_to_keep(docs):
    applied = apply_audit(
        docs, "planning/plan.md", recorded_sha256=sha256(ORIGINAL), revised=REVISED, now=NOW
    )
    expected = (
        b"---\ntitle: Plans\n"
        b'last_audited: "2026-07-01 12:05 PT"\naudit_result: edited\n'
        b"---\n# Plans\n\nNew text.\n"
    )
    assert read(docs) == expected
    assert applied.result == "edited" and applied.last_audited == STAMP
    assert applied.original == ORIGINAL and applied.written == expected
    assert applied.written_sha256 == hashlib.sha256(expected).hexdigest()
    assert applied.original_sha256 == hashlib.sha256(ORIGINAL).hexdigest()
    assert (docs / "planning" / "plan.md").stat().st_mode & 0o777 == 0o640
    assert leftovers(docs) == []


def test_without_a_revision_only_the_stamp_changes_byte_for_byte(docs):
    # KEEP and CONSIDER DELETING take no revised document: clean, and nothing is deleted.
    applied = apply_audit(docs, "planning/plan.md", recorded_sha256=sha256(ORIGINAL), revised=None, now=NOW)
    assert applied.result == "clean"
    assert read(docs) == ORIGINAL.replace(
        b"audit_result: edited\n", b'audit_result: clean\nlast_audited: "2026-07-01 12:05 PT"\n'
    )
    assert b"caf\xe9" in read(docs)  # the byte that is not UTF-8 is kept as it was


def test_a_revision_identical_to_the_doc_is_clean(docs):
    same = ORIGINAL.decode("utf-8", errors="replace")
    assert apply_audit(
        docs, "planning/plan.md", recorded_sha256=sha256(ORIGINAL), revised=same, now=NOW
    ).result == ("clean")


def test_a_doc_that_changed_since_the_audit_is_not_written(docs):
    changed = ORIGINAL + b"A line the user added.\n"
    (docs / "planning" / "plan.md").write_bytes(changed)
    with pytest.raises(Conflict, match="changed since the audit: nothing written"):
        apply_audit(docs, "planning/plan.md", recorded_sha256=sha256(ORIGINAL), revised=REVISED, now=NOW)
    assert read(docs) == changed and leftovers(docs) == []
    (docs / "planning" / "plan.md").unlink()
    with pytest.raises(Conflict, match="does not exist: nothing written"):
        apply_audit(docs, "planning/plan.md", recorded_sha256=sha256(ORIGINAL), revised=REVISED, now=NOW)


def test_an_edit_that_lands_while_applying_wins(docs, monkeypatch):
    real_stamp = apply_module.stamp

    def stamp_while_the_user_saves(text, **kwargs):
        (docs / "planning" / "plan.md").write_bytes(b"saved meanwhile\n")
        return real_stamp(text, **kwargs)

    monkeypatch.setattr(apply_module, "stamp", stamp_while_the_user_saves)
    with pytest.raises(Conflict, match="changed since the audit"):
        apply_audit(docs, "planning/plan.md", recorded_sha256=sha256(ORIGINAL), revised=REVISED, now=NOW)
    assert read(docs) == b"saved meanwhile\n" and leftovers(docs) == []


def test_a_stamp_that_cannot_be_made_writes_nothing(docs):
    flow = b"---\n{title: x}\n---\nbody\n"
    (docs / "planning" / "plan.md").write_bytes(flow)
    with pytest.raises(ApplyError, match="cannot be stamped"):
        apply_audit(docs, "planning/plan.md", recorded_sha256=sha256(flow), revised=None, now=NOW)
    assert read(docs) == flow


@pytest.mark.parametrize("doc", ["../outside.md", "/etc/passwd", "", "planning/\x00.md", "planning", "."])
def test_paths_outside_the_docs_root_or_not_docs_are_refused(docs, doc):
    (docs.parent / "outside.md").write_bytes(ORIGINAL)
    with pytest.raises(ApplyError):
        apply_audit(docs, doc, recorded_sha256=sha256(ORIGINAL), revised=REVISED, now=NOW)
    assert (docs.parent / "outside.md").read_bytes() == ORIGINAL


def test_a_symlink_that_points_out_is_refused_and_one_that_points_in_is_followed(docs):
    outside = docs.parent / "outside.md"
    outside.write_bytes(ORIGINAL)
    (docs / "link.md").symlink_to(outside)
    (docs / "outdir").symlink_to(docs.parent)
    for doc in ("link.md", "outdir/outside.md"):
        with pytest.raises(ApplyError, match="leaves the docs root"):
            apply_audit(docs, doc, recorded_sha256=sha256(ORIGINAL), revised=REVISED, now=NOW)
    assert outside.read_bytes() == ORIGINAL
    (docs / "inside.md").symlink_to(docs / "planning" / "plan.md")
    apply_audit(docs, "inside.md", recorded_sha256=sha256(ORIGINAL), revised=REVISED, now=NOW)
    assert read(docs).endswith(b"New text.\n")
    assert (docs / "inside.md").is_symlink()


def test_a_folder_swapped_for_a_symlink_after_the_check_is_not_followed(docs, monkeypatch):
    outside = docs.parent / "elsewhere"
    outside.mkdir()
    (outside / "plan.md").write_bytes(ORIGINAL)
    real_realpath = os.path.realpath

    def swap_then_resolve(path, *args, **kwargs):
        resolved = real_realpath(path, *args, **kwargs)
        if str(path).endswith("plan.md") and not (docs / "planning").is_symlink():
            os.rename(docs / "planning", docs / "planning-moved")
            (docs / "planning").symlink_to(outside)
        return resolved

    monkeypatch.setattr(apply_module.os.path, "realpath", swap_then_resolve)
    with pytest.raises(Conflict, match="its folder cannot be opened"):
        apply_audit(docs, "planning/plan.md", recorded_sha256=sha256(ORIGINAL), revised=REVISED, now=NOW)
    assert (outside / "plan.md").read_bytes() == ORIGINAL


def test_a_folder_where_the_doc_was_is_a_conflict(docs):
    (docs / "planning" / "plan.md").unlink()
    (docs / "planning" / "plan.md").mkdir()
    with pytest.raises(Conflict, match="not a regular file"):
        apply_audit(docs, "planning/plan.md", recorded_sha256=sha256(ORIGINAL), revised=REVISED, now=NOW)


def test_revert_puts_the_original_bytes_back_while_the_doc_is_what_erkweb_wrote(docs):
    applied = apply_audit(
        docs, "planning/plan.md", recorded_sha256=sha256(ORIGINAL), revised=REVISED, now=NOW
    )
    revert_doc(docs, "planning/plan.md", original=applied.original, written_sha256=applied.written_sha256)
    assert read(docs) == ORIGINAL
    assert (docs / "planning" / "plan.md").stat().st_mode & 0o777 == 0o640
    # Reverting again: the doc no longer holds what erkweb wrote.
    with pytest.raises(Conflict, match="changed since the audit was applied: not reverted"):
        revert_doc(docs, "planning/plan.md", original=applied.original, written_sha256=applied.written_sha256)
    assert read(docs) == ORIGINAL and leftovers(docs) == []


def test_revert_refuses_a_doc_edited_after_applying(docs):
    applied = apply_audit(docs, "planning/plan.md", recorded_sha256=sha256(ORIGINAL), revised=None, now=NOW)
    edited = applied.written + b"User's edit.\n"
    (docs / "planning" / "plan.md").write_bytes(edited)
    with pytest.raises(Conflict):
        revert_doc(docs, "planning/plan.md", original=applied.original, written_sha256=applied.written_sha256)
    assert read(docs) == edited


def test_a_snapshot_is_the_text_given_and_the_hash_applying_checks(docs):
    copy = snapshot(docs, "planning/plan.md")
    assert copy.text == ORIGINAL.decode("utf-8", errors="replace") and "caf\ufffd" in copy.text
    assert copy.sha256 == hashlib.sha256(ORIGINAL).hexdigest() and not copy.truncated
    applied = apply_audit(docs, "planning/plan.md", recorded_sha256=copy.sha256, revised=None, now=NOW)
    assert applied.original == ORIGINAL


def test_a_doc_over_a_mib_is_given_in_part_and_can_never_be_applied(docs):
    big = b"# Big\n" + b"x" * (1024 * 1024)
    (docs / "big.md").write_bytes(big)
    copy = snapshot(docs, "big.md")
    assert copy.truncated and len(copy.text) == 1024 * 1024
    assert copy.sha256 == hashlib.sha256(big[: 1024 * 1024]).hexdigest()
    with pytest.raises(Conflict):  # its hash is of the part given, not the whole file
        apply_audit(docs, "big.md", recorded_sha256=copy.sha256, revised=None, now=NOW)
    assert (docs / "big.md").read_bytes() == big


def test_a_snapshot_is_confined_like_applying(docs):
    (docs.parent / "outside.md").write_text("out\n")
    (docs / "link.md").symlink_to(docs.parent / "outside.md")
    for doc in ("link.md", "../outside.md"):
        with pytest.raises(ApplyError, match="leaves the docs root"):
            snapshot(docs, doc)
    with pytest.raises(ApplyError, match="does not exist: it cannot be audited"):
        snapshot(docs, "gone.md")
