from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from .csp_reports import csp_report

urlpatterns = [
    path(settings.CSP_REPORT_PATH.lstrip("/"), csp_report, name="csp-report"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("", include("runs.urls")),
]
