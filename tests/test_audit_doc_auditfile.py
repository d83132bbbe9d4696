"""Checking an audit file (specs/audit-doc.md, "Verification"): every failure the spec lists, with the
first problem named, and hostile files that must never raise anything but AuditFileError.

The doc below has three sections, counted by hand: (intro) lines 8-11 (4 lines), Rows 12-14 (3),
Why 15-16 (2); 9 section lines. The valid audit calls them CONTEXTUAL, DUPLICATIVE, HIGH VALUE:
bad 3/9 = 33%, good 6/9 = 66%, so SIMPLIFY (bad >= 30 with a good section), which takes a revised
document. Its findings are 1 VERIFIED and 2 of BROKEN/MISSING.
"""

import random

import pytest

from runs.operations.audit_doc.auditfile import MAX_AUDIT_CHARS, AuditFileError, check_audit
from runs.operations.audit_doc.findings import Collateral, Finding
from runs.operations.audit_doc.record import SectionRow, format_audit, make_audit

DOC = """---
title: Plans
read_when:
  - "changing plans"
tripwires:
  - action: "editing rows"
    warning: "read this"
---
# Plans

Intro line.

## Rows
Rows live in src/app/plan.py.

## Why
Because reasons.
"""

REVISED = """---
title: Plans
read_when:
  - "changing plans"
tripwires:
  - action: "editing rows"
    warning: "read this"
---
# Plans

## Why
Because reasons.
"""

VALID = (
    """doc: plan.md
verdict: SIMPLIFY
verified: 1
broken: 2

## Sections
| section | category | note |
| --- | --- | --- |
| (intro) | CONTEXTUAL | |
| Rows | DUPLICATIVE | restates src/app/plan.py |
| Why | HIGH VALUE | |

## Findings
- VERIFIED path `src/app/plan.py`
- BROKEN path `src/app/old.py`
- MISSING symbol `_legacy`: nowhere in src
- CANNOT VERIFY claim rows are fast

## Collateral
- [SC] src/app/plan.py:3: comment says "list"; it is a dict

## Summary
Cut the Rows section: the code says it.

## Revised document
~~~markdown
"""
    + REVISED
    + "~~~\n"
)


@pytest.fixture
def repo(tmp_path):
    root = tmp_path / "repo"
    (root / "src" / "app").mkdir(parents=True)
    (root / "src" / "app" / "plan.py").write_text("ROWS = {}\n")
    (tmp_path / "outside.txt").write_text("not the repo's\n")
    (root / "out").symlink_to(tmp_path)  # a folder link that leaves the repo
    return root


def check(text: str, repo, doc_text: str = DOC):
    return check_audit(text, doc="plan.md", doc_text=doc_text, repo_root=repo)


def reason(text: str, repo, doc_text: str = DOC) -> str:
    with pytest.raises(AuditFileError) as raised:
        check(text, repo, doc_text)
    return raised.value.reason


def test_a_valid_file_parses_into_its_record(repo):
    audit = check(VALID, repo)
    assert audit.doc == "plan.md"
    assert audit.verdict == "SIMPLIFY"
    assert (audit.bad, audit.good) == (33, 66)
    assert (audit.verified, audit.broken) == (1, 2)
    assert audit.sections == (
        SectionRow("(intro)", "CONTEXTUAL", "", 4),
        SectionRow("Rows", "DUPLICATIVE", "restates src/app/plan.py", 3),
        SectionRow("Why", "HIGH VALUE", "", 2),
    )
    assert audit.findings == (
        Finding("VERIFIED", "path", "src/app/plan.py"),
        Finding("BROKEN", "path", "src/app/old.py"),
        Finding("MISSING", "symbol", "_legacy", "nowhere in src"),
        Finding("CANNOT VERIFY", "claim", "rows are fast"),
    )
    assert audit.collateral == (Collateral("SC", "src/app/plan.py", 3, 'comment says "list"; it is a dict'),)
    assert audit.summary == "Cut the Rows section: the code says it."
    assert audit.revised == REVISED
    data = audit.data()
    assert data["verdict"] == "SIMPLIFY" and data["revised"] is True
    assert data["sections"][1] == {
        "name": "Rows",
        "category": "DUPLICATIVE",
        "note": "restates src/app/plan.py",
        "size": 3,
    }


