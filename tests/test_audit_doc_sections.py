"""A doc's sections as erkweb computes them (specs/audit-doc.md, "The doc's sections").

Expected sizes are counted by hand from each doc's lines (``str.splitlines``, as audit-scan counts).
"""

from runs.operations.audit_doc.sections import INTRO, doc_sections


def names_and_sizes(text: str) -> list[tuple[str, int]]:
    return [(section.name, section.size) for section in doc_sections(text).sections]


PLAN = """---
title: Plan schema
read_when:
  - "editing plans"
---
# Plan schema

Plans are rows.

## Import paths
from a import b

## Why two schemas
Because.
"""


def test_intro_and_headings_with_their_sizes_after_the_frontmatter():
    # Lines 0-4 are the frontmatter; the intro is lines 5-8 (heading `#`, blank, text, blank), then
    # "Import paths" 9-11 and "Why two schemas" 12-13.
    assert names_and_sizes(PLAN) == [(INTRO, 4), ("Import paths", 3), ("Why two schemas", 2)]
    parsed = doc_sections(PLAN)
    assert parsed.body_start == 5
    assert parsed.total == 9
    assert [s.start for s in parsed.sections] == [5, 9, 12]
    assert parsed.section_lines(parsed.sections[1]) == ["## Import paths", "from a import b", ""]
    assert parsed.section_at(2) is None  # a frontmatter line
    assert parsed.section_at(13).name == "Why two schemas"


def test_a_doc_without_headings_is_all_intro():
    assert names_and_sizes("Hello\n\nWorld\n") == [(INTRO, 3)]


def test_blank_lines_before_the_first_heading_are_no_intro():
    text = "---\na: 1\n---\n\n\n## One\nx\n"
    assert names_and_sizes(text) == [("One", 2)]
    # The blank lines belong to no section, so the section lines total 2 of the 5 body lines.
    assert doc_sections(text).total == 2


def test_only_two_hashes_and_a_space_at_column_zero_make_a_heading():
    text = "## Real\n### Sub\n##Tight\n ## Indented\n#### Deep\n## Next\n"
    assert names_and_sizes(text) == [("Real", 5), ("Next", 1)]


def test_a_heading_inside_a_code_block_is_not_one():
    text = "## Real\n```markdown\n## not a heading\n```\ntext\n   ```\n## also inside\n"
    # The second fence (indented 3 spaces) opens a block that is never closed: it runs to the end.
    assert names_and_sizes(text) == [("Real", 7)]


def test_a_frontmatter_that_does_not_parse_is_body():
    text = "---\ntitle: a: b\n---\n## S\n"
    # audit-scan's reading: invalid YAML is no frontmatter, so its three lines are the intro.
    assert names_and_sizes(text) == [(INTRO, 3), ("S", 1)]
    unclosed = "---\ntitle: x\n## S\nbody\n"
    assert names_and_sizes(unclosed) == [(INTRO, 2), ("S", 2)]


def test_names_are_stripped_and_repeated_names_kept_in_order():
    text = "## Example  \na\n## Example\nb\nc\n##   Spaced name\t\n"
    assert names_and_sizes(text) == [("Example", 2), ("Example", 3), ("Spaced name", 1)]


def test_crlf_line_endings_and_an_empty_doc():
    assert names_and_sizes("intro\r\n## A\r\nx\r\n") == [(INTRO, 1), ("A", 2)]
    assert names_and_sizes("") == []
    assert doc_sections("").total == 0
    assert names_and_sizes("---\ntitle: only frontmatter\n---\n") == []
