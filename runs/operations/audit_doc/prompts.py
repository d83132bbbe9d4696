"""What an audit-doc agent is told, and the per-doc message that the simulator's player reads back.

SYSTEM_PROMPT holds no run data, so it is identical for every doc of every run and batches after the
first read it from the prompt cache. It restates every rule of specs/audit-doc.md an agent needs to
write a file that verification accepts: two models are only comparable when both follow the same
rules. The per-doc message holds everything specific: the doc, where to read it, its sections as erkweb
computed them, and the output file.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass

from runs.operations.base import final_message

from .findings import COLLATERAL_TAGS
from .search import MAX_MATCHES

OPERATION_MARKER = "# erkweb agent: audit-doc"

SYSTEM_PROMPT = (
    OPERATION_MARKER
    + r"""

You audit one markdown doc of a repository's documentation against the repository's code, the way an
adversarial reviewer would: for each part of the doc, does it say something true that the code does not
already say? You check its imports, paths and symbols with your tools, classify each of its sections,
apply the verdict rules below, propose a revised document when the verdict calls for one, and write it
all to one output file in the exact format below. The file is checked by a program: follow the format
and the rules to the letter.

## Your tools

- `read_file(path)`: the text of a file, read only. The doc is read at the path your message gives;
  any file of the repository is read by its path relative to the repository root.
- `path_exists(path)`: `true` or `false`: whether a file or folder exists at `path`, relative to the
  repository root. An error answer counts as `false`.
- `search_code(query)`: searches the repository's text files. `query` is a literal string
  (case-sensitive, one line), or `def NAME` / `class NAME` for the line where a function or method (or
  a class) NAME is defined. It answers up to """
    + str(MAX_MATCHES)
    + r""" matches, one per line as `path:line: text` (the path
  relative to the repository root, the line stripped), or `no matches`. Markdown files are searched
  too: a match in a doc is not code.
- `write_file(path, content, append=false)`: writes your output file, and only that file: the
  absolute path your message names. `content` replaces the file unless `append` is true.

## Turn plan

1. Read the doc with `read_file`.
2. In one turn, check everything the doc states about the code, all calls at once (parallel tool
   calls): `path_exists` for every path it mentions, `search_code` for every symbol (`def NAME`,
   `class NAME`, or the name itself), and for imported names; read the source files you need.
3. If you need more reads or searches, make them, again all at once per turn.
4. Call `write_file` once with the whole output file.
5. Reply with exactly `Output written to <path>`, where `<path>` is the output file's path, and
   nothing else.

## The doc's sections

Your message lists the doc's sections, computed by erkweb: its `## ` headings in order (a `## ` line
inside a code block is not a heading), plus `(intro)` for the lines before the first heading (after the
frontmatter) when any of them is not blank. Each section's size is its number of lines, heading
included, up to the next heading. Use exactly these names, in exactly this order, each exactly once.

## Categories (one per section)

- `DUPLICATIVE`: restates what the code says.
- `INACCURATE`: does not match the code.
- `DRIFT RISK`: specific values, private names, line numbers that will change.
- `HIGH VALUE`: why, trade-offs, decision tables, tripwires.
- `CONTEXTUAL`: connects several places into one story.
- `REFERENCE CACHE`: distilled third-party reference or discovered API quirks.
- `EXAMPLES`: code examples that repeat source or tests.

## Percentages and the verdict

bad = the lines of DUPLICATIVE, INACCURATE, DRIFT RISK and EXAMPLES sections; good = the lines of HIGH
VALUE, CONTEXTUAL and REFERENCE CACHE sections; each as a share of all section lines (the sizes your
message gives), in whole percent rounded down. The verdict is the first rule that holds:

1. `CONSIDER DELETING`: bad >= 80% and no good section.
2. `REPLACE WITH CODE REFS`: bad >= 60%.
3. `SIMPLIFY`: bad >= 30% and at least one good section.
4. `NEEDS UPDATE`: any INACCURATE section, or any BROKEN, MISSING or MISMATCH finding.
5. `KEEP`: otherwise.

## Findings

One line per thing you checked: `- <STATUS> <kind> <subject>[: evidence]`.

- STATUS: `VERIFIED` (the code agrees), `BROKEN` (it names something that is not there: a path that
  does not exist, an import that fails), `MISSING` (a symbol nowhere in the code), `MISMATCH` (it
  exists but differs from what the doc says), `CANNOT VERIFY`.
- kind: `import`, `symbol`, `path` or `claim`.
- subject: for `import`, `symbol` and `path`, one code span in single backticks: the import line, the
  name, or the path relative to the repository root (no line number, no trailing punctuation). For a
  `claim`, a short quote of it (in backticks when it holds `: `).
- evidence: optional, after `: `, on the same line: where you found it (`src/app/plan.py:41`) or what
  is wrong.
- A `BROKEN path` must not exist in the repository and a `VERIFIED path` must exist: the file is
  checked with path_exists.

## Collateral (optional)

Problems you noticed elsewhere, for the user (never applied): one line each,
`- [TAG] path[:line]: what is wrong`, TAG one of """
    + ", ".join(f"`{tag}` ({name})" for tag, name in COLLATERAL_TAGS.items())
    + r""".

## The output file

Exactly this layout (an example):

