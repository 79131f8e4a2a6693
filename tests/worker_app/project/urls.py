from django.http import HttpResponse, JsonResponse
from django.conf import settings
from django.urls import path

from jobs import tasks


def healthz(request):
    return HttpResponse("ok")


def version(request):
    return HttpResponse(settings.VERSION)


def enqueue(request, seconds):
    """A task that sleeps and answers the worker's code version."""
    return HttpResponse(tasks.sleep_then_version.delay(seconds).id)


def enqueue_until_stop(request, at_most):
    """A task that runs until the worker begins its shutdown (at most `at_most` seconds)."""
    return HttpResponse(tasks.run_until_the_worker_stops.delay(at_most).id)


def result(request, task_id):
    found = tasks.sleep_then_version.AsyncResult(task_id)
    return JsonResponse({"state": found.state, "result": found.result if found.successful() else None})


urlpatterns = [
    path("healthz", healthz),
    path("version", version),
    path("enqueue/<int:seconds>", enqueue),
    path("enqueue-until-stop/<int:at_most>", enqueue_until_stop),
    path("result/<str:task_id>", result),
]
