"""Settings, read from the environment in one place (development defaults are safe).

Production settings (``reviewsite.settings_production``) build on these and refuse
to start without ``DJANGO_SECRET_KEY``.
"""

import os
import tempfile
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

from reviewsite.cache import cache_settings

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

# --- Core -------------------------------------------------------------------
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# Development key only: production settings require DJANGO_SECRET_KEY.
SECRET_KEY = env.str(
    "DJANGO_SECRET_KEY", default="django-insecure-development-only-key-do-not-use-in-production"
)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])
SITE_URL = env.str("REVIEWSITE_SITE_URL", default="http://127.0.0.1:8000")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "citations",
    "articles",
    "workflows",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # A cached article page for a reader without cookies is answered here, before the
    # session, auth, CSRF and messages middleware it would not use (issue 15).
    "reviewsite.middleware.CachedReaderPageMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # request.htmx: the workspace answers htmx requests with a partial template.
    "django_htmx.middleware.HtmxMiddleware",
    "reviewsite.middleware.ContentSecurityPolicyMiddleware",
    # Last: turns a login lockout into a 429 (reviewsite.throttling.lockout_response).
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "reviewsite.urls"
WSGI_APPLICATION = "reviewsite.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "reviewsite" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE transactions let the web server and the worker write to one
    # SQLite file without "database is locked" errors; a file test database lets a
    # real worker process see what the tests wrote.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # One file per test process, so parallel runs never share (and corrupt) a database.
    DATABASES["default"]["TEST"] = {
        "NAME": env.str(
            "REVIEWSITE_TEST_SQLITE",
            default=str(Path(tempfile.gettempdir()) / f"reviewsite-test-{os.getpid()}.sqlite3"),
        )
    }
# Persistent connections: opening one per request costs more than serving a cached page.
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache --------------------------------------------------------------------
# Redis caches fail open (reviewsite.cache): an unreachable cache serves uncached pages.
CACHES = {"default": cache_settings(env.str("CACHE_URL", default="locmemcache://reviewsite"))}

# --- Auth ---------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes first: it refuses a locked-out username or address before any password check.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/workspace/"
LOGOUT_REDIRECT_URL = "/"

# --- Rate limits (reviewsite/throttling.py; README "Security and limits") ----------
# Failed logins, counted per username and per client address, on /accounts/login/,
# /admin/login/ and POST /api/v1/auth/token/.
AXES_ENABLED = env.bool("REVIEWSITE_LOGIN_THROTTLE", default=True)
AXES_FAILURE_LIMIT = env.int("REVIEWSITE_LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("REVIEWSITE_LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "reviewsite.throttling.lockout_response"

# --- I18n ---------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "reviewsite" / "static"]
# Serve straight from the apps' static folders when collectstatic has not run (development,
# tests); production runs collectstatic and serves the hashed, compressed copies.
WHITENOISE_USE_FINDERS = env.bool("WHITENOISE_USE_FINDERS", default=True)
# --- Media (uploaded figures; README "Figures") -------------------------------------
# Local files by default; REVIEWSITE_MEDIA_STORAGE=s3 stores them in an S3-compatible
# bucket through django-storages (needs boto3: `pip install "django-storages[s3]"`).
MEDIA_ROOT = env.str("REVIEWSITE_MEDIA_ROOT", default=str(BASE_DIR / "media"))
MEDIA_URL = env.str("REVIEWSITE_MEDIA_URL", default="/media/")
REVIEWSITE_MEDIA_STORAGE = env.str("REVIEWSITE_MEDIA_STORAGE", default="filesystem")
if REVIEWSITE_MEDIA_STORAGE == "s3":
    _MEDIA_STORAGE = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": env.str("AWS_STORAGE_BUCKET_NAME"),
            "region_name": env.str("AWS_S3_REGION_NAME", default=None),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default=None),
            # Readers must get the images from this site's origin (img-src 'self'): serve
            # the bucket under the site's host, e.g. "www.example.org/media".
            "custom_domain": env.str("AWS_S3_CUSTOM_DOMAIN", default=None),
            "location": env.str("AWS_LOCATION", default=""),
            # Figure files are content-addressed and public once published.
            "querystring_auth": env.bool("AWS_QUERYSTRING_AUTH", default=False),
            "file_overwrite": False,
        },
    }
