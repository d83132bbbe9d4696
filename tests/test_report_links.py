"""The item names of a succeeded run's report link to the items' pages (Presentation.item_links): a
scan's docs link their history, whichever operation contributes the link (audit-doc's, here)."""

import re
from datetime import date
from html import unescape

import pytest

from runs import engine
from runs.models import Run
from runs.rendering import link_items, render_markdown


def test_whole_cells_and_entries_naming_an_item_are_linked_and_nothing_else():
    html = render_markdown(
        "| Doc | Score |\n|---|---|\n| a/b.md | 3 |\n| see a/b.md | 1 |\n\n- a/b.md\n- c.md\n"
    )
    linked = link_items(html, {"a/b.md": "/docs/history/?root=/r&doc=a/b.md"})
    anchor = '<a class="path" href="/docs/history/?root=/r&amp;doc=a/b.md">a/b.md</a>'
    assert linked.count(anchor) == 2  # the cell and the list entry that are exactly the name
    assert "<td>see a/b.md</td>" in linked and "<li>c.md</li>" in linked
    assert link_items(html, {}) == html


def test_a_name_is_matched_as_the_page_shows_it_and_the_url_is_escaped():
    html = render_markdown("- R&D notes.md\n")
    assert "<li>R&amp;D notes.md</li>" in html
    linked = link_items(html, {"R&D notes.md": '/x?a="1"&b=<2>'})
    href = "/x?a=&quot;1&quot;&amp;b=&lt;2&gt;"
    assert f'<li><a class="path" href="{href}">R&amp;D notes.md</a></li>' in linked


@pytest.mark.django_db(transaction=True)
def test_a_scans_report_links_every_doc_to_its_history(client, docs_root, sync_tasks):
    run = engine.create_run(
        "audit-scan", {"docs_root": str(docs_root)}, model="local", agents=2, as_of=date(2026, 11, 28)
    )
    run = Run.objects.get(pk=run.pk)
    assert run.status == "succeeded", run.error
    page = client.get(f"/runs/{run.run_id}/").content.decode()
    report = page[page.index('<article class="report markdown">') :]
    report = report[: report.index("</article>")]
    linked = {
        unescape(doc): unescape(href)
        for href, doc in re.findall(r'<a class="path" href="([^"]+)">([^<]+)</a>', report)
    }
    docs = set(run.items.values_list("key", flat=True))
    assert set(linked) == docs and len(docs) >= 3
    # The literal form, by hand: these paths hold only [A-Za-z0-9_./-], so URL-encoding turns "/" into %2F.
    root = str(docs_root)
    for doc, href in linked.items():
        assert re.fullmatch(r"[A-Za-z0-9_./-]+", root + doc)
        assert href == f"/docs/history/?root={root.replace('/', '%2F')}&doc={doc.replace('/', '%2F')}"
        assert client.get(href).status_code == 200
