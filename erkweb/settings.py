"""erkweb settings: the one module, every knob an environment variable with a local-friendly default.

See README.md ("Configuration") for the list. A bad value raises ImproperlyConfigured naming the variable.
"""

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from .env import env_bool, env_float, env_int, env_money, env_str
from .loopback import login_required_for
from .models_table import load_model_table

BASE_DIR = Path(__file__).resolve().parent.parent

# --- where files go --------------------------------------------------------------------------------
DATA_DIR = Path(env_str("ERKWEB_DATA_DIR", str(BASE_DIR / "var"))).expanduser().resolve()
SCRATCH_DIR = DATA_DIR / "scratch"
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    # A local app still needs a stable secret for sessions and django-q2's signed packages: keep one
    # per data folder rather than a constant in the source.
    configured = env_str("ERKWEB_SECRET_KEY", "")
    if configured:
        return configured
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("ERKWEB_DEBUG", False)
ALLOWED_HOSTS = [h.strip() for h in env_str("ERKWEB_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]").split(",")]
# Behind a proxy that terminates TLS, the https:// origins the pages are reached by (for CSRF's check).
CSRF_TRUSTED_ORIGINS = [o.strip() for o in env_str("ERKWEB_CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()]
# Where the web server listens (`make run`, `up --host`, deploy/gunicorn.conf.py), and so whether every
# page needs a login: off loopback it does, unless ERKWEB_REQUIRE_LOGIN says otherwise (erkweb/loopback.py).
ERKWEB_HOST = env_str("ERKWEB_HOST", "127.0.0.1")
ERKWEB_PORT = env_int("ERKWEB_PORT", 8000, minimum=1)
ERKWEB_REQUIRE_LOGIN = login_required_for(ERKWEB_HOST)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_q",
    "runs",
    # audit-doc's own table (applied edits); the operation itself is in ERKWEB_OPERATIONS below.
    "runs.operations.audit_doc",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from STATIC_ROOT (collectstatic) under any WSGI server, before the rest.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
if ERKWEB_REQUIRE_LOGIN:
    MIDDLEWARE.append("erkweb.login_required.LoginRequiredMiddleware")
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "runs:history"
LOGOUT_REDIRECT_URL = "login"

ROOT_URLCONF = "erkweb.urls"
WSGI_APPLICATION = "erkweb.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            # Each operation brings its own partials, under <its package>/templates/.
            "loaders": [
                (
                    "django.template.loaders.cached.Loader",
                    [
                        "django.template.loaders.filesystem.Loader",
                        "django.template.loaders.app_directories.Loader",
                        "runs.operations.templates.Loader",
                    ],
                )
            ],
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Agent output is shown on several pages and sanitising it (runs/rendering.py) is the first wall; this
# is the second: no script but the app's own files (and a tag carrying this response's nonce), no eval,
# no inline style, no plugin, no framing, no <base>, forms only back to the app. htmx is configured in
# base.html to need none of what is refused (no indicator <style>, no eval, no <script> in fragments).
CSP_REPORT_PATH = "/csp-report/"  # erkweb/urls.py serves it (erkweb/csp_reports.py)
SECURE_CSP = {
    "default-src": [CSP.NONE],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    # report-uri rather than report-to: Chromium sends it at once, and report-to would replace it.
    "report-uri": CSP_REPORT_PATH,
}

# --- database ----------------------------------------------------------------------------------------
_database_url = env_str("DATABASE_URL", "")
# Connections kept open between requests and between a worker's tasks (django-q2 closes a connection
# after each task only when it is older than this): a batch's task starts on a warm connection instead
# of opening one (and, on SQLite, running its PRAGMAs) on the dispatch path.
_conn_max_age = env_int("ERKWEB_CONN_MAX_AGE", 300, minimum=0)
if _database_url:
    try:
        DATABASES = {
            "default": dj_database_url.parse(
                _database_url, conn_max_age=_conn_max_age, conn_health_checks=True
            )
        }
    except Exception as exc:  # dj-database-url raises several types for a bad URL
        raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "erkweb.sqlite3"),
            "CONN_MAX_AGE": _conn_max_age,
            "OPTIONS": {
                # IMMEDIATE takes the write lock when a transaction starts, so two workers never
                # both read then both try to upgrade to a write (SQLite's "database is locked").
                "transaction_mode": "IMMEDIATE",
                "timeout": env_int("ERKWEB_SQLITE_TIMEOUT", 30, minimum=1),
                # WAL lets the web pages read while the workers write.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
    # django-q2 keeps its cluster stats in a cache (its admin shows them). Whether a cluster is running
    # is told by the workers' heartbeat rows instead, which every host sees (runs/cluster.py).
    "qstats": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(DATA_DIR / "cache" / "qstats"),
    },
}

