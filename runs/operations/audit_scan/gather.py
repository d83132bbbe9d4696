"""Phase 1 of specs/audit-scan.md: which docs a run scans, skips and excludes.

The item order decides the batches, so it comes from sorting relative paths, never from the order the
file system lists them in. Settled beyond the spec:

- A file or folder symlink that resolves outside the docs root is left out, with a note: the agent's
  read tool refuses to leave the root, so ``local`` and LLM runs must be given the same items. A symlinked
  folder inside the root is followed unless it leads back to a folder being walked (a loop).
- A file whose relative path holds a control character, a line separator or an undecodable byte is left
  out, with a note: a path is one line of the batch file and of the agent's message.
- A file that cannot be read or is not a regular file (a FIFO would block), and a folder that cannot be
  listed, are left out with a note.
- Gathering is bounded (runs/gather_bounds.py): past so many folder entries seen or so many seconds
  spent it stops with an InputError, so a preview of ``/usr`` answers at once with what to do.
"""

import os
import unicodedata
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path, PurePosixPath

from runs.errors import InputError
from runs.gather_bounds import GatherBounds
from runs.paths import inside

from .docs import frontmatter_value, is_auto_generated, parse_audit_date, parse_doc, read_text

RECENT_AUDIT = timedelta(days=7)
DOC_SUFFIX = ".md"
# Cc control characters (\n, \r, \x0b, \x0c, \x1c-\x1e, \x85...), Cs lone surrogates (how Python holds
# undecodable bytes of a file name), Zl/Zp line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})


@dataclass
class Gathered:
    docs_root: Path
    repo_root: Path
    category: str | None
    as_of: date
    items: list[str] = field(default_factory=list)  # scanned, sorted relative posix paths
    skipped: list[str] = field(default_factory=list)  # auto-generated
    excluded: list[str] = field(default_factory=list)  # audited within 7 days
    notes: list[str] = field(default_factory=list)
    sizes: dict[str, int] = field(default_factory=dict)  # characters of each scanned doc


def default_repo_root(docs_root: Path) -> Path:
    """The grandparent of a docs root ending in ``docs/learned``, else the docs root itself."""
    # abspath, not resolve: `docs/learned` is about how the user names the folder, not where a symlink
    # leads; abspath still makes `.` inside docs/learned work.
    absolute = Path(os.path.abspath(docs_root))
    if absolute.parts[-2:] == ("docs", "learned"):
        return absolute.parent.parent
    return absolute


def _safe_name(rel: str) -> bool:
    return not any(unicodedata.category(char) in _UNSAFE_CATEGORIES for char in rel)


def _listing(folder: Path, bounds: GatherBounds) -> list[os.DirEntry[str]]:
    # Counted while listing, not after: one folder of a million entries must hit the bound, not be
    # listed and sorted first.
    entries = []
    with os.scandir(folder) as listing:
        for entry in listing:
            bounds.see()
            entries.append(entry)
    return sorted(entries, key=lambda e: e.name)


def _walk(scan_root: Path, docs_root: Path, notes: list[str], bounds: GatherBounds) -> list[tuple[str, Path]]:
    """(relative posix path, file) of every ``.md`` file under ``scan_root`` that may be scanned."""
    real_root = os.path.realpath(docs_root)
    found: list[tuple[str, Path]] = []
    # Depth-first with an explicit stack: a deep tree must not hit the recursion limit. `ancestors` are
    # the real paths of the folders being walked down to this one, which is what a loop returns to.
    stack = [(scan_root, frozenset({os.path.realpath(scan_root)}))]
    while stack:
        folder, ancestors = stack.pop()
        try:
            entries = _listing(folder, bounds)
        except OSError as exc:
            notes.append(f"Left out {_rel(folder, docs_root)}/: cannot list it ({exc.strerror}).")
            continue
        subfolders = []
        for entry in entries:
            try:
                is_dir = entry.is_dir()  # follows symlinks
                is_file = not is_dir and entry.is_file()
            except OSError:
                is_dir = is_file = False
            # Before any path work: most entries of a big folder are neither docs nor folders.
            if not is_dir and not entry.name.endswith(DOC_SUFFIX):
                continue
            path = Path(entry.path)
            rel = _rel(path, docs_root)
            is_link = entry.is_symlink()
            real = os.path.realpath(path) if is_link else None
            if real is not None and not inside(real_root, real):
                kind = "folder" if is_dir else "file"
                notes.append(f"Left out {rel}: a symlinked {kind} that leads outside the docs root.")
                continue
            if is_dir:
                folder_real = real if real is not None else os.path.realpath(path)
                if folder_real in ancestors:
                    notes.append(f"Left out {rel}/: a symlinked folder that loops back to a parent.")
                    continue
                subfolders.append((path, ancestors | {folder_real}))
            elif not is_file:
                # A FIFO named x.md would block the read; a dangling link has nothing to read.
                broken = is_link and not os.path.exists(path)
                notes.append(f"Left out {rel}: {'a symlink to nothing' if broken else 'not a regular file'}.")
                continue
            elif not _safe_name(rel):
                notes.append(f"Left out {rel!r}: its name has characters a batch file line cannot hold.")
            else:
                found.append((rel, path))
        stack.extend(reversed(subfolders))
    return found


