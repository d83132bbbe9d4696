"""learn's local executor: the heuristic analyser behind every agent file, rule by rule (no database)."""

import json

import pytest

from runs.operations.learn import agents as A
from runs.operations.learn import chunks
from runs.operations.learn.agents import CANDIDATE_FIELDS
from runs.operations.learn.checks import check_file
from runs.operations.learn.local import NOTE, analyse
from runs.operations.learn.local.diff import commit_subjects, parse_diff
from runs.operations.learn.local.session import error_line
from runs.operations.learn.markdown import section
from runs.operations.learn.parsers import parse_candidates, parse_gap_items, parse_plan_items

TITLE = "Add learn local executor"
HINTS = ("learn", "local", "executor")
SESSION_ID = "5f1c0de2"
CHUNK = f"{A.SESSIONS_DIR}/{chunks.chunk_name(SESSION_ID, 1)}"
SESSION_OUT = A.session_output(CHUNK)
AGENTS = A.AGENTS_DIR


def _line(role: str, content) -> dict:
    return {"type": role, "sessionId": SESSION_ID, "message": {"role": role, "content": content}}


def _use(use_id: str, name: str, **params) -> dict:
    return {"type": "tool_use", "id": use_id, "name": name, "input": params}


def _result(use_id: str, text: str) -> dict:
    return {"type": "tool_result", "tool_use_id": use_id, "content": text}


# A Claude Code session: a test run fails twice the same way, an edit, a correction, then a fix.
SESSION_RECORDS = [
    {"type": "summary", "summary": "warm"},
    _line("user", "Add a local executor for learn"),
    _line(
        "assistant",
        [
            {"type": "thinking", "thinking": "plan", "signature": "x"},
            {"type": "text", "text": "I'll run the tests first."},
            _use("t1", "Bash", command="pytest -q tests/test_learn_local.py", description="Run tests"),
        ],
    ),
    _line(
        "user",
        [
            _result(
                "t1",
                'Traceback (most recent call last):\n  File "x.py", line 3\n'
                "ImportError: cannot import name 'analyse' (line 12)\n1 failed in 0.2s",
            )
        ],
    ),
    _line(
        "assistant",
        [
            _use(
                "t2",
                "Edit",
                file_path="/home/dev/erkweb/runs/operations/learn/local.py",
                old_string="pass",
                new_string="def analyse(kind):\n    return kind",
            ),
            _use("t3", "Read", file_path="/home/dev/erkweb/runs/errors.py"),
        ],
    ),
    _line(
        "user",
        [
            _result("t2", "The file /home/dev/erkweb/runs/operations/learn/local.py has been updated."),
            _result("t3", "class InputError(ValueError):\n    '''An error in the inputs.'''"),
        ],
    ),
    _line("assistant", [_use("t4", "Bash", command="pytest -q tests/test_learn_local.py")]),
    _line("user", [_result("t4", "E   ImportError: cannot import name 'analyse' (line 14)")]),
    _line("user", "No, don't touch runs/errors.py; put the helper in files.py instead."),
    _line("assistant", [_use("t5", "Bash", command="pip install -e . && pytest -q")]),
    _line("user", [_result("t5", "12 passed, 0 failed in 0.4s")]),
    _line(
        "assistant", [_use("t6", "Write", file_path="/home/dev/erkweb/docs/learned/learn.md", content="x")]
    ),
    _line("user", [_result("t6", "File created successfully")]),
    _line("assistant", [_use("t7", "Grep", pattern="def analyse", path="runs")]),
    _line("user", [_result("t7", "runs/operations/learn/local.py: raise ValueError('unknown kind')")]),
    _line("assistant", "Done: the tests pass."),
]


def session_chunk(records=SESSION_RECORDS) -> str:
    elements, _ = chunks.to_xml(records, SESSION_ID)
    (chunk,) = chunks.chunk_elements(elements, SESSION_ID)
    return chunk.text


