"""The history's search index: what the search box matches, as rows an index can find.

A search matches a run when the query (lowercased) is the start of a word of its run id or of one of
the params its operation's presentation names (``Presentation.search_params``: the docs folder, the
repository, the title...), or the start of one of those values whole (a pasted path or run id). Each
run gets one ``RunSearchTerm`` per word start: the value from that word to its end. A query is then a
range over an indexed column (``term >= q AND term < q + U+10FFFF``), which both SQLite and PostgreSQL
answer from the index, where a substring match (``LIKE '%q%'``) would read every run.

The range is exact for byte order only, so the column compares bytes on every database: SQLite's
default (BINARY), and the "C" collation on PostgreSQL, whose default collation may be a language's.
"""

from collections.abc import Iterable
from typing import Any

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper

from .run import Run

TERM_MAX = 200  # longer values are cut: a query is matched against its first TERM_MAX characters
TOP = "\U0010ffff"  # above every character: q + TOP bounds every term that starts with q


class ByteOrderCharField(models.CharField):  # type: ignore[type-arg]
    """A CharField compared byte by byte on every database (see the module's docstring)."""

    def db_parameters(self, connection: BaseDatabaseWrapper) -> dict[str, Any]:
        params = super().db_parameters(connection)
        if connection.vendor == "postgresql":
            params["collation"] = "C"
        return params


class RunSearchTerm(models.Model):
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="search_terms")
    term = ByteOrderCharField(max_length=TERM_MAX, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "term"], name="unique_term_per_run")]

    def __str__(self) -> str:
        return f"{self.run_id}: {self.term}"


def terms_of(texts: Iterable[str]) -> set[str]:
    """Every word start of ``texts`` to its end, lowercased, and each text whole: the terms a query's
    start is looked up in. A word starts at a letter or digit that follows anything else."""
    terms = set()
    for text in texts:
        text = text.lower()
        if text.strip():
            terms.add(text[:TERM_MAX])
        for i, char in enumerate(text):
            if char.isalnum() and (i == 0 or not text[i - 1].isalnum()):
                terms.add(text[i : i + TERM_MAX])
    return terms


def query_range(query: str) -> tuple[str, str] | None:
    """The range of terms that start with ``query``; None for a blank query."""
    start = query.strip().lower()[:TERM_MAX]
    return (start, start + TOP) if start else None


def search_texts(run_id: str, params: dict[str, Any]) -> list[str]:
    """What a run is found by: its run id and the values of every operation's search params."""
    from runs.operations import operations  # the registry imports the models: import it when used

    names = dict.fromkeys(n for op in operations() for n in op.presentation.search_params)
    return [run_id, *(params[n] for n in names if isinstance(params.get(n), str))]


def index_run(run: Run) -> None:
    """Write the run's search terms (once, when it is created: a run's id and params never change)."""
    RunSearchTerm.objects.bulk_create(
        (RunSearchTerm(run=run, term=t) for t in sorted(terms_of(search_texts(run.run_id, run.params)))),
        ignore_conflicts=True,
    )