# --- agents and the task queue -----------------------------------------------------------------------
_model_table = load_model_table()
ERKWEB_MODELS = _model_table.aliases  # alias -> price table entry
ERKWEB_MODEL_IDS = _model_table.ids  # every priced model id -> its entry
# The operations erkweb offers, as dotted paths of their Operation classes: adding one is one line here.
ERKWEB_OPERATIONS = [
    path.strip()
    for path in env_str(
        "ERKWEB_OPERATIONS",
        "runs.operations.audit_scan.operation.AuditScan,runs.operations.learn.operation.Learn,"
        "runs.operations.audit_doc.operation.AuditDoc",
    ).split(",")
    if path.strip()
]
# Without ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL, Claude models are reached through the simulator here.
ERKWEB_SIMULATOR_URL = env_str("ERKWEB_SIMULATOR_URL", "http://127.0.0.1:8765")
ERKWEB_AGENT_MAX_TURNS = env_int("ERKWEB_AGENT_MAX_TURNS", 12, minimum=2)
ERKWEB_AGENT_MAX_OUTPUT_TOKENS = env_int("ERKWEB_AGENT_MAX_OUTPUT_TOKENS", 32_000, minimum=256)
ERKWEB_BATCH_TIME_LIMIT = env_int("ERKWEB_BATCH_TIME_LIMIT", 600, minimum=5)
# erkweb's own retries of a failed API call (the SDK's are off), within the batch's time limit.
ERKWEB_API_MAX_RETRIES = env_int("ERKWEB_API_MAX_RETRIES", 4, minimum=0)
# Attempts at one batch (a worker that died mid-batch has its batch taken over by a new attempt) before
# the batch is failed for good, as `worker lost`.
ERKWEB_BATCH_MAX_ATTEMPTS = env_int("ERKWEB_BATCH_MAX_ATTEMPTS", 3, minimum=1)
ERKWEB_WORKERS = env_int("ERKWEB_WORKERS", 8, minimum=1)
# Budgets in US dollars (runs/budget.py): a run's default one (the form and `erk run --max-cost` give
# another), and a cap on what every run created in a calendar month (UTC) spends together. None: no cap.
# --agents auto never makes a batch of more items than this (runs/agent_count.py).
ERKWEB_AUTO_MAX_BATCH_ITEMS = env_int("ERKWEB_AUTO_MAX_BATCH_ITEMS", 100, minimum=1)
ERKWEB_DEFAULT_MAX_COST = env_money("ERKWEB_DEFAULT_MAX_COST")
ERKWEB_MONTHLY_BUDGET = env_money("ERKWEB_MONTHLY_BUDGET")
# Gathering (the new-run preview, run creation) stops with a clear message past this many folder entries
# or seconds: a docs folder holds hundreds of files, `/usr` a hundred thousand (runs/gather_bounds.py).
ERKWEB_GATHER_MAX_FILES = env_int("ERKWEB_GATHER_MAX_FILES", 20_000, minimum=1)
ERKWEB_GATHER_MAX_SECONDS = env_float("ERKWEB_GATHER_MAX_SECONDS", 2.0, minimum=0.1)
# Every worker process says it is alive this often (a row per worker, ClusterHeartbeat); one that has not
# for ERKWEB_WORKER_STALE seconds is gone, and the batch it held is taken over. Every cluster also sweeps
# the unfinished runs (the driver) every ERKWEB_SWEEP_SECONDS, one process at a time.
ERKWEB_HEARTBEAT_SECONDS = env_float("ERKWEB_HEARTBEAT_SECONDS", 2.0, minimum=0.1)
ERKWEB_WORKER_STALE = env_float("ERKWEB_WORKER_STALE", 10.0, minimum=0.5)
ERKWEB_SWEEP_SECONDS = env_float("ERKWEB_SWEEP_SECONDS", 3.0, minimum=0.1)
if ERKWEB_WORKER_STALE <= 2 * ERKWEB_HEARTBEAT_SECONDS:
    raise ImproperlyConfigured(
        "ERKWEB_WORKER_STALE must be more than twice ERKWEB_HEARTBEAT_SECONDS, or live workers look dead"
    )
