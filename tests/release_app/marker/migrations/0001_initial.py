"""Appends "<host> 0001" to MARKER_LOG (beside the shared database): one line per run."""
import os
import socket

from django.db import migrations


def mark(apps, schema_editor):
    with open(os.environ.get("MARKER_LOG", "/shared/migrations.log"), "a", encoding="utf-8") as log:
        log.write(f"{socket.gethostname()} 0001\n")


class Migration(migrations.Migration):
    operations = [migrations.RunPython(mark, migrations.RunPython.noop)]
