"""The one settings module. Every value comes from the environment through vecinos.core.env.

Embedded default (no variables set): SQLite in WAL mode and a SQLite-backed Huey queue under
``VECINOS_DATA_DIR`` (./var), the console transport, secrets generated into the data dir.
Scaled: ``VECINOS_DATABASE_URL=postgres://...`` and ``VECINOS_REDIS_URL=redis://...``; nothing
else in the code changes.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

from vecinos.core.env import (
    ConfigError,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_networks,
    env_str,
    secret_from_env_or_file,
)
from vecinos.core.languages import ui_languages

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(env_str("VECINOS_DATA_DIR", str(Path.cwd() / "var")) or "var").resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

VECINOS_ENV = env_choice("VECINOS_ENV", "development", ("development", "production", "test"))
PRODUCTION = VECINOS_ENV == "production"

SECRET_KEY, SECRET_KEY_FROM_ENV = secret_from_env_or_file(
    "VECINOS_SECRET_KEY", DATA_DIR / "secret_key", lambda: secrets.token_urlsafe(50)
)
# 32 random bytes, urlsafe base64. Kept out of the database on purpose: a copy of the database
# alone must not reveal anyone's name or phone number.
FIELD_KEY, FIELD_KEY_FROM_ENV = secret_from_env_or_file(
    "VECINOS_FIELD_KEY",
    DATA_DIR / "field_key",
    lambda: base64.urlsafe_b64encode(os.urandom(32)).decode(),
)

DEBUG = env_bool("VECINOS_DEBUG", False)
PORT = env_int("VECINOS_PORT", 8000, minimum=1, maximum=65535)
PUBLIC_URL = (env_str("VECINOS_PUBLIC_URL", f"http://127.0.0.1:{PORT}") or "").rstrip("/")
ALLOWED_HOSTS = env_list("VECINOS_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("VECINOS_CSRF_TRUSTED_ORIGINS", [PUBLIC_URL])
# Reverse proxies (addresses or CIDR networks) whose X-Forwarded-For is believed when keying
# rate limits and bans (vecinos.core.clientip). Empty: no proxy, REMOTE_ADDR is the client.
TRUSTED_PROXIES = env_networks("VECINOS_TRUSTED_PROXIES")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "ninja",  # its static files: the API docs page loads Swagger UI from us, not a CDN
    "huey.contrib.djhuey",
    "django_tasks",
    "vecinos.core",
    "vecinos.network",
    "vecinos.transports",
    "vecinos.messaging",
    "vecinos.reports",
    "vecinos.alerts",
    "vecinos.patrols",
    "vecinos.onboarding",
    "vecinos.maps",
    "vecinos.rights",
    "vecinos.mobilize",
]

MIDDLEWARE = [
    "vecinos.core.middleware.PrivacyHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "vecinos.core.middleware.CoalitionTimeZoneMiddleware",
    # Before anything reads the body (CSRF, views); after the locale, so the 413 is translated.
    "vecinos.core.bodylimit.RequestBodyLimitMiddleware",
    "vecinos.core.middleware.PartialPageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "vecinos.network.middleware.TwoFactorRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A form's address opened in a browser: the site's page, not the browser's blank 405.
    "vecinos.core.middleware.MethodNotAllowedPageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",
    "vecinos.metrics.WebhookFailureMiddleware",  # issue 15: counts refused webhooks
]

ROOT_URLCONF = "vecinos.urls"
WSGI_APPLICATION = "vecinos.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "vecinos.core.context.site",
                "vecinos.onboarding.context.demo",
            ],
        },
    }
]

# --- Data -----------------------------------------------------------------------------------
DATABASE_URL = env_str("VECINOS_DATABASE_URL")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES["default"].setdefault("OPTIONS", {})
else:
    # Per connection. `vecinos worker` defaults to less (cli.WORKER_SQLITE): its reads are a
    # few index lookups per batch, and every mapped page it touches counts in its memory.
    SQLITE_CACHE_MB = env_int("VECINOS_SQLITE_CACHE_MB", 64, minimum=1, maximum=4096)
    SQLITE_MMAP_MB = env_int("VECINOS_SQLITE_MMAP_MB", 256, minimum=0, maximum=65536)
    # The write-ahead log is copied back into the database once it holds this much (SQLite's
    # own default is 4 MB). A delivery row is written three times in a fan-out (queued, claimed,
    # recorded): with a larger log a page rewritten meanwhile is copied back once, not up to
    # three times (bench/fanout.py: 51,557 messages 7% faster on average with 40 MB). After a
    # copy the log file is cut back to twice this size.
    SQLITE_WAL_CHECKPOINT_MB = env_int(
        "VECINOS_SQLITE_WAL_CHECKPOINT_MB", 40, minimum=1, maximum=1024
    )
    DATABASES = {
        "default": {
            "ENGINE": "vecinos.core.sqlite",
            "NAME": str(DATA_DIR / "vecinos.sqlite3"),
            "OPTIONS": {
                # WAL lets readers (the dispatcher console) run while the worker writes;
                # IMMEDIATE takes the write lock at BEGIN so concurrent writers queue up on
                # busy_timeout instead of failing with "database is locked" mid-transaction.
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=NORMAL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA busy_timeout=10000;"
                    f"PRAGMA cache_size=-{SQLITE_CACHE_MB * 1024};"
                    f"PRAGMA mmap_size={SQLITE_MMAP_MB * 1024 * 1024};"
                    # In pages of 4 KB (SQLite's default page size, which Vecinos keeps).
                    f"PRAGMA wal_autocheckpoint={SQLITE_WAL_CHECKPOINT_MB * 256};"
                    f"PRAGMA journal_size_limit={SQLITE_WAL_CHECKPOINT_MB * 2 * 1024 * 1024};"
                ),
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Each web thread keeps its connection: opening one costs the PRAGMAs above and a
            # cold page cache on every request.
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            # A file, not :memory:, so tests can read the raw bytes and the live server shares it.
            "TEST": {"NAME": str(DATA_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "network.Member"

# --- Background work ------------------------------------------------------------------------
REDIS_URL = env_str("VECINOS_REDIS_URL")
# Tests run tasks inline (against the real queue storage, so Redis is still exercised).
TASKS_IMMEDIATE = env_bool("VECINOS_TASKS_IMMEDIATE", VECINOS_ENV == "test")
WORKER_THREADS = env_int("VECINOS_WORKER_THREADS", 4, minimum=1, maximum=64)
# Worker processes `vecinos serve` runs (one sends on one core at most: see core/supervisor).
WORKER_PROCESSES = env_int("VECINOS_WORKER_PROCESSES", 2, minimum=1, maximum=32)
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": env_str("VECINOS_QUEUE_NAME", "vecinos"),
        "url": REDIS_URL,
        "immediate": TASKS_IMMEDIATE,
        "immediate_use_memory": False,
        "consumer": {"workers": WORKER_THREADS, "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "vecinos",
        "filename": str(DATA_DIR / "queue.sqlite3"),
        "immediate": TASKS_IMMEDIATE,
        "immediate_use_memory": False,
        # The SQLite queue is polled: an idle consumer's back-off (huey's default goes up to
        # 10 s) would be the delay of an alert's first message. A poll is one small read of
        # the queue's own file.
        "consumer": {"workers": WORKER_THREADS, "worker_type": "thread", "max_delay": 0.25},
    }
TASKS = {
    "default": {
        "BACKEND": "huey.contrib.djhuey.tasks_backend.HueyBackend",
        "OPTIONS": {"enqueue_on_commit": True},
    }
}

# --- Auth and sessions ----------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
SESSION_COOKIE_AGE = env_int("VECINOS_SESSION_HOURS", 12, minimum=1, maximum=24 * 30) * 3600
SESSION_EXPIRE_AT_BROWSER_CLOSE = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_COOKIES = env_bool("VECINOS_SECURE_COOKIES", PRODUCTION)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
LANGUAGE_COOKIE_SECURE = SECURE_COOKIES
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# HSTS on every HTTPS answer in production (a year). Behind a TLS-terminating proxy, name the
# header it sets (VECINOS_PROXY_SSL_HEADER=X-Forwarded-Proto) so Django knows the request came
# over HTTPS; only set it when the proxy overwrites that header from clients.
SECURE_HSTS_SECONDS = env_int(
    "VECINOS_HSTS_SECONDS", 31_536_000 if PRODUCTION else 0, minimum=0, maximum=63_072_000
)
_PROXY_SSL_HEADER = env_str("VECINOS_PROXY_SSL_HEADER", "") or ""
if _PROXY_SSL_HEADER and not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]{0,63}", _PROXY_SSL_HEADER):
    raise ConfigError("VECINOS_PROXY_SSL_HEADER must be a header name, e.g. X-Forwarded-Proto")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER else None
)
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "vecinos.core.views.csrf_failure"
OTP_TOTP_ISSUER = "Vecinos"

# Lockout by username only: django-axes would otherwise store client IP addresses, and the brief
# forbids keeping IPs in rows. The callable hands axes a constant instead of the address.
AXES_FAILURE_LIMIT = env_int("VECINOS_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_CLIENT_IP_CALLABLE = "vecinos.core.privacy.no_client_ip"
AXES_DISABLE_ACCESS_LOG = True
AXES_ENABLE_ACCESS_FAILURE_LOG = False
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "vecinos.network.views.locked_out"
# The lock never applies to a sign-in that also gives a valid authenticator code: wrong passwords
# typed by someone else cannot keep a dispatcher out (vecinos/network/signin.py).
AXES_WHITELIST_CALLABLE = "vecinos.network.signin.passes_second_factor"
AXES_VERBOSE = False

# --- Map tiles: a PMTiles archive served by Vecinos itself, or the coalition's own tile server ---
# A path to a .pmtiles file (served at /tiles/<its name>), or an http(s) URL (a .pmtiles file or
# a {z}/{x}/{y} template) whose host alone is then added to the Content-Security-Policy.
# Unset: the first *.pmtiles file in the data directory, if there is one.
MAP_TILES = env_str("VECINOS_MAP_TILES", "") or ""
if not MAP_TILES:
    _found = sorted(DATA_DIR.glob("*.pmtiles"))
    MAP_TILES = str(_found[0]) if _found else ""
MAP_TILES_ORIGIN = ""
if MAP_TILES.startswith(("http://", "https://")):
    _tiles = urlsplit(MAP_TILES)
    MAP_TILES_ORIGIN = f"{_tiles.scheme}://{_tiles.netloc}"
# The public map shows verified outcomes only after this delay (at least an hour).
PUBLIC_MAP_DELAY_MINUTES = env_int("VECINOS_PUBLIC_MAP_DELAY_MINUTES", 60, minimum=60)

# --- Content-Security-Policy: nothing from outside hosts, no inline script ------------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        # blob: for raster tiles read out of a PMTiles archive by pmtiles' Leaflet layer.
        "img-src": ["'self'", "data:", "blob:", *([MAP_TILES_ORIGIN] if MAP_TILES_ORIGIN else [])],
        "font-src": ["'self'"],
        "connect-src": ["'self'", *([MAP_TILES_ORIGIN] if MAP_TILES_ORIGIN else [])],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- i18n -----------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
# The interface switcher: languages whose catalog ships (vecinos.core.languages.ui_languages);
# content (rights articles, alerts, SMS) may be in any language of the registry.
LANGUAGES = ui_languages()
# Then Django's own messages (form errors, month names) where Django has none or gaps: Tagalog...
LOCALE_PATHS = [BASE_DIR / "locale", BASE_DIR / "locale_django"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = env_str("VECINOS_TIME_ZONE", "America/Los_Angeles")

# The coalition's public identity on first start; afterwards a coalition coordinator edits it
# in the app (/orgs/coalition/), and the database row wins (vecinos.core.coalition).
_hotline = env_str("VECINOS_HOTLINE_NUMBER", "") or ""
COALITION_DEFAULTS = {
    "name": env_str("VECINOS_COALITION_NAME", "Vecinos") or "Vecinos",
    "short_name": env_str("VECINOS_COALITION_SHORT_NAME", "Vecinos") or "Vecinos",
    "hotline": {"default": _hotline} if _hotline else {},
    "public_contact": env_str("VECINOS_PUBLIC_CONTACT", "") or "",
    "accent_color": env_str("VECINOS_ACCENT_COLOR", "#0b6e4f") or "#0b6e4f",
    "languages": ["en", "es"],
    "time_zone": TIME_ZONE,
}

# --- Static files: all served by us, nothing from a CDN ---------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_MIMETYPES = {".webmanifest": "application/manifest+json"}
WHITENOISE_AUTOREFRESH = DEBUG

# --- Logging: no IP addresses, no request bodies ---------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    # Signed-link tokens and addresses are removed from every record (core.logs): on the
    # loggers that log request paths, before any handler sees them, and on the handler.
    "filters": {"redact": {"()": "vecinos.core.logs.RedactingFilter"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]}
    },
    "root": {"handlers": ["console"], "level": env_str("VECINOS_LOG_LEVEL", "INFO")},
    "loggers": {
        # django.server logs the client address of every request; keep it quiet.
        "django.server": {"handlers": [], "level": "ERROR", "propagate": False},
        "django.request": {"filters": ["redact"]},
        "django.security.csrf": {"filters": ["redact"]},
        "axes": {"level": "WARNING"},
        # fpdf2 subsets fonts through fontTools, which logs every glyph at INFO.
        "fontTools": {"level": "WARNING"},
    },
}

# --- Vecinos ----------------------------------------------------------------------------------
# People an organization's coordinators may bring in by import in a day (members texted a link
# to join, subscribers texted for their YES): every such row is a text in the coalition's name.
IMPORT_TEXTS_PER_DAY = env_int("VECINOS_IMPORT_TEXTS_PER_DAY", 1000, minimum=0, maximum=1_000_000)
INVITE_TTL_HOURS = env_int("VECINOS_INVITE_TTL_HOURS", 72, minimum=1, maximum=24 * 30)
# How long a handled Twilio webhook is remembered (as a keyed hash) to refuse replays of it.
WEBHOOK_REPLAY_DAYS = env_int("VECINOS_WEBHOOK_REPLAY_DAYS", 365, minimum=1, maximum=3650)
TWO_FACTOR_ROLES = ("coalition_coordinator", "org_coordinator", "dispatcher")
# axes.W006 asks for IP-based lockout; we deliberately never see client IPs (see above).
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

# --- Delivery ---------------------------------------------------------------------------------
DELIVERY_BATCH_SIZE = env_int("VECINOS_DELIVERY_BATCH", 200, minimum=1, maximum=5000)
DELIVERY_CONCURRENCY = env_int("VECINOS_DELIVERY_CONCURRENCY", 16, minimum=1, maximum=256)
# Dispatch tasks started for one large fan-out (per worker they share its threads).
DELIVERY_PARALLEL_TASKS = env_int("VECINOS_DELIVERY_PARALLEL_TASKS", 4, minimum=1, maximum=64)
# Dispatch loops (claim, send, record) one worker process runs at once; a wake-up beyond them is
# handed to a running loop. One thread of each worker stays free for the other tasks (fan-out
# writers, escalation steps), which would otherwise wait behind a large alert's sending.
DELIVERY_LOOPS = env_int(
    "VECINOS_DELIVERY_LOOPS", max(1, WORKER_THREADS - 1), minimum=1, maximum=64
)
# Seconds a worker holds claimed deliveries before the sweeper may hand them to another worker
# (a crashed worker's rows come back after this long), and the first retry delay (doubling).
DELIVERY_LEASE_SECONDS = env_int("VECINOS_DELIVERY_LEASE", 20, minimum=1, maximum=3600)
DELIVERY_BACKOFF_BASE = env_int("VECINOS_DELIVERY_BACKOFF_BASE", 5, minimum=1, maximum=600)
_TRANSPORT_PATHS = {
    "console": "vecinos.transports.console.transport.ConsoleTransport",
    "twilio": "vecinos.transports.twilio.sms.TwilioSmsTransport",
    "android": "vecinos.transports.android.transport.AndroidSmsTransport",
}
_VOICE_TRANSPORT_PATHS = {
    "console": "vecinos.transports.console.transport.ConsoleTransport",
    "twilio": "vecinos.transports.twilio.voice.TwilioVoiceTransport",
}
SMS_TRANSPORT = env_choice("VECINOS_SMS_TRANSPORT", "console", tuple(_TRANSPORT_PATHS))
VOICE_TRANSPORT = env_choice("VECINOS_VOICE_TRANSPORT", "console", tuple(_VOICE_TRANSPORT_PATHS))
TWILIO_SMS_RATE = env_int("VECINOS_TWILIO_SMS_RATE", 10, minimum=1)
TWILIO_VOICE_RATE = env_int("VECINOS_TWILIO_VOICE_RATE", 1, minimum=1)
# What one SMS segment costs (US dollars), for the cost shown on an alert's review page.
SMS_SEGMENT_PRICE = env_str("VECINOS_SMS_SEGMENT_PRICE", "0.0083") or "0"
TWILIO_TIMEOUT_SECONDS = env_int("VECINOS_TWILIO_TIMEOUT", 10, minimum=1, maximum=60)
# Twilio's newer webhook signing with a shared key (optional; X-Twilio-Signature always works).
TWILIO_WEBHOOK_SHARED_KEY = env_str("VECINOS_TWILIO_WEBHOOK_SHARED_KEY", "") or ""
# Email: the console Outbox unless VECINOS_EMAIL_TRANSPORT=smtp.
EMAIL_TRANSPORT = env_choice("VECINOS_EMAIL_TRANSPORT", "console", ("console", "smtp"))
EMAIL_FROM = env_str("VECINOS_EMAIL_FROM", "Vecinos <vecinos@localhost>") or ""
SMTP_HOST = env_str("VECINOS_SMTP_HOST", "") or ""
SMTP_PORT = env_int("VECINOS_SMTP_PORT", 587, minimum=1, maximum=65535)
SMTP_USER = env_str("VECINOS_SMTP_USER", "") or ""
SMTP_PASSWORD = env_str("VECINOS_SMTP_PASSWORD", "") or ""  # or VECINOS_SMTP_PASSWORD_FILE
SMTP_STARTTLS = env_bool("VECINOS_SMTP_STARTTLS", True)
SMTP_SSL = env_bool("VECINOS_SMTP_SSL", False)  # implicit TLS (port 465); STARTTLS is then moot
SMTP_TIMEOUT = env_int("VECINOS_SMTP_TIMEOUT", 10, minimum=1, maximum=120)
EMAIL_RATE = env_int("VECINOS_EMAIL_RATE", 5, minimum=1)
# Web Push: on once a VAPID key pair is set (`vapid --gen` or any web-push key generator).
VAPID_PRIVATE_KEY = env_str("VECINOS_VAPID_PRIVATE_KEY", "") or ""  # or ..._FILE
VAPID_PUBLIC_KEY = env_str("VECINOS_VAPID_PUBLIC_KEY", "") or ""  # derived when empty
VAPID_SUBJECT = env_str("VECINOS_VAPID_SUBJECT", "") or ""  # mailto: or https: contact
# Push endpoints come from browsers, i.e. from users: only these push services are called.
PUSH_ENDPOINT_HOSTS = env_list(
    "VECINOS_PUSH_ENDPOINT_HOSTS",
    [
        "fcm.googleapis.com",
        "updates.push.services.mozilla.com",
        "*.push.apple.com",
        "*.notify.windows.com",
    ],
)
PUSH_TIMEOUT = env_int("VECINOS_PUSH_TIMEOUT", 10, minimum=1, maximum=60)
PUSH_RATE = env_int("VECINOS_PUSH_RATE", 50, minimum=1)
# Signal through signal-cli-rest-api: on once both are set.
SIGNAL_API_URL = (env_str("VECINOS_SIGNAL_API_URL", "") or "").rstrip("/")
SIGNAL_NUMBER = env_str("VECINOS_SIGNAL_NUMBER", "") or ""
SIGNAL_TIMEOUT = env_int("VECINOS_SIGNAL_TIMEOUT", 30, minimum=1, maximum=120)
SIGNAL_RATE = env_int("VECINOS_SIGNAL_RATE", 1, minimum=1)
# SMS through an Android phone ("SMS Gateway for Android"): VECINOS_SMS_TRANSPORT=android.
ANDROID_GATEWAY_URL = (env_str("VECINOS_ANDROID_GATEWAY_URL", "") or "").rstrip("/")
ANDROID_GATEWAY_USER = env_str("VECINOS_ANDROID_GATEWAY_USER", "sms") or "sms"
ANDROID_GATEWAY_PASSWORD = env_str("VECINOS_ANDROID_GATEWAY_PASSWORD", "") or ""  # or ..._FILE
ANDROID_GATEWAY_TIMEOUT = env_int("VECINOS_ANDROID_GATEWAY_TIMEOUT", 10, minimum=1, maximum=60)
ANDROID_SMS_RATE = env_int("VECINOS_ANDROID_SMS_RATE", 1, minimum=1)
# The app's webhook signing key (Settings > Webhooks > Signing Key): receipts at /hooks/android/
# are refused (403) without it.
ANDROID_WEBHOOK_KEY = env_str("VECINOS_ANDROID_WEBHOOK_KEY", "") or ""  # or ..._FILE
_CONSOLE = _TRANSPORT_PATHS["console"]
TRANSPORTS = {
    "sms": {"path": _TRANSPORT_PATHS[SMS_TRANSPORT]},
    "voice": {"path": _VOICE_TRANSPORT_PATHS[VOICE_TRANSPORT]},
    "email": {
        "path": "vecinos.transports.email.transport.SmtpEmailTransport"
        if EMAIL_TRANSPORT == "smtp"
        else _CONSOLE
    },
    "push": {
        "path": "vecinos.transports.webpush.transport.WebPushTransport"
        if VAPID_PRIVATE_KEY
        else _CONSOLE
    },
    "signal": {
        "path": "vecinos.transports.signal.transport.SignalTransport"
        if SIGNAL_API_URL and SIGNAL_NUMBER
        else _CONSOLE
    },
}

# --- Rights library ---------------------------------------------------------------------------
# The coalition's hotline, printed on red cards and flyers and shown on every rights page
# (empty: cards leave a line to write it by hand), and who gives legal help (free text: names,
# phone numbers, hours), shown under every article.
HOTLINE_NUMBER = env_str("VECINOS_HOTLINE_NUMBER", "") or ""
LEGAL_PARTNERS = env_str("VECINOS_LEGAL_PARTNERS", "") or ""

# --- Reports ----------------------------------------------------------------------------------
REPORT_RETENTION_DAYS = env_int("VECINOS_REPORT_RETENTION_DAYS", 30, minimum=1, maximum=3650)
# RSVP contact details are deleted this many days after their event ends.
EVENT_RETENTION_DAYS = env_int("VECINOS_EVENT_RETENTION_DAYS", 7, minimum=0, maximum=3650)
MEDIA_ROOT = DATA_DIR / "media"
# Any request body larger than this is refused with 413 from its headers, before it is read
# (core.bodylimit; gunicorn has no limit of its own); a chunked body is read only up to it.
REQUEST_BODY_MAX = env_int("VECINOS_REQUEST_BODY_MAX_MB", 20, minimum=1, maximum=100) * 1024 * 1024
# Photos stay in memory until their metadata is stripped: a raw upload carrying GPS coordinates
# is never written to a temp file. The memory handler is the only handler (none that writes
# to disk), and it accepts any body the limit above lets through.
FILE_UPLOAD_HANDLERS = ["django.core.files.uploadhandler.MemoryFileUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = REQUEST_BODY_MAX
# Photos decoded at once per web process (each takes up to ~50 MB and a core for a moment).
PHOTO_DECODE_CONCURRENCY = env_int("VECINOS_PHOTO_DECODES", 2, minimum=1, maximum=16)
DATA_UPLOAD_MAX_NUMBER_FILES = 10
# Per source (rotating keyed hash of IP or phone): reports per window.
REPORT_RATE_LIMIT = env_int("VECINOS_REPORT_RATE_LIMIT", 10, minimum=1)
REPORT_RATE_WINDOW = env_int("VECINOS_REPORT_RATE_WINDOW", 600, minimum=10)
FLOOD_SOURCE_THRESHOLD = env_int("VECINOS_FLOOD_SOURCE_THRESHOLD", 4, minimum=2)
FLOOD_AREA_THRESHOLD = env_int("VECINOS_FLOOD_AREA_THRESHOLD", 15, minimum=3)
FLOOD_WINDOW_SECONDS = 600
# A coalition-wide surge of anonymous reports (many sources, many places): the console says so
# when the last SURGE_WINDOW holds at least SURGE_MIN_REPORTS and SURGE_FACTOR times the usual
# rate of the SURGE_BASELINE before it.
SURGE_WINDOW_SECONDS = 600
SURGE_BASELINE_SECONDS = 7200
SURGE_MIN_REPORTS = env_int("VECINOS_SURGE_MIN_REPORTS", 30, minimum=5)
SURGE_FACTOR = 4
TWILIO_ACCOUNT_SID = env_str("VECINOS_TWILIO_ACCOUNT_SID", "") or ""
TWILIO_AUTH_TOKEN = env_str("VECINOS_TWILIO_AUTH_TOKEN", "") or ""
TWILIO_API_URL = (env_str("VECINOS_TWILIO_API_URL", "https://api.twilio.com") or "").rstrip("/")
TWILIO_MESSAGING_SERVICE_SID = env_str("VECINOS_TWILIO_MESSAGING_SERVICE_SID", "") or ""
TWILIO_FROM_NUMBER = env_str("VECINOS_TWILIO_FROM_NUMBER", "") or ""

# --- /metrics (issue 15): readable from these addresses (the client address as core.clientip
# reads it behind VECINOS_TRUSTED_PROXIES; default: the loopback alone) or with this bearer
# token (empty: no token works). Anyone else gets 404.
METRICS_ADDRESSES = env_networks("VECINOS_METRICS_ADDRESSES") or (
    ipaddress.ip_network("127.0.0.1/32"),
    ipaddress.ip_network("::1/128"),
)
METRICS_TOKEN = env_str("VECINOS_METRICS_TOKEN", "") or ""  # or VECINOS_METRICS_TOKEN_FILE
