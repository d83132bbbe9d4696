"""What the browser tests share: Debian's Chromium, and a watch for Content-Security-Policy violations."""

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# Runs before any script of every page; the event's fields go to the test through a binding, which
# the page's policy does not govern.
CSP_WATCH = """
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolation({
  directive: e.effectiveDirective, blocked: e.blockedURI, page: location.pathname + location.search,
}));
"""


def watch_csp(context, violations: list[dict]) -> None:
    """Collect into ``violations`` every CSP violation a page of ``context`` reports, as an event or as
    a console message."""
    context.expose_binding("__cspViolation", lambda _source, found: violations.append(found))
    context.add_init_script(CSP_WATCH)
    context.on(
        "console",
        lambda message: (
            "Content Security Policy" in message.text and violations.append({"console": message.text})
        ),
    )
