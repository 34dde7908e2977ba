"""WSGI entry point (gunicorn reviewsite.wsgi)."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reviewsite.settings")

application = get_wsgi_application()
