"""Endpoints that let tests observe the running service from outside."""
import os
import time
from pathlib import Path

from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound

# Read once per process: a new value shows only after the workers were replaced.
VERSION = (Path(__file__).resolve().parent.parent / "VERSION").read_text(encoding="utf-8").strip()
SLOW_MAX_SECONDS = 30
ENV_PREFIX = "SAMPLE_"


def _text(body, status=200):
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


def index(request):
    return _text("djangoops sample app\n")


def healthz(request):
    return _text("ok")


def version(request):
    return _text(VERSION)


def slow(request):
    try:
        seconds = float(request.GET.get("s", "1"))
    except ValueError:
        return HttpResponseBadRequest("s must be a number")
    if not 0 <= seconds <= SLOW_MAX_SECONDS:
        return HttpResponseBadRequest(f"s must be between 0 and {SLOW_MAX_SECONDS}")
    time.sleep(seconds)
    return _text(f"slept {seconds:g}")


def env(request, key):
    # Only SAMPLE_* keys: the app must never echo secrets such as DJANGO_SECRET_KEY.
    if not key.startswith(ENV_PREFIX) or key not in os.environ:
        return HttpResponseNotFound("no such variable")
    return _text(os.environ[key])
