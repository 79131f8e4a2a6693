"""A module the deployment tests delete from the project between two deploys.

While it ships, GET /module/legacy_module answers 200 "present"; after a
deploy without it, the same request must answer 404 "absent". A stale copy
left behind in the deployed tree would make it answer "present".
"""

LEGACY_MARKER = "legacy-module-v1"
