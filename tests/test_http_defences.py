"""What every response promises besides its Content-Security-Policy (tests/test_csp.py): cross-site
POSTs are refused (CSRF), so is a Host header the app does not answer to, and the headers that keep
pages out of frames, content types unsniffed, referrers on the site and windows unshared.

Django's defaults: https://docs.djangoproject.com/en/6.1/ref/csrf/,
https://docs.djangoproject.com/en/6.1/ref/settings/#allowed-hosts and
https://docs.djangoproject.com/en/6.1/ref/middleware/#module-django.middleware.security.
"""

import re

import pytest
from django.test import Client

from runs.models import Run

from .conftest import AS_OF

pytestmark = pytest.mark.django_db


def test_a_cross_site_post_is_refused_and_creates_nothing(docs_root):
    browser = Client(enforce_csrf_checks=True)
    form = {"operation": "audit-scan", "docs_root": str(docs_root), "model": "local", "agents": "2"}
    assert browser.post("/runs/new/", form).status_code == 403
    assert Run.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_post_from_the_apps_own_form_passes_the_same_check(docs_root, sync_tasks):
    browser = Client(enforce_csrf_checks=True)
    page = browser.get("/runs/new/").content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    form = {"operation": "audit-scan", "docs_root": str(docs_root), "model": "local", "as_of": AS_OF}
    response = browser.post("/runs/new/", {**form, "agents": "2", "csrfmiddlewaretoken": token})
    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == run.get_absolute_url()


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "192.168.1.20"])
def test_a_foreign_host_header_gets_400(client, host):
    assert client.get("/", headers={"host": host}).status_code == 400


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_names_are_answered(client, host):
    assert client.get("/", headers={"host": host}).status_code == 200


def test_the_pages_stay_out_of_frames_and_keep_their_types_and_referrers(client):
    response = client.get("/")
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
