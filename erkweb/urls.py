from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from .csp_reports import csp_report

urlpatterns = [
    path(settings.CSP_REPORT_PATH.lstrip("/"), csp_report, name="csp-report"),
    path("admin/", admin.site.urls),
    path("", include("runs.urls")),
]
