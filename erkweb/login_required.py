"""Every page and action behind Django's login, when ``ERKWEB_REQUIRE_LOGIN`` is on (erkweb/loopback.py).

Django's own LoginRequiredMiddleware, with one change: an htmx request (a run page's poll, the new-run
preview) whose session has ended is told to load the login page as a whole page, instead of getting
a login form swapped into the fragment it asked for.
"""

from collections.abc import Callable
from typing import Any

from django.contrib.auth import middleware
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest
from django.http.response import HttpResponseBase
from django_htmx.http import HttpResponseClientRedirect


class LoginRequiredMiddleware(middleware.LoginRequiredMiddleware):
    # The stubs say a redirect; an htmx request gets htmx's client redirect instead (HX-Redirect).
    def handle_no_permission(  # type: ignore[override]
        self, request: HttpRequest, view_func: Callable[..., Any]
    ) -> HttpResponseBase:
        htmx = getattr(request, "htmx", None)
        if not htmx:
            return super().handle_no_permission(request, view_func)
        # The page the user is on, not the fragment's URL, is where they want to be after logging in.
        page = htmx.current_url_abs_path or request.get_full_path()
        login = redirect_to_login(
            page, self.get_login_url(view_func), self.get_redirect_field_name(view_func)
        )
        return HttpResponseClientRedirect(login["Location"])
