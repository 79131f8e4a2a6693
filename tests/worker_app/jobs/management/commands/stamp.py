"""The scheduled command: records when each run starts and ends, and takes a while."""
import os
import time

from django.conf import settings
from django.core.management.base import BaseCommand


def started():
    """When the manager started this process (the kernel's start time, as a wall time): the
    schedule is the timer's, not how long Python and Django take to load on a busy host."""
    with open("/proc/uptime", encoding="ascii") as uptime, open("/proc/self/stat", encoding="ascii") as stat:
        since_boot = float(uptime.read().split()[0])
        start_ticks = int(stat.read().rsplit(")", 1)[1].split()[19])
    return time.time() - since_boot + start_ticks / os.sysconf("SC_CLK_TCK")


class Command(BaseCommand):
    help = "Append 'start' and 'end' lines to var/stamp.log, N seconds apart."

    def add_arguments(self, parser):
        parser.add_argument("seconds", type=float)

    def handle(self, *args, **options):
        with open(settings.WORKER_VAR / "stamp.log", "a", encoding="utf-8") as log:
            log.write(f"start {started():.3f} {os.getpid()}\n")
            log.flush()
            time.sleep(options["seconds"])
            log.write(f"end {time.time():.3f} {os.getpid()}\n")
