"""A command that loops until it is stopped, as an alert sender would."""
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Write a heartbeat to var/heartbeat every second; on TERM, var/heartbeat.stopped."

    def handle(self, *args, **options):
        running = [True]
        signal.signal(signal.SIGTERM, lambda *_: running.__setitem__(0, False))
        while running[0]:
            (settings.WORKER_VAR / "heartbeat").write_text(f"{time.time():.3f} {settings.VERSION}\n", encoding="utf-8")
            time.sleep(1)
        (settings.WORKER_VAR / "heartbeat.stopped").write_text(f"{time.time():.3f}\n", encoding="utf-8")