def _rel(path: Path, docs_root: Path) -> str:
    return PurePosixPath(*path.relative_to(docs_root).parts).as_posix()


def _check_folder(path: Path, what: str, field: str) -> None:
    if not path.exists():
        raise InputError(f"The {what} {path} does not exist.", field=field)
    if not path.is_dir():
        raise InputError(f"The {what} {path} is not a folder.", field=field)


def _scan_root(docs_root: Path, category: str) -> Path:
    parts = PurePosixPath(category).parts
    if not parts or PurePosixPath(category).is_absolute() or ".." in parts:
        raise InputError(
            f"The category {category!r} must name a folder inside the docs root.", field="category"
        )
    scan_root = docs_root.joinpath(*parts)
    if not scan_root.is_dir():
        raise InputError(f"The category folder {scan_root} does not exist.", field="category")
    if not inside(docs_root, scan_root):
        raise InputError(f"The category folder {scan_root} leads outside the docs root.", field="category")
    return scan_root


def gather(
    docs_root: Path,
    *,
    as_of: date,
    category: str | None = None,
    repo_root: Path | None = None,
) -> Gathered:
    """Find, read and sort the docs; raise InputError before any batch exists when there is nothing to do."""
    docs_root = Path(docs_root)
    _check_folder(docs_root, "docs root", "docs_root")
    repo_root = default_repo_root(docs_root) if repo_root is None else Path(repo_root)
    _check_folder(repo_root, "repo root", "repo_root")
    scan_root = _scan_root(docs_root, category) if category else docs_root

    result = Gathered(docs_root=docs_root, repo_root=repo_root, category=category or None, as_of=as_of)
    recent_since = as_of - RECENT_AUDIT
    too_big: list[str] = []
    bounds = GatherBounds(scan_root, "category" if category else "docs_root")
    for rel, path in _walk(scan_root, docs_root, result.notes, bounds):
        bounds.check_time()  # reading a million small docs is as slow as listing them
        try:
            text, truncated = read_text(path)
        except OSError as exc:
            result.notes.append(f"Left out {rel}: cannot read it ({exc.strerror}).")
            continue
        doc = parse_doc(text)
        if is_auto_generated(doc):
            result.skipped.append(rel)
            continue
        audited = parse_audit_date(frontmatter_value(doc, "last_audited"))
        # A date in the future counts as recent: >= has no upper bound on purpose.
        if audited is not None and audited >= recent_since:
            result.excluded.append(rel)
            continue
        result.items.append(rel)
        result.sizes[rel] = len(text)
        if truncated:
            too_big.append(rel)

    result.items.sort()
    result.skipped.sort()
    result.excluded.sort()
    result.notes += [f"{rel} is over 1 MiB; only its first MiB is scanned." for rel in sorted(too_big)]
    if not result.items:
        where = f"the category folder {scan_root}" if category else f"the docs root {scan_root}"
        if result.skipped or result.excluded:
            raise InputError(
                f"Nothing to scan in {where}: {len(result.skipped)} auto-generated docs skipped and "
                f"{len(result.excluded)} docs excluded as audited within 7 days.",
                field="category" if category else "docs_root",
            )
        raise InputError(
            f"Nothing to scan in {where}: it holds no {DOC_SUFFIX} files.",
            field="category" if category else "docs_root",
        )
    return result
