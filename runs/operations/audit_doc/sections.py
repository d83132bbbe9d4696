"""A doc's sections, as erkweb computes them for audit-doc (specs/audit-doc.md, "The doc's sections").

The agent is given these; it does not compute them, so the rules the spec leaves open are settled here:

- The frontmatter is audit-scan's (``audit_scan.docs.parse_doc``): its lines belong to no section, and a
  block that does not parse is no frontmatter, so its lines are body lines like any other.
- A heading is a body line that starts with ``## `` (two hashes and a space, at column 0) and is not
  inside a code block. Code blocks follow audit-scan's fence rule (a line whose text, with leading
  spaces removed, starts with three backticks opens or closes one): a ``## `` line in an example of
  markdown is not a heading of the doc.
- A section's name is its heading's text after ``## ``, with surrounding whitespace removed; two
  sections may share a name (the table lists them in order, so both are still told apart).
- ``(intro)`` is the body lines before the first heading, when any of them is not blank; its size counts
  all of those lines, blank ones included. When they are all blank they belong to no section.
"""

from dataclasses import dataclass

from runs.operations.audit_scan.docs import Doc, parse_doc

INTRO = "(intro)"
HEADING_PREFIX = "## "


@dataclass(frozen=True)
class Section:
    name: str
    start: int  # index of its first line in text.splitlines(): the heading, or the intro's first line
    size: int  # lines, heading included, up to the next heading


@dataclass(frozen=True)
class DocSections:
    doc: Doc
    lines: list[str]  # text.splitlines(): every line of the doc
    body_start: int  # index of the first body line in ``lines``
    sections: tuple[Section, ...]

    @property
    def total(self) -> int:
        """The doc's section lines: what the percentages are shares of."""
        return sum(section.size for section in self.sections)

    def section_lines(self, section: Section) -> list[str]:
        return self.lines[section.start : section.start + section.size]

    def section_at(self, index: int) -> Section | None:
        """The section holding line ``index`` of the doc, or None (frontmatter, a blank intro)."""
        for section in self.sections:
            if section.start <= index < section.start + section.size:
                return section
        return None


def is_fence(line: str) -> bool:
    """audit-scan's fence rule (specs/audit-scan.md, "Fence line"): only spaces are removed, not tabs."""
    return line.lstrip(" ").startswith("```")


def code_mask(body: list[str]) -> list[bool]:
    """For each body line: True when it is a fence line or inside a code block (an unclosed block runs
    to the end), so that it can be neither a heading nor prose."""
    mask = []
    inside = False
    for line in body:
        if is_fence(line):
            inside = not inside
            mask.append(True)
        else:
            mask.append(inside)
    return mask


def is_heading(line: str) -> bool:
    return line.startswith(HEADING_PREFIX)


def heading_name(line: str) -> str:
    return line[len(HEADING_PREFIX) :].strip()


def doc_sections(text: str) -> DocSections:
    doc = parse_doc(text)
    lines = text.splitlines()
    body_start = len(lines) - len(doc.body)
    mask = code_mask(doc.body)
    headings = [
        body_start + offset for offset, line in enumerate(doc.body) if not mask[offset] and is_heading(line)
    ]
    ends = [*headings[1:], len(lines)] if headings else []
    sections = []
    first = headings[0] if headings else len(lines)
    if any(line.strip() for line in lines[body_start:first]):
        sections.append(Section(INTRO, body_start, first - body_start))
    for start, end in zip(headings, ends, strict=True):
        sections.append(Section(heading_name(lines[start]), start, end - start))
    return DocSections(doc=doc, lines=lines, body_start=body_start, sections=tuple(sections))