# With a broker outside the database (Redis), a batch pending this long without a claim is enqueued again.
ERKWEB_CLAIM_TIMEOUT = env_float("ERKWEB_CLAIM_TIMEOUT", 30.0, minimum=1.0)
# An output file larger than this fails verification unread (agent output is hostile input).
ERKWEB_OUTPUT_MAX_BYTES = env_int("ERKWEB_OUTPUT_MAX_BYTES", 10 * 1024 * 1024, minimum=1024)
# Fault injection for the end-to-end tests only (runs/faults.py): the point where a process stops for good.
ERKWEB_PAUSE_AT = env_str("ERKWEB_PAUSE_AT", "")
# How long an aggregation may hold a run's lease before another process may take it over.
ERKWEB_AGGREGATION_LEASE = env_int("ERKWEB_AGGREGATION_LEASE", 60, minimum=1)

# The worker's hard timeout sits a margin above the agent's own wall-time limit, so the agent normally
# stops itself and records why. Recovery from a dead worker is the driver's (heartbeats, takeover):
# django-q2's `retry`, after which the ORM broker hands out an unacknowledged task again, stays only as a
# last resort, long after the worker that held it is certainly gone (its claim then finds the batch
# taken and does nothing).
_margin = max(5, min(60, ERKWEB_BATCH_TIME_LIMIT // 10))
ERKWEB_WORKER_TIMEOUT = ERKWEB_BATCH_TIME_LIMIT + _margin
# A batch still running this long after it started has outlived its worker's timeout: the driver takes
# it over (or fails it once its attempts are spent).
ERKWEB_BATCH_OVERDUE = ERKWEB_WORKER_TIMEOUT + _margin
Q_CLUSTER = {
    "name": env_str("ERKWEB_Q_NAME", "erkweb"),
    "workers": ERKWEB_WORKERS,
    "queue_limit": ERKWEB_WORKERS,
    "timeout": ERKWEB_WORKER_TIMEOUT,
    "retry": 2 * ERKWEB_WORKER_TIMEOUT + _margin,
    "max_attempts": ERKWEB_BATCH_MAX_ATTEMPTS + 1,
    "orm": "default",
    "poll": 0.1,
    "cache": "qstats",
    "save_limit": 500,
    "catch_up": False,
    "label": "Task queue",
}
if env_str("ERKWEB_REDIS_URL", ""):
    Q_CLUSTER.pop("orm")
    Q_CLUSTER["redis"] = env_str("ERKWEB_REDIS_URL", "")

# --- the rest --------------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)  # WhiteNoise warns about a missing one; `make run` never fills it

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "erkweb": {"level": env_str("ERKWEB_LOG_LEVEL", "INFO")},
        "runs": {"level": env_str("ERKWEB_LOG_LEVEL", "INFO")},
        # The SDK's debug logging prints request headers; never let it go below WARNING.
        "anthropic": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
    },
}
