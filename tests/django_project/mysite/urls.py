"""
URL configuration for mysite project.

There is deliberately no route at "/": a request to it must answer 404.
"""

from django.contrib import admin
from django.urls import path

from notes import views as notes_views

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", views.healthz, name="healthz"),
    path("upload", views.upload, name="upload"),
    path("notes", notes_views.notes, name="notes"),
    path("module/<str:name>", views.module_probe, name="module"),
    path("version", views.version, name="version"),
    path("env/<str:key>", views.env, name="env"),
    path("psutil", views.psutil_probe, name="psutil"),
    path("cache", views.cache_probe, name="cache"),
    path("slow", views.slow, name="slow"),
]
