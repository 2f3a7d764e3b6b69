"""Configure gunicorn for the cockpit: where it listens and the cockpit's one logging set-up.

Run the web workers with::

    gunicorn -c python:cockpit.web.gunicorn_conf --workers 4 'app:create_server()'

gunicorn reads this module's names as its settings; anything on its command line wins. The
address is COCKPIT_HOST:COCKPIT_PORT, so one environment file configures the cockpit and its
web server alike. Logging is `cockpit.logs.logging_config` as gunicorn's `logconfig_dict`, so
gunicorn's own lines (worker boots, timeouts) and the cockpit's look the same, one per event.
"""

from __future__ import annotations

from cockpit.logs import settings_logging_config
from cockpit.settings import load_settings_or_exit
from cockpit.web.security import APP_LOAD_ERROR

# A bad setting stops gunicorn's master with one line saying which, before any worker starts.
_settings = load_settings_or_exit(status=APP_LOAD_ERROR)

bind = [f"{_settings.host}:{_settings.port}"]
logconfig_dict = settings_logging_config(_settings)
# Errors to stderr (journald or the container log collect it); no access log of gunicorn's own:
# the reverse proxy writes one, and COCKPIT_LOG_LEVELS=gunicorn.access=INFO turns it on here.
errorlog = "-"
# Each worker opens its own database pool, Redis client and threads after the fork; preloading
# would share one engine's sockets between processes.
preload_app = False
# Threaded workers: a screen's push stream (/live/stream, cockpit/web/push.py) holds a thread
# while the screen is open, and a sync worker would be one screen's alone. A refresh answers in
# milliseconds (`cockpit bench refresh`); the timeout is the worker's heartbeat, not a request's.
worker_class = "gthread"
threads = _settings.web_threads
timeout = 30
graceful_timeout = 20
# gunicorn 25+ opens a control socket at one fixed path per user; two cockpits on one host (one
# per street) would fight over it, and nothing here uses it.
control_socket_disable = True
