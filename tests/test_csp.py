"""The Content-Security-Policy every response carries, and the endpoint its violation reports go to.

Django's CSP support: https://docs.djangoproject.com/en/6.1/ref/csp/ (SECURE_CSP, CSP.NONCE, the
middleware and the ``csp`` context processor). The directives: https://www.w3.org/TR/CSP3/. Report
formats: report-uri's ``{"csp-report": {...}}`` (https://www.w3.org/TR/CSP2/#violation-reports) and
report-to's ``[{"type": "csp-violation", "body": {...}}]``
(https://developer.mozilla.org/docs/Web/API/CSPViolationReportBody). htmx's settings:
https://htmx.org/docs/#config. The browser side (nothing violates it, what it blocks) is in
tests/test_browser.py.
"""

import json
import logging
import re
from pathlib import Path

import pytest

from erkweb import csp_reports

pytestmark = pytest.mark.django_db

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
NONCE = r" 'nonce-([A-Za-z0-9_-]{22})'"


def policy(nonce: str = NONCE) -> re.Pattern:
    """The whole header, directive by directive; a response whose page used no nonce has none."""
    return re.compile(
        "default-src 'none'; "
        f"script-src 'self'{nonce}; "
        f"style-src 'self'{nonce}; "
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "font-src 'self'; "
        "object-src 'none'; "
        "frame-ancestors 'none'; "
        "base-uri 'none'; "
        "form-action 'self'; "
        "report-uri /csp-report/"
    )


def policy_nonce(response) -> str:
    match = policy().fullmatch(response["Content-Security-Policy"])
    assert match, response["Content-Security-Policy"]
    assert match.group(1) == match.group(2), "one nonce per response"
    return match.group(1)


def test_every_page_carries_the_policy_with_a_fresh_nonce_on_the_app_script(client):
    first, second = client.get("/"), client.get("/runs/new/")
    nonces = {policy_nonce(first), policy_nonce(second)}
    assert len(nonces) == 2, "a new nonce for every response"
    body = second.content.decode()
    scripts = re.findall(r"<script\b[^>]*>", body)
    assert scripts == [
        f'<script src="/static/django_htmx/htmx-2.min.js" defer nonce="{policy_nonce(second)}">'
    ]


def test_htmx_is_told_to_need_nothing_the_policy_refuses(client):
    body = client.get("/").content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", body)
    assert json.loads(config.group(1)) == {
        "includeIndicatorStyles": False,  # else htmx adds an inline <style>
        "allowEval": False,  # hx-on, event filters, js: values
        "allowScriptTags": False,  # a <script> inside a fragment
    }
    assert body.index('name="htmx-config"') < body.index("htmx-2.min.js"), "read when htmx starts"


@pytest.mark.parametrize(
    "path", ["/?q=x", "/runs/new/?preview=1&docs_root=/nonexistent", "/compare/?a=x&b=y"]
)
def test_fragments_carry_the_policy_too(client, path):
    response = client.get(path, headers={"HX-Request": "true"})
    assert "<html" not in response.content.decode(), "a fragment"
    assert policy(nonce="").fullmatch(response["Content-Security-Policy"])


def test_the_admin_and_error_pages_carry_it(client):
    assert policy_nonce(client.get("/admin/login/"))
    response = client.get("/runs/no-such-run/")
    assert response.status_code == 404
    assert policy(nonce="").fullmatch(response["Content-Security-Policy"])


