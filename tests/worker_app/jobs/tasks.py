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
def run_until_the_worker_stops(at_most):
    """Runs until the worker's main process has begun its shutdown (its signal handler writes
    var/worker-shutdown.log), then 3 s more, so the stop always comes while it runs however
    slow the deploy before it was; gives up after `at_most` seconds."""
    deadline = time.monotonic() + at_most
    stop_log = settings.WORKER_VAR / "worker-shutdown.log"
    while not stop_log.exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    saw_stop = stop_log.exists()
    if saw_stop:
        time.sleep(3)
    return {"version": settings.VERSION, "pid": os.getpid(), "finished": time.time(), "saw_stop": saw_stop}


@shared_task
def beat_marker():
    """Beat's periodic task: one line per run."""
    with open(settings.WORKER_VAR / "beat.log", "a", encoding="utf-8") as marker:
        marker.write(f"{time.time():.3f}\n")
