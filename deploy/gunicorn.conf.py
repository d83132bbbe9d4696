"""gunicorn's settings for erkweb's web host: ``gunicorn -c deploy/gunicorn.conf.py erkweb.wsgi``.

It listens on ERKWEB_HOST:ERKWEB_PORT, by default 0.0.0.0:8000. The default is written back into the
environment before the app is loaded, so the app's settings see where it really listens and put every
page behind a login (erkweb/loopback.py): gunicorn's own ``--bind`` would leave them guessing, so set
ERKWEB_HOST instead.

Threads rather than processes: a page spends its time waiting on the database (and a new-run preview
up to ERKWEB_GATHER_MAX_SECONDS on the disk), so a few threads keep every page answering while one
request waits. gunicorn's flags (``--workers``, ``--threads``) override these. Static files are served
by WhiteNoise inside the app: run ``manage.py collectstatic`` first.
"""

import os

host = os.environ.setdefault("ERKWEB_HOST", "0.0.0.0")
port = os.environ.setdefault("ERKWEB_PORT", "8000")
bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
worker_class = "gthread"
# Load the app once, in the master, then fork the workers warm.
preload_app = True
workers = 2
threads = 8
# No page takes longer than a preview's bound plus a few database round trips.
timeout = 30
graceful_timeout = 15
# One control socket per user by default: two gunicorns (or two tests) on one machine would clash.
control_socket_disable = True
accesslog = "-"
# Who asked for which path, not the query string: a preview's holds folder names.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms'


def when_ready(server):
    # Django imports the URLconf, and with it every view and the SDK, on a process's first request: do
    # it here, once, before the workers fork, so that nobody's first page waits seconds for it.
    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 (the import is the point)
