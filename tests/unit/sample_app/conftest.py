import os
import sys
from pathlib import Path

import pytest

SAMPLE_APP = Path(__file__).resolve().parents[2] / "sample_app"


@pytest.fixture(scope="session")
def client():
    sys.path.insert(0, str(SAMPLE_APP))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="project.settings",
        DJANGO_SECRET_KEY="unit-test-secret",
        DJANGO_ALLOWED_HOSTS="testserver",
    )
    import django
    from django.test import Client

    django.setup()
    return Client()
