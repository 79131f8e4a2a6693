"""Probe views used by the deployment tests (see README.md)."""

import importlib
import logging
import math
import os
import time
from pathlib import Path

import psutil
from django.conf import settings
from django.core.files.storage import default_storage
from django.http import (
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseNotFound,
    HttpResponseServerError,
    JsonResponse,
)
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

logger = logging.getLogger(__name__)

SLOW_MAX_SECONDS = 30


def text(body, status=200):
    return HttpResponse(body, status=status, content_type="text/plain; charset=utf-8")


@require_GET
def healthz(request):
    return text("ok")


@csrf_exempt
@require_http_methods(["GET", "POST"])
def upload(request):
    if request.method == "POST":
        uploaded = request.FILES.get("file")
        if uploaded is None:
            return HttpResponseBadRequest("missing multipart field 'file'\n")
        name = request.POST.get("name") or uploaded.name
        stored = default_storage.save(name, uploaded)
        logger.info("stored upload %s (%d bytes)", stored, uploaded.size)
        return text(stored)

    name = request.GET.get("name")
    if not name:
        return HttpResponseBadRequest("missing query parameter 'name'\n")
    if not default_storage.exists(name):
        return HttpResponseNotFound("no such upload\n")
    with default_storage.open(name, "rb") as fh:
        content = fh.read()
    return HttpResponse(content, content_type="application/octet-stream")


@require_GET
def module_probe(request, name):
    """Answer whether mysite.<name> can be imported from the deployed tree."""
    if not name.isidentifier():
        return HttpResponseBadRequest("not a module name\n")
    full_name = f"mysite.{name}"
    importlib.invalidate_caches()
    try:
        importlib.import_module(full_name)
    except ModuleNotFoundError as exc:
        if exc.name != full_name:
            # The module exists but one of its own imports is missing.
            raise
        return text("absent", status=404)
    return text("present")


@require_GET
def version(request):
    path = Path(settings.BASE_DIR) / "VERSION"
    try:
        return text(path.read_text().strip())
    except FileNotFoundError:
        return HttpResponseNotFound("no VERSION file\n")


@require_GET
def env(request, key):
    value = os.environ.get(key)
    if value is None:
        return text(f"{key} is not set", status=404)
    return text(value)


@require_GET
def psutil_probe(request):
    process = psutil.Process()
    return JsonResponse(
        {
            "virtual_memory_total": psutil.virtual_memory().total,
            "process_rss": process.memory_info().rss,
            "cpu_count": psutil.cpu_count(),
            "pid": process.pid,
        }
    )


@require_GET
def cache_probe(request):
    cache_home = os.environ.get("XDG_CACHE_HOME")
    if not cache_home:
        return text("XDG_CACHE_HOME is not set", status=500)
    target = Path(cache_home) / "mysite" / "cache-probe.txt"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(f"written by pid {os.getpid()} at {time.time():.3f}\n")
    except OSError as exc:
        logger.error("cannot write under XDG_CACHE_HOME=%s: %s", cache_home, exc)
        return HttpResponseServerError(
            f"cannot write {target}: {type(exc).__name__}: {exc}",
            content_type="text/plain; charset=utf-8",
        )
    return text(str(target))


@require_GET
def slow(request):
    try:
        seconds = float(request.GET.get("s", "1"))
    except ValueError:
        return HttpResponseBadRequest("s must be a number\n")
    if math.isnan(seconds):
        return HttpResponseBadRequest("s must be a number\n")
    seconds = max(0.0, min(seconds, SLOW_MAX_SECONDS))
    time.sleep(seconds)
    return text("done")
