"""The scheduled command: records when each run starts and ends, and takes a while."""
import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Append 'start' and 'end' lines to var/stamp.log, N seconds apart."

    def add_arguments(self, parser):
        parser.add_argument("seconds", type=float)

    def handle(self, *args, **options):
        with open(settings.WORKER_VAR / "stamp.log", "a", encoding="utf-8") as log:
            log.write(f"start {time.time():.3f} {os.getpid()}\n")
            log.flush()
            time.sleep(options["seconds"])
            log.write(f"end {time.time():.3f} {os.getpid()}\n")