elif REVIEWSITE_MEDIA_STORAGE == "filesystem":
    _MEDIA_STORAGE = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
else:
    raise ImproperlyConfigured("REVIEWSITE_MEDIA_STORAGE must be 'filesystem' or 's3'")
STORAGES = {
    "default": _MEDIA_STORAGE,
    "staticfiles": {
        "BACKEND": env.str(
            "DJANGO_STATICFILES_STORAGE",
            default="django.contrib.staticfiles.storage.StaticFilesStorage",
        )
    },
}

# --- Email --------------------------------------------------------------------
EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
EMAIL_FILE_PATH = env.str("DJANGO_EMAIL_FILE_PATH", default=str(BASE_DIR / ".mail"))
EMAIL_HOST = env.str("DJANGO_EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("DJANGO_EMAIL_PORT", default=25)
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="reviewsite@localhost")

# --- Security headers -------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'self'; frame-ancestors 'none'; form-action 'self'"
)

# --- REST framework -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate header makes anonymous writes a 401, not a 403.
        "reviewsite.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    # JSON nested deeper than reviewsite.parsers.MAX_JSON_DEPTH is a 400, not a RecursionError.
    "DEFAULT_PARSER_CLASSES": [
        "reviewsite.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        "reviewsite.throttling.AnonThrottle",
        "reviewsite.throttling.UserThrottle",
        "reviewsite.throttling.ScopedThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("REVIEWSITE_API_ANON_RATE", default="120/min"),
        "user": env.str("REVIEWSITE_API_USER_RATE", default="600/min"),
        "auth-token": env.str("REVIEWSITE_API_TOKEN_RATE", default="20/min"),
        "password-reset": env.str("REVIEWSITE_PASSWORD_RESET_RATE", default="5/hour"),
    },
    "DEFAULT_PAGINATION_CLASS": "reviewsite.api.PageNumberPagination",
    "PAGE_SIZE": env.int("REVIEWSITE_API_PAGE_SIZE", default=20),
    "DEFAULT_FILTER_BACKENDS": ["reviewsite.filters.StrictFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "reviewsite.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Reviewsite API",
    "DESCRIPTION": "Medical articles, their review workflow, and their citations.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI's assets from the sidecar package: the docs work without a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Error responses every operation can give, closed request bodies (reviewsite/schema.py).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "reviewsite.schema.document_errors",
    ],
    "ENUM_NAME_OVERRIDES": {
        "ArticleStatusEnum": "articles.models.Article.Status",
        "AudienceEnum": "articles.models.Article.Audience",
        "SourceStatusEnum": "citations.models.Source.Status",
        "EvidenceTypeEnum": "citations.models.Source.EvidenceType",
    },
}

# --- Celery ---------------------------------------------------------------------
# Default: kombu's filesystem transport, which needs no server but is consumed by a
# real worker process. Production: CELERY_BROKER_URL=redis://...
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_FILESYSTEM_DIR = env.str("CELERY_FILESYSTEM_DIR", default=str(BASE_DIR / ".broker"))
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": f"{CELERY_FILESYSTEM_DIR}/queue",
        "data_folder_out": f"{CELERY_FILESYSTEM_DIR}/queue",
        "control_folder": f"{CELERY_FILESYSTEM_DIR}/control",
        "store_processed": False,
        # kombu sleeps this long whenever a poll finds nothing to take, and with
        # acks_late and a prefetch of one that is after every task: its default of 1 s
        # capped the worker at about 2 tasks/s (benchmarks/broker.py). An idle worker
        # lists two folders this many times a second.
        "polling_interval": env.float("CELERY_BROKER_POLLING_INTERVAL", default=0.01),
    }
    CELERY_RESULT_BACKEND = env.str(
        "CELERY_RESULT_BACKEND", default=f"file://{CELERY_FILESYSTEM_DIR}/results"
    )
