import os
import time

from celery import shared_task
from django.conf import settings


@shared_task
def sleep_then_version(seconds):
    """Sleeps, then answers the code version the worker was started with."""
    time.sleep(seconds)
    return {"version": settings.VERSION, "pid": os.getpid(), "finished": time.time()}


@shared_task
def beat_marker():
    """Beat's periodic task: one line per run."""
    with open(settings.WORKER_VAR / "beat.log", "a", encoding="utf-8") as marker:
        marker.write(f"{time.time():.3f}\n")