def test_crlf_line_endings_are_read_the_same(repo):
    assert check(VALID.replace("\n", "\r\n"), repo).verdict == "SIMPLIFY"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("broken: 2\n", "", "header: missing key broken"),
        ("verdict: SIMPLIFY", "verdict: MAYBE", "header: verdict MAYBE is not one of CONSIDER DELETING, "),
        ("verified: 1", "verified: one", "header: verified is not a whole number: one"),
        ("verified: 1", "verified: -1", "header: verified is not a whole number: -1"),
        ("verified: 1", "verified: \uff11", "header: verified is not a whole number"),  # a fullwidth 1
        ("verified: 1", "verified: 1" + "0" * 5000, "header: verified is not a whole number"),
        ("verified: 1\n", "verified: 1\nmodel: haiku\n", "line 4: the header holds only"),
        ("broken: 2\n", "broken: 2\nbroken: 2\n", "line 5: header key broken given twice"),
        ("doc: plan.md", "doc: other.md", "doc is other.md, not the assigned plan.md"),
        ("doc: plan.md", "doc: plan.md\x00", "doc is plan.md\\x00, not the assigned plan.md"),
    ],
)
def test_header_problems(repo, old, new, expected):
    assert reason(VALID.replace(old, new, 1), repo).startswith(expected)


def test_file_level_problems(repo):
    assert reason("", repo) == "empty file"
    assert reason(" \n\n\t\n", repo) == "empty file"
    assert reason("x" * (MAX_AUDIT_CHARS + 1), repo).startswith("file too large")
    assert reason(VALID.replace("## Summary\n", ""), repo).startswith(
        "line 24: found the heading ## Revised document, expected ## Summary"
    )
    assert reason(VALID.replace("## Collateral", "## Notes"), repo).startswith(
        "line 19: found the heading ## Notes, expected ## Summary"
    )
    assert reason(VALID.replace("## Sections", "## Findings", 1), repo).startswith(
        "line 6: found the heading ## Findings, expected ## Sections"
    )
    summary = "## Summary\nCut the Rows section: the code says it.\n"
    assert reason(VALID.replace(summary, "## Summary\n\n"), repo) == "the Summary is empty"


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("| Why | HIGH VALUE | |\n", "", "Sections: missing Why"),
        (
            "| Why | HIGH VALUE | |\n",
            "| Why | HIGH VALUE | |\n| Other | CONTEXTUAL | |\n",
            "line 12: Sections: Other is not a section of the doc",
        ),
        (
            "| Why | HIGH VALUE | |\n",
            "| Why | HIGH VALUE | |\n| Rows | HIGH VALUE | |\n",
            "line 12: Sections: Rows is listed more often than the doc has it",
        ),
        (
            "| Rows | DUPLICATIVE | restates src/app/plan.py |\n| Why | HIGH VALUE | |\n",
            "| Why | HIGH VALUE | |\n| Rows | DUPLICATIVE | restates src/app/plan.py |\n",
            "line 10: Sections: Why is out of order (expected Rows)",
        ),
        ("| Why | HIGH VALUE | |", "| Why | GREAT | |", "line 11: GREAT is not a category"),
        ("| Why | HIGH VALUE | |", "| Why | high value | |", "line 11: high value is not a category"),
        ("| Why | HIGH VALUE | |", "| Why | HIGH VALUE |", "line 11: a Sections row is"),
        ("| Why | HIGH VALUE | |", "| Why | HIGH VALUE | a | b |", "line 11: a Sections row is"),
        ("| Why | HIGH VALUE | |", "Why: HIGH VALUE", "line 11: a Sections row is"),
        ("| section | category | note |", "| name | category | note |", "line 7: the Sections table starts"),
        ("| --- | --- | --- |", "| - | - | - |", "line 8: the Sections table's second row"),
    ],
)
def test_the_sections_table_must_list_every_section_once_in_order(repo, old, new, expected):
    assert reason(VALID.replace(old, new, 1), repo).startswith(expected)


def test_a_pipe_in_a_section_name_is_written_escaped(repo):
    doc = DOC.replace("## Why", "## Why | how")
    text = VALID.replace("| Why | HIGH VALUE | |", "| Why \\| how | HIGH VALUE | |")
    text = text.replace("\n## Why\n", "\n## Why | how\n")
    assert check(text, repo, doc).sections[2].name == "Why | how"


