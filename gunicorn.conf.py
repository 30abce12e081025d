"""Gunicorn settings for `web` (read automatically from the working directory; env vars override)."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "16"))  # request threads mostly wait on the ingest commit
keepalive = 75  # LINE and load balancers reuse connections
timeout = 30
# One access line per request, with the route instead of the tokens that tracking links, opt-out pages and the
# ID連携 page carry in their addresses (bot/platform/access_log.py).
accesslog = "-"
access_log_format = '"%(r)s" %(s)s %(L)ss'
logger_class = "bot.platform.access_log.AccessLogger"
# A platform restart is SIGTERM, then SIGKILL 30 s later: gunicorn stops accepting at once and gives the requests
# in hand this long to finish, so that it has exited before the SIGKILL comes (tests/integration/test_graceful_restarts.py).
graceful_timeout = 25
