"""Fixtures of the Django Tasks tests: a TASKS setting with a given backend."""

from __future__ import annotations

import importlib.util

import pytest

DJANGO_TASKS = importlib.util.find_spec("django.tasks") is not None
PREFIX = "django.tasks.backends" if DJANGO_TASKS else "django_tasks.backends"
DUMMY = f"{PREFIX}.dummy.DummyBackend"
IMMEDIATE = f"{PREFIX}.immediate.ImmediateBackend"


def task_backends():
    if DJANGO_TASKS:
        from django.tasks import task_backends as backends
    else:
        from django_tasks import task_backends as backends
    return backends


@pytest.fixture
def use_tasks(settings):
    """Turn EVENTS_ON_TASKS on with a backend: ``use_tasks(DUMMY)`` returns the backend."""

    def configure(backend: str = DUMMY, **stripe):
        settings.TASKS = {"default": {"BACKEND": backend}}
        settings.STRIPE_DJANGO = {**settings.STRIPE_DJANGO, "EVENTS_ON_TASKS": True, **stripe}
        instance = task_backends()["default"]
        if hasattr(instance, "clear"):
            instance.clear()
        return instance

    return configure