def test_the_verdict_must_be_the_rules_verdict(repo):
    text = VALID.replace("verdict: SIMPLIFY", "verdict: KEEP")
    assert reason(text, repo) == "verdict is KEEP, but the rules give SIMPLIFY for this table and findings"
    # Rows as CONTEXTUAL leaves no bad line: rule 4 (a BROKEN finding) gives NEEDS UPDATE.
    text = VALID.replace("| Rows | DUPLICATIVE |", "| Rows | CONTEXTUAL |")
    assert reason(text, repo) == (
        "verdict is SIMPLIFY, but the rules give NEEDS UPDATE for this table and findings"
    )


def test_verified_and_broken_must_match_the_findings(repo):
    assert (
        reason(VALID.replace("verified: 1", "verified: 2"), repo) == "verified is 2, but the Findings have 1"
    )
    # MISSING counts with BROKEN; CANNOT VERIFY counts in neither.
    assert reason(VALID.replace("broken: 2", "broken: 1"), repo) == "broken is 1, but the Findings have 2"
    assert reason(VALID.replace("broken: 2", "broken: 3"), repo) == "broken is 3, but the Findings have 2"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("- VERIFIED path src/app/plan.py", "the subject of a path finding must be in backticks"),
        ("- FINE path `src/app/plan.py`", 'is not "- STATUS kind subject[: evidence]"'),
        ("* VERIFIED path `src/app/plan.py`", 'is not "- STATUS kind subject[: evidence]"'),
        ("- VERIFIED file `src/app/plan.py`", 'is not "- STATUS kind subject[: evidence]"'),
        ("- VERIFIED path `src/app/plan.py", "its subject's backtick is never closed"),
        ("- VERIFIED path `src/app/plan.py` exists", 'after the subject comes nothing, or ": "'),
        ("- VERIFIED path `src/app/plan.py`: ", 'after the subject comes nothing, or ": "'),
        ("- VERIFIED path ``", "its subject is empty"),
    ],
)
def test_every_finding_line_must_read(repo, line, expected):
    got = reason(VALID.replace("- VERIFIED path `src/app/plan.py`", line), repo)
    assert got.startswith("line 14: a Findings line ") and expected in got


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("- [ZZ] src/app/plan.py: stale", "[ZZ] is not a collateral tag"),
        ("- [SC] src/app/plan.py stale", 'is not "- [TAG] path[:line]: what is wrong"'),
        ("- [SC] src/app/plan.py: ", 'is not "- [TAG] path[:line]: what is wrong"'),  # nothing said
        ("- SC src/app/plan.py: stale", 'is not "- [TAG] path[:line]: what is wrong"'),
    ],
)
def test_every_collateral_line_must_read(repo, line, expected):
    text = VALID.replace('- [SC] src/app/plan.py:3: comment says "list"; it is a dict', line)
    got = reason(text, repo)
    assert got.startswith("line 20: a Collateral line ") and expected in got


def test_collateral_locations_with_and_without_backticks(repo):
    text = VALID.replace(
        '- [SC] src/app/plan.py:3: comment says "list"; it is a dict',
        "- [BX] `docs/a.md`: links to b.md\n"
        "- [SD] `src/app/plan.py:7`: docstring is stale\n"
        "- [OS] tools: gone",
    )
    assert check(text, repo).collateral == (
        Collateral("BX", "docs/a.md", None, "links to b.md"),
        Collateral("SD", "src/app/plan.py", 7, "docstring is stale"),
        Collateral("OS", "tools", None, "gone"),
    )


def with_path_finding(status: str, path: str) -> str:
    """VALID with its VERIFIED path finding replaced (counts and verdict kept consistent)."""
    text = VALID.replace("- VERIFIED path `src/app/plan.py`", f"- {status} path `{path}`")
    if status == "BROKEN":
        text = text.replace("verified: 1", "verified: 0").replace("broken: 2", "broken: 3")
    return text


