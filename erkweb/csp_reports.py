"""Where browsers send Content-Security-Policy violation reports (the policy is ``SECURE_CSP`` in settings).

A report is written by whatever page broke the policy, so it is hostile input like agent output: it is
read up to REPORT_MAX_BYTES, reduced to a few fields each cut short and stripped of anything but
printable characters, logged as one line, and answered with an empty 204. Its content is never sent back
and never shown on a page; the script samples and query strings it may carry are not even logged.
Logging is limited to REPORTS_PER_MINUTE per process, so a page that loops cannot flood the log.
"""

import json
import logging
import threading
import time
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

log = logging.getLogger("erkweb.csp")

REPORT_MAX_BYTES = 16 * 1024
REPORTS_PER_MINUTE = 30
FIELD_CHARS = 120
# report-uri sends {"csp-report": {...}} with kebab-case keys; report-to sends a list of
# {"type": "csp-violation", "body": {...}} with camelCase keys. The same five fields from either.
FIELDS = {
    "directive": ("effective-directive", "effectiveDirective", "violated-directive"),
    "blocked": ("blocked-uri", "blockedURL"),
    "page": ("document-uri", "documentURL"),
    "source": ("source-file", "sourceFile"),
    "line": ("line-number", "lineNumber"),
}
URL_FIELDS = {"blocked", "page", "source"}


class _Window:
    """At most ``limit`` log lines per minute; the reports over it are counted and said once."""

    def __init__(self, limit: int):
        self.limit = limit
        self.lock = threading.Lock()
        self.started = time.monotonic()
        self.logged = self.dropped = 0

    def admit(self) -> tuple[bool, int]:
        with self.lock:
            dropped = 0
            if time.monotonic() - self.started >= 60:
                dropped, self.dropped = self.dropped, 0
                self.started, self.logged = time.monotonic(), 0
            if self.logged < self.limit:
                self.logged += 1
                return True, dropped
            self.dropped += 1
            return False, dropped


_window = _Window(REPORTS_PER_MINUTE)


def _printable(value: object) -> str:
    text = str(value)[: FIELD_CHARS * 2]
    text = "".join(char if char.isprintable() and char != '"' else "?" for char in text)
    return text[:FIELD_CHARS]


def _without_query(value: object) -> str:
    # A URL's query and fragment may hold what a user typed or what an attacker planted: the scheme,
    # host and path are what a reader of the log needs to find the page.
    text = str(value)
    if "://" not in text:
        return text  # "inline", "eval", "data", "self"...
    parts = urlsplit(text)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _bodies(payload: object) -> list[dict[str, Any]]:
    if isinstance(payload, dict) and isinstance(payload.get("csp-report"), dict):
        return [payload["csp-report"]]
    if isinstance(payload, list):
        return [
            r["body"]
            for r in payload
            if isinstance(r, dict) and r.get("type") == "csp-violation" and isinstance(r.get("body"), dict)
        ]
    return []


def summary(body: dict[str, Any]) -> str:
    """The one line a report becomes: ``directive=... blocked=... page=... source=... line=...``."""
    fields = []
    for name, keys in FIELDS.items():
        value = next((body[key] for key in keys if body.get(key) not in (None, "")), None)
        if value is None:
            continue
        if name in URL_FIELDS:
            value = _without_query(value)
        fields.append(f'{name}="{_printable(value)}"')
    return " ".join(fields) or "no fields"


@csrf_exempt  # browsers send reports without a CSRF token, and a report changes nothing
@login_not_required  # the login page itself is under the policy
@require_POST
def csp_report(request: HttpRequest) -> HttpResponse:
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > REPORT_MAX_BYTES:
        return HttpResponse(status=413)
    raw = request.read(REPORT_MAX_BYTES + 1)
    if len(raw) > REPORT_MAX_BYTES:
        return HttpResponse(status=413)
    try:
        bodies = _bodies(json.loads(raw))
    except (ValueError, RecursionError):
        return HttpResponse(status=400)
    if not bodies:
        return HttpResponse(status=400)
    for body in bodies[:5]:
        admitted, dropped = _window.admit()
        if dropped:
            log.warning("CSP violation reports: %d more in the last minute were not logged", dropped)
        if admitted:
            log.warning("CSP violation: %s", summary(body))
    return HttpResponse(status=204)
