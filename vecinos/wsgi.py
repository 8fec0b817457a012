import gc
import os
import sys

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "vecinos.settings")
application = get_wsgi_application()

# The views and everything they import load now, not on the first request; then all of it,
# which lives as long as the process, is put out of the garbage collector's sight (a full
# collection no longer walks it again and again under a surge of requests).
from django.urls import get_resolver  # noqa: E402

get_resolver().url_patterns  # noqa: B018
gc.freeze()

# The web server runs many threads per process (gunicorn gthread). A thread that holds a write
# transaction gives up the GIL at every statement and, to get it back from a thread busy in
# Python, waits out the switch interval (5 ms by default): with SQLite's single write lock
# that wait, not the work, bounded a surge of webhook replies. 0.5 ms hands it back sooner.
sys.setswitchinterval(0.0005)
