"""Agent markdown becomes HTML with nothing a browser would run."""

import re

import pytest
from django.utils.safestring import SafeString

from runs.rendering import LINK_REL, render_markdown

REL = f'rel="{LINK_REL}"'


def assert_inert(html: str):
    lowered = html.lower()
    for needle in ("<script", "<iframe", "<style", "<svg", "<img", "onerror", "onclick", "onload", "style="):
        assert needle not in lowered, f"{needle!r} in {html!r}"
    for scheme in ("javascript:", "data:", "vbscript:"):
        assert scheme not in lowered, f"{scheme!r} in {html!r}"
    assert not re.search(r"\son\w+\s*=", lowered), html


# --- what markdown should render --------------------------------------------------------------------
def test_returns_safe_string():
    html = render_markdown("# Title\n\nsome *text*")
    assert isinstance(html, SafeString)
    assert "<h1>Title</h1>" in html and "<em>text</em>" in html


def test_empty_text():
    assert render_markdown("") == ""


def test_table_with_alignment():
    html = render_markdown("| doc | score |\n| :--- | ---: |\n| a.md | 12 |\n")
    assert "<table>" in html and "<thead>" in html and "<tbody>" in html
    assert '<th align="left">doc</th>' in html
    assert '<td align="right">12</td>' in html


def test_code_fence_keeps_language_class():
    html = render_markdown("```python\nimport os\n```\n")
    assert '<pre><code class="language-python">import os\n</code></pre>' in html


def test_code_fence_without_language():
    assert "<pre><code>x = 1\n</code></pre>" in render_markdown("```\nx = 1\n```\n")


def test_code_class_other_than_language_is_dropped():
    html = render_markdown("<code class='evil'>a</code> <code class='language-js extra'>b</code>")
    assert "<code>a</code>" in html and "<code>b</code>" in html
    assert "class=" not in html


def test_code_span_text_is_escaped_not_run():
    html = render_markdown("Use `<script>alert(1)</script>` here")
    assert "<code>&lt;script&gt;alert(1)&lt;/script&gt;</code>" in html
    assert_inert(html)


@pytest.mark.parametrize(
    "source, href",
    [
        ("[docs](https://example.com/a?b=1)", "https://example.com/a?b=1"),
        ("[plain](http://example.com)", "http://example.com"),
        ("<https://example.com/auto>", "https://example.com/auto"),
        ("[mail](mailto:someone@example.com)", "mailto:someone@example.com"),
        ("[relative](runs/other)", "runs/other"),
        ("[rooted](/runs/x/)", "/runs/x/"),
    ],
)
def test_links_keep_safe_href_and_get_rel(source, href):
    html = render_markdown(source)
    assert f'href="{href}"' in html
    assert REL in html


def test_link_title_kept():
    html = render_markdown('[a](https://example.com "The title")')
    assert 'title="The title"' in html


def test_lists_strikethrough_quote_rule():
    html = render_markdown("- a\n- b\n\n3. x\n4. y\n\n> quoted\n\n---\n\n<del>gone</del>\n")
    assert "<ul>" in html and '<ol start="3">' in html
    assert "<blockquote>" in html and "<hr>" in html and "<del>gone</del>" in html


def test_ol_start_must_be_a_number():
    assert render_markdown('<ol start="x"><li>a</li></ol>') == "<ol><li>a</li></ol>"


# --- what must never survive ------------------------------------------------------------------------
def test_script_dropped_with_its_content():
    html = render_markdown("before\n\n<script>alert(1)</script>\n\nafter")
    assert_inert(html)
    # nh3 removes script elements with their content: the code is neither run nor shown.
    assert "alert(1)" not in html
    assert "<p>before</p>" in html and "<p>after</p>" in html


def test_inline_script_inside_paragraph():
    html = render_markdown("text <script>alert(1)</script> more")
    assert_inert(html)
    assert "alert(1)" not in html
    assert "text" in html and "more" in html


@pytest.mark.parametrize(
    "source",
    [
        "[x](javascript:alert(1))",
        "[x](JaVaScRiPt:alert(1))",
        "[x](java&#x09;script:alert(1))",
        "[x](javascript&colon;alert(1))",
        '<a href="javascript:alert(1)">x</a>',
        '<a href="JaVaScRiPt:alert(1)">x</a>',
        '<a href="java&#x09;script:alert(1)">x</a>',
        '<a href="java&#10;script:alert(1)">x</a>',
        '<a href="&#106;avascript:alert(1)">x</a>',
        '<a href="&#x6A;&#x61;&#x76;&#x61;script:alert(1)">x</a>',
        '<a href=" javascript:alert(1)">x</a>',
        "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
        '<a href="data:text/html,<script>alert(1)</script>">x</a>',
        "[x](vbscript:msgbox(1))",
    ],
)
def test_dangerous_urls_removed(source):
    html = render_markdown(source)
    assert_inert(html)
    assert "href" not in html
    assert ">x</a>" in html  # the link text stays, as a link to nowhere


@pytest.mark.parametrize(
    "source, kept",
    [
        ("<img src=x onerror=alert(1)>", ""),
        ("![pic](javascript:alert(1))", ""),
        ("<div onclick=alert(1)>hello</div>", "hello"),
        ("<p onmouseover='alert(1)'>hover</p>", "hover"),
        ("<svg onload=alert(1)>", ""),
        ("<svg><script>alert(1)</script></svg>", ""),
        ("<iframe src='https://evil.example'></iframe>", ""),
        ("<style>body { display: none }</style>", ""),
        ("<span style='color: red'>red</span>", "red"),
        ("<a href='https://ok.example' onclick='alert(1)' style='x'>ok</a>", "ok"),
        ("<math><mi xlink:href='javascript:alert(1)'>m</mi></math>", ""),
        ("<form action='https://evil.example'><input name=q></form>", ""),
        ("<object data='x.swf'></object><embed src='x.swf'>", ""),
        ("<!-- <script>alert(1)</script> -->", ""),
        ('<table><tr><td style="x" align="justify" onclick="a">cell</td></tr></table>', "cell"),
    ],
)
def test_raw_html_made_inert(source, kept):
    html = render_markdown(source)
    assert_inert(html)
    assert "alert(1)" not in html
    assert kept in html


def test_safe_link_keeps_href_but_loses_handlers():
    html = render_markdown("<a href='https://ok.example' onclick='alert(1)' style='x'>ok</a>")
    assert f'<a href="https://ok.example" {REL}>ok</a>' in html


def test_only_allowed_tags_remain():
    html = render_markdown(
        "# h\n\n| a |\n| - |\n| b |\n\n```sh\nls\n```\n\n<div><span><b>x</b></span></div>"
        "<details><summary>s</summary></details><button>b</button><input>"
    )
    allowed = {
        "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th",
        "td", "code", "pre", "em", "strong", "a", "blockquote", "hr", "br", "del",
    }  # fmt: skip
    assert set(re.findall(r"</?([a-z0-9]+)", html)) <= allowed
