"""The presentation half of an operation: what the pages, the command line, the comparison, the exports
and the history show of it. The engine never reads any of this.

Templates: an operation's partials live in ``<its package>/templates/<folder>/<name>.html`` (found by
``templates.Loader``); a page includes ``presentation.templates(name)``, the operation's partial if it
has one, else the generic one in ``templates/runs/operation/<name>.html``. The partials are ``facts``
(the run page's description of the run), ``report`` (a succeeded run's result), ``preview`` (what the
new-run form says a run will do) and ``compare`` (two of its runs side by side; no generic one).
"""

import argparse
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from django import forms
from django.urls import URLPattern

if TYPE_CHECKING:
    from runs.models import ItemResult, Run


class LinesField(forms.CharField):
    """Several values: one per line in the form, several words after the flag on the command line."""

    widget = forms.Textarea

    def __init__(self, *, metavar: str = "VALUE", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metavar = metavar  # what ``erk run --help`` calls each value
        self.widget.attrs.setdefault("placeholder", "one per line")

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


@dataclass(frozen=True)
class Scanned:
    """What a run was about, for the history's "what" column and ``erk show``."""

    path: str  # the folder or repository: shown shortened in the middle, in full on hover
    detail: str = ""  # what narrows it: a category, a title


@dataclass(frozen=True)
class Panel:
    """A block an operation adds to a run's page (its own runs' or another operation's): one of its
    partials, and what that partial is given (besides ``run``)."""

    template: str  # a partial in the operation's templates folder, "<folder>/<name>.html"
    context: dict[str, Any] = dataclasses.field(default_factory=dict)


class Output(Protocol):
    """Where a command prints (``erk``'s stdout)."""

    def write(self, msg: str, /) -> object: ...


@dataclass(frozen=True)
class Command:
    """A subcommand an operation adds to ``erk``: ``handle(options, stdout)`` returns the exit code and
    raises ``InputError`` for bad arguments (exit 2, one line on stderr)."""

    name: str
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handle: Callable[[dict[str, Any], Output], int]


class Presentation:
    folder: ClassVar[str]  # the operation's template folder, under its package's templates/
    # The params the history's search box looks in (besides the run id).
    search_params: ClassVar[tuple[str, ...]] = ()
    # The keys of a run's summary that ``history_items`` reads (the history loads those alone).
    history_summary: ClassVar[tuple[str, ...]] = ()
    csv_columns: ClassVar[tuple[str, ...]] = ("run_id", "key", "score", "group")

    # --- the new-run form and the command line --------------------------------------------------------
    def form_fields(self) -> dict[str, forms.Field]:
        """One new field per param (``Operation.param_fields``), in the order the form shows them.

        Its label and help text serve the command line too (``--docs-root`` for ``docs_root``); a
        LinesField takes several values there. A field that several operations declare is shown once.
        """
        raise NotImplementedError

    def initial(self) -> dict[str, Any]:
        """What the form starts filled in with when this operation is the first one."""
        return {}

    def templates(self, name: str) -> list[str]:
        return [f"{self.folder}/{name}.html", f"runs/operation/{name}.html"]

    # --- the history and erk show ---------------------------------------------------------------------
    def scanned(self, run: "Run") -> Scanned | None:
        return None

    def text_lines(self, run: "Run") -> list[str]:
        """The lines ``erk show`` prints about the run's inputs, after its first line."""
        return []

    def history_items(self, run: "Run") -> int | None:
        """The history's item count when the operation knows it before any item is saved. The history
        never loads a whole summary: there ``run.summary`` holds the ``history_summary`` keys alone."""
        return None

    def history_link(self, run: "Run") -> str:
        """A page about what ``run`` (of any operation) was about, for the history's "what" column: a
        docs root's history, say; "" for none. Called for every row: no query."""
        return ""

    def history_groups(self, counts: dict[str, int]) -> list[tuple[str, int]]:
        """The history's groups column: ``(group, items)`` in the order shown; empty shows a dash."""
        return sorted(counts.items())

    # --- exports --------------------------------------------------------------------------------------
    def csv_row(self, run: "Run", item: "ItemResult") -> list[Any]:
        """One item as a CSV row, in ``csv_columns`` order."""
        return [run.run_id, item.key, item.score, item.group]

    # --- comparison -----------------------------------------------------------------------------------
    def compare(self, run_a: "Run", run_b: "Run") -> Any:
        """Two runs of this operation side by side; the object has ``a`` and ``b`` (``compare.Side``)
        and ``operation``, and is what the ``compare`` partial shows."""
        raise NotImplementedError

    def comparison_json(self, comparison: Any) -> dict[str, Any]:
        raise NotImplementedError

    def comparison_text(self, comparison: Any) -> str:
        raise NotImplementedError

    def compare_context(self, comparison: Any) -> dict[str, Any]:
        """Anything else the ``compare`` partial needs (rendered markdown, say)."""
        return {}

    # --- what an operation adds to the app -------------------------------------------------------------
    def report_context(self, run: "Run") -> dict[str, Any]:
        """Anything else a succeeded run's ``report`` partial needs (read once: the page is not polled)."""
        return {}

    def item_links(self, run: "Run") -> dict[str, str]:
        """Pages about the items of a succeeded run's report, any operation's, by item key (a scan's
        docs link their history, say): the report's cells and list entries that name an item link
        there. One query at most."""
        return {}

    def panels(self, run: "Run") -> list[Panel]:
        """Blocks for a finished run's page, any operation's (a scan's page offers to audit its docs)."""
        return []

    def urls(self) -> list[URLPattern]:
        """Its own pages and form targets (thin views in its package), served under the app's root."""
        return []

    def commands(self) -> list[Command]:
        """Its own ``erk`` subcommands."""
        return []


@dataclass
class ParamField:
    """One field of the new-run form (one flag of ``erk run``), with every operation that declares it."""

    name: str
    field: forms.Field  # the first declaration's: its label, widget and validation
    operations: list[str]  # the operations that declare it, in registry order
    helps: dict[str, str]  # operation -> its own help text

    @property
    def shared(self) -> bool:
        return len(self.operations) > 1

    def help(self, *, prefixed: bool) -> str:
        """The help text; with the operations' names when asked, or when it serves several."""
        if not prefixed and not self.shared:
            return next(iter(self.helps.values()), "")
        return "; ".join(f"{op}: {text}" for op, text in self.helps.items() if text)


def param_fields(declarations: list[tuple[str, dict[str, forms.Field]]]) -> list[ParamField]:
    """``[(operation, {name: field})]`` merged by name, in first-declared order."""
    merged: dict[str, ParamField] = {}
    for op, fields in declarations:
        for name, field in fields.items():
            entry = merged.setdefault(name, ParamField(name, field, [], {}))
            entry.operations.append(op)
            entry.helps[op] = str(field.help_text or "")
    return list(merged.values())