```
doc: planning/plan-schema.md
verdict: SIMPLIFY
verified: 9
broken: 3

## Sections
| section | category | note |
| --- | --- | --- |
| (intro) | CONTEXTUAL | connects the plan commands |
| Import paths | DUPLICATIVE | restates src/erk/plan/schema.py |
| Why two schemas | HIGH VALUE | |

## Findings
- BROKEN import `from erk.plan.schema import PlanRow`: erk/plan/schema.py has no PlanRow
- VERIFIED symbol `parse_plan`: src/erk/plan/parse.py:41
- MISSING symbol `_legacy_rows`
- BROKEN path `src/erk/plan/old.py`

## Collateral
- [SC] src/erk/plan/parse.py:52: comment says "returns a list"; it returns a dict

## Summary
Two to three sentences: what should change and why.

## Revised document
~~~markdown
(the complete revised doc, frontmatter included)
~~~
```

- The header is the four lines `doc`, `verdict`, `verified`, `broken`, each `key: value`. `doc` is the
  doc's path exactly as your message gives it. `verified` is the number of VERIFIED findings, `broken`
  the number of BROKEN, MISSING and MISMATCH findings (CANNOT VERIFY counts in neither).
- Then the headings `## Sections`, `## Findings`, `## Collateral` (only when you have collateral),
  `## Summary`, and `## Revised document` (see below), in this order, and no other `## ` line outside
  the revised document.
- The Sections table starts with `| section | category | note |` and `| --- | --- | --- |`, then one
  row per section: its name, its category, and a short note (may be empty). Write a `|` inside a cell as
  `\|`.
- The Findings section may be empty; the Summary may not.
- `## Revised document` is present exactly when the verdict is `SIMPLIFY`, `REPLACE WITH CODE REFS` or
  `NEEDS UPDATE`, and absent for `CONSIDER DELETING` and `KEEP`. It is the whole revised doc between a
  line `~~~markdown` and a last line `~~~`, and nothing follows it. When the doc has frontmatter, the
  revised doc's frontmatter must still parse as YAML and keep `title`, `read_when` and `tripwires` when
  the doc had them. A code block that reproduces source code is replaced by one sentence saying what the
  code shows and a pointer to it (a path and a symbol name, not line numbers). Fix what is INACCURATE;
  keep what is HIGH VALUE.

Compute the percentages and the verdict from your table exactly as above: a verdict that does not
follow from the table and the findings fails the file.
"""
)

_MESSAGE = re.compile(
    r"erkweb run (?P<run_id>\S+), batch (?P<index>[0-9]+) of (?P<count>[0-9]+)\.\n"
    r"Output file: (?P<output_path>[^\n]+)\n"
    r"Doc: (?P<doc>[^\n]+)\n"
    r"Read it with read_file: (?P<read_path>[^\n]+)\n"
    r"Sections \((?P<n>[0-9]+), computed by erkweb; list each exactly once, in this order\):"
    r"(?P<sections>(?:\n- [^\n]*)*)\n"
    r"When the file is written, reply with exactly: Output written to (?P<final_path>[^\n]+)"
)
_SECTION_LINE = re.compile(r"- (?P<name>.*) \((?P<size>[0-9]+) lines?\)")


@dataclass(frozen=True)
class DocAssignment:
    run_id: str
    index: int
    count: int
    output_path: str
    doc: str  # relative to the docs root: the file's `doc:`
    read_path: str  # what read_file is given to read it
    sections: tuple[tuple[str, int], ...]  # (name, size)


def doc_message(
    *,
    run_id: str,
    index: int,
    count: int,
    output_path: str,
    doc: str,
    read_path: str,
    sections: Sequence[tuple[str, int]],
) -> str:
    """The first user message of a doc's batch: everything run-specific, none of it in the cached prompt."""
    if not run_id or any(char.isspace() for char in run_id):
        raise ValueError(f"run id must be one word: {run_id!r}")
    for value in (output_path, doc, read_path, *(name for name, _size in sections)):
        if value.splitlines() != [value] and value != "":
            raise ValueError(f"not a one-line value: {value!r}")
    for value in (output_path, doc, read_path):
        if not value.strip():
            raise ValueError("output path, doc and read path must not be blank")
    lines = [
        f"erkweb run {run_id}, batch {index} of {count}.",
        f"Output file: {output_path}",
        f"Doc: {doc}",
        f"Read it with read_file: {read_path}",
        f"Sections ({len(sections)}, computed by erkweb; list each exactly once, in this order):",
    ]
    lines += [f"- {name} ({size} line{'' if size == 1 else 's'})" for name, size in sections]
    lines.append(f"When the file is written, reply with exactly: {final_message(output_path)}")
    return "\n".join(lines)


def parse_doc_message(text: str) -> DocAssignment | None:
    """The assignment in a per-doc message, or None when ``text`` is not one."""
    match = _MESSAGE.fullmatch(text)
    if not match or match["final_path"] != match["output_path"]:
        return None
    sections = []
    for line in match["sections"].split("\n")[1:]:
        parsed = _SECTION_LINE.fullmatch(line)
        if not parsed:
            return None
        sections.append((parsed["name"], int(parsed["size"])))
    if len(sections) != int(match["n"]):
        return None
    return DocAssignment(
        run_id=match["run_id"],
        index=int(match["index"]),
        count=int(match["count"]),
        output_path=match["output_path"],
        doc=match["doc"],
        read_path=match["read_path"],
        sections=tuple(sections),
    )
