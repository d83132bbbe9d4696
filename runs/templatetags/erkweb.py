from django import template
from django.utils.safestring import mark_safe

from runs.rendering import render_markdown

register = template.Library()


@register.filter
def markdown_inline(text: str):
    """One line of agent-written markdown (bold, code), rendered and sanitised, without its paragraph."""
    html = str(render_markdown(text or "")).strip()
    if html.startswith("<p>") and html.endswith("</p>") and html.count("<p>") == 1:
        html = html[3:-4]
    # Safe: render_markdown's output is sanitised by nh3.
    return mark_safe(html)
