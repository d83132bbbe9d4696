"""Markdown from agents, made safe to put in a page.

Everything an agent wrote (reports, batch files, final messages) is untrusted: the docs it read may have
told it to write HTML or script. ``render_markdown`` is the only way such text becomes HTML.
"""

import re

import markdown
import nh3
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

MARKDOWN_EXTENSIONS = ["tables", "fenced_code", "sane_lists"]
# Column alignment as the HTML ``align`` attribute rather than ``style="text-align: ..."``, so that no
# ``style`` attribute has to be allowed at all (and none trips a Content-Security-Policy).
MARKDOWN_EXTENSION_CONFIGS = {"tables": {"use_align_attribute": True}}

ALLOWED_TAGS = frozenset(
    {
        "p",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "ul",
        "ol",
        "li",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "code",
        "pre",
        "em",
        "strong",
        "a",
        "blockquote",
        "hr",
        "br",
        "del",
    }
)
# Tags dropped together with their content: the text inside them is code or markup, not prose.
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "iframe", "svg", "math", "template", "noscript", "object", "embed", "textarea"}
)
# Attributes kept with any value (``href`` still goes through ``URL_SCHEMES``). ``code[class]`` and
# ``ol[start]`` are listed here so that they reach ``_filter_attribute``, which checks their values.
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "code": {"class"}, "ol": {"start"}}
ALIGNMENTS = {"left", "center", "right"}
ALLOWED_ATTRIBUTE_VALUES = {"th": {"align": ALIGNMENTS}, "td": {"align": ALIGNMENTS}}
URL_SCHEMES = frozenset({"http", "https", "mailto"})  # relative links pass too (nh3's default)
LINK_REL = "noopener noreferrer nofollow"

# What fenced_code puts on a fence with a language: one class, nothing else.
_LANGUAGE_CLASS = re.compile(r"language-[A-Za-z0-9_+#.-]+")
_DIGITS = re.compile(r"[0-9]{1,9}")


def _filter_attribute(element: str, attribute: str, value: str) -> str | None:
    if element == "code" and attribute == "class":
        return value if _LANGUAGE_CLASS.fullmatch(value) else None
    if element == "ol" and attribute == "start":  # sane_lists keeps a list's first number
        return value if _DIGITS.fullmatch(value) else None
    return value


# A table cell or a list entry whose whole text is one name (a report's doc path, say).
_NAMED = re.compile(r"<(td|li)>([^<>]+)</\1>")


def link_items(html: SafeString, links: dict[str, str]) -> SafeString:
    """``html`` (render_markdown's) with every table cell and list entry that holds exactly an item's
    key made a link to that item's page. The keys are compared as the HTML shows them, escaped."""
    if not links:
        return html
    by_text = {str(escape(key)): url for key, url in links.items()}

    def link(match: re.Match[str]) -> str:
        url = by_text.get(match.group(2))
        if url is None:
            return match.group(0)
        tag, text = match.groups()
        return f'<{tag}><a class="path" href="{escape(url)}">{text}</a></{tag}>'

    return mark_safe(_NAMED.sub(link, html))  # safe: the text was sanitised HTML, the URL is escaped


def render_markdown(text: str) -> SafeString:
    """Markdown to HTML that carries no script, event handler, style or dangerous URL."""
    if not text:
        return mark_safe("")
    html = markdown.markdown(
        text, extensions=MARKDOWN_EXTENSIONS, extension_configs=MARKDOWN_EXTENSION_CONFIGS
    )
    # Sanitise the HTML *after* rendering, never the markdown before it: markdown passes raw HTML
    # (``<script>``, ``<img onerror>``) straight through and turns ``[x](javascript:...)`` into an href,
    # so only the finished HTML shows everything a browser would act on.
    clean = nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        tag_attribute_values={tag: dict(attrs) for tag, attrs in ALLOWED_ATTRIBUTE_VALUES.items()},
        attribute_filter=_filter_attribute,
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )
    return mark_safe(clean)  # safe: nh3 kept only what the allow-list above names