DIFF = """\
diff --git a/runs/operations/learn/local.py b/runs/operations/learn/local.py
new file mode 100644
index 0000000..3b18e51
--- /dev/null
+++ b/runs/operations/learn/local.py
@@ -0,0 +1,9 @@
+import re
+
+def analyse(kind, *, title):
+    return _helper(kind)
+
+async def fetch(url):
+    pass
+
+class HeuristicReport:
diff --git a/runs/management/commands/learn.py b/runs/management/commands/learn.py
new file mode 100644
--- /dev/null
+++ b/runs/management/commands/learn.py
@@ -0,0 +1,2 @@
+class Command(BaseCommand):
+    help = "learn"
diff --git a/tests/test_learn_local.py b/tests/test_learn_local.py
new file mode 100644
--- /dev/null
+++ b/tests/test_learn_local.py
@@ -0,0 +1,2 @@
+def test_it():
+    pass
diff --git a/runs/operations/learn/__init__.py b/runs/operations/learn/__init__.py
new file mode 100644
--- /dev/null
+++ b/runs/operations/learn/__init__.py
@@ -0,0 +1 @@
+
diff --git a/runs/legacy.py b/runs/legacy.py
deleted file mode 100644
--- a/runs/legacy.py
+++ /dev/null
@@ -1,2 +0,0 @@
-def old():
-    pass
diff --git a/README.md b/README.md
index 1111111..2222222 100644
--- a/README.md
+++ b/README.md
@@ -1,2 +1,3 @@
 # erkweb
-Old line.
+New line.
+++ a line that starts with two pluses
"""

LOG = """\
commit 0123456789abcdef0123456789abcdef01234567
Author: Dev <dev@example.com>
Date:   2026-11-20T10:00:00+01:00

    learn: the local executor

    A heuristic analyser for every agent.

commit 89abcdef0123456789abcdef0123456789abcdef
Author: Dev <dev@example.com>
Date:   2026-11-19T09:00:00+01:00

    learn: the management command
"""

COMMENTS = [
    {
        "path": "runs/operations/learn/local.py",
        "line": 12,
        "author": "reviewer",
        "body": "Please document these rules in the README | they are not obvious.",
    },
    {"path": "runs/operations/learn/files.py", "line": 3, "author": "amy", "body": "nit: " + "x" * 300},
    {"path": "runs/views.py", "line": 40, "author": "bo", "body": "Can you explain why this is cached?"},
]

SEARCH = {
    "learn": "docs/learn/overview.md:3: How learn works\ndocs/learn/overview.md:9: learn runs agents\n"
    "docs/cli.md:1: erk learn runs the operation",
    "local": "docs/learn/overview.md:12: the local executor",
    "executor": "docs/learn/overview.md:14: an executor is a model or local\n(stopped at 100 matches)",
}


def search(query: str) -> str:
    return SEARCH.get(query, "no matches")


def run(kind: str, inputs: dict[str, str], hints=HINTS, title=TITLE) -> str:
    return analyse(kind, title=title, hints=hints, inputs=inputs, search=search)


def stage1() -> dict[str, str]:
    """Every stage-1 file, keyed by its path in the run folder."""
    return {
        SESSION_OUT: run(A.SESSION, {CHUNK: session_chunk()}),
        f"{AGENTS}/diff-analysis.md": run(A.DIFF, {A.DIFF_FILE: DIFF, A.LOG_FILE: LOG}),
        f"{AGENTS}/existing-docs-check.md": run(A.DOCS, {}),
        f"{AGENTS}/pr-comments-analysis.md": run(A.COMMENTS, {A.COMMENTS_FILE: json.dumps(COMMENTS)}),
    }


def gap_text() -> str:
    return run(A.GAPS, stage1())


def plan_text() -> str:
    files = stage1()
    return run(
        A.PLAN,
        {
            f"{AGENTS}/gap-analysis.md": gap_text(),
            SESSION_OUT: files[SESSION_OUT],
            f"{AGENTS}/diff-analysis.md": files[f"{AGENTS}/diff-analysis.md"],
        },
    )


def tripwires_text() -> str:
    return run(A.TRIPWIRES, {f"{AGENTS}/learn-plan.md": plan_text(), f"{AGENTS}/gap-analysis.md": gap_text()})


def all_inputs() -> dict[str, dict[str, str]]:
    files = stage1()
    return {
        A.SESSION: {CHUNK: session_chunk()},
        A.DIFF: {A.DIFF_FILE: DIFF, A.LOG_FILE: LOG},
        A.DOCS: {},
        A.COMMENTS: {A.COMMENTS_FILE: json.dumps(COMMENTS)},
        A.GAPS: files,
        A.PLAN: {f"{AGENTS}/gap-analysis.md": gap_text(), **files},
        A.TRIPWIRES: {f"{AGENTS}/learn-plan.md": plan_text(), f"{AGENTS}/gap-analysis.md": gap_text()},
    }