elif CELERY_BROKER_URL.startswith("sqla+"):
    # kombu's SQLAlchemy transport (needs SQLAlchemy installed), e.g. sqla+sqlite:///x.db:
    # measured against the filesystem one by benchmarks/broker.py; not the default. Its
    # transport options all go to create_engine(), so its polling interval stays kombu's 1 s.
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
    CELERY_RESULT_BACKEND = env.str(
        "CELERY_RESULT_BACKEND", default=f"file://{CELERY_FILESYSTEM_DIR}/results"
    )
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Countdowns never exceed this (mail retries back off to at most 10 minutes), and
        # no task runs near it: propagation runs in chunks (REVIEWSITE_PROPAGATION_CHUNK).
        "visibility_timeout": env.int("CELERY_BROKER_VISIBILITY_TIMEOUT", default=3600),
        # A web process publishing to a Redis that is down gives up in seconds, not
        # minutes; what it could not publish stays in the outbox for the relay.
        "socket_connect_timeout": 2,
        "socket_timeout": 5,
    }
    CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=CELERY_BROKER_URL)
    CELERY_REDIS_SOCKET_CONNECT_TIMEOUT = 2
    CELERY_REDIS_SOCKET_TIMEOUT = 5
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_RESULT_EXPIRES = 3600
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=25 * 60)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
#: Where seed_demo writes the demo accounts' passwords it made (mode 0600).
REVIEWSITE_DEMO_ACCOUNTS_FILE = env.str(
    "REVIEWSITE_DEMO_ACCOUNTS_FILE", default=str(BASE_DIR / "demo-accounts.txt")
)
# Two queues: mail someone is waiting for (a submit, an approval) never waits behind
# bulk work (propagation chunks, sweeps, the relay). Workers consume both, transactional
# first (Procfile); production can also run a worker on transactional alone.
CELERY_TASK_QUEUES = tuple(
    Queue(name, Exchange(name), routing_key=name) for name in ("transactional", "bulk")
)
CELERY_TASK_DEFAULT_QUEUE = "bulk"
CELERY_TASK_ROUTES = {"workflows.tasks.send_notification": {"queue": "transactional"}}
CELERY_BEAT_SCHEDULE_FILENAME = env.str(
    "CELERY_BEAT_SCHEDULE_FILENAME", default=str(BASE_DIR / ".celerybeat-schedule")
)
CELERY_BEAT_SCHEDULE = {
    # Side effects a broker outage left pending (workers also relay when they start).
    "relay-outbox": {"task": "workflows.tasks.relay_outbox", "schedule": 60.0},
    "flag-stale-articles": {
        "task": "workflows.tasks.flag_stale_articles",
        "schedule": crontab(
            minute=env.str("REVIEWSITE_STALE_SWEEP_MINUTE", default="15"),
            hour=env.str("REVIEWSITE_STALE_SWEEP_HOUR", default="3"),
        ),
    },
    # The integrity watch; the task does nothing while REVIEWSITE_SOURCE_CHECK_ENABLED is off.
    "check-sources": {
        "task": "citations.tasks.check_sources",
        "schedule": crontab(
            minute=env.str("REVIEWSITE_SOURCE_CHECK_MINUTE", default="45"),
            hour=env.str("REVIEWSITE_SOURCE_CHECK_HOUR", default="2"),
        ),
    },
}