def test_no_template_holds_inline_script_style_or_event_handlers():
    # What the policy refuses must not be written by us either, or a page would break under it.
    for template in TEMPLATES.rglob("*.html"):
        text = re.sub(r"\{#.*?#\}", "", template.read_text())  # not what comments say
        assert not re.search(r"<script\b(?![^>]*\bsrc=)", text), template
        assert not re.search(r"<style\b|\sstyle=", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template
        assert "javascript:" not in text, template


# --- the report endpoint --------------------------------------------------------------------------------
REPORT_URI_BODY = {
    "csp-report": {
        "document-uri": "http://127.0.0.1:8000/runs/new/?docs_root=/home/me/secret",
        "referrer": "",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "original-policy": "default-src 'none'; ...",
        "blocked-uri": "inline",
        "line-number": 12,
        "source-file": "http://127.0.0.1:8000/runs/new/?token=abc#frag",
        "script-sample": "window.__stolen = document.cookie",
        "status-code": 200,
    }
}


@pytest.fixture(autouse=True)
def fresh_window(monkeypatch):
    monkeypatch.setattr(csp_reports, "_window", csp_reports._Window(csp_reports.REPORTS_PER_MINUTE))


@pytest.fixture
def csp_log(caplog):
    caplog.set_level(logging.WARNING, logger="erkweb.csp")
    return lambda: [r.getMessage() for r in caplog.records if r.name == "erkweb.csp"]


def post_report(client, body, content_type="application/csp-report"):
    data = body if isinstance(body, bytes) else json.dumps(body)
    return client.post("/csp-report/", data=data, content_type=content_type)


def test_a_report_is_logged_as_one_line_without_its_payload_and_answered_with_nothing(csp_log):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)  # browsers send no CSRF token
    response = post_report(client, REPORT_URI_BODY)
    assert response.status_code == 204 and response.content == b""
    assert not {"document.cookie", "secret", "token=abc", "frag"} & set(re.split(r"[ =?#\"]", csp_log()[0]))
    assert csp_log() == [
        'CSP violation: directive="script-src-elem" blocked="inline" '
        'page="http://127.0.0.1:8000/runs/new/" source="http://127.0.0.1:8000/runs/new/" line="12"'
    ]


def test_a_report_to_report_is_read_the_same_way(client, csp_log):
    body = [
        {
            "type": "csp-violation",
            "age": 3,
            "url": "http://127.0.0.1:8000/",
            "body": {
                "documentURL": "http://127.0.0.1:8000/compare/?a=1&b=2",
                "effectiveDirective": "style-src-elem",
                "blockedURL": "inline",
                "sample": "body{display:none}",
                "lineNumber": 3,
            },
        },
        {"type": "deprecation", "body": {"message": "not a CSP report"}},
    ]
    response = post_report(client, body, content_type="application/reports+json")
    assert response.status_code == 204 and response.content == b""
    assert csp_log() == [
        'CSP violation: directive="style-src-elem" blocked="inline" '
        'page="http://127.0.0.1:8000/compare/" line="3"'
    ]


def test_control_characters_and_quotes_in_a_report_cannot_forge_log_lines(client, csp_log):
    body = {
        "csp-report": {"effective-directive": 'img-src"\n2026-01-01 WARNING forged', "blocked-uri": "x" * 500}
    }
    assert post_report(client, body).status_code == 204
    (line,) = csp_log()
    assert "\n" not in line and 'img-src??2026-01-01 WARNING forged"' in line
    assert f'blocked="{"x" * csp_reports.FIELD_CHARS}"' in line


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"x" * (csp_reports.REPORT_MAX_BYTES + 1), 413),
        (b"not json", 400),
        (b'{"something": "else"}', 400),
        (b"[1, 2, 3]", 400),
        (b"[" * 100_000 + b"]" * 100_000, 413),
    ],
)
def test_junk_is_refused_with_an_empty_answer_and_nothing_logged(client, csp_log, body, status):
    response = post_report(client, body)
    assert response.status_code == status and response.content == b""
    assert csp_log() == []


def test_deep_json_under_the_size_bound_is_refused_too(client, csp_log):
    body = b"[" * 8000 + b"]" * 8000  # 16,000 bytes: under the bound, deeper than json can parse
    response = post_report(client, body)
    assert response.status_code == 400 and response.content == b""
    assert csp_log() == []


def test_only_post(client):
    assert client.get("/csp-report/").status_code == 405


def test_a_flood_of_reports_is_logged_30_a_minute_then_counted(client, csp_log, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(csp_reports.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(csp_reports, "_window", csp_reports._Window(csp_reports.REPORTS_PER_MINUTE))
    for _ in range(45):
        assert post_report(client, REPORT_URI_BODY).status_code == 204
    assert len(csp_log()) == 30
    clock[0] += 60
    post_report(client, REPORT_URI_BODY)
    assert csp_log()[30:] == [
        "CSP violation reports: 15 more in the last minute were not logged",
        csp_log()[0],
    ]