def bullets(text: str, heading: str) -> list[str]:
    return [line[2:] for line in (section(text, heading) or "").split("\n") if line.startswith("- ")]


# --- every file verifies ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [A.SESSION, A.DIFF, A.DOCS, A.COMMENTS, A.GAPS, A.PLAN])
def test_every_markdown_file_verifies_with_every_heading_and_the_note(kind):
    text = run(kind, all_inputs()[kind])
    assert check_file(kind, text, title=TITLE).warnings == ()
    for heading in A.HEADINGS[kind]:
        assert (section(text, heading) or "").strip(), heading
    # The note says what wrote the file, near the top.
    assert NOTE in text.split("\n")[:4]


@pytest.mark.parametrize("kind", [A.SESSION, A.DIFF, A.DOCS, A.COMMENTS, A.GAPS, A.PLAN, A.TRIPWIRES])
def test_empty_inputs_still_give_a_file_that_verifies(kind):
    text = analyse(kind, title=TITLE, hints=(), inputs={}, search=lambda q: "no matches")
    check_file(kind, text, title=TITLE)
    if kind != A.TRIPWIRES:
        assert "None found." in text


@pytest.mark.parametrize("kind", [A.SESSION, A.DIFF, A.DOCS, A.COMMENTS, A.GAPS, A.PLAN, A.TRIPWIRES])
def test_same_inputs_give_the_same_bytes_whatever_their_order(kind):
    inputs = all_inputs()[kind]
    first = run(kind, inputs)
    assert run(kind, dict(reversed(list(inputs.items())))) == first
    assert run(kind, all_inputs()[kind]) == first


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown learn agent kind"):
        analyse("poet", title=TITLE, hints=(), inputs={}, search=search)


# --- session analyzer ---------------------------------------------------------------------------


def test_the_chunk_is_the_format_sessions_writes():
    chunk = session_chunk()
    assert chunk.startswith(f'<session id="{SESSION_ID}" part="1">\n')
    assert (
        '<tool_use name="Bash">command: pytest -q tests/test_learn_local.py\ndescription: Run tests' in chunk
    )
    assert "<tool_result>E   ImportError" in chunk


def test_session_errors_resolutions_and_the_repeated_error_as_tripwire():
    text = run(A.SESSION, {CHUNK: session_chunk()})
    errors = bullets(text, "Errors Resolved")
    # The traceback header gives way to the line that says what went wrong; the two failures (line
    # numbers differ) are one error, resolved by the later Bash call that succeeded ("0 failed" is none).
    assert errors == [
        "`Bash` (`pytest -q tests/test_learn_local.py`) failed 2 times with "
        "`ImportError: cannot import name 'analyse' (line 12)`; resolved: a later `Bash` call "
        "(`pip install -e . && pytest -q`) succeeded."
    ]
    assert bullets(text, "Tripwire Candidates") == [
        "Using `Bash` for `pytest -q tests/test_learn_local.py` — It failed 2 times with "
        "`ImportError: cannot import name 'analyse' (line 12)`; what worked was "
        "`pip install -e . && pytest -q`."
    ]


def test_session_corrections_patterns_and_touched_files():
    text = run(A.SESSION, {CHUNK: session_chunk()})
    assert bullets(text, "User Corrections") == [
        "“No, don't touch runs/errors.py; put the helper in files.py instead.” (matched “no,”)"
    ]
    assert bullets(text, "Patterns Discovered") == [
        "`Bash`: 3 calls",
        "`Edit`: 1 call",
        "`Grep`: 1 call",
        "`Read`: 1 call",
        "`Write`: 1 call",
    ]
    assert bullets(text, "Documentation Opportunities") == [
        "`/home/dev/erkweb/docs/learned/learn.md` — changed by 1 Write call; check that its docs say what "
        "changed and why.",
        "`/home/dev/erkweb/runs/operations/learn/local.py` — changed by 1 Edit call; check that its docs say "
        "what changed and why.",
    ]
    assert text.startswith(f"# Session Analysis: session-{SESSION_ID}-part1\n")


