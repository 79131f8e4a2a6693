"""Settings of the worker test app, from the environment."""
import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VERSION = (BASE_DIR / "VERSION").read_text(encoding="utf-8").strip()
# Where the processes leave their markers (the app's var/).
WORKER_VAR = Path(os.environ.get("WORKER_VAR", str(BASE_DIR / "var")))

SECRET_KEY = os.environ["DJANGO_SECRET_KEY"]
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1"]
INSTALLED_APPS = ["jobs"]
MIDDLEWARE = []
ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(WORKER_VAR / "db.sqlite3")}}
USE_TZ = True

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
# A task is acknowledged when it has finished: one cut short is delivered again, not lost.
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# /result/<id> shows STARTED while a task runs.
CELERY_TASK_TRACK_STARTED = True
CELERY_BEAT_SCHEDULE = {"beat-marker": {"task": "jobs.tasks.beat_marker", "schedule": 2.0}}
