"""The Celery app: broker and results in Debian's redis-server on 127.0.0.1."""
import os
import time

from celery import Celery
from celery.signals import worker_shutting_down

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

app = Celery("project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_shutting_down.connect
def note_shutdown(sig, how, exitcode, **kwargs):
    """When the main process got its stop signal, and which shutdown it began (tests)."""
    with open(os.path.join(os.environ.get("WORKER_VAR", "var"), "worker-shutdown.log"), "a", encoding="utf-8") as log:
        log.write(f"{time.time():.3f} {sig} {how}\n")