def test_an_error_seen_once_and_never_fixed_is_no_tripwire():
    records = [
        _line("user", "Run it"),
        _line("assistant", [_use("a", "Bash", command="make deploy")]),
        _line("user", [_result("a", "fatal: not a git repository")]),
        _line("assistant", [_use("b", "Read", file_path="README.md")]),
        _line("user", [_result("b", "<tool_use_error>File does not exist.</tool_use_error>")]),
    ]
    text = run(A.SESSION, {CHUNK: session_chunk(records)})
    assert bullets(text, "Errors Resolved") == [
        "`Bash` (`make deploy`) failed once with `fatal: not a git repository`; not resolved in this chunk.",
        "`Read` (`README.md`) failed once with `<tool_use_error>File does not exist.</tool_use_error>`; "
        "not resolved in this chunk.",
    ]
    assert section(text, "Tripwire Candidates") == "None found."
    assert section(text, "User Corrections") == "None found."


@pytest.mark.parametrize(
    ("result", "tool", "expected"),
    [
        ("ok\nall good", "Bash", None),
        ("5 passed, 0 failed\nno errors", "Bash", None),
        ("Traceback (most recent call last):\n  File x\nKeyError: 'a'", "Bash", "KeyError: 'a'"),
        ("Traceback (most recent call last):", "Bash", "Traceback (most recent call last):"),
        ("npm ERR! FATAL thing", "Bash", "npm ERR! FATAL thing"),
        ("def f():\n    raise ValueError('x')", "Read", None),
        (
            "<tool_use_error>String not found</tool_use_error>",
            "Edit",
            "<tool_use_error>String not found</tool_use_error>",
        ),
        ("raise ValueError('x')\nhas been updated", "Edit", "raise ValueError('x')"),
        ("Error: no such file", "Grep", "Error: no such file"),
    ],
)
def test_error_line(result, tool, expected):
    assert error_line(result, tool) == expected


# --- diff analyzer ------------------------------------------------------------------------------


def test_diff_inventory_definitions_and_statuses():
    files = {change.path: change for change in parse_diff(DIFF)}
    assert {path: change.status for path, change in files.items()} == {
        "runs/operations/learn/local.py": "added",
        "runs/management/commands/learn.py": "added",
        "tests/test_learn_local.py": "added",
        "runs/operations/learn/__init__.py": "added",
        "runs/legacy.py": "deleted",
        "README.md": "modified",
    }
    assert files["runs/operations/learn/local.py"].definitions == [
        ("def", "analyse"),
        ("async def", "fetch"),
        ("class", "HeuristicReport"),
    ]
    assert (files["README.md"].added, files["README.md"].removed) == (2, 1)

    text = run(A.DIFF, {A.DIFF_FILE: DIFF, A.LOG_FILE: LOG})
    assert (
        "- added `runs/operations/learn/local.py` (+9/-0); defines `def analyse`, `async def fetch`, "
        "`class HeuristicReport`" in text
    )
    assert "- deleted `runs/legacy.py` (+0/-2)" in text
    summary = section(text, "Documentation Summary")
    assert summary.startswith("6 files changed (4 added, 1 modified, 1 deleted), +16/-3 lines, 5 definitions")
    assert "- learn: the local executor\n- learn: the management command" in summary


def test_diff_recommends_one_item_per_added_module_and_command():
    text = run(A.DIFF, {A.DIFF_FILE: DIFF, A.LOG_FILE: LOG})
    assert bullets(text, "Recommended Documentation Items") == [
        "`runs/management/commands/learn.py` — new command `learn`: document what it does, its options and "
        "an example (defines `Command`).",
        "`runs/operations/learn/local.py` — new module: document what it is for and how to use it (defines "
        "`analyse`, `fetch`, `HeuristicReport`).",
    ]


def test_commit_subjects_in_both_log_formats():
    assert commit_subjects(LOG) == ["learn: the local executor", "learn: the management command"]
    assert commit_subjects("abc1234 first\n\ndef5678 second\n") == ["first", "second"]
    assert commit_subjects("") == []


# --- docs checker -------------------------------------------------------------------------------


