"""A Django project with the background processes of a real one (tests/worker_app)."""
from .celery import app as celery_app

__all__ = ["celery_app"]
