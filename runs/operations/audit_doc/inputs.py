"""What an audit-doc run audits: its docs root, repo root and docs (specs/audit-doc.md, "Inputs").

Either a succeeded audit-scan run (``from_run``), whose docs root and repo root it takes, with its top N
docs by the scan's ranking (score, then the scan's item order) or docs picked from it; or a docs root
and explicit docs. Every check runs here, before a run exists: a doc outside its root, an unknown run, a
run that is not a succeeded scan, a top below 1 are each an InputError naming the field. Each doc is
read once, confined like applying (apply.snapshot), and that reading is what its agent is given.
"""

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runs.errors import InputError
from runs.models import Run, RunStatus
from runs.operations.audit_scan.gather import default_repo_root
from runs.paths import inside

from .apply import ApplyError, Snapshot, snapshot
from .printable import printable as shown

SCAN_OPERATION = "audit-scan"
DEFAULT_TOP = 10
MAX_DOCS = 200  # one agent each: more than this is not an audit a person reviews


@dataclass(frozen=True)
class Target:
    docs_root: Path
    repo_root: Path
    docs: list[str]  # relative to the docs root, in the order given (top N: the scan's ranking)
    snapshots: dict[str, Snapshot]
    from_run: str | None = None
    top: int | None = None


def _folder(raw: Any, what: str, field: str) -> Path:
    path = Path(str(raw)).expanduser().resolve()
    if not path.is_dir():
        raise InputError(f"The {what} {path} is not a folder.", field=field)
    return path


def top_count(raw: Any) -> int:
    """N of "top N": a whole number >= 1 (the command line gives text, the form a number)."""
    if raw is None or raw == "":
        return DEFAULT_TOP
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise InputError(f"top must be a whole number >= 1, not {shown(str(raw))!r}", field="top") from None
    if value < 1:
        raise InputError(f"top must be a whole number >= 1, not {value}", field="top")
    return value


def doc_path(raw: Any) -> str:
    """A doc path as given, normalised (``./a/../b.md`` is ``b.md``); InputError when it is not one
    relative to the docs root."""
    text = str(raw).strip()
    normal = posixpath.normpath(text) if text else ""
    if (
        not text
        or not text.isprintable()
        or os.path.isabs(text)
        or normal == "."
        or normal.split("/")[0] == ".."
    ):
        raise InputError(f"{shown(text)} is not a doc path inside the docs root", field="doc")
    return normal


def scan_run(run_id: str) -> Run:
    """The succeeded audit-scan run ``run_id`` names."""
    run = Run.objects.filter(run_id=run_id).only("run_id", "operation", "status", "params").first()
    if run is None:
        raise InputError(f"no run {shown(run_id)!r}", field="from_run")
    if run.operation != SCAN_OPERATION:
        raise InputError(f"{run.run_id} is a {run.operation} run, not an {SCAN_OPERATION}", field="from_run")
    if run.status != RunStatus.SUCCEEDED:
        raise InputError(
            f"{run.run_id} is {run.status}: audit the docs of a succeeded scan", field="from_run"
        )
    return run


def ranked(scan: Run, top: int) -> list[str]:
    """The scan's top ``top`` docs: highest score first, ties in the scan's item order."""
    return list(scan.items.order_by("-score", "position").values_list("key", flat=True)[:top])


def _given_docs(params: dict[str, Any]) -> list[str]:
    raw = params.get("doc") or []
    docs = [raw] if isinstance(raw, str) else list(raw)
    return list(dict.fromkeys(doc_path(doc) for doc in docs if str(doc).strip()))


def _same_folder(given: Any, taken: Path, what: str, field: str, run_id: str) -> None:
    # The new-run form always sends a docs root (it starts filled in); only a different one is an error.
    if given and Path(str(given)).expanduser().resolve() != taken.resolve():
        raise InputError(f"{run_id} scanned {taken}: leave out the {what} or give that one", field=field)


def resolve(params: dict[str, Any]) -> Target:
    from_run = str(params.get("from_run") or "").strip()
    docs = _given_docs(params)
    top: int | None = None
    if from_run:
        scan = scan_run(from_run)
        docs_root, repo_root = Path(scan.params["docs_root"]), Path(scan.params["repo_root"])
        _same_folder(params.get("docs_root"), docs_root, "docs root", "docs_root", scan.run_id)
        _same_folder(params.get("repo_root"), repo_root, "repo root", "repo_root", scan.run_id)
        if docs and params.get("top") not in (None, ""):
            raise InputError("give top N or the docs to audit, not both", field="top")
        if docs:
            scanned = set(scan.items.filter(key__in=docs).values_list("key", flat=True))
            for doc in docs:
                if doc not in scanned:
                    raise InputError(f"{shown(doc)} is not a doc {scan.run_id} scanned", field="doc")
        else:
            top = top_count(params.get("top"))
            docs = ranked(scan, top)
            if not docs:
                raise InputError(f"{scan.run_id} scored no docs: there is nothing to audit", field="from_run")
        docs_root = _folder(docs_root, "docs root", "from_run")
        repo_root = _folder(repo_root, "repo root", "from_run")
    else:
        if params.get("top") not in (None, ""):
            raise InputError("top N needs a scan to rank the docs: give --from-run", field="top")
        if not params.get("docs_root"):
            raise InputError(
                "audit-doc needs a scan (--from-run) or a docs root (--docs-root)", field="docs_root"
            )
        docs_root = _folder(params["docs_root"], "docs root", "docs_root")
        given_repo = params.get("repo_root")
        repo_root = _folder(given_repo or default_repo_root(docs_root), "repo root", "repo_root")
        if not docs:
            raise InputError(
                "name the docs to audit (--doc PATH ...), relative to the docs root", field="doc"
            )
    if len(docs) > MAX_DOCS:
        raise InputError(f"{len(docs)} docs: audit at most {MAX_DOCS} in one run", field="doc")
    snapshots = {}
    for doc in docs:
        if not inside(docs_root, docs_root / doc):
            raise InputError(f"{shown(doc)} is outside the docs root {docs_root}", field="doc")
        try:
            snapshots[doc] = snapshot(docs_root, doc)
        except ApplyError as exc:
            raise InputError(exc.reason, field="doc") from None
    return Target(docs_root, repo_root, docs, snapshots, from_run or None, top)
