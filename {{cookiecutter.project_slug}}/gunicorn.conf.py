"""gunicorn's settings for production: `gunicorn --config gunicorn.conf.py config.wsgi`.

https://gunicorn.org/reference/settings/ - each value can be changed from the
environment, as the Procfile's platforms expect.

Sized against the slowest answer the site waits for: a call to Stripe. With
STRIPE_HTTP_TIMEOUT_SECONDS=5 and STRIPE_MAX_NETWORK_RETRIES=1 (config/settings),
a hung Stripe fails a call after at most 2 tries x (2 s to connect + 5 s to read)
+ 0.5 s between the tries = 14.5 s
(apps.subscriptions.stripe_client.worst_case_seconds); the visitor then gets the
"billing is unavailable" page. While one thread waits that long, the others of its
worker and the other workers serve everyone else. Raise TIMEOUT and GRACEFUL_TIMEOUT
with those two settings, keeping each above the worst case.
"""

import os

# https://gunicorn.org/reference/settings/#bind
# The platform says which port to listen on (PORT); 8000 otherwise.
bind = [f"0.0.0.0:{os.environ.get('PORT', '8000')}"]

# https://gunicorn.org/reference/settings/#workers
# Processes: WEB_CONCURRENCY, else two per core and one, but no more than 4: a
# container often sees every core of its host, and each process holds the whole site
# in memory.
workers = int(os.environ.get("WEB_CONCURRENCY", min(2 * (os.cpu_count() or 1) + 1, 4)))

# https://gunicorn.org/reference/settings/#worker-class
# Threads in each process, so that requests waiting on Stripe, the database or SMTP
# do not queue everyone else behind them.
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))

# https://gunicorn.org/reference/settings/#timeout
# Seconds a worker may go silent before it is killed and restarted: above the
# longest wait on Stripe (14.5 s, see above), so that no request waiting on it is
# cut off with a bare error.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))

# https://gunicorn.org/reference/settings/#graceful-timeout
# Seconds requests in progress get to finish on a restart or deploy: the same bound.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))

# https://gunicorn.org/reference/settings/#keepalive
# Seconds an idle connection from the proxy in front is kept open for its next request.
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))

# https://gunicorn.org/reference/settings/#forwarded-allow-ips
# The addresses of the proxy in front, whose X-Forwarded-* headers gunicorn
# believes; loopback unless set (a platform whose router alone reaches the site may
# set "*").
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# https://gunicorn.org/reference/settings/#accesslog
# One line per request, and gunicorn's own messages, to stdout/stderr for the
# platform's log collector.
accesslog = "-"
errorlog = "-"
