"""The markdown report (specs/audit-scan.md, Phase 5)."""

from datetime import date

from runs.operations.audit_scan.report import render_report, stats
from runs.operations.audit_scan.scoring import score_all

from .factories import quiet_record as rec

AS_OF = date(2026, 3, 31)


RECORDS = [
    rec("high.md", last_audited="none", lines=250, code_blocks=3, broken_paths=1),  # 3+2+2+3 = 10
    rec("mod/one.md", last_audited="2025-01-01", lines=150, file_path_refs=5, import_count=1),  # 2+1+2+1 = 6
    rec("low.md", last_audited="none", step_sequences=2, behavioral_claims=4),  # 3+1 = 4
    rec("skip-b.md", has_redirect=True, last_audited="none"),  # 3-2 = 1
    rec("skip-a.md", audit_result="edited"),  # -1
]


def report(records=RECORDS, **kwargs) -> str:
    options = {"scanned": len(records), "skipped": 2, "excluded": 3, "as_of": AS_OF}
    options.update(kwargs)
    return render_report(score_all(records, AS_OF), **options)


def section(text: str, heading: str) -> str:
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_title_and_summary_line():
    text = report()
    assert text.startswith("# Doc Audit Scan Results\n")
    assert "5 docs scanned, 2 skipped as auto-generated, 3 excluded as audited within 7 days" in text
    assert "2026-03-31" in text
    assert text.endswith("\n")


def test_each_tier_table_has_its_docs_with_score_lines_and_key_signals():
    text = report()
    high = section(text, "HIGH")
    assert "| Doc | Score | Lines | Key Signals |" in high
    assert "| high.md | 10 | 250 | no audit, >200 lines, 3 code blocks, broken path |" in high
    moderate = section(text, "MODERATE")
    assert "| mod/one.md | 6 | 150 | audit >30d, >100 lines, 5 path refs, imports |" in moderate
    low = section(text, "LOW")
    assert "| low.md | 4 | 50 | no audit, steps |" in low
    assert "high.md" not in moderate + low


def test_skip_tier_has_only_the_count_and_the_paths():
    skip = section(report(), "SKIP")
    assert "2 docs." in skip
    assert "- skip-b.md\n- skip-a.md" in skip
    assert "|" not in skip


def test_an_empty_tier_says_none():
    text = report([rec("only.md", last_audited="none")])
    assert "_None._" in section(text, "HIGH")
    assert "_None._" in section(text, "MODERATE")
    assert "| only.md | 3 | 50 | no audit |" in section(text, "LOW")
    assert "0 docs." in section(text, "SKIP")


def test_rows_within_a_table_are_in_score_order_then_path():
    records = [rec("b.md", last_audited="none"), rec("a.md", last_audited="none", import_count=1)]
    low = section(report(records), "LOW")
    assert low.index("| a.md | 4") < low.index("| b.md | 3")


def test_pipes_in_paths_are_escaped_in_tables():
    text = report([rec("odd|name.md", last_audited="none")])
    assert "| odd\\|name.md | 3 | 50 | no audit |" in text


def test_stats_numbers():
    assert stats(score_all(RECORDS, AS_OF), AS_OF) == {
        "never_audited": 3,
        "audited_over_30_days": 1,
        "broken_path_docs": 1,
        "redirect_docs": 1,
        "step_sequence_docs": 1,
        "behavioral_claims_total": 4,
    }


def test_stats_count_a_non_date_audit_as_the_score_does():
    numbers = stats(score_all([rec("a.md", last_audited="someday")], AS_OF), AS_OF)
    assert numbers["audited_over_30_days"] == 1
    assert numbers["never_audited"] == 0


def test_stats_section_in_the_report():
    stats_text = section(report(), "Stats")
    assert "- Never audited: 3" in stats_text
    assert "- Last audited more than 30 days ago: 1" in stats_text
    assert "- Docs with a broken path: 1" in stats_text
    assert "- Docs with `redirect_to`: 1" in stats_text
    assert "- Docs with step sequences: 1" in stats_text
    assert "- Total behavioral claims: 4" in stats_text


def test_notes_are_listed_only_when_there_are_some():
    assert "## Notes" not in report()
    text = report(notes=["big.md is over 1 MiB; only its first MiB is scanned."])
    assert "- big.md is over 1 MiB; only its first MiB is scanned." in section(text, "Notes")


def test_failed_batches_make_the_report_say_it_is_incomplete():
    assert "Incomplete" not in report()
    text = report(failed_batches=["batch 2: missing file", "batch 4: missing: a.md"])
    head = text[: text.index("## HIGH")]
    assert "**Incomplete:** 2 batches failed" in head
    assert "- batch 2: missing file" in head
    assert "- batch 4: missing: a.md" in head


def test_a_report_of_no_docs_still_has_every_section():
    text = render_report([], scanned=0, skipped=1, excluded=0, as_of=AS_OF)
    for heading in ("HIGH", "MODERATE", "LOW", "SKIP", "Stats"):
        assert f"## {heading}" in text
    assert "- Total behavioral claims: 0" in text


def test_the_report_from_batches_parts_is_the_report_of_all_their_docs():
    from runs.operations.audit_scan.report import render_report_from_parts, report_part

    # Three batches, round-robin, each scored and rendered on its own (as each batch's worker does).
    records = [*RECORDS, rec("high-2.md", last_audited="none", lines=250, code_blocks=3, broken_paths=1)]
    shares = [records[i::3] for i in range(3)]
    parts = [report_part(score_all(share, AS_OF), AS_OF) for share in shares]
    header = {"scanned": len(records), "skipped": 2, "excluded": 3, "as_of": AS_OF, "notes": ["a note"]}
    merged = render_report_from_parts(parts, **header)
    assert merged == render_report(score_all(records, AS_OF), **header)
    # Both HIGH docs score 10: the tie goes by path ("-" before "."), across the parts they came from.
    high = section(merged, "HIGH")
    assert high.index("| high-2.md |") < high.index("| high.md |")
    assert "- Never audited: 4" in section(merged, "Stats")  # high, low, skip-b and high-2: summed
