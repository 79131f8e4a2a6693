"""Settings for the sample app, all from the environment, with production defaults."""
import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def _flag(name, default="false"):
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


DEBUG = _flag("DJANGO_DEBUG")

# Test probe (only when SAMPLE_SANDBOX_PROBE names a file): each process that loads the
# settings appends how it runs, so that tests see from outside the sandbox that the
# deploy's manage.py commands had.
if os.environ.get("SAMPLE_SANDBOX_PROBE"):
    import sys

    with open("/proc/self/status", encoding="ascii") as _status:
        _nnp = [line.split()[1] for line in _status if line.startswith("NoNewPrivs:")][0]
    with open("/proc/self/cgroup", encoding="utf-8") as _cgroup:
        _unit = _cgroup.read().strip().rsplit("/", 1)[-1] or "-"
    with open(os.environ["SAMPLE_SANDBOX_PROBE"], "a", encoding="utf-8") as _probe:
        _probe.write(f"{os.path.basename(sys.argv[0])} {(sys.argv[1:2] or ['-'])[0]} nnp={_nnp}"
                     f" pid1={os.path.exists('/proc/1/status')} cgroup={_unit}\n")
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("DJANGO_SECRET_KEY must be set when DJANGO_DEBUG is off")
    SECRET_KEY = "insecure-debug-only-key"

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h.strip()]

INSTALLED_APPS = ["django.contrib.staticfiles"]
MIDDLEWARE = ["django.middleware.security.SecurityMiddleware", "django.middleware.common.CommonMiddleware"]
ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("DJANGO_DB_PATH", str(BASE_DIR / "db.sqlite3")),
    }
}
STATIC_URL = "static/"
STATIC_ROOT = os.environ.get("DJANGO_STATIC_ROOT", str(BASE_DIR / "static"))
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Behind a proxy in production; the checks of `manage.py check --deploy` stay meaningful.
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
