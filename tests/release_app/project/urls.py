from django.urls import path

from . import views

urlpatterns = [
    path("", views.index),
    path("healthz", views.healthz),
    path("version", views.version),
    path("slow", views.slow),
    path("env/<str:key>", views.env),
]
