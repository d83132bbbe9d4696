from django import template
from django.utils.safestring import SafeString, mark_safe

from runs.rendering import render_markdown

register = template.Library()


@register.filter
def markdown_inline(text: str) -> SafeString:
    """One line of agent-written markdown (bold, code), rendered and sanitised, without its paragraph."""
    html = str(render_markdown(text or "")).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    # Safe: render_markdown's output is sanitised by nh3.
    return mark_safe(html)


@register.filter
def shorten_middle(text: str, limit: int = 48) -> str:
    """A long path with its middle left out (the whole path goes in the element's title)."""
    from runs.presenters import shorten_middle as shorten

    return shorten(str(text or ""), int(limit))