def test_a_broken_path_must_not_exist_and_a_verified_one_must(repo):
    assert reason(with_path_finding("BROKEN", "src/app/plan.py"), repo) == (
        "BROKEN path src/app/plan.py exists in the repo root"
    )
    assert (
        reason(with_path_finding("BROKEN", "src/app"), repo) == "BROKEN path src/app exists in the repo root"
    )
    assert reason(with_path_finding("VERIFIED", "src/app/gone.py"), repo) == (
        "VERIFIED path src/app/gone.py does not exist in the repo root"
    )


@pytest.mark.parametrize(
    "path", ["../outside.txt", "out/outside.txt", "/etc/passwd", "src/\x00x", "a" * 5000]
)
def test_a_path_outside_the_repo_root_never_exists_there(repo, path):
    # What is there outside the root (or cannot be a path at all) does not exist in the repo root.
    assert "does not exist in the repo root" in reason(with_path_finding("VERIFIED", path), repo)
    assert check(with_path_finding("BROKEN", path), repo).findings[0].subject == path


def test_the_revised_document_must_be_there_exactly_when_the_verdict_takes_one(repo):
    without = VALID[: VALID.index("## Revised document")]
    assert reason(without, repo) == "the revised document is missing (SIMPLIFY needs one)"
    # All sections good and nothing broken: KEEP, which takes no revised document.
    keep = (
        VALID.replace("| Rows | DUPLICATIVE |", "| Rows | CONTEXTUAL |")
        .replace("verdict: SIMPLIFY", "verdict: KEEP")
        .replace("broken: 2", "broken: 0")
        .replace("- BROKEN path `src/app/old.py`\n", "")
        .replace("- MISSING symbol `_legacy`: nowhere in src\n", "")
    )
    assert reason(keep, repo) == "a revised document is present, but KEEP takes none"
    assert check(keep[: keep.index("## Revised document")], repo).revised is None


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "title: Plans\nread_when",
            "title: [Plans\nread_when",
            "frontmatter does not parse as a YAML mapping",
        ),
        ("~~~markdown\n---\n", "~~~markdown\n---\n- a list\n---\n", "frontmatter does not parse as a YAML"),
        (REVISED[: REVISED.index("# Plans")], "", "has no frontmatter (the doc has one)"),
        (
            'tripwires:\n  - action: "editing rows"\n    warning: "read this"\n---\n# Plans\n\n',
            "---\n",
            "lost",
        ),
        ("~~~markdown", "```markdown", "the revised document opens with ~~~markdown"),
        ("\n~~~\n", "\n", "the revised document is not closed with a last line ~~~"),
        ("\n~~~\n", "\n~~~\ntrailing text\n", "the revised document is not closed with a last line ~~~"),
    ],
)
def test_the_revised_document_must_read_and_keep_the_frontmatter(repo, old, new, expected):
    head, revised = VALID.split("## Revised document", 1)
    assert old in revised
    text = head + "## Revised document" + revised.replace(old, new, 1)
    assert expected in reason(text, repo)


def test_the_lost_key_is_named(repo):
    head, revised = VALID.split("## Revised document", 1)
    revised = revised.replace('tripwires:\n  - action: "editing rows"\n    warning: "read this"\n', "")
    assert reason(head + "## Revised document" + revised, repo) == (
        "the revised document's frontmatter lost tripwires"
    )
    revised = revised.replace('read_when:\n  - "changing plans"\n', "read_when:\n")
    assert reason(head + "## Revised document" + revised, repo) == (
        "the revised document's frontmatter lost read_when"
    )


def test_a_doc_without_frontmatter_may_be_revised_without_one(repo):
    doc = DOC[DOC.index("# Plans") :]
    text = VALID.replace(REVISED, "# Plans\n\n## Why\nBecause reasons.\n")
    assert check(text, repo, doc).revised == "# Plans\n\n## Why\nBecause reasons.\n"
    # The doc's own frontmatter does not parse, so its 8 lines are intro lines: (intro) is lines 0-11
    # (12), Rows 3, Why 2; bad 3/17 = 17%, so the BROKEN finding makes it NEEDS UPDATE. There was no
    # frontmatter to keep.
    unparsed = DOC.replace("title: Plans", "title: Plans: a: b")
    audit = check(text.replace("verdict: SIMPLIFY", "verdict: NEEDS UPDATE"), repo, unparsed)
    assert (audit.verdict, audit.bad, audit.good) == ("NEEDS UPDATE", 17, 82)
    assert [row.size for row in audit.sections] == [12, 3, 2]