def test_docs_check_counts_matches_and_warns_of_duplicates():
    text = run(A.DOCS, {})
    assert bullets(text, "Existing Documentation Found") == [
        "`docs/learn/overview.md` — 4 matches (learn: 2, local: 1, executor: 1); first at line 3: How "
        "learn works",
        "`docs/cli.md` — 1 match (learn: 1); first at line 1: erk learn runs the operation",
    ]
    assert bullets(text, "Duplicate Warnings") == [
        "`docs/learn/overview.md` matches every hint (learn, local, executor): a new doc may repeat it; "
        "consider updating it instead."
    ]
    assert section(text, "Contradiction Warnings").startswith("None found.")
    assert "3 hints (learn, local, executor): 2 docs matched, 1 may duplicate" in section(text, "Summary")


def test_docs_check_with_one_hint_warns_of_no_duplicate():
    text = run(A.DOCS, {}, hints=("learn",))
    assert section(text, "Duplicate Warnings") == "None found."
    text = run(A.DOCS, {}, hints=())
    assert section(text, "Summary") == "No search hints, so nothing was searched."


# --- comments analyzer --------------------------------------------------------------------------


def test_comments_opportunities_and_insights():
    text = run(A.COMMENTS, {A.COMMENTS_FILE: json.dumps(COMMENTS)})
    assert bullets(text, "Documentation Opportunities") == [
        "`runs/operations/learn/local.py` — line 12, reviewer asks: “Please document these rules in the "
        "README | they are not obvious.”",
        "`runs/views.py` — line 40, bo asks: “Can you explain why this is cached?”",
    ]
    insights = bullets(text, "Key Insights")
    assert insights[0] == (
        "runs/operations/learn/local.py:12 (reviewer): Please document these rules in the README | they "
        "are not obvious."
    )
    assert insights[1].startswith("runs/operations/learn/files.py:3 (amy): nit: xxx")
    assert len(insights[1]) == 200 and insights[1].endswith("…")


def test_comments_that_are_not_json_are_said_so():
    text = run(A.COMMENTS, {A.COMMENTS_FILE: "[not json"})
    check_file(A.COMMENTS, text, title=TITLE)
    assert section(text, "Documentation Opportunities") == "None found."
    assert "comments.json is not JSON" in section(text, "Key Insights")


# --- gap identifier -----------------------------------------------------------------------------


def test_gap_table_columns_classifications_and_priorities():
    text = gap_text()
    table = section(text, "Enumerated Items").split("\n")
    assert table[0] == "| # | Item | Classification | Priority | Source |"
    items = parse_gap_items(text)
    rows = [(i.number, i.classification, i.priority, i.source) for i in items]
    assert rows == [
        # Named by the diff, the session and a review comment: HIGH, and the docs check found a doc
        # sharing a word (learn) with it.
        (
            "1",
            "UPDATE_EXISTING",
            "HIGH",
            "diff-analysis.md, pr-comments-analysis.md, session-5f1c0de2-part1.md",
        ),
        ("2", "UPDATE_EXISTING", "MEDIUM", "diff-analysis.md"),  # from the diff only
        ("3", "UPDATE_EXISTING", "LOW", "session-5f1c0de2-part1.md"),  # docs/learned/learn.md
        ("4", "NEW_DOC", "LOW", "pr-comments-analysis.md"),  # views.py: no doc shares a word
        ("5", "TRIPWIRE", "HIGH", "session-5f1c0de2-part1.md"),  # failed 2 times
    ]
    assert items[0].item.startswith("`runs/operations/learn/local.py` — new module")
    assert items[0].item.endswith("(target: docs/learn/overview.md)")
    assert items[3].item.endswith("(target: docs/runs-views.md)")
    assert items[4].item.endswith("(target: docs/learn/overview.md)")
    stats = bullets(text, "Summary Statistics")
    assert "Items: 5 (NEW_DOC 1, UPDATE_EXISTING 3, TRIPWIRE 1, SKIP 0)" in stats
    assert "Priorities: HIGH 2, MEDIUM 1, LOW 2" in stats
    assert bullets(text, "Tripwire Candidates")[0].startswith("**HIGH** — Using `Bash` for")


def test_gap_cells_escape_pipes_and_a_gap_with_nothing_verifies():
    comments = [{"path": "a|b.py", "line": 1, "author": "x", "body": "document a | b"}]
    files = {f"{AGENTS}/pr-comments-analysis.md": run(A.COMMENTS, {A.COMMENTS_FILE: json.dumps(comments)})}
    text = run(A.GAPS, files)
    check_file(A.GAPS, text, title=TITLE)
    (item,) = parse_gap_items(text)
    assert "document a | b" in item.item and item.classification == "NEW_DOC"

    empty = run(A.GAPS, {})
    check_file(A.GAPS, empty, title=TITLE)
    assert parse_gap_items(empty) == []