# --- Reviewsite ---------------------------------------------------------------------
REVIEWSITE_DEFAULT_REVIEW_INTERVAL_DAYS = env.int("REVIEWSITE_REVIEW_INTERVAL_DAYS", default=365)
REVIEWSITE_DUE_SOON_DAYS = env.int("REVIEWSITE_DUE_SOON_DAYS", default=30)
# Flesch-Kincaid grade above which patients/general articles get a readability warning.
REVIEWSITE_READABILITY_MAX_GRADE = env.float("REVIEWSITE_READABILITY_MAX_GRADE", default=8.0)
REVIEWSITE_CITATION_STYLE = env.str(
    "REVIEWSITE_CITATION_STYLE", default="american-medical-association"
)
REVIEWSITE_LOOKUP_ENABLED = env.bool("REVIEWSITE_LOOKUP_ENABLED", default=False)
REVIEWSITE_CROSSREF_URL = env.str("REVIEWSITE_CROSSREF_URL", default="https://api.crossref.org")
REVIEWSITE_PUBMED_URL = env.str(
    "REVIEWSITE_PUBMED_URL", default="https://eutils.ncbi.nlm.nih.gov/entrez/eutils"
)
REVIEWSITE_LOOKUP_TIMEOUT = env.float("REVIEWSITE_LOOKUP_TIMEOUT", default=5.0)
# Source integrity watch (citations.tasks.check_sources): off until switched on.
REVIEWSITE_SOURCE_CHECK_ENABLED = env.bool("REVIEWSITE_SOURCE_CHECK_ENABLED", default=False)
REVIEWSITE_SOURCE_CHECK_MAX_PER_RUN = env.int("REVIEWSITE_SOURCE_CHECK_MAX_PER_RUN", default=2000)
REVIEWSITE_SOURCE_CHECK_BATCH_SIZE = env.int("REVIEWSITE_SOURCE_CHECK_BATCH_SIZE", default=200)
REVIEWSITE_SOURCE_CHECK_TIMEOUT = env.float("REVIEWSITE_SOURCE_CHECK_TIMEOUT", default=10.0)
REVIEWSITE_SOURCE_CHECK_RETRIES = env.int("REVIEWSITE_SOURCE_CHECK_RETRIES", default=3)
# Seconds: the first retry waits this long, each next one twice as long (with Retry-After
# taking precedence), and no single wait exceeds MAX_WAIT.
REVIEWSITE_SOURCE_CHECK_BACKOFF = env.float("REVIEWSITE_SOURCE_CHECK_BACKOFF", default=1.0)
REVIEWSITE_SOURCE_CHECK_MAX_WAIT = env.float("REVIEWSITE_SOURCE_CHECK_MAX_WAIT", default=60.0)
# Least time between two requests to one registry; a rate announced in headers can raise it.
REVIEWSITE_CROSSREF_MIN_INTERVAL = env.float("REVIEWSITE_CROSSREF_MIN_INTERVAL", default=0.1)
REVIEWSITE_PUBMED_MIN_INTERVAL = env.float("REVIEWSITE_PUBMED_MIN_INTERVAL", default=0.34)
# Crossref requests at once; 0: 3 with REVIEWSITE_CONTACT_EMAIL (polite pool), else 1.
REVIEWSITE_CROSSREF_CONCURRENCY = env.int("REVIEWSITE_CROSSREF_CONCURRENCY", default=0)
REVIEWSITE_PUBMED_API_KEY = env.str("REVIEWSITE_PUBMED_API_KEY", default="")
# Sent as Crossref's mailto (polite pool) and PubMed's email.
REVIEWSITE_CONTACT_EMAIL = env.str("REVIEWSITE_CONTACT_EMAIL", default="")
REVIEWSITE_PAGE_CACHE_SECONDS = env.int("REVIEWSITE_PAGE_CACHE_SECONDS", default=3600)
#: Articles per propagation chunk: one task each, seconds apiece even on a busy machine.
REVIEWSITE_PROPAGATION_CHUNK = env.int("REVIEWSITE_PROPAGATION_CHUNK", default=1000)
#: The relay publishes outbox rows left untouched this many seconds.
REVIEWSITE_OUTBOX_RELAY_AFTER = env.int("REVIEWSITE_OUTBOX_RELAY_AFTER", default=60)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}