def test_the_revised_document_may_hold_fences_and_headings(repo):
    revised = REVISED + "~~~\nnot the end\n~~~\n\n## Summary\n"
    text = VALID.replace(REVISED, revised)
    assert check(text, repo).revised == revised


def test_what_erkweb_writes_reads_back_the_same(repo):
    rows = [
        SectionRow("(intro)", "CONTEXTUAL", "", 4),
        SectionRow("Rows", "DUPLICATIVE", "a | in a note", 3),
        SectionRow("Why", "HIGH VALUE", "", 2),
    ]
    findings = [
        Finding("VERIFIED", "import", "from app.plan import ROWS", "src/app/plan.py"),
        Finding("BROKEN", "path", "src/app/old.py"),
        Finding("MISMATCH", "claim", "rows: a list", "a dict"),
        Finding("CANNOT VERIFY", "claim", "fast"),
    ]
    collateral = [Collateral("CF", "src/app/plan.py", 1, "ROWS is a dict now")]
    audit = make_audit("plan.md", rows, findings, collateral=collateral, summary="Cut Rows.", revised=REVISED)
    assert audit.verdict == "SIMPLIFY" and (audit.verified, audit.broken) == (1, 2)
    assert check(format_audit(audit), repo) == audit
    # make_audit drops a revision the verdict does not take.
    keep = make_audit("plan.md", rows[:1], [], summary="Fine.", revised=REVISED)
    assert keep.verdict == "KEEP" and keep.revised is None
    with pytest.raises(ValueError):
        Finding("VERIFIED", "symbol", "a`b").line()


def test_hostile_revised_frontmatter_is_refused_quietly(repo):
    head = VALID[: VALID.index("~~~markdown")]
    deep = "---\ntitle: " + "[" * 1500 + "]" * 1500 + "\n---\nbody\n"
    assert "frontmatter" in reason(head + "~~~markdown\n" + deep + "~~~\n", repo)
    tagged = "---\ntitle: !!python/object/apply:os.system ['true']\n---\nbody\n"
    assert "frontmatter does not parse" in reason(head + "~~~markdown\n" + tagged + "~~~\n", repo)
    laughs = "---\na: &a [x, x, x, x, x, x, x, x, x]\n"
    laughs += "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh", strict=True)
    )
    laughs += "title: t\nread_when: r\ntripwires: w\n---\nbody\n"
    assert check(head + "~~~markdown\n" + laughs + "~~~\n", repo).revised.startswith("---\na: &a")


def test_random_damage_never_raises_anything_else(repo):
    """Lines deleted, duplicated, swapped, cut, or filled with NUL, huge numbers and odd characters:
    check_audit returns an audit or raises AuditFileError, nothing else."""
    rng = random.Random(20261128)
    noise = ["\x00", "`", "|", "\\|", "~~~", "## ", "- ", ": ", "9" * 400, "\u2028", "\ufffd", "\r", "---"]
    lines = VALID.split("\n")
    outcomes = {"ok": 0, "rejected": 0}
    for _ in range(600):
        damaged = list(lines)
        for _ in range(rng.randint(1, 4)):
            i = rng.randrange(len(damaged))
            action = rng.randrange(5)
            if action == 0:
                del damaged[i]
            elif action == 1:
                damaged.insert(i, damaged[rng.randrange(len(damaged))])
            elif action == 2:
                j = rng.randrange(len(damaged))
                damaged[i], damaged[j] = damaged[j], damaged[i]
            elif action == 3:
                cut = rng.randrange(len(damaged[i]) + 1)
                damaged[i] = damaged[i][:cut] + rng.choice(noise) + damaged[i][cut:]
            else:
                damaged[i] = damaged[i][: rng.randrange(len(damaged[i]) + 1)]
        try:
            check("\n".join(damaged), repo)
            outcomes["ok"] += 1
        except AuditFileError as exc:
            assert exc.reason and "\n" not in exc.reason and "\x00" not in exc.reason
            outcomes["rejected"] += 1
    assert outcomes["rejected"] > 400  # the damage is mostly caught, not waved through