def test_gap_reads_bullets_a_model_wrote():
    written = (
        "# Session\n\n## Documentation Opportunities\n\n1. Explain how the **cache** is keyed\n"
        "* Explain how the cache is keyed\n\n## Tripwire Candidates\n\n- Running migrations twice: "
        "drop the test database first\n  - a nested detail\n\n## Patterns Discovered\n\nNone found.\n"
    )
    text = run(A.GAPS, {f"{AGENTS}/session-x-part1.md": written})
    rows = [(i.item, i.classification, i.priority) for i in parse_gap_items(text)]
    assert rows == [
        ("Explain how the **cache** is keyed (target: docs/explain-cache-keyed.md)", "NEW_DOC", "LOW"),
        (
            "Running migrations twice: drop the test database first (target: docs/tripwires.md)",
            "TRIPWIRE",
            "LOW",
        ),
    ]


# --- plan synthesizer ---------------------------------------------------------------------------


def test_plan_first_line_items_and_tripwire_insights():
    text = plan_text()
    assert text.split("\n")[0] == f"# Documentation Plan: {TITLE}"
    check_file(A.PLAN, text, title=TITLE)
    items = parse_plan_items(text)
    assert [item.priority for item in items] == ["HIGH", "MEDIUM", "LOW", "LOW"]
    assert items[0].text.startswith("**HIGH** — update: `runs/operations/learn/local.py` — new module")
    assert items[0].text.endswith("(target: docs/learn/overview.md)")
    assert items[3].text.startswith("**LOW** — new doc: `runs/views.py`")
    (insight,) = bullets(text, "Tripwire Insights")
    assert insight.startswith("**HIGH** — Using `Bash` for `pytest -q tests/test_learn_local.py` — It failed")
    assert "1 new doc, 3 updates to existing docs; 1 tripwire insight" in section(text, "Summary")
    assert "The diff: 6 files changed" in section(text, "Context")


def test_plan_title_is_the_title_as_given():
    text = analyse(A.PLAN, title="  Fix the  flaky test ", hints=(), inputs={}, search=search)
    assert text.startswith("# Documentation Plan: Fix the  flaky test\n")
    check_file(A.PLAN, text, title="  Fix the  flaky test ")


# --- tripwire extractor -------------------------------------------------------------------------


def test_tripwire_json_shape_and_fields():
    text = tripwires_text()
    assert text.endswith("}\n") and text == json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
    data = json.loads(text)
    assert list(data) == ["candidates"]
    (candidate,) = data["candidates"]  # the gap row and the plan's insight are one tripwire
    assert tuple(candidate) == CANDIDATE_FIELDS
    assert candidate == {
        "action": "Using `Bash` for `pytest -q tests/test_learn_local.py`",
        "warning": "It failed 2 times with `ImportError: cannot import name 'analyse' (line 12)`; what "
        "worked was `pip install -e . && pytest -q`",
        "target_doc_path": "learn/overview.md",
    }
    assert check_file(A.TRIPWIRES, text, title=TITLE).warnings == ()
    assert [c.action for c in parse_candidates(text)] == [candidate["action"]]


def test_tripwires_from_a_plan_a_model_wrote():
    plan = (
        f"# Documentation Plan: {TITLE}\n\n## Tripwire Insights\n\n"
        "- **MEDIUM** — Editing generated files: regenerate them instead (target: `docs/build/codegen.md`)\n"
        "- Deleting the scratch folder while a run is live\n"
        "- Escaping paths: never (target: ../outside.md)\n"
    )
    data = json.loads(run(A.TRIPWIRES, {f"{AGENTS}/learn-plan.md": plan}))
    assert data["candidates"] == [
        {
            "action": "Editing generated files",
            "warning": "regenerate them instead",
            "target_doc_path": "build/codegen.md",
        },
        {
            "action": "Deleting the scratch folder while a run is live",
            "warning": "This went wrong during the work the learn plan comes from; check it before doing "
            "this.",
            "target_doc_path": "tripwires.md",
        },
        {"action": "Escaping paths", "warning": "never", "target_doc_path": "tripwires.md"},
    ]
    assert run(A.TRIPWIRES, {}) == '{\n  "candidates": []\n}\n'
