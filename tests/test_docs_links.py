"""Every relative link of README.md, DEVELOPERS.md and docs/ resolves in a fresh clone: the file is in
the repository (not beside it) and an anchor names a heading of that file, the way GitHub makes anchors
from headings (lower case; every character but letters, digits, spaces, ``-`` and ``_`` dropped;
spaces become ``-``; a repeated heading gets ``-1``, ``-2``...)."""

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
CODE_SPAN = re.compile(r"(`+).+?\1")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")


def documents() -> list[Path]:
    return [ROOT / "README.md", ROOT / "DEVELOPERS.md", *sorted((ROOT / "docs").rglob("*.md"))]


def _prose_lines(text: str, *, keep_code: bool = False) -> list[tuple[int, str]]:
    """The lines outside fenced code, with inline code removed unless asked: a link written as code is
    no link, but a heading's code is part of its anchor."""
    lines, fenced = [], False
    for number, line in enumerate(text.splitlines(), start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append((number, line if keep_code else CODE_SPAN.sub("", line)))
    return lines


def slug(heading: str) -> str:
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = text.replace("`", "").strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    found: set[str] = set()
    for _, line in _prose_lines(path.read_text(encoding="utf-8"), keep_code=True):
        match = HEADING.match(line)
        if match:
            base = slug(match[1])
            name, n = base, 0
            while name in found:
                n += 1
                name = f"{base}-{n}"
            found.add(name)
    return found


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for number, line in _prose_lines(path.read_text(encoding="utf-8")):
        for match in LINK.finditer(line):
            target = match[1]
            if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("/"):
                continue  # a URL, or a path of the running app: not a file of the repository
            file_part, _, anchor = target.partition("#")
            where = f"{path.relative_to(root)}:{number}: {target}"
            linked = (path.parent / file_part).resolve() if file_part else path
            if not linked.is_relative_to(root):
                problems.append(f"{where} (outside the repository)")
            elif not linked.exists():
                problems.append(f"{where} (no such file)")
            elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
                problems.append(f"{where} (no such heading)")
    return problems


def tracked(path: Path) -> bool:
    result = subprocess.run(
        ["git", "ls-files", "--error-unmatch", str(path.relative_to(ROOT))],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    return result.returncode == 0 or not (ROOT / ".git").exists()


@pytest.mark.parametrize("path", documents(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_every_relative_link_resolves(path):
    assert broken_links(path) == []


def test_the_linked_files_are_part_of_the_repository():
    """A fresh clone has only what git tracks: a link to a file left untracked would break there."""
    untracked = []
    for path in documents():
        for _, line in _prose_lines(path.read_text(encoding="utf-8")):
            for match in LINK.finditer(line):
                target = match[1].partition("#")[0]
                if target and not re.match(r"[a-z][a-z0-9+.-]*:", target) and not target.startswith("/"):
                    linked = (path.parent / target).resolve()
                    if linked.is_file() and not tracked(linked):
                        untracked.append(f"{path.name}: {target}")
    assert untracked == [] or not (ROOT / ".git").exists()


def test_the_check_finds_what_is_broken(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "other.md").write_text("# Other page\n\n## Step `two`: go\n")
    page = tmp_path / "README.md"
    page.write_text(
        "# Title\n\n## Same\n\n## Same\n\n"
        "[ok](docs/other.md) [ok](docs/other.md#step-two-go) [ok](#same-1) [url](https://example.com)\n"
        "[gone](docs/missing.md) [bad anchor](docs/other.md#nope) [up](../shared/x.md) [self](#nothing)\n"
        "`[code](docs/missing.md)`\n\n```\n[fenced](docs/missing.md)\n```\n"
    )
    assert broken_links(page, tmp_path) == [
        "README.md:8: docs/missing.md (no such file)",
        "README.md:8: docs/other.md#nope (no such heading)",
        "README.md:8: ../shared/x.md (outside the repository)",
        "README.md:8: #nothing (no such heading)",
    ]
