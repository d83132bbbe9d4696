"""An audit-doc agent's tools (specs/audit-doc.md, "Tools"): the shared three, confined as everywhere
(runs/tools.py), plus ``search_code`` over the repo root (search.py).

``read_file`` reads the repo root, except at the doc's own read path, where it reads the doc as it was
when the run was created (its snapshot, written into the scratch folder from the database): the bytes
whose hash the run recorded, and that applying checks the doc against, are exactly what the agent read.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runs.tools import TOOL_SCHEMAS, Toolbox, ToolError

from .search import SEARCH_CODE_SCHEMA, CodeSearch

SNAPSHOT_DIR = "doc"  # the docs' snapshots, under the run's scratch folder: doc/<doc path>


def snapshot_path(doc: str) -> str:
    return f"{SNAPSHOT_DIR}/{doc}"


def doc_of(snapshot: str) -> str:
    return snapshot.removeprefix(f"{SNAPSHOT_DIR}/")


def read_path(docs_root: Path, repo_root: Path, doc: str) -> str:
    """Where the agent reads its doc: its path in the repository when the docs root is inside the repo
    root (what cross-references in the doc are relative to), else its snapshot's path."""
    target = os.path.realpath(docs_root / doc)
    root = os.path.realpath(repo_root)
    if target.startswith(root.rstrip(os.sep) + os.sep):
        return os.path.relpath(target, root).replace(os.sep, "/")
    return snapshot_path(doc)


@dataclass
class AuditToolbox(Toolbox):
    doc_read_path: str = ""
    snapshot: Path = Path(os.devnull)  # the doc's snapshot in this host's scratch folder
    code: CodeSearch = field(init=False)

    def __post_init__(self) -> None:
        self.code = CodeSearch(self.repo_root)

    @property
    def schemas(self) -> list[dict[str, Any]]:
        return [*TOOL_SCHEMAS, SEARCH_CODE_SCHEMA]

    def _call(self, name: str, args: object) -> str:
        if name == "search_code":
            if not isinstance(args, dict):
                raise ToolError("tool input must be an object")
            return self.code.search_code(args.get("query"))
        return super()._call(name, args)

    def read_file(self, rel: object) -> str:
        if isinstance(rel, str) and rel.strip() and os.path.normpath(rel.strip()) == self.doc_read_path:
            scratch = Toolbox(
                read_root=self.snapshot.parent, repo_root=self.repo_root, output_path=self.output_path
            )
            return scratch.read_file(self.snapshot.name)
        return super().read_file(rel)
